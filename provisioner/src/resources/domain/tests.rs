//! The pure half of the custom domain: when the distribution serves it, what each record's plan step
//! is (and whose an existing record is), and the records `up` prints without a hosted zone.
use super::alias::AliasRecords;
use super::certificate::CertificateState;
use super::records::{ValidationRecord, ZoneView};
use super::*;
use crate::aws::Aws;
use crate::config::Config;
use crate::resources::cdn;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource};
use aws_sdk_route53::types::{AliasTarget, ResourceRecord, ResourceRecordSet, RrType};

const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d";
const DIST: &str = "d111111abcdef8.cloudfront.net";

fn config(cdn: &str) -> Config {
    let text = format!(
        "[stack]\nname = \"acme\"\n[cdn]\n{cdn}\n[[variant]]\nname = \"thumb\"\nwidth = 200\nheight = 200\n"
    );
    Config::parse(&text, "imgdeploy.toml").expect("test config")
}

fn spec(cdn: &str) -> DomainSpec {
    let aws = Aws::offline_in("eu-west-1");
    let config = config(cdn);
    DomainSpec::of(&Stack::new(&aws, &config, "acme"))
}

fn validation() -> DnsRecord {
    DnsRecord {
        name: "_d930b28be6c5927595552b219965053e.img.example.com.".into(),
        kind: "CNAME".into(),
        value: "_c9edd76ee4a0e2a74388032f3861cc50.ykybfrwcxw.acm-validations.aws.".into(),
    }
}

fn known(status: Option<&str>, zone: Option<bool>) -> Known {
    let mut k = Known::default();
    k.domain.certificate = status.map(|s| CertificateState {
        arn: CERT.into(),
        domain: "img.example.com".into(),
        status: s.into(),
        validation: Some(validation()),
        tags: Default::default(),
    });
    k.domain.zone = zone.map(|has| {
        has.then(|| Zone {
            id: "Z0EXAMPLE".into(),
            name: "example.com.".into(),
        })
    });
    k.distribution = Some(cdn::Deployed {
        id: "EDFDVBD6EXAMPLE".into(),
        arn: "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE".into(),
        domain: DIST.into(),
        status: "Deployed".into(),
        enabled: true,
    });
    k
}

fn view(sets: Vec<ResourceRecordSet>) -> ZoneView {
    ZoneView {
        zone: Zone {
            id: "Z0EXAMPLE".into(),
            name: "example.com.".into(),
        },
        sets,
    }
}

