//! The manifest of an original, for apps: what a page needs to lay out a picture and build its
//! `<img srcset>` without listing the bucket. It holds the original's format, size and ETag, each
//! variant's objects (CDN path, type, bytes) with its size, and a placeholder (`engine::placeholder`,
//! from the smallest rendering a browser reads without AVIF support). It is JSON at
//! `_manifests/<dir>/<stem>.json` in the processed bucket, served by the CDN like the variants.
//!
//! Its promises: it is written only after every object it lists was written, with the same conditional
//! write (`write`: an older render never replaces a newer manifest); it is made again whenever a
//! variant's settings or the original change (its fingerprint covers every variant's); and it is
//! deleted with the variants.
use super::invalidate::path_of;
use super::record::{fnv, spec_hash, stem_path, Derived, Target};
use super::storage::{Body, Head, Store, StoreError};
use crate::engine::placeholder::{self, Placeholder};
use crate::engine::Rendered;
use crate::spec::{Output, VariantSpec, MANIFESTS_PREFIX};
use serde::{Deserialize, Serialize};

/// The manifest's shape. A new version makes the next event (or backfill) of each original write
/// its manifest again.
pub const VERSION: u32 = 1;
pub const CONTENT_TYPE: &str = "application/json";
/// The largest variant object read back for the placeholder (a placeholder comes from a small one).
const PLACEHOLDER_READ_CAP: u64 = 4 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub source: SourceEntry,
    pub variants: Vec<VariantEntry>,
    /// `null` when no variant is in a format the placeholder can be computed from (only AVIF ones).
    pub placeholder: Option<Placeholder>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceEntry {
    /// The original's key in the originals bucket.
    pub key: String,
    pub etag: String,
    /// `jpeg`, `png`, `webp` or `gif`.
    pub format: Option<String>,
    /// As stored, before any EXIF orientation; the variants' sizes are upright.
    pub width: Option<u32>,
    pub height: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantEntry {
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// The path to put in `src` and `srcset`: its one file's, or for `format = "auto"` the
    /// extensionless one, which the CDN serves in the best format the browser accepts.
    pub path: String,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The CDN path (URL-encoded, from the distribution's root).
    pub path: String,
    #[serde(rename = "type")]
    pub content_type: String,
    pub bytes: u64,
}

/// Where the manifest of `relative` (a key under the source prefix) lives.
pub fn key(relative: &str) -> String {
    format!("{MANIFESTS_PREFIX}{}.json", stem_path(relative))
}

/// The manifest of `relative`, with a fingerprint of every variant's settings.
pub fn derived(variants: &[VariantSpec], relative: &str) -> Derived {
    let hashes: Vec<String> = variants.iter().map(spec_hash).collect();
    Derived {
        key: key(relative),
        spec_hash: fnv(&format!("manifest {VERSION} {}", hashes.join(" "))),
    }
}

/// One object of a variant as it now stands: written by this render, or found current.
pub struct File<'a> {
    pub target: &'a Target<'a>,
    pub content_type: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// The encoded bytes, when this render made them.
    pub encoded: Option<&'a [u8]>,
}

/// Every target's object, from `rendered` or else from `found` (the HEAD of the duplicate check);
/// `None` when one is in neither.
pub fn files<'a>(
    targets: &'a [Target<'a>],
    rendered: &'a [Rendered],
    found: &'a [Option<Head>],
) -> Option<Vec<File<'a>>> {
    targets
        .iter()
        .zip(found)
        .map(|(target, found)| {
            let made = rendered.iter().find(|r| target.is_rendered_as(r));
            if let Some(r) = made {
                return Some(File {
                    target,
                    content_type: r.format.content_type().to_owned(),
                    bytes: r.bytes.len() as u64,
                    width: r.width,
                    height: r.height,
                    encoded: Some(&r.bytes),
                });
            }
            let head = found.as_ref()?;
            let number = |name: &str| head.metadata.get(name)?.parse().ok();
            Some(File {
                target,
                content_type: head.content_type.clone()?,
                bytes: head.size,
                width: number("width")?,
                height: number("height")?,
                encoded: None,
            })
        })
        .collect()
}

/// The smallest object a browser without AVIF reads (JPEG, PNG or WebP): the placeholder's source.
pub fn placeholder_source<'a, 'f>(files: &'f [File<'a>]) -> Option<&'f File<'a>> {
    files
        .iter()
        .filter(|f| {
            matches!(
                f.content_type.as_str(),
                "image/jpeg" | "image/png" | "image/webp"
            )
        })
        .min_by_key(|f| f.width as u64 * f.height as u64)
}

/// The placeholder from `file`: its bytes from this render, or read back from `bucket`.
pub async fn placeholder_of(
    store: &dyn Store,
    bucket: &str,
    file: &File<'_>,
) -> Result<Option<Placeholder>, StoreError> {
    let read;
    let encoded = match file.encoded {
        Some(bytes) => bytes,
        None => {
            let head = store.head(bucket, &file.target.key).await?;
            match store
                .get_capped(bucket, &file.target.key, &head.etag, PLACEHOLDER_READ_CAP)
                .await?
            {
                Body::Bytes(bytes) => read = bytes,
                Body::TooLarge(_) => return Ok(None),
            }
            &read
        }
    };
    Ok(placeholder::from_encoded(encoded))
}

/// The manifest of the objects `files` (in the order of the configuration's variants).
pub fn build(source: SourceEntry, files: &[File], placeholder: Option<Placeholder>) -> Manifest {
    let mut variants: Vec<VariantEntry> = Vec::new();
    for file in files {
        let spec = file.target.spec;
        let entry = FileEntry {
            path: path_of(&file.target.key),
            content_type: file.content_type.clone(),
            bytes: file.bytes,
        };
        match variants.last_mut() {
            Some(last) if last.name == spec.name => last.files.push(entry),
            _ => variants.push(VariantEntry {
                name: spec.name.clone(),
                width: file.width,
                height: file.height,
                path: entry.path.clone(),
                files: vec![entry],
            }),
        }
        if file.target.output == Output::Fallback {
            let last = variants.last_mut().expect("pushed above");
            last.path = path_of(&file.target.key);
        }
    }
    Manifest {
        version: VERSION,
        source,
        variants,
        placeholder,
    }
}
