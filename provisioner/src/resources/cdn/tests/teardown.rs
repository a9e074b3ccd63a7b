//! Request-level tests of teardown's CloudFront calls: disable -> wait until deployed -> delete, each with
//! the latest ETag (moto ignores If-Match), `DistributionNotDisabled` (moto never raises it) and
//! `OriginAccessControlInUse`, an interrupted teardown, and a stack that is already gone.
use super::fixtures::*;

async fn teardown(rules: &[&Rule], rec: &Recorder) -> anyhow::Result<(Action, Action)> {
    let aws = aws_with(client(rules, rec));
    let config = config("");
    let stack = Stack::new(&aws, &config, "acme");
    destroy(&stack, &Progress::new(true)).await
}

#[tokio::test]
async fn teardown_disables_waits_until_deployed_then_deletes_with_the_latest_etags() {
    let rec = Recorder::default();
    let list = mock!(Client::list_distributions).then_output(|| listed("imgdeploy:acme"));
    let get = mock!(Client::get_distribution_config)
        .sequence()
        .output(|| config_with("E1", true))
        .output(|| config_with("E2", false))
        .build();
    let disable = mock!(Client::update_distribution).then_output(|| {
        UpdateDistributionOutput::builder()
            .distribution(distribution("InProgress"))
            .e_tag("E2")
            .build()
    });
    let poll = mock!(Client::get_distribution)
        .sequence()
        .output(|| {
            GetDistributionOutput::builder()
                .distribution(distribution("InProgress"))
                .build()
        })
        .times(2)
        .output(|| {
            GetDistributionOutput::builder()
                .distribution(distribution("Deployed"))
                .build()
        })
        .build();
    let delete = mock!(Client::delete_distribution)
        .then_output(|| DeleteDistributionOutput::builder().build());
    let (list_oac, get_oac, delete_oac) = oac_rules();
    let tags = tagged_for("acme");
    let rules = [
        &list,
        &tags,
        &get,
        &disable,
        &poll,
        &delete,
        &list_oac,
        &get_oac,
        &delete_oac,
    ];
    assert_eq!(
        teardown(&rules, &rec).await.unwrap(),
        (Action::Delete, Action::Delete)
    );
    insta::assert_json_snapshot!("teardown_sequence", sequence(&rec));
    let body = &rec.body_of("UpdateDistribution")[0];
    assert!(body.contains("<Enabled>false</Enabled>"), "{body}");
}

#[tokio::test]
async fn distribution_not_disabled_means_disable_wait_and_delete_again() {
    let rec = Recorder::default();
    let list = mock!(Client::list_distributions).then_output(|| listed("imgdeploy:acme"));
    // Someone re-enables it between our wait and our delete.
    let get = mock!(Client::get_distribution_config)
        .sequence()
        .output(|| config_with("E1", true))
        .output(|| config_with("E2", false))
        .output(|| config_with("E3", true))
        .output(|| config_with("E4", false))
        .build();
    let disable = mock!(Client::update_distribution).then_output(|| {
        UpdateDistributionOutput::builder()
            .distribution(distribution("InProgress"))
            .build()
    });
    let poll = mock!(Client::get_distribution).then_output(|| {
        GetDistributionOutput::builder()
            .distribution(distribution("Deployed"))
            .build()
    });
    let delete = mock!(Client::delete_distribution)
        .sequence()
        .error(|| {
            DeleteDistributionError::DistributionNotDisabled(
                DistributionNotDisabled::builder().build(),
            )
        })
        .output(|| DeleteDistributionOutput::builder().build())
        .build();
    let (list_oac, get_oac, delete_oac) = oac_rules();
    let tags = tagged_for("acme");
    let rules = [
        &list,
        &tags,
        &get,
        &disable,
        &poll,
        &delete,
        &list_oac,
        &get_oac,
        &delete_oac,
    ];
    assert_eq!(
        teardown(&rules, &rec).await.unwrap(),
        (Action::Delete, Action::Delete)
    );
    insta::assert_json_snapshot!("teardown_not_disabled_sequence", sequence(&rec));
}