fn alias_set(kind: RrType, target: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name("img.example.com.")
        .r#type(kind)
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id(CLOUDFRONT_ZONE_ID)
                .dns_name(format!("{target}."))
                .evaluate_target_health(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn cname_set(name: &str, value: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Cname)
        .ttl(300)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap()
}

#[test]
fn the_distribution_serves_the_domain_only_with_an_issued_or_given_certificate() {
    let requested = spec("domain = \"img.example.com\"");
    assert!(requested.requests_certificate());
    assert_eq!(known(None, None).domain.serving(&requested), None);
    let pending = known(Some("PENDING_VALIDATION"), Some(true));
    assert_eq!(pending.domain.serving(&requested), None);
    let issued = known(Some("ISSUED"), Some(true));
    assert_eq!(issued.domain.serving(&requested).as_deref(), Some(CERT));

    let given = spec(&format!(
        "domain = \"img.example.com\"\ncertificate_arn = \"{CERT}\""
    ));
    assert!(!given.requests_certificate());
    assert_eq!(
        known(None, None).domain.serving(&given).as_deref(),
        Some(CERT)
    );
    assert_eq!(known(Some("ISSUED"), None).domain.serving(&spec("")), None);

    // The distribution's plan: the alias, the certificate and TLS 1.2, once issued; nothing before.
    let aws = Aws::offline_in("eu-west-1");
    let config = config("domain = \"img.example.com\"");
    let d = cdn::desired(&Stack::new(&aws, &config, "acme"));
    let before = d.serving(&pending);
    assert!(before.distribution.aliases.is_empty());
    let after = d.serving(&issued);
    let mut changes = after.distribution.clone();
    changes.comment.clone_from(&before.distribution.comment);
    let listed = before.distribution.changes(&after.distribution);
    assert_eq!(
        listed,
        [
            "aliases [] -> [\"img.example.com\"]".to_string(),
            format!("certificate None -> Some({CERT:?})"),
            "minimum TLS None -> Some(\"TLSv1.2_2021\")".to_string(),
        ]
    );
    // What CloudFront is sent reads back as the same view: a second `up` changes nothing.
    let arns = cdn::sdk::FunctionArns::new();
    let sent = after
        .distribution
        .to_new_config("E2OAC", &arns, "ref")
        .unwrap();
    let viewer = sent.viewer_certificate.as_ref().unwrap();
    assert_eq!(
        viewer.ssl_support_method.as_ref().unwrap().as_str(),
        "sni-only"
    );
    assert_eq!(
        cdn::spec::DistributionSpec::from_config(&sent),
        after.distribution
    );
    let default = before
        .distribution
        .to_new_config("E2OAC", &arns, "ref")
        .unwrap();
    assert_eq!(
        default
            .viewer_certificate
            .unwrap()
            .cloud_front_default_certificate,
        Some(true)
    );
}

#[test]
fn the_validation_record_is_written_once_and_left_to_the_user_without_a_zone() {
    let r = ValidationRecord(spec("domain = \"img.example.com\""));
    let k = known(Some("PENDING_VALIDATION"), Some(true));
    let v = validation();
    assert_eq!(r.diff(Some(&view(vec![])), &k), Action::Create);
    let written = view(vec![cname_set(&v.name, &v.value)]);
    assert_eq!(r.diff(Some(&written), &k), Action::Unchanged);
    let other = view(vec![cname_set(&v.name, "_other.acm-validations.aws.")]);
    assert!(matches!(r.diff(Some(&other), &k), Action::Update { .. }));
    // Before the certificate exists: its record is to be written.
    assert_eq!(
        r.diff(Some(&view(vec![])), &known(None, Some(true))),
        Action::Create
    );
    let none = r.diff(None, &known(Some("PENDING_VALIDATION"), Some(false)));
    assert!(
        matches!(&none, Action::Keep { reason } if reason.contains("no Route 53 hosted zone")),
        "{none:?}"
    );
    assert!(!none.mutates());
    assert_eq!(
        r.part_of(),
        Some((Kind::Certificate, "img.example.com".into()))
    );
}

#[test]
fn alias_records_wait_for_the_certificate_and_never_replace_someone_elses_record() {
    let a = AliasRecords(spec("domain = \"img.example.com\""));
    let pending = known(Some("PENDING_VALIDATION"), Some(true));
    let step = a.diff(Some(&view(vec![])), &pending);
    assert!(
        matches!(&step, Action::Keep { reason } if reason.contains("PENDING_VALIDATION")),
        "{step:?}"
    );
    let issued = known(Some("ISSUED"), Some(true));
    assert_eq!(a.diff(Some(&view(vec![])), &issued), Action::Create);
    assert_eq!(a.owner(&view(vec![]), "acme", &issued), Some(Owner::Us));
    let ours = view(vec![
        alias_set(RrType::A, DIST),
        alias_set(RrType::Aaaa, DIST),
    ]);
    assert_eq!(a.diff(Some(&ours), &issued), Action::Unchanged);
    assert_eq!(a.owner(&ours, "acme", &issued), Some(Owner::Us));
    let half = view(vec![alias_set(RrType::A, DIST)]);
    assert_eq!(
        a.diff(Some(&half), &issued),
        Action::Update {
            changes: vec![format!("AAAA alias -> {DIST}")]
        }
    );
    // A TXT record at the name (a site verification, say) is not in the way.
    let txt = ResourceRecordSet::builder()
        .name("img.example.com.")
        .r#type(RrType::Txt)
        .ttl(300)
        .resource_records(
            ResourceRecord::builder()
                .value("\"verify=1\"")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert_eq!(
        a.owner(&view(vec![txt.clone()]), "acme", &issued),
        Some(Owner::Us)
    );
    assert_eq!(a.diff(Some(&view(vec![txt])), &issued), Action::Create);
    // Somebody's CNAME, or an alias to another distribution: not the stack's (a conflict in `up`).
    for foreign in [
        cname_set("img.example.com.", "shop.example.net."),
        alias_set(RrType::A, "d999999other.cloudfront.net"),
    ] {
        assert_eq!(
            a.owner(&view(vec![foreign.clone()]), "acme", &issued),
            Some(Owner::Untagged),
            "{foreign:?}"
        );
    }
}

#[test]
fn without_a_zone_up_prints_the_exact_records_to_create() {
    let s = spec("domain = \"img.example.com\"");
    let pending = DomainOutput::of(
        &s,
        &known(Some("PENDING_VALIDATION"), Some(false)).domain,
        Some(DIST),
    )
    .unwrap();
    insta::assert_snapshot!("records_to_create_pending", pending.to_string());
    insta::assert_json_snapshot!("records_to_create_pending_json", pending);
    let issued =
        DomainOutput::of(&s, &known(Some("ISSUED"), Some(false)).domain, Some(DIST)).unwrap();
    insta::assert_snapshot!("records_to_create_issued", issued.to_string());
    // With a zone, Route 53 holds them: nothing to print.
    let zoned =
        DomainOutput::of(&s, &known(Some("ISSUED"), Some(true)).domain, Some(DIST)).unwrap();
    assert!(zoned.dns_records_to_create.is_empty());
    assert_eq!(
        zoned.to_string(),
        "custom domain    : https://img.example.com/<variant>/<key>  (TLS 1.2 or later)\n"
    );
    // A given certificate: only the domain's CNAME to print.
    let given = spec(&format!(
        "domain = \"img.example.com\"\ncertificate_arn = \"{CERT}\""
    ));
    let out = DomainOutput::of(&given, &known(None, Some(false)).domain, Some(DIST)).unwrap();
    assert_eq!(
        out.dns_records_to_create,
        [DnsRecord {
            name: "img.example.com.".into(),
            kind: "CNAME".into(),
            value: format!("{DIST}."),
        }]
    );
}

#[test]
fn the_zone_is_the_longest_public_parent_of_the_domain() {
    assert_eq!(fqdn("Img.Example.com"), "img.example.com.");
    assert_eq!(fqdn("img.example.com."), "img.example.com.");
    let zone = |name: &str| Zone {
        id: format!("Z{name}"),
        name: name.into(),
    };
    let zones = vec![
        zone("com."),
        zone("example.com."),
        zone("img.example.com.example.org."),
        zone("ample.com."),
        zone("img.example.com."),
    ];
    let best = |d: &str| best_zone(zones.clone(), d).map(|z| z.name);
    assert_eq!(best("img.example.com").as_deref(), Some("img.example.com."));
    assert_eq!(
        best("cdn.img.example.com").as_deref(),
        Some("img.example.com.")
    );
    assert_eq!(best("www.example.com").as_deref(), Some("example.com."));
    // A suffix that is not a parent label does not hold the domain.
    assert_eq!(best_zone(vec![zone("ample.com.")], "example.com"), None);
    assert_eq!(best("example.org"), None);
}
