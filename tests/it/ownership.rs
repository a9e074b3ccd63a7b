//! Ownership on a shared account (issue 17): resources of the stack's names that belong to another
//! stack, or to nobody, are refused at plan time and left exactly as they were (read back with boto3);
//! `--adopt` takes over untagged ones but never a role that carries more; a user's bucket-policy
//! statement survives `up`; `teardown` deletes only what carries the stack's tag.
use crate::harness::{found, inspect, moto, Moto};
use crate::stack::{lambda_zip, StackDir};
use serde_json::Value;
use std::process::Command;

/// Runs boto3 `code` against moto with `NAME` bound to the stack's name; returns what it prints, as JSON.
fn boto3(moto: &Moto, name: &str, code: &str) -> Value {
    moto.python_json(&format!(
        "import boto3, json\nNAME = {name:?}\ns3 = boto3.client('s3')\nsns = boto3.client('sns')\n\
         iam = boto3.client('iam')\ncf = boto3.client('cloudfront')\nlam = boto3.client('lambda')\n{code}"
    ))
}

/// Look-alikes of the stack's originals bucket, upload topic, role, log group, failure queue and
/// function, tagged `tag` (untagged: `None`).
fn make_look_alikes(moto: &Moto, name: &str, tag: Option<&str>) {
    let tags = match tag {
        Some(t) => format!("[{{'Key': 'imgdeploy:stack', 'Value': '{t}'}}]"),
        None => "[]".into(),
    };
    boto3(
        moto,
        name,
        &format!(
            r#"
TAGS = {tags}
s3.create_bucket(Bucket=NAME + '-originals')
if TAGS:
    s3.put_bucket_tagging(Bucket=NAME + '-originals', Tagging={{'TagSet': TAGS}})
s3.put_bucket_policy(Bucket=NAME + '-originals', Policy=json.dumps({{'Version': '2012-10-17', 'Statement': [
    {{'Sid': 'PartnerReads', 'Effect': 'Allow', 'Principal': {{'AWS': 'arn:aws:iam::111122223333:root'}},
     'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::' + NAME + '-originals/shared/*'}}]}}))
sns.create_topic(Name=NAME + '-uploads', Tags=TAGS)
role = iam.create_role(RoleName=NAME + '-function', Tags=TAGS, AssumeRolePolicyDocument=json.dumps(
    {{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Principal': {{'Service': 'ec2.amazonaws.com'}},
      'Action': 'sts:AssumeRole'}}]}}))['Role']
TAGD = {{t['Key']: t['Value'] for t in TAGS}}
boto3.client('logs').create_log_group(logGroupName='/aws/lambda/' + NAME + '-variants', tags=TAGD)
boto3.client('sqs').create_queue(QueueName=NAME + '-failures', tags=TAGD)
import io, zipfile
code = io.BytesIO()
with zipfile.ZipFile(code, 'w') as z:
    z.writestr('bootstrap', '#!/bin/sh\n')
lam.create_function(FunctionName=NAME + '-variants', Runtime='provided.al2023', Role=role['Arn'],
    Handler='bootstrap', Code={{'ZipFile': code.getvalue()}}, MemorySize=512, Tags=TAGD,
    Architectures=['arm64'])
"#
        ),
    );
}

/// What boto3 reads of the look-alikes: tags, policies, trust, configuration.
fn read_look_alikes(moto: &Moto, name: &str) -> Value {
    boto3(
        moto,
        name,
        r#"
acct = boto3.client('sts').get_caller_identity()['Account']
topic = f"arn:aws:sns:us-east-1:{acct}:{NAME}-uploads"
try:
    bucket_tags = s3.get_bucket_tagging(Bucket=NAME + '-originals')['TagSet']
except Exception:
    bucket_tags = []
role = iam.get_role(RoleName=NAME + '-function')['Role']
print(json.dumps({
    'bucket_tags': bucket_tags,
    'bucket_policy': json.loads(s3.get_bucket_policy(Bucket=NAME + '-originals')['Policy']),
    'notification': {k: v for k, v in s3.get_bucket_notification_configuration(Bucket=NAME + '-originals').items() if k != 'ResponseMetadata'},
    'topic_tags': sns.list_tags_for_resource(ResourceArn=topic)['Tags'],
    'topic_policy': json.loads(sns.get_topic_attributes(TopicArn=topic)['Attributes']['Policy']),
    'role_tags': iam.list_role_tags(RoleName=NAME + '-function')['Tags'],
    'role_trust': role['AssumeRolePolicyDocument'],
    'role_inline': iam.list_role_policies(RoleName=NAME + '-function')['PolicyNames'],
    'log_group': [(g['logGroupName'], g.get('retentionInDays')) for g in boto3.client('logs').describe_log_groups(
        logGroupNamePrefix='/aws/lambda/' + NAME + '-variants')['logGroups']],
    'log_group_tags': boto3.client('logs').list_tags_for_resource(
        resourceArn=f"arn:aws:logs:us-east-1:{acct}:log-group:/aws/lambda/{NAME}-variants")['tags'],
    'queue': boto3.client('sqs').get_queue_attributes(QueueUrl=boto3.client('sqs').get_queue_url(
        QueueName=NAME + '-failures')['QueueUrl'], AttributeNames=['Policy', 'MessageRetentionPeriod']).get('Attributes'),
    'queue_tags': boto3.client('sqs').list_queue_tags(QueueUrl=boto3.client('sqs').get_queue_url(
        QueueName=NAME + '-failures')['QueueUrl']).get('Tags', {}),
    'function': {k: v for k, v in lam.get_function(FunctionName=NAME + '-variants')['Configuration'].items()
                 if k in ('MemorySize', 'Role', 'CodeSha256', 'Environment', 'Timeout')},
    'function_tags': lam.list_tags(Resource=lam.get_function(FunctionName=NAME + '-variants')['Configuration']['FunctionArn'])['Tags'],
}, sort_keys=True, default=str))
"#,
    )
}

