//! The CloudFront Function of `format = "auto"` variants: which behaviours run it, the plan's view of
//! its stages, and the requests `up` and `teardown` send (moto keeps neither stages nor If-Match, so
//! the order create -> publish -> associate and the ETags are pinned here).
use super::fixtures::*;
use crate::resources::cdn::edge::{self, EdgeState, RUNTIME, SOURCE};
use aws_sdk_cloudfront::operation::create_function::CreateFunctionOutput;
use aws_sdk_cloudfront::operation::delete_function::DeleteFunctionError;
use aws_sdk_cloudfront::operation::describe_function::DescribeFunctionOutput;
use aws_sdk_cloudfront::operation::get_function::{GetFunctionError, GetFunctionOutput};
use aws_sdk_cloudfront::operation::publish_function::PublishFunctionOutput;
use aws_sdk_cloudfront::operation::update_function::UpdateFunctionOutput;
use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::error::{FunctionInUse, NoSuchFunctionExists};
use aws_sdk_cloudfront::types::{
    FunctionConfig, FunctionMetadata, FunctionRuntime, FunctionStage, FunctionSummary,
};

const EDGE_ARN: &str = "arn:aws:cloudfront::123456789012:function/acme-negotiate";

fn auto_config() -> Config {
    let text = "[stack]\nname = \"acme\"\n[cdn]\nserve_originals = true\n\
                [[variant]]\nname = \"thumb\"\nwidth = 200\nheight = 200\n\
                [[variant]]\nname = \"web\"\nwidth = 1000\nfit = \"inside\"\nformat = \"auto\"\n";
    Config::parse(text, "imgdeploy.toml").expect("test config")
}

fn state(desired: &Desired, code: &str, live: Option<&str>) -> EdgeState {
    EdgeState {
        arn: EDGE_ARN.into(),
        etag: "EDGEDEV1".into(),
        comment: desired.edge.comment.clone(),
        runtime: RUNTIME.into(),
        code: code.as_bytes().to_vec(),
        live_code: live.map(|c| c.as_bytes().to_vec()),
        tags: desired.tags.clone(),
    }
}

#[test]
fn only_auto_variants_run_the_function_on_both_viewer_events_ahead_of_the_originals() {
    let aws = offline_aws();
    let config = auto_config();
    let d = desired(&Stack::new(&aws, &config, "acme"));
    assert_eq!(d.edge.variants, ["web"]);
    assert!(EdgeFunction(d.clone()).wanted());
    let patterns: Vec<_> = d
        .distribution
        .behaviors
        .iter()
        .map(|b| (b.path_pattern.clone().unwrap(), b.functions.len()))
        .collect();
    // `web/*` first: CloudFront takes the first pattern that matches.
    assert_eq!(patterns, [("web/*".into(), 2), ("originals/*".into(), 0)]);
    let events: Vec<_> = d.distribution.behaviors[0]
        .functions
        .iter()
        .map(|f| (f.event_type.as_str(), f.name.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("viewer-request", "acme-negotiate"),
            ("viewer-response", "acme-negotiate")
        ]
    );
    assert!(d.distribution.default_behavior.functions.is_empty());
    assert_eq!(d.edge.code, SOURCE);

    // Without an `auto` variant, or without the CDN, nobody wants it.
    let plain = super::config("");
    assert!(!EdgeFunction(desired(&Stack::new(&aws, &plain, "acme"))).wanted());
    let off = Config::parse(
        "[stack]\nname = \"acme\"\n[cdn]\nenabled = false\n[[variant]]\nname = \"web\"\nwidth = 9\nfit = \"inside\"\nformat = \"auto\"\n",
        "imgdeploy.toml",
    )
    .unwrap();
    assert!(!EdgeFunction(desired(&Stack::new(&aws, &off, "acme"))).wanted());
}

