//! The deployment zip: one entry `bootstrap`, mode 0755, fixed timestamp and compression level, so the
//! same binary always gives the same bytes and Lambda's `CodeSha256` says whether an upload is needed.
use super::ArtifactError;
use anyhow::Context;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::{Cursor, Read, Write};
use std::path::Path;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// Lambda's limit for a zip uploaded directly (not through S3).
pub const MAX_ZIPPED_BYTES: u64 = 50 * 1024 * 1024;
/// Lambda's limit for the unzipped deployment package.
pub const MAX_UNZIPPED_BYTES: u64 = 250 * 1024 * 1024;
/// Fixed so that the bytes do not depend on a default that a `zip` upgrade might change.
const COMPRESSION_LEVEL: i64 = 6;
const BOOTSTRAP_MODE: u32 = 0o755;
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

/// Zips `binary` as `bootstrap` (mode 0755, 1980-01-01 00:00), byte-for-byte reproducibly.
pub fn zip_bootstrap(binary: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(COMPRESSION_LEVEL))
        .last_modified_time(DateTime::default())
        .unix_permissions(BOOTSTRAP_MODE);
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(binary.len() / 2)));
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

/// Writes the zip of `binary` to `zip_path`, reusing the zip already there when it holds the same
/// binary (an unchanged build then costs a decompression, not a compression).
pub fn write_zip_cached(zip_path: &Path, binary: &[u8]) -> anyhow::Result<Vec<u8>> {
    if let Ok(existing) = std::fs::read(zip_path) {
        if read_bootstrap(&existing).is_ok_and(|inside| inside == binary) {
            return Ok(existing);
        }
    }
    let bytes = zip_bootstrap(binary).context("zipping the bootstrap")?;
    let partial = zip_path.with_extension("zip.partial");
    std::fs::write(&partial, &bytes).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, zip_path)
        .with_context(|| format!("writing {}", zip_path.display()))?;
    Ok(bytes)
}

/// Keeps a copy of a checked zip at `path` (the per-user build cache), written whole or not at all.
pub fn keep(zip_bytes: &[u8], path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().context("a cache path has a parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let partial = path.with_extension(format!("zip.{}.partial", std::process::id()));
    std::fs::write(&partial, zip_bytes)
        .with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))
}

/// Extracts `bootstrap` from a deployment zip, refusing a zip Lambda could not start.
pub fn read_bootstrap(zip_bytes: &[u8]) -> Result<Vec<u8>, ArtifactError> {
    check_zip_size(zip_bytes.len() as u64)?;
    let mut archive = ZipArchive::new(Cursor::new(zip_bytes))
        .map_err(|e| ArtifactError::BadZip(e.to_string()))?;
    let mut unzipped_total = 0u64;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| ArtifactError::BadZip(e.to_string()))?;
        unzipped_total = unzipped_total.saturating_add(entry.size());
    }
    if unzipped_total > MAX_UNZIPPED_BYTES {
        return Err(ArtifactError::TooLarge {
            what: "the unzipped package",
            size: unzipped_total,
            limit: MAX_UNZIPPED_BYTES,
            limit_name: "an unzipped package",
        });
    }
    let Some(index) = archive.index_for_name("bootstrap") else {
        let mut names: Vec<&str> = archive.file_names().take(10).collect();
        names.sort_unstable();
        let entries = if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        };
        return Err(ArtifactError::MissingBootstrap { entries });
    };
    let mut entry = archive
        .by_index(index)
        .map_err(|e| ArtifactError::BadZip(e.to_string()))?;
    let mode = entry.unix_mode().unwrap_or(0);
    let is_regular = mode & S_IFMT == S_IFREG || (mode & S_IFMT == 0 && entry.is_file());
    if !is_regular || mode & 0o555 != 0o555 {
        return Err(ArtifactError::BadMode { mode });
    }
    let mut binary = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut binary)
        .map_err(|e| ArtifactError::BadZip(e.to_string()))?;
    Ok(binary)
}

pub fn check_zip_size(size: u64) -> Result<(), ArtifactError> {
    if size > MAX_ZIPPED_BYTES {
        return Err(ArtifactError::TooLarge {
            what: "the zip",
            size,
            limit: MAX_ZIPPED_BYTES,
            limit_name: "a direct upload",
        });
    }
    Ok(())
}

