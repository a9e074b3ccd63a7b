//! Teardown racing an upload, which moto cannot stage: what is deleted is never more than what was
//! asked for.
use super::*;
use crate::aws::Aws;
use crate::config::Config;
use aws_sdk_s3::operation::delete_bucket::DeleteBucketError;
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::types::{Error as S3Error, ObjectVersion};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;

fn not_empty() -> Rule {
    mock!(aws_sdk_s3::Client::delete_bucket).then_error(|| {
        DeleteBucketError::generic(ErrorMetadata::builder().code("BucketNotEmpty").build())
    })
}

async fn run(rules: &[&Rule], how: Emptying) -> Action {
    let aws = Aws {
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules),
        ..Aws::offline()
    };
    let text = "[stack]\nname = \"acme\"\n[[variant]]\nname = \"t\"\nwidth = 1\nheight = 1\n";
    let config = Config::parse(text, "imgdeploy.toml").unwrap();
    let stack = Stack::new(&aws, &config, "acme");
    empty_and_delete(&stack, "acme-originals", how)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_upload_after_the_emptiness_check_keeps_the_bucket_and_deletes_nothing() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .then_output(|| ListObjectVersionsOutput::builder().build());
    let delete_objects = mock!(aws_sdk_s3::Client::delete_objects)
        .then_output(|| DeleteObjectsOutput::builder().build());
    let bucket = not_empty();
    let action = run(&[&list, &delete_objects, &bucket], Emptying::None).await;
    assert!(matches!(action, Action::Keep { .. }), "{action:?}");
    assert_eq!(
        list.num_calls() + delete_objects.num_calls(),
        0,
        "nothing listed or deleted"
    );
    assert_eq!(bucket.num_calls(), 1);
}

#[tokio::test]
async fn delete_data_deletes_the_listed_versions_only_while_unchanged() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| {
        ListObjectVersionsOutput::builder()
            .versions(
                ObjectVersion::builder()
                    .key("originals/a.jpg")
                    .version_id("null")
                    .e_tag("\"e1\"")
                    .build(),
            )
            .versions(
                ObjectVersion::builder()
                    .key("originals/b.jpg")
                    .version_id("null")
                    .e_tag("\"e2\"")
                    .build(),
            )
            .build()
    });
    // b.jpg was replaced by an upload after the listing: S3 refuses that one (412).
    let delete_objects = mock!(aws_sdk_s3::Client::delete_objects)
        .match_requests(|r| {
            r.delete().is_some_and(|d| {
                d.objects()
                    .iter()
                    .all(|o| o.e_tag().is_some() && o.version_id() == Some("null"))
            })
        })
        .then_output(|| {
            DeleteObjectsOutput::builder()
                .errors(
                    S3Error::builder()
                        .key("originals/b.jpg")
                        .code("PreconditionFailed")
                        .build(),
                )
                .build()
        });
    let bucket = not_empty();
    let action = run(&[&list, &delete_objects, &bucket], Emptying::Listed).await;
    assert!(
        matches!(&action, Action::Keep { reason } if reason.contains("arrived or changed")),
        "{action:?}"
    );
    assert_eq!(
        delete_objects.num_calls(),
        1,
        "one pass, each version with its ETag"
    );
    assert_eq!(
        list.num_calls(),
        1,
        "the user's data is listed once: nothing later is deleted"
    );
}

#[tokio::test]
async fn the_processed_bucket_is_emptied_again_until_it_goes() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| {
        ListObjectVersionsOutput::builder()
            .versions(
                ObjectVersion::builder()
                    .key("thumb/a.webp")
                    .version_id("null")
                    .e_tag("\"e\"")
                    .build(),
            )
            .build()
    });
    let delete_objects = mock!(aws_sdk_s3::Client::delete_objects)
        .match_requests(|r| {
            r.delete()
                .is_some_and(|d| d.objects().iter().all(|o| o.e_tag().is_none()))
        })
        .then_output(|| DeleteObjectsOutput::builder().build());
    let bucket = mock!(aws_sdk_s3::Client::delete_bucket)
        .sequence()
        .error(|| {
            DeleteBucketError::generic(ErrorMetadata::builder().code("BucketNotEmpty").build())
        })
        .output(|| aws_sdk_s3::operation::delete_bucket::DeleteBucketOutput::builder().build())
        .build();
    let action = run(&[&list, &delete_objects, &bucket], Emptying::Everything).await;
    assert_eq!(action, Action::Delete);
    assert_eq!(
        list.num_calls(),
        2,
        "a variant written meanwhile is listed and deleted too"
    );
}
