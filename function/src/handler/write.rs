//! Writing one variant so that an older render never replaces a newer one, whatever order events
//! arrive in and whatever runs at once. Each variant records the source version it was made from (its
//! ETag and, from an event, S3's `sequencer`). A write is conditional on what was read: `If-None-Match:
//! *` where there was nothing, `If-Match: <etag read>` where there was a variant; a lost race (412)
//! reads again and decides again. The decision:
//! - nothing there: write;
//! - made from this source version with these settings: nothing to do;
//! - made from a newer event of this key (greater sequencer): keep it, this render is superseded;
//! - otherwise this render replaces it, provided this source version is still the original's current
//!   one; when either side has no sequencer (a backfill), the original is read again to know that.
use super::event::Sequencer;
use super::record::{meta, Derived};
use super::storage::{self, Condition, Head, Put, Store, StoreError};
use std::collections::HashMap;

/// The source version a render was made from.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub etag: &'a str,
    pub sequencer: Option<&'a Sequencer>,
}

/// What became of one variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Written where there was none.
    Created,
    /// Written over a variant of another source version or other settings: the CDN must forget it.
    Replaced,
    /// Already there, made from this version with these settings.
    Unchanged,
    /// A newer upload of the key owns the variant (or the original changed since this render began).
    Superseded(String),
}

/// What to do about the variant found at the target's key.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Write(Condition),
    Unchanged,
    Superseded(String),
    /// Replace it if the original is still this version.
    ReplaceIfCurrent(String),
}

fn decide(found: Option<&Head>, target: &Derived, source: &Source) -> Decision {
    let Some(found) = found else {
        return Decision::Write(Condition::Absent);
    };
    if target.made_from(found, source.etag) {
        return Decision::Unchanged;
    }
    let same_source =
        found.metadata.get(meta::SOURCE_ETAG).map(String::as_str) == Some(source.etag);
    let theirs = found
        .metadata
        .get(meta::SOURCE_SEQUENCER)
        .map(|s| Sequencer::new(s));
    match (source.sequencer, theirs) {
        _ if same_source => Decision::Write(Condition::Unchanged(found.etag.clone())),
        (Some(ours), Some(theirs)) if theirs > *ours => Decision::Superseded(format!(
            "{} was made from a newer upload of the key (sequencer {} > {})",
            target.key,
            theirs.as_str(),
            ours.as_str()
        )),
        (Some(_), Some(_)) => Decision::Write(Condition::Unchanged(found.etag.clone())),
        _ => Decision::ReplaceIfCurrent(found.etag.clone()),
    }
}

/// Tries before giving up on a key that keeps changing under the write (each try is a lost race).
const TRIES: usize = 8;

