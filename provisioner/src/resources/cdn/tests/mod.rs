//! The pure half of the CDN module: what `desired` builds and what `diff` reports, including the fields
//! AWS (or moto) fills in or drops, which must not count as changes.
use super::spec::{DistributionSpec, OacSpec};
use super::*;
use crate::aws::Aws;
use crate::config::Config;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudfront::types::{DistributionConfig, ForwardedValues, Method, ViewerCertificate};

mod fixtures;
use fixtures::diff;
mod negotiate;
mod requests;
mod teardown;

pub(super) const OAC_ID: &str = "E2OACOFTHESTACK";

/// A stack configured with `cdn`; these tests cover the fullest CDN, so the originals are served unless
/// `cdn` says `serve_originals` (the default, off, is `config::tests`' and `the_default_serves_no_originals`).
pub(super) fn config(cdn: &str) -> Config {
    let cdn = match (cdn.contains("[cdn]"), cdn.contains("serve_originals")) {
        (_, true) => cdn.to_string(),
        (true, false) => cdn.replacen("[cdn]", "[cdn]\nserve_originals = true", 1),
        (false, false) => format!("[cdn]\nserve_originals = true\n{cdn}"),
    };
    let text = format!(
        "[stack]\nname = \"acme\"\n[stack.tags]\nteam = \"photos\"\n{cdn}\n[[variant]]\nname = \"thumb\"\nwidth = 200\nheight = 200\n"
    );
    Config::parse(&text, "imgdeploy.toml").expect("test config")
}

/// An `Aws` whose CloudFront client is `cloudfront`; the other clients point at a closed port and are
/// never called by this module.
pub(super) fn aws_with(cloudfront: aws_sdk_cloudfront::Client) -> Aws {
    Aws {
        cloudfront,
        ..Aws::offline_in("eu-west-1")
    }
}

pub(super) fn offline_aws() -> Aws {
    let conf = aws_sdk_cloudfront::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    aws_with(aws_sdk_cloudfront::Client::from_conf(conf))
}

pub(super) fn oac_state(desired: &Desired) -> oac::OacState {
    oac::OacState {
        id: OAC_ID.into(),
        etag: "OACETAG1".into(),
        spec: desired.oac.clone(),
    }
}

/// A distribution exactly as desired, as CloudFront would hold it.
pub(super) fn distribution_state(
    desired: &Desired,
    config: DistributionConfig,
) -> distribution::DistributionState {
    distribution::DistributionState {
        id: "EDFDVBD6EXAMPLE".into(),
        arn: "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE".into(),
        domain: "d111111abcdef8.cloudfront.net".into(),
        status: "Deployed".into(),
        enabled: config.enabled,
        etag: "ETAGDESCRIBED".into(),
        config,
        tags: desired.tags.clone(),
    }
}

pub(super) fn as_deployed(desired: &Desired) -> DistributionConfig {
    desired
        .distribution
        .to_new_config(OAC_ID, &edge_arns(desired), "imgdeploy-acme-1")
        .expect("config")
}

/// The ARN of the stack's CloudFront Function, as CloudFront names it.
pub(super) fn edge_arns(desired: &Desired) -> sdk::FunctionArns {
    let name = &desired.edge.name;
    [(
        name.clone(),
        format!("arn:aws:cloudfront::123456789012:function/{name}"),
    )]
    .into()
}

fn current_as_desired(desired: &Desired) -> Current {
    Current {
        oac: Some(oac_state(desired)),
        distribution: Some(distribution_state(desired, as_deployed(desired))),
    }
}

fn changes(action: Action) -> Vec<String> {
    match action {
        Action::Update { changes } => changes,
        other => panic!("expected an update, got {other:?}"),
    }
}

