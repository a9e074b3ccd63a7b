//! The few S3 calls the handler makes, each turning SDK errors into the one distinction the handler
//! needs: the object is not there (a permanent fact about the record) or anything else (fail the
//! invocation so that Lambda retries: throttling, 5xx, timeouts, and also misconfiguration such as a
//! missing bucket or permission, which a retry after the fix heals and the dead-letter topic keeps).
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound { bucket: String, key: String },
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

impl StoreError {
    /// `modeled_not_found`: the operation's own "no such key" error variant.
    fn from_sdk<E>(
        op: &'static str,
        bucket: &str,
        key: &str,
        err: SdkError<E, HttpResponse>,
        modeled_not_found: fn(&E) -> bool,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err
            .as_service_error()
            .and_then(|e| e.code())
            .map(str::to_owned);
        let gone = err.as_service_error().is_some_and(modeled_not_found)
            || matches!(code.as_deref(), Some("NoSuchKey" | "NotFound"))
            || (status == Some(404) && code.as_deref() != Some("NoSuchBucket"));
        if gone {
            return StoreError::NotFound {
                bucket: bucket.into(),
                key: key.into(),
            };
        }
        let transient = match &err {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            _ => {
                matches!(status, Some(429) | Some(500..=599))
                    || matches!(
                        code.as_deref(),
                        Some(
                            "SlowDown"
                                | "Throttling"
                                | "ThrottlingException"
                                | "RequestTimeout"
                                | "InternalError"
                        )
                    )
            }
        };
        let message = format!(
            "{} (status {status:?}, code {code:?})",
            DisplayErrorContext(&err)
        );
        StoreError::Retry {
            op,
            bucket: bucket.into(),
            key: key.into(),
            transient,
            status,
            message,
        }
    }
}

/// What `HEAD` says about an object.
#[derive(Debug, Clone)]
pub struct Head {
    /// Without the quotes.
    pub etag: String,
    pub size: u64,
    pub metadata: HashMap<String, String>,
}

pub async fn head(s3: &Client, bucket: &str, key: &str) -> Result<Head, StoreError> {
    let out = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| StoreError::from_sdk("HeadObject", bucket, key, e, |e| e.is_not_found()))?;
    Ok(Head {
        etag: out.e_tag().map(unquote).unwrap_or_default(),
        size: out.content_length().unwrap_or(0).max(0) as u64,
        metadata: out.metadata().cloned().unwrap_or_default(),
    })
}

/// `HEAD`, with "not there" as `None`.
pub async fn head_if_exists(
    s3: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<Head>, StoreError> {
    match head(s3, bucket, key).await {
        Ok(h) => Ok(Some(h)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `HEAD` of an output of this function, where "cannot tell" is as good as "not there" (the caller then
/// writes it again, which is idempotent): `403` (no `s3:ListBucket` on the bucket) counts as absent.
pub async fn head_output(s3: &Client, bucket: &str, key: &str) -> Result<Option<Head>, StoreError> {
    match head_if_exists(s3, bucket, key).await {
        Err(e) if e.is_access_denied() => {
            tracing::warn!(bucket, key, error = %e, "HEAD refused; assuming the object is absent (grant s3:ListBucket to tell)");
            Ok(None)
        }
        other => other,
    }
}

/// An object's bytes, read up to a cap.
#[derive(Debug)]
pub enum Body {
    Bytes(Vec<u8>),
    /// The object grew past the cap since it was `HEAD`ed (at least this many bytes).
    TooLarge(u64),
}

/// `GET` the version `HEAD` saw (`If-Match`), streaming, and stop reading once `cap` bytes are passed.
pub async fn get_capped(
    s3: &Client,
    bucket: &str,
    key: &str,
    etag: &str,
    cap: u64,
) -> Result<Body, StoreError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .if_match(format!("\"{etag}\""))
        .send()
        .await
        .map_err(|e| StoreError::from_sdk("GetObject", bucket, key, e, |e| e.is_no_such_key()))?;
    let expected = out.content_length().unwrap_or(0).max(0) as u64;
    let mut body = out.body;
    let mut bytes = Vec::with_capacity(expected.min(cap) as usize);
    loop {
        let chunk = body.try_next().await.map_err(|e| StoreError::Retry {
            op: "GetObject (body)",
            bucket: bucket.into(),
            key: key.into(),
            transient: true,
            status: None,
            message: DisplayErrorContext(&e).to_string(),
        })?;
        let Some(chunk) = chunk else { break };
        if (bytes.len() + chunk.len()) as u64 > cap {
            return Ok(Body::TooLarge((bytes.len() + chunk.len()) as u64));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body::Bytes(bytes))
}

/// One object to write.
pub struct Put<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub body: Vec<u8>,
    pub content_type: &'a str,
    pub cache_control: Option<&'a str>,
    pub metadata: HashMap<String, String>,
}

pub async fn put(s3: &Client, put: Put<'_>) -> Result<(), StoreError> {
    s3.put_object()
        .bucket(put.bucket)
        .key(put.key)
        .content_type(put.content_type)
        .set_cache_control(put.cache_control.map(str::to_owned))
        .set_metadata(Some(put.metadata))
        .body(ByteStream::from(put.body))
        .send()
        .await
        .map_err(|e| StoreError::from_sdk("PutObject", put.bucket, put.key, e, |_| false))?;
    Ok(())
}

/// Server-side copy of `key` from one bucket to the same key in another (metadata copied too).
pub async fn copy(
    s3: &Client,
    from_bucket: &str,
    key: &str,
    to_bucket: &str,
    etag: &str,
) -> Result<(), StoreError> {
    s3.copy_object()
        .copy_source(copy_source(from_bucket, key))
        .copy_source_if_match(format!("\"{etag}\""))
        .bucket(to_bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| StoreError::from_sdk("CopyObject", to_bucket, key, e, |_| false))?;
    Ok(())
}

pub async fn delete(s3: &Client, bucket: &str, key: &str) -> Result<(), StoreError> {
    s3.delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| StoreError::from_sdk("DeleteObject", bucket, key, e, |_| false))?;
    Ok(())
}

/// `x-amz-copy-source` is `bucket/key` with the key URL-encoded (slashes kept).
const COPY_SOURCE_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fn copy_source(bucket: &str, key: &str) -> String {
    format!("{bucket}/{}", utf8_percent_encode(key, COPY_SOURCE_KEEP))
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

#[cfg(test)]
#[path = "storage_tests.rs"]
mod tests;
