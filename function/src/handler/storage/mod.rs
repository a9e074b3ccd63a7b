//! The object store as the handler sees it: a small trait ([`Store`]) with the calls the handler makes,
//! each answering in the one distinction the handler needs: the object is not there (a permanent fact
//! about the record), a conditional write lost its race (decide again), or anything else (fail the
//! invocation so that Lambda retries: throttling, 5xx, timeouts, and also misconfiguration such as a
//! missing bucket or permission, which a retry after the fix heals and the dead-letter target keeps).
//! [`s3::S3Store`] is the real one; tests also drive the handler through an in-memory store, where
//! they can stop two invocations at any step.
pub mod owner;
pub mod s3;

#[cfg(test)]
pub mod memory;

use futures::future::BoxFuture;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound { bucket: String, key: String },
    /// A conditional write (`If-Match` / `If-None-Match`) found another version than it expected.
    #[error("s3://{bucket}/{key} changed while it was being written (precondition failed)")]
    Conflict { bucket: String, key: String },
    #[error("{op} s3://{bucket}/{key} failed ({}): {message}", if *.transient { "transient" } else { "not transient, check the configuration" })]
    Retry {
        op: &'static str,
        bucket: String,
        key: String,
        transient: bool,
        /// The HTTP status, when S3 answered.
        status: Option<u16>,
        message: String,
    },
}

impl StoreError {
    /// `403`: a missing permission (or, for `HEAD` without `s3:ListBucket`, a missing object).
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self,
            StoreError::Retry {
                status: Some(403),
                ..
            }
        )
    }
}

/// What `HEAD` says about an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// Without the quotes.
    pub etag: String,
    pub size: u64,
    pub content_type: Option<String>,
    pub metadata: HashMap<String, String>,
}

/// An object's bytes, read up to a cap.
#[derive(Debug)]
pub enum Body {
    Bytes(Vec<u8>),
    /// The object grew past the cap since it was `HEAD`ed (at least this many bytes).
    TooLarge(u64),
}

/// When a write may happen: S3's conditional writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Unconditionally (failure reports).
    Always,
    /// Only if no object has the key (`If-None-Match: *`).
    Absent,
    /// Only if the object still has this ETag (`If-Match`), i.e. nobody wrote it since it was read.
    Unchanged(String),
}

/// One object to write.
pub struct Put<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub body: Vec<u8>,
    pub content_type: &'a str,
    pub cache_control: Option<&'a str>,
    pub metadata: HashMap<String, String>,
    pub condition: Condition,
}

/// A page of a listing: its keys, and whether more follow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub keys: Vec<String>,
    pub truncated: bool,
}

/// Keys per page, as in S3.
pub const PAGE_KEYS: usize = 1000;

pub type StoreResult<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// The S3 calls of the handler.
pub trait Store: Send + Sync {
    fn head<'a>(&'a self, bucket: &'a str, key: &'a str) -> StoreResult<'a, Head>;

    /// Whether a listing of `bucket` shows exactly `key` (`ListObjectsV2` with the key as prefix).
    /// Tells a missing object from a refused one when `HEAD` answers 403.
    fn listed<'a>(&'a self, bucket: &'a str, key: &'a str) -> StoreResult<'a, bool>;

    /// One page (at most 1,000 keys, in S3's order) of the keys under `prefix` that sort after
    /// `after` (`ListObjectsV2` with `StartAfter`). The backfill's fan-out lists originals with it.
    fn list_page<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> StoreResult<'a, Page>;

    /// `GET` the version `HEAD` saw (`If-Match: etag`), and stop reading once `cap` bytes are passed.
    fn get_capped<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        etag: &'a str,
        cap: u64,
    ) -> StoreResult<'a, Body>;

    /// Writes an object; [`StoreError::Conflict`] when its [`Condition`] does not hold.
    fn put<'a>(&'a self, put: Put<'a>) -> StoreResult<'a, ()>;

    /// Server-side copy of the version `etag` of `key` to the same key in `to_bucket`, with its
    /// metadata and tags (S3's defaults for `CopyObject`).
    fn copy<'a>(
        &'a self,
        from_bucket: &'a str,
        key: &'a str,
        to_bucket: &'a str,
        etag: &'a str,
    ) -> StoreResult<'a, ()>;

    /// Deletes an object; deleting a missing key succeeds, as in S3. With `if_match`, only that
    /// version (S3's conditional delete): another one is a [`StoreError::Conflict`], none `NotFound`.
    fn delete<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        if_match: Option<&'a str>,
    ) -> StoreResult<'a, ()>;
}

/// `HEAD`, with "not there" as `None`.
pub async fn head_if_exists(
    store: &dyn Store,
    bucket: &str,
    key: &str,
) -> Result<Option<Head>, StoreError> {
    match store.head(bucket, key).await {
        Ok(h) => Ok(Some(h)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `HEAD` of an original. Without `s3:ListBucket` on the bucket, S3 answers a missing key with 403;
/// a 403 is then settled with a listing of that one key (the function may list its source prefix):
/// not listed means not there. A key that is listed yet refused is a real permission problem.
pub async fn head_original(store: &dyn Store, bucket: &str, key: &str) -> Result<Head, StoreError> {
    match store.head(bucket, key).await {
        Err(e) if e.is_access_denied() => match store.listed(bucket, key).await {
            Ok(false) => Err(StoreError::NotFound {
                bucket: bucket.into(),
                key: key.into(),
            }),
            Ok(true) | Err(_) => Err(e),
        },
        other => other,
    }
}

/// `HEAD` of an output of this function, where "cannot tell" is as good as "not there" (the caller
/// then writes it with `If-None-Match: *`, which fails with a conflict if it does exist): `403` (no
/// `s3:ListBucket` on the processed bucket) counts as absent.
pub async fn head_output(
    store: &dyn Store,
    bucket: &str,
    key: &str,
) -> Result<Option<Head>, StoreError> {
    match head_if_exists(store, bucket, key).await {
        Err(e) if e.is_access_denied() => {
            tracing::debug!(
                bucket,
                key,
                "HEAD refused (no s3:ListBucket): the object is absent"
            );
            Ok(None)
        }
        other => other,
    }
}
