//! What every record shares: where a variant of a key lives ([`variant_key`]), how its settings are
//! fingerprinted ([`spec_hash`]), the metadata that ties a variant to its source version, and how a
//! permanent failure becomes a report ([`fail`]).
use super::event::ObjectRef;
use super::outcome::Outcome;
use super::report::{self, FailureReport};
use super::storage::Head;
use super::{Handler, RetryCause};
use crate::spec::{Output, VariantSpec};

/// Variant metadata (`x-amz-meta-*`): the source version it was made from, and the variant settings.
pub mod meta {
    pub const SOURCE_ETAG: &str = "source-etag";
    /// The S3 `sequencer` of the upload event, when the variant was made from one.
    pub const SOURCE_SEQUENCER: &str = "source-sequencer";
    pub const SOURCE_KEY: &str = "source-key";
    pub const SOURCE_BUCKET: &str = "source-bucket";
    pub const VARIANT_SPEC: &str = "variant-spec";
}

/// An object the function derives from an original (a variant's object, the manifest): where it
/// lives, and the fingerprint of the settings it is made with.
pub struct Derived {
    pub key: String,
    /// A changed fingerprint is not "already done".
    pub spec_hash: String,
}

impl Derived {
    /// `head` is this object, made from the source version `etag` with the current settings.
    pub fn made_from(&self, head: &Head, etag: &str) -> bool {
        head.metadata.get(meta::SOURCE_ETAG).map(String::as_str) == Some(etag)
            && head.metadata.get(meta::VARIANT_SPEC) == Some(&self.spec_hash)
    }
}

/// One object of a variant in the processed bucket (`format = "auto"` has three).
pub struct Target<'a> {
    pub spec: &'a VariantSpec,
    pub output: Output,
    pub derived: Derived,
}

impl std::ops::Deref for Target<'_> {
    type Target = Derived;
    fn deref(&self) -> &Derived {
        &self.derived
    }
}

impl Target<'_> {
    pub fn all<'a>(h: &'a Handler, relative: &str) -> Vec<Target<'a>> {
        h.variants
            .iter()
            .flat_map(|spec| {
                let hash = spec_hash(spec);
                spec.outputs().iter().map(move |&output| Target {
                    spec,
                    output,
                    derived: Derived {
                        key: variant_key(spec, output, relative),
                        spec_hash: hash.clone(),
                    },
                })
            })
            .collect()
    }

    /// `rendered` is this object's rendering (its variant, and the same one of the variant's objects).
    pub fn is_rendered_as(&self, rendered: &crate::engine::Rendered) -> bool {
        self.spec.name == rendered.name && self.output == rendered.output
    }
}

/// Every object key of a variant of `relative`, as [`variant_key`].
pub fn variant_keys(spec: &VariantSpec, relative: &str) -> Vec<String> {
    spec.outputs()
        .iter()
        .map(|&output| variant_key(spec, output, relative))
        .collect()
}

/// `<variant name>/<key relative to the source prefix, its extension replaced by the output's suffix>`:
/// `.webp`, or none for the fallback of `format = "auto"`.
pub fn variant_key(spec: &VariantSpec, output: Output, relative: &str) -> String {
    format!("{}/{}{}", spec.name, stem_path(relative), output.suffix())
}

/// `relative` without its file's extension: `2024/a.jpg` is `2024/a`.
pub fn stem_path(relative: &str) -> String {
    let (dir, file) = match relative.rsplit_once('/') {
        Some((dir, file)) => (format!("{dir}/"), file),
        None => (String::new(), relative),
    };
    let stem = match file.rfind('.') {
        Some(dot) if dot > 0 => &file[..dot],
        _ => file,
    };
    format!("{dir}{stem}")
}

/// FNV-1a (64 bit) of the variant's JSON with its defaults resolved: stable across builds and Rust
/// versions, and unchanged by a default that moved from a constant into `VariantSpec::quality`.
pub fn spec_hash(spec: &VariantSpec) -> String {
    let mut resolved = spec.clone();
    resolved.quality = Some(spec.quality());
    if spec.encodes_avif() {
        resolved.effort = Some(spec.effort());
    }
    fnv(&serde_json::to_string(&resolved).expect("a variant serializes"))
}

/// FNV-1a (64 bit) of `text`, as 16 hex digits.
pub fn fnv(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The original was deleted before it was processed: a permanent outcome, reported, never retried.
pub async fn gone(
    h: &Handler,
    obj: &ObjectRef,
    etag: Option<String>,
) -> Result<Outcome, RetryCause> {
    let message = format!(
        "s3://{}/{} was deleted before it was processed",
        obj.bucket, obj.key
    );
    fail(h, obj, etag, "object_gone", message).await
}

pub async fn too_large(
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
        let key = |spec: &VariantSpec, relative: &str| {
            let keys = variant_keys(spec, relative);
            assert_eq!(keys.len(), 1, "{keys:?}");
            keys[0].clone()
        };
        assert_eq!(key(&thumb, "a.JPG"), "thumb/a.webp");
        assert_eq!(
            key(&thumb, "2024/trip/red flower.jpeg"),
            "thumb/2024/trip/red flower.webp"
        );
        assert_eq!(key(&thumb, "x.tar.png"), "thumb/x.tar.webp");
        assert_eq!(key(&thumb, "noext"), "thumb/noext.webp");
        assert_eq!(key(&thumb, "dir.d/.hidden"), "thumb/dir.d/.hidden.webp");
        assert_eq!(
            key(&spec("w", Format::Jpeg), "café/日本.png"),
            "w/café/日本.jpg"
        );
    }

    #[test]
    fn an_auto_variant_has_three_keys_the_fallback_without_extension() {
        let card = spec("card", Format::Auto);
        assert_eq!(
            variant_keys(&card, "2024/red flower.JPG"),
            [
                "card/2024/red flower.avif",
                "card/2024/red flower.webp",
                "card/2024/red flower"
            ]
        );
        assert_eq!(
            variant_key(&card, Output::Fallback, "x.tar.png"),
            "card/x.tar"
        );
    }

    #[test]
    fn spec_hash_is_stable_and_sensitive() {
        let a = spec("thumb", Format::Jpeg);
        let mut b = a.clone();
        assert_eq!(spec_hash(&a), spec_hash(&b));
        assert_eq!(spec_hash(&a).len(), 16);
        // What variants written before quality became optional carry: the JSON had "quality":80.
        let before = r#"{"name":"thumb","width":100,"fit":"cover","format":"jpeg","quality":80,"gravity":"centre","progressive":true}"#;
        let fnv = before.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, c| {
            (h ^ c as u64).wrapping_mul(0x0100_0000_01b3)
        });
        assert_eq!(spec_hash(&a), format!("{fnv:016x}"));
        b.quality = Some(80);
        assert_eq!(
            spec_hash(&a),
            spec_hash(&b),
            "an explicit default is the default"
        );
        b.quality = Some(81);
        assert_ne!(spec_hash(&a), spec_hash(&b));
        let mut avif = spec("thumb", Format::Avif);
        let unset = spec_hash(&avif);
        avif.effort = Some(crate::spec::DEFAULT_AVIF_EFFORT);
        assert_eq!(spec_hash(&avif), unset);
        avif.effort = Some(5);
        assert_ne!(spec_hash(&avif), unset);
        let mut auto = spec("thumb", Format::Auto);
        let unset = spec_hash(&auto);
        auto.effort = Some(crate::spec::DEFAULT_AVIF_EFFORT);
        assert_eq!(spec_hash(&auto), unset, "auto resolves effort as avif does");
    }
}
