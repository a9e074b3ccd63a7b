//! `[cdn] domain` against moto, read back with boto3: with a Route 53 hosted zone for the domain, one
//! `up` requests the certificate in us-east-1, writes its validation record, serves the domain once it
//! is issued (alias, certificate, TLS 1.2) and points A and AAAA at the distribution; a second `up`
//! changes nothing; teardown removes exactly those, even once the domain is out of the configuration.
//! Without a zone, `up` writes no record and prints
//! the ones to create, and the next `up` converges once the certificate is issued.
use crate::cdn::{only_distribution, recorded, step};
use crate::harness::{inspect, moto, Moto};
use crate::stack::StackDir;
use serde_json::Value;

/// The records of the public zone `zone` (with its final dot), as boto3 lists them.
fn records(report: &Value, zone: &str) -> Vec<Value> {
    report["route53"]["zones"][zone]["records"]
        .as_array()
        .unwrap_or_else(|| panic!("no zone {zone} in {:#}", report["route53"]))
        .clone()
}

fn the_certificate(report: &Value) -> (String, Value) {
    let certs = report["acm"]["certificates"].as_object().unwrap();
    assert_eq!(
        certs.len(),
        1,
        "one certificate, tagged with the stack: {certs:#?}"
    );
    let (arn, cert) = certs.iter().next().unwrap();
    (arn.clone(), cert.clone())
}

pub fn create_zone(moto: &Moto, zone: &str) {
    moto.run_python(&format!(
        "import boto3; boto3.client('route53').create_hosted_zone(Name='{zone}', CallerReference='{zone}')"
    ));
}

#[test]
fn with_a_hosted_zone_one_up_serves_the_domain_and_teardown_removes_only_what_it_made() {
    let moto = moto();
    let s = StackDir::new("domain", "");
    let n = s.name.clone();
    let zone = format!("{n}.example.com.");
    let domain = format!("img.{n}.example.com");
    create_zone(moto, &zone);
    // Someone's own record in the same zone: never touched.
    moto.run_python(&format!(
        "import boto3; r = boto3.client('route53'); z = [h['Id'] for h in r.list_hosted_zones()['HostedZones'] \
         if h['Name'] == '{zone}'][0]\n\
         r.change_resource_record_sets(HostedZoneId=z, ChangeBatch={{'Changes': [{{'Action': 'CREATE', \
         'ResourceRecordSet': {{'Name': 'www.{zone}', 'Type': 'CNAME', 'TTL': 60, \
         'ResourceRecords': [{{'Value': 'shop.example.net'}}]}}}}]}})"
    ));
    s.write_config(&format!("[cdn]\ndomain = \"{domain}\""));

    // 1. up: certificate, validation record, distribution serving the domain, aliases.
    let (first, _) = recorded(&s, moto, &["up", "--yes"], "up1");
    assert_eq!(step(&first["plan"], "certificate")["action"], "create");
    assert_eq!(step(&first["plan"], "dns-validation")["action"], "create");
    let out = &first["outputs"]["custom_domain"];
    assert_eq!(out["serving"], true, "{first:#}");
    assert_eq!(out["certificate"], "ISSUED");
    assert_eq!(out["dns_records_to_create"], serde_json::json!([]));

    let report = inspect(moto, &n);
    let (arn, cert) = the_certificate(&report);
    assert!(
        arn.starts_with("arn:aws:acm:us-east-1:"),
        "us-east-1 whatever the stack's region: {arn}"
    );
    assert_eq!(cert["domain"], domain.as_str());
    assert_eq!(cert["tags"]["imgdeploy:stack"], n.as_str());
    let validation = &cert["validation"];
    let (_, dist) = only_distribution(&report);
    let c = &dist["config"];
    assert_eq!(c["Aliases"]["Items"], serde_json::json!([domain]), "{c:#}");
    let viewer = &c["ViewerCertificate"];
    assert_eq!(viewer["ACMCertificateArn"], arn.as_str(), "{viewer:#}");
    assert_eq!(viewer["MinimumProtocolVersion"], "TLSv1.2_2021");
    assert_eq!(viewer["SSLSupportMethod"], "sni-only");
    let target = format!("{}.", dist["domain_name"].as_str().unwrap());

    let mut got: Vec<(String, String, String)> = records(&report, &zone)
        .iter()
        .map(|r| {
            let value = match r["alias"].as_object() {
                Some(a) => format!("alias {} {}", a["HostedZoneId"], a["DNSName"]),
                None => r["values"].to_string(),
            };
            (
                r["name"].as_str().unwrap().into(),
                r["type"].as_str().unwrap().into(),
                value,
            )
        })
        .collect();
    got.sort();
    let fqdn = format!("{domain}.");
    let mut want = vec![
        (
            fqdn.clone(),
            "A".into(),
            format!("alias \"Z2FDTNDATAQYW2\" \"{target}\""),
        ),
        (
            fqdn.clone(),
            "AAAA".into(),
            format!("alias \"Z2FDTNDATAQYW2\" \"{target}\""),
        ),
        (
            validation["Name"].as_str().unwrap().into(),
            "CNAME".into(),
            serde_json::json!([validation["Value"]]).to_string(),
        ),
        (
            format!("www.{zone}"),
            "CNAME".into(),
            "[\"shop.example.net\"]".into(),
        ),
    ];
    want.sort();
    assert_eq!(got, want);

    // 2. up again: nothing to change anywhere.
    let (again, file) = recorded(&s, moto, &["up", "--yes"], "up2");
    for kind in [
        "certificate",
        "dns-validation",
        "cdn-distribution",
        "dns-alias",
    ] {
        assert_eq!(
            step(&again["plan"], kind)["action"],
            "unchanged",
            "{kind}: {again:#}"
        );
    }
    assert_eq!(again["mutating_calls"], serde_json::json!([]), "{again:#}");
    let log = std::fs::read_to_string(&file).unwrap();
    assert!(
        log.contains("ListHostedZones") && log.contains("ListCertificates"),
        "it read them"
    );

    // 3. The domain taken out of the configuration: `up` stops serving it and leaves the rest to
    // teardown, which finds the certificate by its tag and the records by its domain.
    s.write_config("");
    let (off, _) = recorded(&s, moto, &["up", "--yes"], "up3");
    assert_eq!(
        step(&off["plan"], "cdn-distribution")["action"],
        "update",
        "{off:#}"
    );
    let report = inspect(moto, &n);
    let c = &only_distribution(&report).1["config"];
    assert_eq!(c["Aliases"]["Quantity"], 0, "{c:#}");

    // 4. teardown: the aliases first, the certificate last; someone's record stays.
    let (down, _) = recorded(&s, moto, &["teardown", "--yes"], "down");
    for kind in [
        "dns-alias",
        "cdn-distribution",
        "dns-validation",
        "certificate",
    ] {
        assert_eq!(step(&down, kind)["action"], "delete", "{kind}: {down:#}");
    }
    let kinds: Vec<&str> = down["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .filter(|k| {
            [
                "dns-alias",
                "cdn-distribution",
                "dns-validation",
                "certificate",
            ]
            .contains(k)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "dns-alias",
            "cdn-distribution",
            "dns-validation",
            "certificate"
        ]
    );
    let report = inspect(moto, &n);
    assert_eq!(report["found"], serde_json::json!([]), "{report:#}");
    let left: Vec<String> = records(&report, &zone)
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, [format!("www.{zone}")]);
}

