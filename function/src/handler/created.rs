//! One upload, start to end: HEAD; stale event or too large? skip or report; duplicate? done, writing
//! nothing; backup copy; capped GET; render what is missing or stale within the invocation's time left;
//! conditional writes of the variants (see `write`), then of the manifest that lists them (see
//! `manifest`). The original is only ever read and copied. A permanent failure ends in a failure
//! report; anything a retry may heal comes back as an error, which fails the invocation.
use super::event::ObjectRef;
use super::manifest::{self, SourceEntry};
use super::outcome::{ManifestWritten, Outcome, VariantWritten};
use super::record::{self, fail, gone, too_large, Derived, Target};
use super::storage::{self, Body, Condition, Put, StoreError};
use super::write::{self, Source, Written};
use super::{events, report, Handler, RetryCause};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Kept from the invocation's time for writing the variants after the render.
pub const WRITE_RESERVE: Duration = Duration::from_secs(2);

pub async fn process(
    h: &Handler,
    obj: &ObjectRef,
    relative: &str,
    deadline: Option<Instant>,
) -> Result<Outcome, RetryCause> {
    let started = Instant::now();
    let settings = &h.settings;
    let store = h.store.as_ref();
    let head = match storage::head_original(store, &obj.bucket, &obj.key).await {
        Ok(head) => head,
        Err(StoreError::NotFound { .. }) => return gone(h, obj, None).await,
        Err(e) => return Err(e.into()),
    };
    let etag = head.etag.clone();
    if let Some(named) = obj.etag.as_deref().filter(|named| *named != etag) {
        let reason = format!(
            "superseded: the key was overwritten after this event (ETag {named}, now {etag}); the newer upload's own event makes its variants"
        );
        return Ok(Outcome::Skipped {
            etag: named.to_owned(),
            reason,
        });
    }
    let cap = settings.limits.max_input_bytes;
    if head.size > cap {
        return too_large(h, obj, etag, head.size, cap).await;
    }
    let targets = Target::all(h, relative);
    let manifest = manifest::derived(&h.variants, relative);
    let bucket = &settings.processed_bucket;
    let (found, found_manifest) = futures::future::try_join(
        futures::future::try_join_all(
            targets
                .iter()
                .map(|t| storage::head_output(store, bucket, &t.key)),
        ),
        storage::head_output(store, bucket, &manifest.key),
    )
    .await?;
    // Only what is missing or stale is rendered: a variant added to the configuration is made alone,
    // and the others are left as they are.
    let needed: Vec<usize> = (0..targets.len())
        .filter(|&i| {
            !found[i]
                .as_ref()
                .is_some_and(|f| targets[i].made_from(f, &etag))
        })
        .collect();
    let manifest_current = found_manifest
        .as_ref()
        .is_some_and(|f| manifest.made_from(f, &etag));
    if needed.is_empty() && manifest_current && !targets.is_empty() {
        let reason =
            "every variant already exists for this source ETag and variant spec".to_owned();
        return Ok(Outcome::Skipped { etag, reason });
    }
    // A variant made from this very version means it was processed before, backup copy included (the
    // copy precedes the writes): adding a variant must not add a backup version of every original.
    let backed_up = found.iter().flatten().any(|f| {
        f.metadata
            .get(record::meta::SOURCE_ETAG)
            .map(String::as_str)
            == Some(etag.as_str())
    });
    if let Some(backup) = settings.backup_bucket.as_ref().filter(|_| !backed_up) {
        match store.copy(&obj.bucket, &obj.key, backup, &etag).await {
            Ok(()) => {}
            Err(StoreError::NotFound { .. }) => return gone(h, obj, Some(etag)).await,
            Err(StoreError::Conflict { .. }) => return Ok(changed_meanwhile(etag)),
            Err(e) => return Err(e.into()),
        }
    }
    let input = match store.get_capped(&obj.bucket, &obj.key, &etag, cap).await {
        Ok(Body::Bytes(bytes)) => bytes,
        Ok(Body::TooLarge(seen)) => return too_large(h, obj, etag, seen, cap).await,
        Err(StoreError::NotFound { .. }) => return gone(h, obj, Some(etag)).await,
        Err(StoreError::Conflict { .. }) => return Ok(changed_meanwhile(etag)),
        Err(e) => return Err(e.into()),
    };
    let bytes_in = input.len() as u64;
    let dimensions = h.renderer.dimensions(&input);
    let source_entry = SourceEntry {
        key: obj.key.clone(),
        etag: etag.clone(),
        format: crate::engine::probe(&input)
            .ok()
            .map(|i| i.format.to_owned()),
        width: dimensions.map(|d| d.0),
        height: dimensions.map(|d| d.1),
    };
    let rendering = Instant::now();
    let rendered = if needed.is_empty() {
        Vec::new() // only the manifest is missing or stale
    } else {
        // An `auto` variant's objects are rendered together: one missing or stale renders all three.
        let specs = if needed.len() == targets.len() {
            h.variants.clone()
        } else {
            let mut specs: Vec<_> = needed.iter().map(|&i| targets[i].spec.clone()).collect();
            specs.dedup_by(|a, b| a.name == b.name);
            Arc::new(specs)
        };
        let render = h
            .budget
            .render(h.renderer.clone(), Arc::new(input), specs, settings.limits);
        let rendered = match deadline.map(time_left) {
            None => render.await,
            Some(left) => match tokio::time::timeout(left, render).await {
                Ok(rendered) => rendered,
                Err(_) => return too_slow(h, obj, etag, left).await,
            },
        };
        match rendered {
            Ok(rendered) => rendered,
            Err(e) => {
                let message = format!("s3://{}/{}: {}", obj.bucket, obj.key, e.message);
                return fail(h, obj, Some(etag), &e.kind, message).await;
            }
        }
    };
    let render_millis = rendering.elapsed().as_secs_f64() * 1000.0;
    let decoder = rendered
        .first()
        .map(|r| r.decoder.name().to_owned())
        .unwrap_or_default();
    let source = Source {
        bucket: &obj.bucket,
        key: &obj.key,
        etag: &etag,
        sequencer: obj.sequencer.as_ref(),
    };
    let mut writes = Vec::with_capacity(rendered.len());
    // The target of each rendering, in the order of `rendered`.
    let mut indices = Vec::with_capacity(rendered.len());
    for variant in &rendered {
        let Some(index) = targets.iter().position(|t| t.is_rendered_as(variant)) else {
            let message = format!(
                "the renderer returned an unknown variant {:?}",
                variant.name
            );
            return fail(h, obj, Some(etag.clone()), "internal", message).await;
        };
        indices.push(index);
        let target = &targets[index];
        let metadata = write::metadata(&source, target, variant.width, variant.height);
        let put = move |condition: Condition| Put {
            bucket: &settings.processed_bucket,
            key: &target.key,
            body: variant.bytes.clone(),
            content_type: variant.format.content_type(),
            cache_control: Some(&settings.cache_control),
            metadata: metadata.clone(),
            condition,
        };
        let found = found[index].clone();
        let source = &source;
        writes.push(async move {
            write::variant(
                store,
                &settings.processed_bucket,
                target,
                source,
                found,
                put,
            )
            .await
        });
    }
    let results = futures::future::try_join_all(writes).await?;
    let mut written = Vec::with_capacity(rendered.len());
    let mut superseded = Vec::new();
    for ((variant, result), index) in rendered.iter().zip(results).zip(indices) {
        let key = targets[index].key.clone();
        let replaced = match result {
            Written::Superseded(why) => {
                superseded.push(why);
                continue;
            }
            Written::Replaced => true,
            Written::Created | Written::Unchanged => false,
        };
        written.push(VariantWritten {
            name: variant.name.clone(),
            key,
            content_type: variant.format.content_type().to_owned(),
            bytes: variant.bytes.len() as u64,
            width: variant.width,
            height: variant.height,
            millis: variant.millis,
            replaced,
        });
    }
    if written.is_empty() && !superseded.is_empty() {
        let reason = format!("superseded: {}", superseded.join("; "));
        return Ok(Outcome::Skipped { etag, reason });
    }
    // When a newer upload owns some of the objects, its own event writes the manifest.
    let manifest = if superseded.is_empty() {
        let current = (&manifest, found_manifest);
        let (rendered, found) = (&rendered, &found);
        write_manifest(h, &source, current, source_entry, &targets, rendered, found).await?
    } else {
        None
    };
    report::clear(&h.report_destination(), &obj.key).await?;
    let bytes_out = written.iter().map(|v| v.bytes).sum();
    Ok(Outcome::Processed {
        etag,
        bytes_in,
        bytes_out,
        variants: written,
        backup_bucket: settings.backup_bucket.clone(),
        millis: started.elapsed().as_secs_f64() * 1000.0,
        render_millis,
        decoder,
        manifest,
    })
}