#[test]
fn desired_cdn_serves_processed_by_default_and_originals_under_the_prefix() {
    let aws = offline_aws();
    let config = config("");
    let d = desired(&Stack::new(&aws, &config, "acme"));
    insta::assert_json_snapshot!("desired_distribution", d.distribution);
    assert_eq!(d.oac, OacSpec::for_stack("acme-oac", "acme"));
    assert_eq!(d.oac.signing_behavior, "always");
    assert_eq!(
        d.tags.get("imgdeploy:stack").map(String::as_str),
        Some("acme")
    );
    assert_eq!(d.tags.get("team").map(String::as_str), Some("photos"));
}

#[test]
fn the_default_serves_no_originals() {
    let aws = offline_aws();
    let text =
        "[stack]\nname = \"acme\"\n[[variant]]\nname = \"thumb\"\nwidth = 200\nheight = 200\n";
    let config = Config::parse(text, "imgdeploy.toml").unwrap();
    let d = desired(&Stack::new(&aws, &config, "acme"));
    assert_eq!(
        d.distribution.origins.len(),
        1,
        "{:?}",
        d.distribution.origins
    );
    assert!(d.distribution.behaviors.is_empty());
}

#[test]
fn without_serve_originals_only_the_processed_bucket_is_an_origin() {
    let aws = offline_aws();
    let config = config("[cdn]\nserve_originals = false\nprice_class = \"PriceClass_All\"\n[source]\nprefix = \"in/\"");
    let d = desired(&Stack::new(&aws, &config, "acme")).distribution;
    assert_eq!(d.origins.len(), 1);
    assert_eq!(
        d.origins[0].domain,
        "acme-processed.s3.eu-west-1.amazonaws.com"
    );
    assert!(d.behaviors.is_empty());
    assert_eq!(d.price_class, "PriceClass_All");
}

#[test]
fn the_backup_bucket_is_never_an_origin() {
    let aws = offline_aws();
    for cdn in [
        "",
        "[cdn]\nserve_originals = false",
        "[backup]\nenabled = true",
    ] {
        let config = config(cdn);
        let d = desired(&Stack::new(&aws, &config, "acme")).distribution;
        assert!(
            d.origins.iter().all(|o| !o.domain.contains("backup")),
            "{cdn}: {:?}",
            d.origins
        );
    }
}

#[test]
fn nothing_exists_so_both_are_created() {
    let aws = offline_aws();
    let config = config("");
    let d = desired(&Stack::new(&aws, &config, "acme"));
    assert_eq!(
        diff(&Current::default(), &d),
        (Action::Create, Action::Create)
    );
    // The OAC exists but not the distribution (an interrupted run).
    let current = Current {
        oac: Some(oac_state(&d)),
        distribution: None,
    };
    assert_eq!(diff(&current, &d), (Action::Unchanged, Action::Create));
}

#[test]
fn what_up_created_reads_back_unchanged() {
    let aws = offline_aws();
    let config = config("");
    let d = desired(&Stack::new(&aws, &config, "acme"));
    assert_eq!(
        diff(&current_as_desired(&d), &d),
        (Action::Unchanged, Action::Unchanged)
    );
}

#[test]
#[allow(deprecated)] // moto and older distributions still return ForwardedValues and TTLs
fn defaults_filled_in_by_aws_and_fields_moto_drops_are_not_changes() {
    let aws = offline_aws();
    let config = config("");
    let d = desired(&Stack::new(&aws, &config, "acme"));
    let mut current = current_as_desired(&d);
    let dist = current.distribution.as_mut().unwrap();
    let c = &mut dist.config;
    c.viewer_certificate = Some(
        ViewerCertificate::builder()
            .cloud_front_default_certificate(true)
            .build(),
    );
    c.default_root_object = Some(String::new());
    let dcb = c.default_cache_behavior.as_mut().unwrap();
    dcb.forwarded_values = ForwardedValues::builder().query_string(false).build().ok();
    dcb.min_ttl = Some(0);
    // AWS does not keep the order of methods.
    dcb.allowed_methods.as_mut().unwrap().items = vec![Method::Head, Method::Get];
    // moto answers without OriginAccessControlId and S3OriginConfig.
    for o in &mut c.origins.as_mut().unwrap().items {
        o.origin_access_control_id = None;
        o.s3_origin_config = None;
    }
    // Tags someone else added are theirs.
    dist.tags.insert("cost-centre".into(), "42".into());
    assert_eq!(diff(&current, &d), (Action::Unchanged, Action::Unchanged));
}