#[test]
fn without_a_hosted_zone_up_prints_the_records_and_the_next_up_converges() {
    let moto = moto();
    let s = StackDir::new("nozone", "");
    let n = s.name.clone();
    let domain = format!("img.{n}.example.org");
    s.write_config(&format!("[cdn]\ndomain = \"{domain}\""));

    let (first, file) = recorded(&s, moto, &["up", "--yes"], "up1");
    let zone_step = step(&first["plan"], "dns-validation");
    assert_eq!(zone_step["action"], "keep", "{first:#}");
    let out = &first["outputs"]["custom_domain"];
    assert_eq!(
        out["serving"], false,
        "pending right after the request: {out:#}"
    );
    let report = inspect(moto, &n);
    let (_, cert) = the_certificate(&report);
    let dist_domain = only_distribution(&report).1["domain_name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        out["dns_records_to_create"],
        serde_json::json!([
            {"name": cert["validation"]["Name"], "type": "CNAME", "value": cert["validation"]["Value"]},
            {"name": format!("{domain}."), "type": "CNAME", "value": format!("{dist_domain}.")},
        ])
    );
    let c = &only_distribution(&report).1["config"];
    assert_eq!(
        c["Aliases"]["Quantity"], 0,
        "no alias before the certificate is issued: {c:#}"
    );
    let log = std::fs::read_to_string(&file).unwrap();
    assert!(!log.contains("ChangeResourceRecordSets"), "no DNS written");

    // Once ACM has issued it (moto: a second later), the next `up` serves the domain.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (second, _) = recorded(&s, moto, &["up", "--yes"], "up2");
    assert_eq!(
        step(&second["plan"], "cdn-distribution")["action"],
        "update",
        "{second:#}"
    );
    assert_eq!(second["outputs"]["custom_domain"]["serving"], true);
    let report = inspect(moto, &n);
    let c = &only_distribution(&report).1["config"];
    assert_eq!(c["Aliases"]["Items"], serde_json::json!([domain]));

    let (down, _) = recorded(&s, moto, &["teardown", "--yes"], "down");
    assert_eq!(step(&down, "certificate")["action"], "delete", "{down:#}");
    assert_eq!(inspect(moto, &n)["found"], serde_json::json!([]));
}

