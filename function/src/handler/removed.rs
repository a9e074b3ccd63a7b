//! A deleted original: its variants, its manifest and its failure report go (`[source] on_delete =
//! "delete-variants"`, the default), the backup keeps its copy, and the handler invalidates the deleted
//! variants on the CDN once per invocation. A deletion event can arrive after a newer upload of the
//! same key: the original is then there again, and its variants are left to it. Variants made from a
//! newer upload event (greater sequencer) are never deleted, and each delete is conditional on the
//! version read (S3's `If-Match` on `DeleteObject`), so a variant written meanwhile stays. After
//! deleting, the original is read once more: an upload that landed meanwhile is rendered at once, so
//! that no interleaving leaves a live original without variants.
use super::created;
use super::event::{ObjectRef, Sequencer};
use super::manifest;
use super::outcome::Outcome;
use super::record::{meta, Target};
use super::storage::{self, StoreError};
use super::{events, report, Handler, RetryCause};
use crate::spec::OnDelete;
use std::time::Instant;

pub async fn process(
    h: &Handler,
    obj: &ObjectRef,
    relative: &str,
    deadline: Option<Instant>,
) -> Result<Outcome, RetryCause> {
    if h.settings.on_delete == OnDelete::Keep {
        let reason = "deleted; [source] on_delete = \"keep\" leaves its variants".to_owned();
        return Ok(Outcome::Ignored { reason });
    }
    let store = h.store.as_ref();
    if let Some(now) = original(h, obj).await? {
        let reason =
            "the key was uploaded again after this deletion; its variants belong to the new upload"
                .to_owned();
        return Ok(Outcome::Skipped {
            etag: now.etag,
            reason,
        });
    }
    let bucket = &h.settings.processed_bucket;
    let mut deleted = Vec::new();
    let mut kept = Vec::new();
    // Every variant's objects, then the manifest, which lists them.
    let objects = Target::all(h, relative).into_iter().map(|t| t.derived);
    for target in objects.chain([manifest::derived(&h.variants, relative)]) {
        let Some(found) = storage::head_output(store, bucket, &target.key).await? else {
            continue;
        };
        let theirs = found.metadata.get(meta::SOURCE_SEQUENCER);
        if let (Some(ours), Some(theirs)) = (&obj.sequencer, theirs) {
            if Sequencer::new(theirs) > *ours {
                kept.push(target.key);
                continue;
            }
        }
        // Only the version read above: a variant written since belongs to a newer upload.
        match store.delete(bucket, &target.key, Some(&found.etag)).await {
            Ok(()) => deleted.push(target.key),
            Err(StoreError::Conflict { .. }) => kept.push(target.key),
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    report::clear(&h.report_destination(), &obj.key).await?;
    if original(h, obj).await?.is_some() {
        // Uploaded again while its variants were being deleted: make them for the new upload.
        // The CDN may still hold what was just deleted: the new variants count as replacements.
        let again = ObjectRef::created(&obj.bucket, &obj.key);
        let mut outcome = created::process(h, &again, relative, deadline).await?;
        if let Outcome::Processed { variants, .. } = &mut outcome {
            for v in variants.iter_mut().filter(|v| deleted.contains(&v.key)) {
                v.replaced = true;
            }
        }
        return Ok(outcome);
    }
    let gone = events::Event::Deleted {
        bucket: &obj.bucket,
        key: &obj.key,
        deleted: &deleted,
    };
    events::publish(h, &gone).await?;
    Ok(Outcome::Deleted {
        variants: deleted,
        kept,
    })
}

async fn original(h: &Handler, obj: &ObjectRef) -> Result<Option<storage::Head>, StoreError> {
    match storage::head_original(h.store.as_ref(), &obj.bucket, &obj.key).await {
        Ok(head) => Ok(Some(head)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