/// Writes `target` (a variant's object, or the manifest) made from `source`, conditionally, as the
/// module doc describes. `found` is the object as read earlier (the duplicate check), `None` if absent.
pub async fn variant<'p>(
    store: &dyn Store,
    bucket: &str,
    target: &Derived,
    source: &Source<'_>,
    found: Option<Head>,
    write: impl Fn(Condition) -> Put<'p>,
) -> Result<Written, StoreError> {
    let mut found = found;
    for _ in 0..TRIES {
        let condition = match decide(found.as_ref(), target, source) {
            Decision::Unchanged => return Ok(Written::Unchanged),
            Decision::Superseded(why) => return Ok(Written::Superseded(why)),
            Decision::Write(condition) => condition,
            Decision::ReplaceIfCurrent(etag) => {
                match storage::head_original(store, source.bucket, source.key).await {
                    Ok(now) if now.etag == source.etag => Condition::Unchanged(etag),
                    Ok(_) | Err(StoreError::NotFound { .. }) => {
                        return Ok(Written::Superseded(format!(
                            "s3://{}/{} changed since this render began",
                            source.bucket, source.key
                        )))
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let replacing = condition != Condition::Absent;
        match store.put(write(condition)).await {
            Ok(()) if replacing => return Ok(Written::Replaced),
            Ok(()) => return Ok(Written::Created),
            Err(StoreError::Conflict { .. }) => {
                found = storage::head_output(store, bucket, &target.key).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Retry {
        op: "PutObject",
        bucket: bucket.into(),
        key: target.key.clone(),
        transient: true,
        status: Some(412),
        message: format!("{TRIES} conditional writes in a row lost a race with other writers"),
    })
}

/// The metadata of a variant made from `source`.
pub fn metadata(
    source: &Source,
    target: &Derived,
    width: u32,
    height: u32,
) -> HashMap<String, String> {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let mut m = HashMap::from([
        (meta::SOURCE_ETAG.to_owned(), source.etag.to_owned()),
        (
            meta::SOURCE_KEY.to_owned(),
            utf8_percent_encode(source.key, NON_ALPHANUMERIC).to_string(),
        ),
        (meta::SOURCE_BUCKET.to_owned(), source.bucket.to_owned()),
        (meta::VARIANT_SPEC.to_owned(), target.spec_hash.clone()),
        ("width".to_owned(), width.to_string()),
        ("height".to_owned(), height.to_string()),
    ]);
    if let Some(sequencer) = source.sequencer {
        m.insert(
            meta::SOURCE_SEQUENCER.to_owned(),
            sequencer.as_str().to_owned(),
        );
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::record::spec_hash;
    use crate::spec::VariantSpec;

    fn found(etag: &str, sequencer: Option<&str>, spec: &str) -> Head {
        let mut metadata = HashMap::from([
            (meta::SOURCE_ETAG.to_owned(), etag.to_owned()),
            (meta::VARIANT_SPEC.to_owned(), spec.to_owned()),
        ]);
        if let Some(s) = sequencer {
            metadata.insert(meta::SOURCE_SEQUENCER.to_owned(), s.to_owned());
        }
        Head {
            etag: format!("variant-of-{etag}"),
            size: 1,
            content_type: None,
            metadata,
        }
    }

    #[test]
    fn decisions_follow_source_version_and_sequencer() {
        let spec: VariantSpec = serde_json::from_str(r#"{"name":"t","width":8}"#).unwrap();
        let target = Derived {
            key: "t/a.jpg".into(),
            spec_hash: spec_hash(&spec),
        };
        let hash = target.spec_hash.clone();
        let seq = Sequencer::new("0055AED6DCD90281E5");
        let ours = Source {
            bucket: "src",
            key: "originals/a.jpg",
            etag: "e2",
            sequencer: Some(&seq),
        };
        let write_over =
            |of: &str| Decision::Write(Condition::Unchanged(format!("variant-of-{of}")));
        assert_eq!(
            decide(None, &target, &ours),
            Decision::Write(Condition::Absent)
        );
        assert_eq!(
            decide(Some(&found("e2", None, &hash)), &target, &ours),
            Decision::Unchanged
        );
        // Same source, other settings: rewrite.
        assert_eq!(
            decide(Some(&found("e2", None, "old")), &target, &ours),
            write_over("e2")
        );
        // Older and newer events of the key.
        let older = found("e1", Some("0055AED6DCD90281E4"), &hash);
        assert_eq!(decide(Some(&older), &target, &ours), write_over("e1"));
        let newer = found("e3", Some("0055AED6DCD90281E500001"), &hash);
        assert!(matches!(
            decide(Some(&newer), &target, &ours),
            Decision::Superseded(_)
        ));
        // No sequencer on one side: only the original can tell.
        let unknown = found("e1", None, &hash);
        assert_eq!(
            decide(Some(&unknown), &target, &ours),
            Decision::ReplaceIfCurrent("variant-of-e1".into())
        );
        let backfill = Source {
            sequencer: None,
            ..ours.clone()
        };
        assert_eq!(
            decide(Some(&older), &target, &backfill),
            Decision::ReplaceIfCurrent("variant-of-e1".into())
        );
    }
}