#[test]
fn an_origin_reading_through_another_oac_is_a_change() {
    let aws = offline_aws();
    let config = config("");
    let d = desired(&Stack::new(&aws, &config, "acme"));
    let mut current = current_as_desired(&d);
    let origins = current
        .distribution
        .as_mut()
        .unwrap()
        .config
        .origins
        .as_mut()
        .unwrap();
    origins.items[1].origin_access_control_id = Some(String::new());
    assert_eq!(
        changes(diff(&current, &d).1),
        vec![format!(
            "origin originals access control \"\" -> \"{OAC_ID}\""
        )]
    );
    // With the OAC gone (deleted by hand), every origin must move to the new one.
    current.oac = None;
    let (oac, dist) = diff(&current, &d);
    assert_eq!(oac, Action::Create);
    assert_eq!(changes(dist).len(), 2);
}

#[test]
fn edited_settings_are_listed_one_by_one() {
    let aws = offline_aws();
    let before = config("");
    let d = desired(&Stack::new(&aws, &before, "acme"));
    let current = current_as_desired(&d);
    let after = config("[cdn]\nprice_class = \"PriceClass_200\"\n[source]\nprefix = \"uploads/\"");
    let d2 = desired(&Stack::new(&aws, &after, "acme"));
    insta::assert_json_snapshot!("edited_settings", changes(diff(&current, &d2).1));
    let no_originals = config("[cdn]\nserve_originals = false");
    let d3 = desired(&Stack::new(&aws, &no_originals, "acme"));
    assert_eq!(
        changes(diff(&current, &d3).1),
        vec![
            "origin originals (remove)",
            "behaviour originals/* (remove)"
        ]
    );
}

#[test]
fn a_disabled_distribution_is_enabled_again() {
    let aws = offline_aws();
    let config = config("");
    let d = desired(&Stack::new(&aws, &config, "acme"));
    let mut current = current_as_desired(&d);
    current.distribution.as_mut().unwrap().config.enabled = false;
    assert_eq!(changes(diff(&current, &d).1), vec!["enabled false -> true"]);
}

#[test]
fn missing_stack_tag_and_oac_settings_are_changes() {
    let aws = offline_aws();
    let config = config("");
    let d = desired(&Stack::new(&aws, &config, "acme"));
    let mut current = current_as_desired(&d);
    current
        .distribution
        .as_mut()
        .unwrap()
        .tags
        .remove("imgdeploy:stack");
    current.oac.as_mut().unwrap().spec.signing_behavior = "no-override".into();
    let (oac, dist) = diff(&current, &d);
    assert_eq!(
        changes(oac),
        vec!["signing behavior \"no-override\" -> \"always\""]
    );
    assert_eq!(changes(dist), vec!["tag imgdeploy:stack=acme"]);
}

#[test]
fn with_the_cdn_disabled_nothing_is_created_and_nothing_removed() {
    use crate::resources::resource::Resource;
    let aws = offline_aws();
    let config = config("[cdn]\nenabled = false");
    let stack = Stack::new(&aws, &config, "acme");
    // Unwanted resources are neither planned nor applied by `up`; `teardown` still removes them.
    assert!(!oac(&stack).wanted() && !distribution(&stack).wanted());
    let config = self::config("");
    let stack = Stack::new(&aws, &config, "acme");
    assert!(oac(&stack).wanted() && distribution(&stack).wanted());
}

#[test]
fn the_view_round_trips_through_the_sdk_shape() {
    let aws = offline_aws();
    let config = config("");
    let d = desired(&Stack::new(&aws, &config, "acme"));
    assert_eq!(
        DistributionSpec::from_config(&as_deployed(&d)),
        d.distribution
    );
    assert_eq!(OacSpec::from_config(&d.oac.to_config().unwrap()), d.oac);
}