#[test]
fn the_plan_publishes_when_either_stage_lags_and_is_quiet_when_both_match() {
    let aws = offline_aws();
    let config = auto_config();
    let d = desired(&Stack::new(&aws, &config, "acme"));
    let known = Known::default();
    let f = EdgeFunction(d.clone());
    assert_eq!(f.diff(None, &known), Action::Create);
    let same = state(&d, SOURCE, Some(SOURCE));
    assert_eq!(f.diff(Some(&same), &known), Action::Unchanged);
    assert_eq!(
        changes(f.diff(Some(&state(&d, SOURCE, None)), &known)),
        ["publish (never published)"]
    );
    let old = state(&d, "function handler(e) { return e.request; }", Some("old"));
    let c = changes(f.diff(Some(&old), &known));
    assert!(c[0].starts_with("code ("), "{c:?}");
    assert_eq!(c[1], "publish (the LIVE stage runs other code)");

    // The distribution's view: a behaviour that lost its functions is a change, named.
    let mut have = as_deployed(&d);
    let mut stale = distribution_state(&d, have.clone());
    let (_, unchanged) = diff(
        &Current {
            oac: Some(oac_state(&d)),
            distribution: Some(stale.clone()),
        },
        &d,
    );
    assert_eq!(unchanged, Action::Unchanged);
    let items = have
        .cache_behaviors
        .as_mut()
        .unwrap()
        .items
        .as_mut()
        .unwrap();
    items[0].function_associations = None;
    stale.config = have;
    let (_, dist) = diff(
        &Current {
            oac: Some(oac_state(&d)),
            distribution: Some(stale),
        },
        &d,
    );
    assert_eq!(
        changes(dist),
        ["behaviour web/* functions none -> acme-negotiate on viewer-request, acme-negotiate on viewer-response"]
    );
}

