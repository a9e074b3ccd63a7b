//! One upload, start to end: HEAD, backup copy, skip if already done, capped GET, render, write the
//! variants. The original is only ever read and copied. A permanent failure ends in a failure report;
//! anything a retry may heal comes back as an error, which fails the invocation.
use super::event::ObjectRef;
use super::outcome::{Outcome, VariantWritten};
use super::report::{self, FailureReport};
use super::storage::{self, Body, Put, StoreError};
use super::{Handler, RetryCause};
use crate::spec::VariantSpec;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// A variant's object in the processed bucket.
pub struct Target<'a> {
    pub spec: &'a VariantSpec,
    pub key: String,
    /// Fingerprint of the variant's settings: a changed spec is not "already done".
    pub spec_hash: String,
}

/// `<variant name>/<key relative to the source prefix, with the variant's extension>`.
pub fn variant_key(spec: &VariantSpec, relative: &str) -> String {
    let (dir, file) = match relative.rsplit_once('/') {
        Some((dir, file)) => (format!("{dir}/"), file),
        None => (String::new(), relative),
    };
    let stem = match file.rfind('.') {
        Some(dot) if dot > 0 => &file[..dot],
        _ => file,
    };
    format!("{}/{dir}{stem}.{}", spec.name, spec.format.extension())
}

/// FNV-1a (64 bit) of the variant's JSON: stable across builds and Rust versions.
pub fn spec_hash(spec: &VariantSpec) -> String {
    let json = serde_json::to_string(spec).expect("a variant serializes");
    let hash = json.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

pub async fn process(h: &Handler, obj: &ObjectRef, relative: &str) -> Result<Outcome, RetryCause> {
    let started = Instant::now();
    let settings = &h.settings;
    let head = match storage::head(&h.s3, &obj.bucket, &obj.key).await {
        Ok(head) => head,
        Err(StoreError::NotFound { .. }) => return gone(h, obj, None).await,
        Err(e) => return Err(e.into()),
    };
    let etag = head.etag.clone();
    if let Some(backup) = &settings.backup_bucket {
        match storage::copy(&h.s3, &obj.bucket, &obj.key, backup, &etag).await {
            Ok(()) => {}
            Err(StoreError::NotFound { .. }) => return gone(h, obj, Some(etag)).await,
            Err(e) => return Err(e.into()),
        }
    }
    let cap = settings.limits.max_input_bytes;
    if head.size > cap {
        return too_large(h, obj, etag, head.size, cap).await;
    }
    let targets: Vec<Target> = h
        .variants
        .iter()
        .map(|spec| Target {
            spec,
            key: variant_key(spec, relative),
            spec_hash: spec_hash(spec),
        })
        .collect();
    if already_done(h, &etag, &targets).await? {
        let reason =
            "every variant already exists for this source ETag and variant spec".to_owned();
        return Ok(Outcome::Skipped { etag, reason });
    }
    let input = match storage::get_capped(&h.s3, &obj.bucket, &obj.key, &etag, cap).await {
        Ok(Body::Bytes(bytes)) => bytes,
        Ok(Body::TooLarge(seen)) => return too_large(h, obj, etag, seen, cap).await,
        Err(StoreError::NotFound { .. }) => return gone(h, obj, Some(etag)).await,
        Err(e) => return Err(e.into()),
    };
    let bytes_in = input.len() as u64;
    let rendering = Instant::now();
    let rendered = h
        .budget
        .render(
            h.renderer.clone(),
            Arc::new(input),
            h.variants.clone(),
            settings.limits,
        )
        .await;
    let render_millis = rendering.elapsed().as_secs_f64() * 1000.0;
    let rendered = match rendered {
        Ok(rendered) => rendered,
        Err(e) => {
            return fail(
                h,
                obj,
                Some(etag),
                &e.kind,
                format!("s3://{}/{}: {}", obj.bucket, obj.key, e.message),
            )
            .await
        }
    };
    let decoder = rendered
        .first()
        .map(|r| r.decoder.name().to_owned())
        .unwrap_or_default();
    let mut writes = Vec::with_capacity(rendered.len());
    let mut written = Vec::with_capacity(rendered.len());
    for variant in rendered {
        let Some(target) = targets.iter().find(|t| t.spec.name == variant.name) else {
            let message = format!(
                "the renderer returned an unknown variant {:?}",
                variant.name
            );
            return fail(h, obj, Some(etag), "internal", message).await;
        };
        written.push(VariantWritten {
            name: variant.name.clone(),
            key: target.key.clone(),
            content_type: variant.format.content_type().to_owned(),
            bytes: variant.bytes.len() as u64,
            width: variant.width,
            height: variant.height,
            millis: variant.millis,
        });
        let metadata = HashMap::from([
            ("source-etag".to_owned(), etag.clone()),
            (
                "source-key".to_owned(),
                utf8_percent_encode(&obj.key, NON_ALPHANUMERIC).to_string(),
            ),
            ("source-bucket".to_owned(), obj.bucket.clone()),
            ("variant-spec".to_owned(), target.spec_hash.clone()),
            ("width".to_owned(), variant.width.to_string()),
            ("height".to_owned(), variant.height.to_string()),
        ]);
        writes.push(storage::put(
            &h.s3,
            Put {
                bucket: &settings.processed_bucket,
                key: &target.key,
                body: variant.bytes,
                content_type: variant.format.content_type(),
                cache_control: Some(&settings.cache_control),
                metadata,
            },
        ));
    }
    futures::future::try_join_all(writes).await?;
    report::clear(&h.report_destination(), &obj.key).await;
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
    })
}

