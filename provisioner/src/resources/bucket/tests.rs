//! The buckets' pure diff.
use super::*;

fn desired(versioned: bool) -> Desired {
    Desired {
        name: "acme-backup".into(),
        versioned,
        tags: BTreeMap::from([("imgdeploy:stack".into(), "acme".into())]),
        holds_data: true,
        wanted: true,
        lifecycle: vec![lifecycle::abort_multipart()],
    }
}

fn good() -> Current {
    Current {
        public_access_blocked: true,
        owner_enforced: true,
        sse_s3: true,
        versioned: true,
        tags: desired(true).tags,
        lifecycle: vec![lifecycle::abort_multipart().to_sdk().unwrap()],
    }
}

#[test]
fn missing_bucket_is_created() {
    assert_eq!(diff(None, &desired(true)), Action::Create);
}

#[test]
fn matching_bucket_is_unchanged() {
    assert_eq!(diff(Some(&good()), &desired(true)), Action::Unchanged);
}

#[test]
fn each_drift_is_named() {
    let c = Current {
        public_access_blocked: false,
        versioned: false,
        sse_s3: false,
        ..good()
    };
    let Action::Update { changes } = diff(Some(&c), &desired(true)) else {
        panic!()
    };
    assert_eq!(
        changes,
        ["block public access", "encryption SSE-S3", "versioning on"]
    );
}

#[test]
fn a_versioned_bucket_that_need_not_be_is_left_alone() {
    assert_eq!(diff(Some(&good()), &desired(false)), Action::Unchanged);
}