/// Writes the manifest of the objects now in place (`manifest`); `None` when one of them could not
/// be read back (then the next event or backfill writes it).
async fn write_manifest(
    h: &Handler,
    source: &Source<'_>,
    (manifest, found): (&Derived, Option<storage::Head>),
    source_entry: SourceEntry,
    targets: &[Target<'_>],
    rendered: &[crate::engine::Rendered],
    heads: &[Option<storage::Head>],
) -> Result<Option<ManifestWritten>, RetryCause> {
    let bucket = &h.settings.processed_bucket;
    let Some(files) = manifest::files(targets, rendered, heads) else {
        tracing::warn!(key = %manifest.key, "a variant object is neither rendered nor found: manifest not written");
        return Ok(None);
    };
    let placeholder = match manifest::placeholder_source(&files) {
        Some(file) => manifest::placeholder_of(h.store.as_ref(), bucket, file).await?,
        None => None,
    };
    let (width, height) = (source_entry.width, source_entry.height);
    let listed = manifest::build(source_entry, &files, placeholder);
    // Before the manifest is written: a failed publish is retried with the manifest still missing.
    let ready = events::Event::Processed {
        bucket: source.bucket,
        key: source.key,
        manifest_key: &manifest.key,
        manifest: &listed,
    };
    events::publish(h, &ready).await?;
    let body = serde_json::to_vec(&listed).expect("a manifest serializes");
    let bytes = body.len() as u64;
    let metadata = write::metadata(source, manifest, width.unwrap_or(0), height.unwrap_or(0));
    let put = |condition: Condition| Put {
        bucket,
        key: &manifest.key,
        body: body.clone(),
        content_type: manifest::CONTENT_TYPE,
        cache_control: Some(&h.settings.cache_control),
        metadata: metadata.clone(),
        condition,
    };
    let replaced =
        match write::variant(h.store.as_ref(), bucket, manifest, source, found, put).await? {
            Written::Superseded(_) => return Ok(None),
            Written::Replaced => true,
            Written::Created | Written::Unchanged => false,
        };
    Ok(Some(ManifestWritten {
        key: manifest.key.clone(),
        bytes,
        replaced,
    }))
}

/// The render's share of the time left before `deadline`: all of it but [`WRITE_RESERVE`].
fn time_left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .saturating_sub(WRITE_RESERVE)
}