/// `imgdeploy up` for people (no `--json`): (success, stderr).
fn up_human(s: &StackDir, moto: &Moto, extra: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgdeploy"));
    let out = moto
        .configure(&mut cmd)
        .current_dir(s.dir.path())
        .arg("up")
        .args(extra)
        .arg("--artifact")
        .arg(lambda_zip())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (kind, name) of each look-alike `make_look_alikes` makes.
fn look_alikes(n: &str) -> [(&'static str, String); 6] {
    [
        ("bucket", format!("{n}-originals")),
        ("topic", format!("{n}-uploads")),
        ("role", format!("{n}-function")),
        ("log-group", format!("/aws/lambda/{n}-variants")),
        ("queue", format!("{n}-failures")),
        ("function", format!("{n}-variants")),
    ]
}

fn action_of<'a>(plan: &'a Value, kind: &str, name: &str) -> &'a Value {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind && s["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {plan:#}"))
}

#[test]
fn another_stacks_resources_are_refused_at_plan_time_and_left_untouched() {
    let moto = moto();
    let s = StackDir::new("foreign", "[cdn]\nenabled = false");
    let n = s.name.as_str();
    make_look_alikes(moto, n, Some("prod"));
    let before = read_look_alikes(moto, n);
    let existing = found(&inspect(moto, n));

    let (ok, stderr) = up_human(&s, moto, &[]);
    assert!(!ok, "up must refuse:\n{stderr}");
    // The plan and the error, for people: each resource, whose it is, the fix.
    insta::with_settings!({filters => vec![
        (n, "[STACK]"),
        (r"\(\d{12}\)", "([ACCOUNT])"),
        (r"(?m)^.*(built|reading|read stack|took|✓|⠋).*\n", ""),
    ]}, {
        let plan_and_error = &stderr[stderr.find("Plan for stack").unwrap_or(0)..];
        insta::assert_snapshot!("conflict_plan", plan_and_error);
    });
    for resource in [
        format!("bucket {n}-originals"),
        format!("topic {n}-uploads"),
        format!("role {n}-function"),
        format!("log-group /aws/lambda/{n}-variants"),
        format!("queue {n}-failures"),
        format!("function {n}-variants"),
    ] {
        assert!(
            stderr.contains(&resource),
            "{resource} not named:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("belongs to stack prod") && stderr.contains("fix:"),
        "{stderr}"
    );

    // `--adopt` never takes another stack's.
    let (ok, stderr) = up_human(&s, moto, &["--adopt"]);
    assert!(!ok && stderr.contains("belongs to stack prod"), "{stderr}");

    // Nothing was created and nothing changed.
    assert_eq!(
        found(&inspect(moto, n)),
        existing,
        "up created or deleted something"
    );
    assert_eq!(read_look_alikes(moto, n), before);

    // Teardown leaves all six alone and says so.
    let done = s.ok(moto, &["teardown", "--yes", "--delete-data"]);
    for (kind, name) in look_alikes(n) {
        let step = action_of(&done, kind, &name);
        assert_eq!(step["action"], "not_ours", "{done:#}");
        assert_eq!(step["owner"], "prod", "{done:#}");
    }
    assert_eq!(read_look_alikes(moto, n), before);
    assert_eq!(
        found(&inspect(moto, n)),
        existing,
        "teardown deleted another stack's"
    );
}

#[test]
fn untagged_look_alikes_are_refused_then_adopted_keeping_a_users_policy_statement() {
    let moto = moto();
    let s = StackDir::new("adopt", "[cdn]\nenabled = false");
    let n = s.name.as_str();
    make_look_alikes(moto, n, None);
    // The user's own lifecycle rule on the bucket, to be kept beside imgdeploy's.
    boto3(
        moto,
        n,
        "s3.put_bucket_lifecycle_configuration(Bucket=NAME + '-originals', LifecycleConfiguration={'Rules': [\
         {'ID': 'archive', 'Status': 'Enabled', 'Filter': {'Prefix': 'old/'}, 'Expiration': {'Days': 365}}]})",
    );
    let before = read_look_alikes(moto, n);
    let existing = found(&inspect(moto, n));

    let (ok, _, stderr) = s.run(moto, &["up", "--yes"]);
    assert!(!ok && stderr.contains("--adopt"), "{stderr}");
    assert_eq!(
        read_look_alikes(moto, n),
        before,
        "a refused up changed something"
    );
    assert_eq!(
        found(&inspect(moto, n)),
        existing,
        "a refused up created something"
    );

    let up = s.ok(moto, &["up", "--yes", "--adopt"]);
    for (kind, name) in look_alikes(n) {
        let step = action_of(&up["plan"], kind, &name);
        assert_eq!(step["action"], "update", "{step:#}");
        assert_eq!(step["changes"][0], "adopt", "{step:#}");
    }
    let after = read_look_alikes(moto, n);
    let stack_tag = serde_json::json!({"Key": "imgdeploy:stack", "Value": n});
    for tags in ["bucket_tags", "topic_tags", "role_tags"] {
        assert!(
            after[tags].as_array().unwrap().contains(&stack_tag),
            "{tags}: {after:#}"
        );
    }
    for tags in ["log_group_tags", "queue_tags", "function_tags"] {
        assert_eq!(after[tags]["imgdeploy:stack"], n, "{tags}: {after:#}");
    }
    // Adopted, then converged: the function has the stack's settings.
    assert_eq!(after["function"]["MemorySize"], 2048, "{after:#}");
    // The user's statement is kept beside imgdeploy's own.
    let sids: Vec<&str> = after["bucket_policy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|st| st["Sid"].as_str())
        .collect();
    assert!(
        sids.contains(&"PartnerReads") && sids.contains(&"DenyRequestsWithoutTls"),
        "{sids:?}"
    );
    // Lifecycle rules: every bucket aborts stale multipart uploads; backup versions, failure reports
    // and backfill records expire; the user's rule is kept.
    let rules = boto3(
        moto,
        n,
        "print(json.dumps({b: sorted((r['ID'], json.dumps({k: v for k, v in r.items() if k != 'ID'}, sort_keys=True)) \
         for r in s3.get_bucket_lifecycle_configuration(Bucket=NAME + '-' + b)['Rules']) \
         for b in ['originals', 'processed', 'backup']}))",
    );
    let ids = |b: &str| -> Vec<String> {
        rules[b]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids("originals"),
        ["archive", "imgdeploy-abort-incomplete-multipart-uploads"]
    );
    assert_eq!(
        ids("processed"),
        [
            "imgdeploy-abort-incomplete-multipart-uploads",
            "imgdeploy-expire-backfill-records",
            "imgdeploy-expire-failure-reports"
        ]
    );
    assert_eq!(
        ids("backup"),
        [
            "imgdeploy-abort-incomplete-multipart-uploads",
            "imgdeploy-expire-replaced-backup-versions"
        ]
    );
    let text = rules.to_string();
    for detail in [
        "\\\"DaysAfterInitiation\\\": 7",
        "\\\"NoncurrentDays\\\": 90",
        "\\\"Days\\\": 30",
        "_failures/",
    ] {
        assert!(text.contains(detail), "{detail} not in {text}");
    }

    // The role now trusts Lambda only, with imgdeploy's one inline policy.
    assert_eq!(
        after["role_trust"]["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    assert_eq!(
        after["role_inline"],
        serde_json::json!([format!("{n}-function-access")])
    );

    // Adopted means ours: a second up is unchanged and keeps the statement; teardown removes all.
    let again = s.ok(moto, &["up", "--yes"]);
    assert_eq!(again["changed"], false, "{:#}", again["plan"]);
    let done = s.ok(moto, &["teardown", "--yes", "--delete-data"]);
    assert!(
        done["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|st| st["action"] != "not_ours"),
        "{done:#}"
    );
    assert_eq!(found(&inspect(moto, n)), Vec::<String>::new());
}

#[test]
fn a_role_with_an_attached_policy_is_refused_even_with_adopt() {
    let moto = moto();
    let s = StackDir::new("adminrole", "[cdn]\nenabled = false");
    let n = s.name.as_str();
    let arn = boto3(
        moto,
        n,
        r#"
iam.create_role(RoleName=NAME + '-function', AssumeRolePolicyDocument=json.dumps(
    {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'lambda.amazonaws.com'},
      'Action': 'sts:AssumeRole'}]}))
p = iam.create_policy(PolicyName=NAME + '-everything', PolicyDocument=json.dumps(
    {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))
iam.attach_role_policy(RoleName=NAME + '-function', PolicyArn=p['Policy']['Arn'])
print(json.dumps(p['Policy']['Arn']))
"#,
    );
    let (ok, _, stderr) = s.run(moto, &["up", "--yes", "--adopt"]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!("role {n}-function")) && stderr.contains(arn.as_str().unwrap()),
        "the refusal names the role and what is attached:\n{stderr}"
    );
    let role = boto3(
        moto,
        n,
        "print(json.dumps({'tags': iam.list_role_tags(RoleName=NAME + '-function')['Tags'], \
         'inline': iam.list_role_policies(RoleName=NAME + '-function')['PolicyNames']}))",
    );
    assert_eq!(
        role,
        serde_json::json!({"tags": [], "inline": []}),
        "the role was changed"
    );
    assert!(
        !found(&inspect(moto, n))
            .iter()
            .any(|r| r.starts_with("s3:")),
        "up created a bucket"
    );
}

#[test]
fn teardown_deletes_only_what_carries_the_stacks_tag() {
    let moto = moto();
    let s = StackDir::new("mine", "");
    let n = s.name.as_str();
    s.ok(moto, &["up", "--yes"]);

    // A look-alike distribution of another stack, with this stack's comment.
    let look_alike = boto3(
        moto,
        n,
        r#"
ref = NAME + '-lookalike'
cfg = {'CallerReference': ref, 'Comment': 'imgdeploy:' + NAME, 'Enabled': True,
       'Origins': {'Quantity': 1, 'Items': [{'Id': 'o', 'DomainName': 'example.com',
           'CustomOriginConfig': {'HTTPPort': 80, 'HTTPSPort': 443, 'OriginProtocolPolicy': 'https-only'}}]},
       'DefaultCacheBehavior': {'TargetOriginId': 'o', 'ViewerProtocolPolicy': 'https-only',
           'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'}}
d = cf.create_distribution_with_tags(DistributionConfigWithTags={'DistributionConfig': cfg,
    'Tags': {'Items': [{'Key': 'imgdeploy:stack', 'Value': 'other'}]}})['Distribution']
print(json.dumps(d['Id']))
"#,
    );
    let look_alike = look_alike.as_str().unwrap().to_string();
    let read = |id: &str| {
        boto3(
            moto,
            n,
            &format!(
                "c = cf.get_distribution_config(Id={id:?})\nprint(json.dumps({{'etag': c['ETag'], \
                 'config': c['DistributionConfig']}}, sort_keys=True, default=str))"
            ),
        )
    };
    let before = read(&look_alike);

    // `up` passes over it: the stack's own distribution is unchanged, the look-alike untouched.
    let again = s.ok(moto, &["up", "--yes"]);
    assert_eq!(again["changed"], false, "{:#}", again["plan"]);
    assert_eq!(read(&look_alike), before);

    // The role is re-tagged for another stack (say, by a colleague): no longer this stack's.
    boto3(
        moto,
        n,
        "iam.tag_role(RoleName=NAME + '-function', Tags=[{'Key': 'imgdeploy:stack', 'Value': 'other'}])",
    );
    let done = s.ok(moto, &["teardown", "--yes", "--delete-data"]);
    assert_eq!(
        action_of(&done, "cdn-distribution", &format!("imgdeploy:{n}"))["action"],
        "delete"
    );
    assert_eq!(
        action_of(&done, "role", &format!("{n}-function"))["action"],
        "not_ours"
    );
    assert_eq!(
        action_of(&done, "function", &format!("{n}-variants"))["action"],
        "delete"
    );
    assert_eq!(
        read(&look_alike),
        before,
        "the look-alike distribution was changed"
    );
    let left = found(&inspect(moto, n));
    assert!(
        left.iter()
            .any(|r| r.contains(&format!("iam:role:{n}-function"))),
        "the other stack's role was deleted: {left:?}"
    );
    boto3(moto, n, "iam.delete_role_policy(RoleName=NAME + '-function', PolicyName=NAME + '-function-access')\niam.delete_role(RoleName=NAME + '-function')");
}