fn summary(stage: FunctionStage) -> FunctionSummary {
    FunctionSummary::builder()
        .name("acme-negotiate")
        .function_config(
            FunctionConfig::builder()
                .comment("imgdeploy stack acme: picks AVIF or WebP for format = auto")
                .runtime(FunctionRuntime::CloudfrontJs20)
                .build()
                .unwrap(),
        )
        .function_metadata(
            FunctionMetadata::builder()
                .function_arn(EDGE_ARN)
                .stage(stage)
                .last_modified_time(DateTime::from_secs(1_700_000_000))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn published() -> Rule {
    mock!(Client::publish_function).then_output(|| {
        PublishFunctionOutput::builder()
            .function_summary(summary(FunctionStage::Live))
            .build()
    })
}

/// CloudFront after CreateFunction: a DEVELOPMENT stage holding `code`, with no LIVE stage.
fn unpublished_rules(code: &'static str) -> Vec<Rule> {
    vec![
        mock!(Client::describe_function).then_output(|| {
            DescribeFunctionOutput::builder()
                .function_summary(summary(FunctionStage::Development))
                .e_tag("EDGEDEV1")
                .build()
        }),
        mock!(Client::get_function)
            .match_requests(|r| r.stage() == Some(&FunctionStage::Live))
            .then_error(|| {
                GetFunctionError::NoSuchFunctionExists(
                    NoSuchFunctionExists::builder()
                        .message("no LIVE stage")
                        .build(),
                )
            }),
        mock!(Client::get_function).then_output(move || {
            GetFunctionOutput::builder()
                .function_code(Blob::new(code))
                .e_tag("EDGEDEV1")
                .build()
        }),
        tagged_for("acme"),
    ]
}

#[tokio::test]
async fn up_creates_publishes_then_associates_the_live_arn() {
    let rec = Recorder::default();
    let create = mock!(Client::create_function).then_output(|| {
        CreateFunctionOutput::builder()
            .function_summary(summary(FunctionStage::Development))
            .e_tag("EDGEDEV1")
            .build()
    });
    let publish = published();
    let mut rules = vec![create, publish];
    rules.extend(unpublished_rules(SOURCE));
    let refs: Vec<&Rule> = rules.iter().collect();
    let aws = aws_with(client(&refs, &rec));
    let config = auto_config();
    let stack = Stack::new(&aws, &config, "acme");
    let d = desired(&stack);
    let task = Progress::new(true).start("cdn", "test");
    let arn = edge::apply(&stack, None, &d.edge, &d.tags, &task)
        .await
        .unwrap();
    assert_eq!(arn, EDGE_ARN);
    let seq = sequence(&rec);
    assert_eq!(seq[0], "CreateFunction");
    assert_eq!(seq.last().unwrap(), "PublishFunction If-Match=EDGEDEV1");
    let body = &rec.body_of("CreateFunction")[0];
    assert!(
        body.contains("<Runtime>cloudfront-js-2.0</Runtime>"),
        "{body}"
    );
    assert!(
        body.contains("<Key>imgdeploy:stack</Key><Value>acme</Value>"),
        "tagged with the stack: {body}"
    );

    // The distribution then names the function by that ARN, on both events of `web/*` only.
    let arns: sdk::FunctionArns = [(d.edge.name.clone(), arn)].into();
    let created = d
        .distribution
        .to_new_config(OAC_ID, &arns, "imgdeploy-acme-1")
        .unwrap();
    let web = &created
        .cache_behaviors
        .as_ref()
        .unwrap()
        .items
        .as_ref()
        .unwrap()[0];
    let names: Vec<_> = web
        .function_associations
        .as_ref()
        .unwrap()
        .items()
        .iter()
        .map(|a| (a.event_type.as_str(), a.function_arn.as_str()))
        .collect();
    assert_eq!(
        names,
        [("viewer-request", EDGE_ARN), ("viewer-response", EDGE_ARN)]
    );
    // Without the ARN, there is nothing to associate: a clear error, not a behaviour without it.
    let err = d
        .distribution
        .to_new_config(OAC_ID, &sdk::FunctionArns::new(), "r")
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("acme-negotiate is not deployed"),
        "{err:#}"
    );
}

#[tokio::test]
async fn new_code_is_updated_with_the_dev_etag_then_published_with_the_new_one() {
    let rec = Recorder::default();
    let update = mock!(Client::update_function).then_output(|| {
        UpdateFunctionOutput::builder()
            .function_summary(summary(FunctionStage::Development))
            .e_tag("EDGEDEV2")
            .build()
    });
    let publish = published();
    let aws = aws_with(client(&[&update, &publish], &rec));
    let config = auto_config();
    let stack = Stack::new(&aws, &config, "acme");
    let d = desired(&stack);
    let task = Progress::new(true).start("cdn", "test");
    let old = state(&d, "old code", Some("old code"));
    edge::apply(&stack, Some(&old), &d.edge, &d.tags, &task)
        .await
        .unwrap();
    assert_eq!(
        sequence(&rec),
        [
            "UpdateFunction If-Match=EDGEDEV1",
            "PublishFunction If-Match=EDGEDEV2"
        ]
    );
    assert!(rec.body_of("UpdateFunction")[0].contains("<FunctionCode>"));

    // Adopted without the stack's tag: tagged, nothing else.
    let rec = Recorder::default();
    let tag = mock!(Client::tag_resource).then_output(|| {
        aws_sdk_cloudfront::operation::tag_resource::TagResourceOutput::builder().build()
    });
    let aws = aws_with(client(&[&tag], &rec));
    let stack = Stack::new(&aws, &config, "acme");
    let mut untagged = state(&d, SOURCE, Some(SOURCE));
    untagged.tags.clear();
    edge::apply(&stack, Some(&untagged), &d.edge, &d.tags, &task)
        .await
        .unwrap();
    assert_eq!(sequence(&rec), ["TagResource"]);

    // Both stages current: not one request.
    let rec = Recorder::default();
    let aws = aws_with(client(&[], &rec));
    let stack = Stack::new(&aws, &config, "acme");
    let same = state(&d, SOURCE, Some(SOURCE));
    edge::apply(&stack, Some(&same), &d.edge, &d.tags, &task)
        .await
        .unwrap();
    assert!(rec.sent().is_empty(), "{:?}", sequence(&rec));
}

#[tokio::test]
async fn teardown_deletes_with_the_latest_etag_and_explains_a_function_in_use() {
    let rec = Recorder::default();
    let delete = mock!(Client::delete_function).then_output(|| {
        aws_sdk_cloudfront::operation::delete_function::DeleteFunctionOutput::builder().build()
    });
    let mut rules = vec![delete];
    rules.extend(unpublished_rules(SOURCE));
    let refs: Vec<&Rule> = rules.iter().collect();
    let aws = aws_with(client(&refs, &rec));
    assert_eq!(
        edge::destroy(&aws, "acme-negotiate").await.unwrap(),
        Action::Delete
    );
    assert_eq!(
        sequence(&rec).last().unwrap(),
        "DeleteFunction If-Match=EDGEDEV1"
    );

    let in_use = mock!(Client::delete_function).then_error(|| {
        DeleteFunctionError::FunctionInUse(FunctionInUse::builder().message("in use").build())
    });
    let mut rules = vec![in_use];
    rules.extend(unpublished_rules(SOURCE));
    let refs: Vec<&Rule> = rules.iter().collect();
    let aws = aws_with(client(&refs, &Recorder::default()));
    let err = edge::destroy(&aws, "acme-negotiate").await.unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("still runs this function") && text.contains("fix:"),
        "{text}"
    );

    let gone = mock!(Client::describe_function).then_error(|| {
        aws_sdk_cloudfront::operation::describe_function::DescribeFunctionError::NoSuchFunctionExists(
            NoSuchFunctionExists::builder().build(),
        )
    });
    let aws = aws_with(client(&[&gone], &Recorder::default()));
    assert_eq!(
        edge::destroy(&aws, "acme-negotiate").await.unwrap(),
        Action::Absent
    );
}