/// (base64, hex) of the zip's SHA-256; the base64 form is Lambda's `CodeSha256`.
pub fn digests(zip_bytes: &[u8]) -> (String, String) {
    let digest = Sha256::digest(zip_bytes);
    (
        base64::engine::general_purpose::STANDARD.encode(digest),
        hex::encode(digest),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_binary() -> Vec<u8> {
        // Real, compressible-but-not-trivial content: the first MB of this test binary (unoptimised
        // deflate in a debug build is slow on the whole of it).
        let mut bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        bytes.truncate(1 << 20);
        bytes
    }

    #[test]
    fn same_binary_gives_the_same_zip_bytes() {
        let binary = sample_binary();
        let first = zip_bootstrap(&binary).unwrap();
        let second = zip_bootstrap(&binary).unwrap();
        assert_eq!(digests(&first), digests(&second));
        let mut changed = binary.clone();
        changed[1000] ^= 1;
        assert_ne!(
            digests(&zip_bootstrap(&changed).unwrap()).0,
            digests(&first).0
        );
    }

    #[test]
    fn zip_holds_only_bootstrap_with_mode_0755_and_the_fixed_time() {
        let binary = sample_binary();
        let bytes = zip_bootstrap(&binary).unwrap();
        let mut archive = ZipArchive::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(archive.file_names().collect::<Vec<_>>(), vec!["bootstrap"]);
        let entry = archive.by_name("bootstrap").unwrap();
        assert_eq!(entry.unix_mode(), Some(S_IFREG | 0o755));
        let time = entry.last_modified().unwrap();
        assert_eq!(
            (
                time.year(),
                time.month(),
                time.day(),
                time.hour(),
                time.minute()
            ),
            (1980, 1, 1, 0, 0)
        );
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        drop(entry);
        assert_eq!(read_bootstrap(&bytes).unwrap(), binary);
    }

    #[test]
    fn the_digest_is_lambdas_code_sha256_format() {
        let (b64, hex) = digests(b"");
        assert_eq!(
            hex,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    fn zip_with(name: &str, mode: u32) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .start_file(name, SimpleFileOptions::default().unix_permissions(mode))
            .unwrap();
        writer.write_all(b"\x7fELF").unwrap();
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn zips_lambda_cannot_start_are_refused() {
        let err = read_bootstrap(&zip_with("target/bootstrap", 0o755)).unwrap_err();
        assert!(
            matches!(err, ArtifactError::MissingBootstrap { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("target/bootstrap"), "{err}");
        let err = read_bootstrap(&zip_with("bootstrap", 0o644)).unwrap_err();
        assert!(
            matches!(err, ArtifactError::BadMode { mode } if mode & 0o777 == 0o644),
            "{err}"
        );
        assert!(err.to_string().contains("0755"), "{err}");
        let err = read_bootstrap(b"not a zip at all").unwrap_err();
        assert!(matches!(err, ArtifactError::BadZip(_)), "{err}");
        assert!(read_bootstrap(&zip_with("bootstrap", 0o755)).is_ok());
    }

    #[test]
    fn oversized_packages_are_refused_by_size() {
        let err = check_zip_size(MAX_ZIPPED_BYTES + 1).unwrap_err();
        assert!(
            err.to_string()
                .contains("is 50.0 MiB, over Lambda's limit of 50.0 MiB"),
            "{err}"
        );
        assert!(check_zip_size(MAX_ZIPPED_BYTES).is_ok());
    }

    #[test]
    fn the_cached_zip_is_reused_only_for_the_same_binary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bootstrap.zip");
        let binary = sample_binary();
        let first = write_zip_cached(&path, &binary).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), first);
        assert_eq!(write_zip_cached(&path, &binary).unwrap(), first);
        let mut changed = binary.clone();
        changed[0x2000] ^= 0xff;
        let second = write_zip_cached(&path, &changed).unwrap();
        assert_ne!(second, first);
        assert_eq!(
            read_bootstrap(&std::fs::read(&path).unwrap()).unwrap(),
            changed
        );
    }
}