/// The version HEAD saw was replaced before it could be copied or read.
fn changed_meanwhile(etag: String) -> Outcome {
    let reason = "superseded: the key was overwritten while this upload was being processed; the newer upload's own event makes its variants".to_owned();
    Outcome::Skipped { etag, reason }
}

/// The render cannot finish before the invocation's timeout: a permanent failure of this image at
/// this memory size, reported with the figure instead of timing out into the dead-letter target.
async fn too_slow(
    h: &Handler,
    obj: &ObjectRef,
    etag: String,
    left: Duration,
) -> Result<Outcome, RetryCause> {
    let message = format!(
        "s3://{}/{} is too slow for the configured timeout: rendering did not finish in the {:.1} s the invocation had left ({} s kept for writing); raise [function] timeout, or memory (which also buys CPU)",
        obj.bucket,
        obj.key,
        left.as_secs_f64(),
        WRITE_RESERVE.as_secs()
    );
    fail(h, obj, Some(etag), "too_slow", message).await
}

#[cfg(test)]
mod tests {
    use super::super::storage::memory::Memory;
    use super::super::tests::on_store;
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_new_variant_is_rendered_and_written_alone() {
        let memory = Arc::new(Memory::default());
        memory.upload("src", "originals/a.jpg", b"photo");
        let backfill = json!({"bucket": "src", "keys": ["originals/a.jpg"]});
        let one = json!([{"name": "thumb", "width": 8}]);
        let summary = on_store(memory.clone(), one)
            .handle(backfill.clone())
            .await
            .unwrap();
        assert_eq!(summary.processed, 1, "{summary:#?}");
        let thumb = memory.object("out", "thumb/a.jpg").unwrap();
        assert!(
            memory.object("backup", "originals/a.jpg").is_some(),
            "backed up"
        );
        memory.remove("backup", "originals/a.jpg");

        let two = json!([{"name": "thumb", "width": 8}, {"name": "retina", "width": 16}]);
        let summary = on_store(memory.clone(), two.clone())
            .handle(backfill.clone())
            .await
            .unwrap();
        let Outcome::Processed { variants, .. } = &summary.records[0].outcome else {
            panic!("{summary:#?}")
        };
        let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["retina"], "only the new variant is rendered");
        assert_eq!(
            memory.object("out", "thumb/a.jpg").unwrap().metadata,
            thumb.metadata
        );
        assert!(memory.object("out", "retina/a.jpg").is_some());
        assert!(
            memory.object("backup", "originals/a.jpg").is_none(),
            "a version already backed up is not copied again"
        );
        // A second backfill rewrites nothing.
        let summary = on_store(memory, two).handle(backfill).await.unwrap();
        assert_eq!(summary.skipped, 1, "{summary:#?}");
    }
}
