//! Request-level tests of `up`'s CloudFront calls, for what moto does not keep or check: the OAC id on
//! both origins (snapshotted request bodies), the If-Match ETag of an update, "already exists" answers,
//! and no request at all when nothing changed.
use super::fixtures::*;

#[tokio::test]
async fn create_puts_the_oac_on_every_origin_and_tags_the_distribution() {
    let rec = Recorder::default();
    let create_oac = mock!(Client::create_origin_access_control).then_output(|| {
        let oac = OriginAccessControl::builder().id(OAC_ID).build().unwrap();
        CreateOriginAccessControlOutput::builder()
            .origin_access_control(oac)
            .e_tag("OACETAG1")
            .build()
    });
    let create = mock!(Client::create_distribution_with_tags).then_output(|| {
        CreateDistributionWithTagsOutput::builder()
            .distribution(distribution("InProgress"))
            .e_tag("E1")
            .build()
    });
    let aws = aws_with(client(&[&create_oac, &create], &rec));
    let config = config("");
    let stack = Stack::new(&aws, &config, "acme");
    let deployed = apply(&stack, &Current::default(), &Progress::new(true))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deployed.arn, DIST_ARN);
    assert_eq!(
        sequence(&rec),
        vec!["CreateOriginAccessControl", "CreateDistributionWithTags"]
    );
    let body = &rec.body_of("CreateDistributionWithTags")[0];
    let oac_refs = body
        .matches(&format!(
            "<OriginAccessControlId>{OAC_ID}</OriginAccessControlId>"
        ))
        .count();
    assert_eq!(oac_refs, 2, "both origins read through the OAC: {body}");
    assert!(body.contains("<CallerReference>imgdeploy-acme-"), "{body}");
    insta::assert_snapshot!("create_distribution_request", readable(body));
    insta::assert_snapshot!(
        "create_oac_request",
        readable(&rec.body_of("CreateOriginAccessControl")[0])
    );
}

#[tokio::test]
async fn an_unchanged_stack_sends_no_request_at_all() {
    let rec = Recorder::default();
    let aws = aws_with(client(&[], &rec));
    let config = config("");
    let stack = Stack::new(&aws, &config, "acme");
    let d = desired(&stack);
    let current = Current {
        oac: Some(oac_state(&d)),
        distribution: Some(distribution_state(&d, as_deployed(&d))),
    };
    let deployed = apply(&stack, &current, &Progress::new(true))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deployed.id, DIST_ID);
    assert!(rec.sent().is_empty(), "{:?}", sequence(&rec));
}

#[tokio::test]
async fn an_update_carries_the_etag_of_the_configuration_just_read() {
    let rec = Recorder::default();
    let get = mock!(Client::get_distribution_config).then_output(|| config_with("ETAGFRESH", true));
    let update = mock!(Client::update_distribution).then_output(|| {
        UpdateDistributionOutput::builder()
            .distribution(distribution("InProgress"))
            .build()
    });
    let aws = aws_with(client(&[&get, &update], &rec));
    let config = config("[cdn]\nprice_class = \"PriceClass_All\"");
    let stack = Stack::new(&aws, &config, "acme");
    let d = desired(&stack);
    let mut old = as_deployed(&d);
    old.price_class = Some(PriceClass::PriceClass100);
    let current = Current {
        oac: Some(oac_state(&d)),
        distribution: Some(distribution_state(&d, old)),
    };
    apply(&stack, &current, &Progress::new(true)).await.unwrap();
    assert_eq!(
        sequence(&rec),
        vec![
            "GetDistributionConfig",
            "UpdateDistribution If-Match=ETAGFRESH"
        ]
    );
    let body = &rec.body_of("UpdateDistribution")[0];
    assert!(
        body.contains("<PriceClass>PriceClass_All</PriceClass>"),
        "{body}"
    );
    assert_eq!(
        body.matches(&format!(
            "<OriginAccessControlId>{OAC_ID}</OriginAccessControlId>"
        ))
        .count(),
        2
    );
}

#[tokio::test]
async fn an_existing_oac_of_the_same_name_is_reused() {
    let rec = Recorder::default();
    let exists = mock!(Client::create_origin_access_control).then_error(|| {
        CreateOriginAccessControlError::OriginAccessControlAlreadyExists(
            OriginAccessControlAlreadyExists::builder().build(),
        )
    });
    let list_oac = mock!(Client::list_origin_access_controls).then_output(oac_listed);
    let create = mock!(Client::create_distribution_with_tags).then_output(|| {
        CreateDistributionWithTagsOutput::builder()
            .distribution(distribution("InProgress"))
            .build()
    });
    let aws = aws_with(client(&[&exists, &list_oac, &create], &rec));
    let config = config("");
    let stack = Stack::new(&aws, &config, "acme");
    apply(&stack, &Current::default(), &Progress::new(true))
        .await
        .unwrap();
    let body = &rec.body_of("CreateDistributionWithTags")[0];
    assert_eq!(
        body.matches(&format!(
            "<OriginAccessControlId>{OAC_ID}</OriginAccessControlId>"
        ))
        .count(),
        2
    );
}

#[tokio::test]
async fn a_create_that_already_happened_finds_the_distribution_instead() {
    let rec = Recorder::default();
    let exists = mock!(Client::create_distribution_with_tags).then_error(|| {
        CreateDistributionWithTagsError::DistributionAlreadyExists(
            DistributionAlreadyExists::builder().build(),
        )
    });
    let list = mock!(Client::list_distributions).then_output(|| listed("imgdeploy:acme"));
    let get = mock!(Client::get_distribution_config).then_output(|| config_with("E1", true));
    let tags = mock!(Client::list_tags_for_resource).then_output(|| {
        let tag = |k: &str, v: &str| {
            aws_sdk_cloudfront::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap()
        };
        let tags = aws_sdk_cloudfront::types::Tags::builder()
            .items(tag("imgdeploy:stack", "acme"))
            .items(tag("team", "photos"))
            .build();
        aws_sdk_cloudfront::operation::list_tags_for_resource::ListTagsForResourceOutput::builder()
            .tags(tags)
            .build()
    });
    let aws = aws_with(client(&[&exists, &list, &get, &tags], &rec));
    let config = config("");
    let stack = Stack::new(&aws, &config, "acme");
    let d = desired(&stack);
    let current = Current {
        oac: Some(oac_state(&d)),
        distribution: None,
    };
    let deployed = apply(&stack, &current, &Progress::new(true))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deployed.id, DIST_ID);
    // Found exactly as desired: nothing more to send.
    let seq = sequence(&rec);
    assert_eq!(
        seq,
        vec![
            "CreateDistributionWithTags",
            "ListDistributions",
            "GetDistributionConfig",
            "ListTagsForResource"
        ]
    );
}