/// Every variant exists, made from this very source version with the current spec.
async fn already_done(h: &Handler, etag: &str, targets: &[Target<'_>]) -> Result<bool, StoreError> {
    if targets.is_empty() {
        return Ok(false);
    }
    let heads = targets
        .iter()
        .map(|t| storage::head_output(&h.s3, &h.settings.processed_bucket, &t.key));
    let heads = futures::future::try_join_all(heads).await?;
    Ok(heads.iter().zip(targets).all(|(head, target)| {
        head.as_ref().is_some_and(|head| {
            head.metadata.get("source-etag").map(String::as_str) == Some(etag)
                && head.metadata.get("variant-spec") == Some(&target.spec_hash)
        })
    }))
}

async fn gone(h: &Handler, obj: &ObjectRef, etag: Option<String>) -> Result<Outcome, RetryCause> {
    let message = format!(
        "s3://{}/{} no longer exists (deleted or overwritten after the upload notification)",
        obj.bucket, obj.key
    );
    fail(h, obj, etag, "object_gone", message).await
}

async fn too_large(
    h: &Handler,
    obj: &ObjectRef,
    etag: String,
    bytes: u64,
    cap: u64,
) -> Result<Outcome, RetryCause> {
    let message = format!(
        "s3://{}/{} is {bytes} bytes, more than max_input_bytes = {cap}",
        obj.bucket, obj.key
    );
    fail(h, obj, Some(etag), "too_many_bytes", message).await
}

/// Files the report of a permanent failure; the record then counts as done.
pub async fn fail(
    h: &Handler,
    obj: &ObjectRef,
    etag: Option<String>,
    kind: &str,
    message: String,
) -> Result<Outcome, RetryCause> {
    let report = FailureReport {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        etag,
        error_kind: kind.to_owned(),
        message,
        function_version: h.function_version.clone(),
        function_name: h.function_name.clone(),
        time: report::now_rfc3339(),
    };
    let newly_reported = report::file(&h.report_destination(), &report).await?;
    Ok(Outcome::Failed {
        report,
        newly_reported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Format;

    fn spec(name: &str, format: Format) -> VariantSpec {
        let mut v: VariantSpec =
            serde_json::from_value(serde_json::json!({"name": name, "width": 100})).unwrap();
        v.format = format;
        v
    }

    #[test]
    fn variant_keys_keep_folders_and_replace_the_extension() {
        let thumb = spec("thumb", Format::Webp);
        assert_eq!(variant_key(&thumb, "a.JPG"), "thumb/a.webp");
        assert_eq!(
            variant_key(&thumb, "2024/trip/red flower.jpeg"),
            "thumb/2024/trip/red flower.webp"
        );
        assert_eq!(variant_key(&thumb, "x.tar.png"), "thumb/x.tar.webp");
        assert_eq!(variant_key(&thumb, "noext"), "thumb/noext.webp");
        assert_eq!(
            variant_key(&thumb, "dir.d/.hidden"),
            "thumb/dir.d/.hidden.webp"
        );
        assert_eq!(
            variant_key(&spec("w", Format::Jpeg), "café/日本.png"),
            "w/café/日本.jpg"
        );
    }

    #[test]
    fn spec_hash_is_stable_and_sensitive() {
        let a = spec("thumb", Format::Jpeg);
        let mut b = a.clone();
        assert_eq!(spec_hash(&a), spec_hash(&b));
        assert_eq!(spec_hash(&a).len(), 16);
        b.quality = 81;
        assert_ne!(spec_hash(&a), spec_hash(&b));
    }
}