#[tokio::test]
async fn an_interrupted_teardown_waits_for_the_disabled_distribution_and_deletes_it() {
    let rec = Recorder::default();
    let list = mock!(Client::list_distributions).then_output(|| listed("imgdeploy:acme"));
    let get = mock!(Client::get_distribution_config).then_output(|| config_with("E7", false));
    let poll = mock!(Client::get_distribution)
        .sequence()
        .output(|| {
            GetDistributionOutput::builder()
                .distribution(distribution("InProgress"))
                .build()
        })
        .output(|| {
            GetDistributionOutput::builder()
                .distribution(distribution("Deployed"))
                .build()
        })
        .build();
    let delete = mock!(Client::delete_distribution)
        .then_output(|| DeleteDistributionOutput::builder().build());
    let (list_oac, get_oac, delete_oac) = oac_rules();
    let tags = tagged_for("acme");
    let rules = [
        &list,
        &tags,
        &get,
        &poll,
        &delete,
        &list_oac,
        &get_oac,
        &delete_oac,
    ];
    assert_eq!(
        teardown(&rules, &rec).await.unwrap(),
        (Action::Delete, Action::Delete)
    );
    let seq = sequence(&rec);
    assert!(
        !seq.iter().any(|s| s.starts_with("UpdateDistribution")),
        "already disabled: {seq:?}"
    );
    assert_eq!(
        seq.iter().filter(|s| *s == "GetDistribution").count(),
        2,
        "{seq:?}"
    );
    assert!(
        seq.contains(&"DeleteDistribution If-Match=E7".to_string()),
        "{seq:?}"
    );
}

#[tokio::test]
async fn teardown_of_a_gone_stack_says_absent_and_changes_nothing() {
    let rec = Recorder::default();
    let empty = DistributionList::builder()
        .marker("")
        .max_items(100)
        .is_truncated(false)
        .quantity(0)
        .build()
        .unwrap();
    let list = mock!(Client::list_distributions).then_output(move || {
        ListDistributionsOutput::builder()
            .distribution_list(empty.clone())
            .build()
    });
    let other = mock!(Client::list_origin_access_controls).then_output(|| {
        let list = OriginAccessControlList::builder()
            .marker("")
            .max_items(100)
            .is_truncated(false)
            .quantity(0);
        ListOriginAccessControlsOutput::builder()
            .origin_access_control_list(list.build().unwrap())
            .build()
    });
    assert_eq!(
        teardown(&[&list, &other], &rec).await.unwrap(),
        (Action::Absent, Action::Absent)
    );
    assert_eq!(
        sequence(&rec),
        vec!["ListDistributions", "ListOriginAccessControls"]
    );
}

#[tokio::test]
async fn another_stacks_distribution_is_left_alone() {
    let rec = Recorder::default();
    let list = mock!(Client::list_distributions).then_output(|| listed("imgdeploy:other"));
    let (list_oac, get_oac, delete_oac) = oac_rules();
    let (oac, dist) = teardown(&[&list, &list_oac, &get_oac, &delete_oac], &rec)
        .await
        .unwrap();
    assert_eq!((oac, dist), (Action::Delete, Action::Absent));
}

#[tokio::test]
async fn a_look_alike_with_the_stacks_comment_and_another_stacks_tag_is_not_touched() {
    let rec = Recorder::default();
    let list = mock!(Client::list_distributions).then_output(|| listed("imgdeploy:acme"));
    let tags = tagged_for("prod");
    let (list_oac, get_oac, delete_oac) = oac_rules();
    let (_, dist) = teardown(&[&list, &tags, &list_oac, &get_oac, &delete_oac], &rec)
        .await
        .unwrap();
    assert_eq!(dist, Action::Absent);
    let seq = sequence(&rec);
    assert_eq!(
        seq[..2],
        ["ListDistributions", "ListTagsForResource"],
        "{seq:?}"
    );
    assert!(
        !seq.iter()
            .any(|s| s.contains("Distribution") && !s.starts_with("ListDistributions")),
        "read its tags and nothing more: {seq:?}"
    );
}

#[tokio::test]
async fn an_oac_still_in_use_is_one_clear_error() {
    let rec = Recorder::default();
    let empty = DistributionList::builder()
        .marker("")
        .max_items(100)
        .is_truncated(false)
        .quantity(0)
        .build()
        .unwrap();
    let list = mock!(Client::list_distributions).then_output(move || {
        ListDistributionsOutput::builder()
            .distribution_list(empty.clone())
            .build()
    });
    let list_oac = mock!(Client::list_origin_access_controls).then_output(oac_listed);
    let get_oac = mock!(Client::get_origin_access_control).then_output(oac_got);
    let in_use = mock!(Client::delete_origin_access_control).then_error(|| {
        DeleteOriginAccessControlError::OriginAccessControlInUse(
            OriginAccessControlInUse::builder().build(),
        )
    });
    let err = teardown(&[&list, &list_oac, &get_oac, &in_use], &rec)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("acme-oac") && err.contains("still uses") && err.contains("fix:"),
        "{err}"
    );
    assert!(sequence(&rec).contains(&"DeleteOriginAccessControl If-Match=OACETAG1".to_string()));
}