/// `GET url` with `accept` as CloudFront would serve it from what moto holds (`tests/moto/edge_get.py`:
/// Route 53 alias → distribution → behaviour → the LIVE function under Node → the S3 origin).
fn edge_get(moto: &Moto, url: &str, accept: Option<&str>) -> Value {
    let script = crate::harness::repo_root().join("tests/moto/edge_get.py");
    let mut cmd = std::process::Command::new(moto.python());
    moto.configure(&mut cmd).arg(&script).arg(url);
    if let Some(a) = accept {
        cmd.arg(format!("--accept={a}"));
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "edge_get.py {url} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Issue 22's own run: a stack with an `auto` variant behind a custom domain deploys, serves each
/// viewer the best format through the function, its manifest matches what the CDN serves, and it
/// tears down clean.
#[test]
fn an_auto_variant_behind_a_custom_domain_serves_each_viewer_its_best_format() {
    let moto = moto();
    let s = StackDir::new("served", "");
    let n = s.name.clone();
    let zone = format!("{n}.example.com.");
    create_zone(moto, &zone);
    let domain = format!("img.{n}.example.com");
    s.write_config(&format!(
        "[cdn]\ndomain = \"{domain}\"\n\
         [[variant]]\nname = \"hero\"\nwidth = 480\nfit = \"inside\"\nformat = \"auto\"\n"
    ));
    let (up, _) = recorded(&s, moto, &["up", "--yes"], "up");
    assert_eq!(up["outputs"]["custom_domain"]["serving"], true, "{up:#}");
    crate::status::put(
        moto,
        &format!("{n}-originals"),
        "originals/2024/wine.jpg",
        crate::status::photo("wine.jpg"),
    );
    let invoked = s.ok(moto, &["invoke", "--local", "2024/wine.jpg"]);
    assert!(invoked.to_string().contains("processed"), "{invoked:#}");

    let url = format!("https://{domain}/hero/2024/wine");
    let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
    let safari15 = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5";
    for (viewer, accept, uri, content_type) in [
        ("Chrome", Some(chrome), "/hero/2024/wine.avif", "image/avif"),
        (
            "Safari 15",
            Some(safari15),
            "/hero/2024/wine.webp",
            "image/webp",
        ),
        ("curl", Some("*/*"), "/hero/2024/wine", "image/jpeg"),
        ("no Accept", None, "/hero/2024/wine", "image/jpeg"),
    ] {
        let got = edge_get(moto, &url, accept);
        assert_eq!(got["behaviour"], "hero/*", "{viewer}: {got:#}");
        assert_eq!(got["uri"], uri, "{viewer}: {got:#}");
        assert_eq!(got["status"], 200, "{viewer}: {got:#}");
        assert_eq!(got["headers"]["content-type"], content_type, "{viewer}");
        assert_eq!(got["headers"]["vary"], "Accept", "{viewer}");
    }
    // A URL with an extension is served as it is.
    let direct = edge_get(moto, &format!("{url}.webp"), Some(chrome));
    assert_eq!(direct["uri"], "/hero/2024/wine.webp");
    assert_eq!(direct["headers"]["content-type"], "image/webp");

    // The manifest, through the CDN, lists what the CDN serves: each file's path, type and bytes.
    let manifest_url = format!("https://{domain}/_manifests/2024/wine.json");
    let got = edge_get(moto, &manifest_url, None);
    assert_eq!(
        (got["status"].as_i64(), got["behaviour"].as_str()),
        (Some(200), Some("default"))
    );
    let text = moto.python_json(&format!(
        "import boto3, json; print(boto3.client('s3').get_object(Bucket='{n}-processed', \
         Key='_manifests/2024/wine.json')['Body'].read().decode())"
    ));
    let files = text["variants"][0]["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "{text:#}");
    for f in files {
        let path = f["path"].as_str().unwrap();
        let served = edge_get(
            moto,
            &format!("https://{domain}/{}", path.trim_start_matches('/')),
            None,
        );
        assert_eq!(served["status"], 200, "{path}");
        assert_eq!(served["bytes"], f["bytes"], "{path}");
        assert_eq!(served["headers"]["content-type"], f["type"], "{path}");
    }

    // Tears down clean: with its data, nothing of the stack is left, and the zone holds no record.
    s.ok(moto, &["teardown", "--yes", "--delete-data"]);
    let report = inspect(moto, &n);
    assert_eq!(report["found"], serde_json::json!([]), "{report:#}");
    assert_eq!(records(&report, &zone), Vec::<Value>::new());
}
