//! S3 Batch Operations is not emulated by moto: the `CreateJob` request is pinned by snapshot, the
//! wait for a new role is an `aws-smithy-mocks` sequence, and `--status` reads a mocked job and its
//! completion report.
use super::*;
use crate::aws::Aws;
use crate::commands::backfill::job::{parse_report, status, TaskFailure};
use crate::config::Config;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3control::operation::create_job::{CreateJobError, CreateJobOutput};
use aws_sdk_s3control::operation::describe_job::DescribeJobOutput;
use aws_sdk_s3control::types::{JobDescriptor, JobProgressSummary, JobStatus};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use std::sync::{Arc, Mutex};

fn config() -> Config {
    Config::parse(
        "[stack]\nname = \"acme\"\n[[variant]]\nname = \"thumb\"\nwidth = 10\nheight = 10\n",
        "imgdeploy.toml",
    )
    .unwrap()
}

#[test]
fn manifest_keys_are_url_encoded_one_per_line() {
    let keys = [
        "originals/a b+c,d.jpg".to_string(),
        "originals/été/x~y.jpg".to_string(),
    ];
    assert_eq!(
        manifest_csv("acme-originals", &keys),
        "acme-originals,originals/a%20b%2Bc%2Cd.jpg\nacme-originals,originals/%C3%A9t%C3%A9/x~y.jpg\n"
    );
}

#[tokio::test]
async fn create_job_sends_a_lambda_invoke_over_the_manifest_with_a_report() {
    let seen = Arc::new(Mutex::new(String::new()));
    let capture = seen.clone();
    let create = mock!(aws_sdk_s3control::Client::create_job)
        .match_requests(move |input| {
            *capture.lock().unwrap() = format!("{input:#?}");
            true
        })
        .then_output(|| CreateJobOutput::builder().job_id("job-1").build());
    let aws = Aws {
        s3control: mock_client!(aws_sdk_s3control, [&create]),
        ..Aws::offline_in("eu-west-1")
    };
    let config = config();
    let stack = Stack::new(&aws, &config, "acme");
    let manifest = "_backfill/1700000000-00001/manifest.csv";
    let job = create_job(
        &stack,
        "1700000000-00001",
        manifest,
        "0123abcd",
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(job, "job-1");
    insta::assert_snapshot!(seen.lock().unwrap().clone());
}

#[tokio::test(start_paused = true)]
async fn create_job_waits_while_iam_propagates_a_new_role_then_gives_up_with_the_call_named() {
    let not_yet = || {
        CreateJobError::generic(
            aws_sdk_s3control::error::ErrorMetadata::builder()
                .code("AccessDenied")
                .message("Unable to assume role")
                .build(),
        )
    };
    let create = mock!(aws_sdk_s3control::Client::create_job)
        .sequence()
        .error(not_yet)
        .times(2)
        .output(|| CreateJobOutput::builder().job_id("job-2").build())
        .build();
    let aws = Aws {
        s3control: mock_client!(aws_sdk_s3control, RuleMode::Sequential, [&create]),
        ..Aws::offline_in("eu-west-1")
    };
    let config = config();
    let stack = Stack::new(&aws, &config, "acme");
    let job = create_job(&stack, "b", "m.csv", "e", ROLE_PROPAGATION)
        .await
        .unwrap();
    assert_eq!(job, "job-2");

    // An existing role that S3 cannot assume is an error at once, naming the call and the role.
    let refused = mock!(aws_sdk_s3control::Client::create_job).then_error(not_yet);
    let aws = Aws {
        s3control: mock_client!(aws_sdk_s3control, [&refused]),
        ..Aws::offline_in("eu-west-1")
    };
    let stack = Stack::new(&aws, &config, "acme");
    let err = create_job(&stack, "b", "m.csv", "e", Duration::ZERO)
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("s3control:CreateJob") && text.contains("acme-batch"),
        "{text}"
    );
}

#[test]
fn a_completion_report_gives_each_failed_original_and_its_reason() {
    let csv = "acme-originals,originals/a%20b.jpg,,failed,PermanentFailure,200,\"corrupt: not a JPEG, PNG, WebP or GIF\"\n\
               acme-originals,originals/slow.jpg,,failed,TemporaryFailure,200,s3://x: SlowDown\n";
    assert_eq!(
        parse_report(csv),
        [
            TaskFailure {
                key: "originals/a b.jpg".into(),
                result: "PermanentFailure".into(),
                message: "corrupt: not a JPEG, PNG, WebP or GIF".into()
            },
            TaskFailure {
                key: "originals/slow.jpg".into(),
                result: "TemporaryFailure".into(),
                message: "s3://x: SlowDown".into()
            }
        ]
    );
}

#[tokio::test]
async fn status_reads_the_jobs_progress_and_its_reports_failures() {
    let describe = mock!(aws_sdk_s3control::Client::describe_job).then_output(|| {
        let report = JobReport::builder()
            .bucket("arn:aws:s3:::acme-processed")
            .prefix("_backfill/b/report")
            .enabled(true)
            .build();
        let progress = JobProgressSummary::builder()
            .total_number_of_tasks(3)
            .number_of_tasks_succeeded(2)
            .number_of_tasks_failed(1)
            .build();
        let job = JobDescriptor::builder()
            .status(JobStatus::Complete)
            .progress_summary(progress)
            .report(report)
            .build();
        DescribeJobOutput::builder().job(job).build()
    });
    let manifest = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.key() == Some("_backfill/b/report/job-job-1/manifest.json"))
        .then_output(|| {
            let body = r#"{"Format":"Report_CSV_20180820","Results":[
                {"TaskExecutionStatus":"succeeded","Bucket":"acme-processed","Key":"_backfill/b/report/job-job-1/results/ok.csv"},
                {"TaskExecutionStatus":"failed","Bucket":"acme-processed","Key":"_backfill/b/report/job-job-1/results/bad.csv"}]}"#;
            GetObjectOutput::builder().body(body.as_bytes().to_vec().into()).build()
        });
    let failed = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.key() == Some("_backfill/b/report/job-job-1/results/bad.csv"))
        .then_output(|| {
            let body = "acme-originals,originals/broken.jpg,,failed,PermanentFailure,200,corrupt: truncated\n";
            GetObjectOutput::builder().body(body.as_bytes().to_vec().into()).build()
        });
    let aws = Aws {
        s3control: mock_client!(aws_sdk_s3control, [&describe]),
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&manifest, &failed]),
        ..Aws::offline_in("eu-west-1")
    };
    let config = config();
    let stack = Stack::new(&aws, &config, "acme");
    let job = status(&stack, "job-1").await.unwrap();
    assert_eq!(
        (job.status.as_str(), job.total, job.failed),
        ("Complete", 3, 1)
    );
    assert_eq!(
        job.failures.len(),
        1,
        "only the failed results are read: {job:?}"
    );
    assert_eq!(job.failures[0].key, "originals/broken.jpg");
    let err = job.check().unwrap_err().to_string();
    assert!(err.contains("1 of 3 task(s) failed"), "{err}");
    insta::assert_snapshot!(job.to_string());
}
