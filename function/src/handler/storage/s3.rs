//! [`Store`] on S3 through the AWS SDK: the handler's S3 calls, with S3's answers sorted into
//! [`StoreError`]'s three cases. 412 (`PreconditionFailed`) and 409 (`ConditionalRequestConflict`, two
//! conditional writes at once) are conflicts; 404, or S3's "no such key" codes, are "not there".
use super::{Body, Condition, Head, Page, Put, Store, StoreError, StoreResult};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use futures::FutureExt;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

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
        // 412: a precondition (`If-Match`, `If-None-Match`) did not hold; 409: two conditional writes
        // of one key at once, where S3 lets one win.
        if status == Some(412)
            || matches!(
                code.as_deref(),
                Some("PreconditionFailed" | "ConditionalRequestConflict")
            )
        {
            return StoreError::Conflict {
                bucket: bucket.into(),
                key: key.into(),
            };
        }
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

/// The handler's store: S3 through one SDK client.
#[derive(Clone)]
pub struct S3Store {
    s3: Client,
}

impl S3Store {
    pub fn new(s3: Client) -> S3Store {
        S3Store { s3 }
    }
}

impl Store for S3Store {
    fn head<'a>(&'a self, bucket: &'a str, key: &'a str) -> StoreResult<'a, Head> {
        async move {
            let out = self
                .s3
                .head_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| {
                    StoreError::from_sdk("HeadObject", bucket, key, e, |e| e.is_not_found())
                })?;
            Ok(Head {
                etag: out.e_tag().map(unquote).unwrap_or_default(),
                size: out.content_length().unwrap_or(0).max(0) as u64,
                content_type: out.content_type().map(str::to_owned),
                metadata: out.metadata().cloned().unwrap_or_default(),
            })
        }
        .boxed()
    }

    fn listed<'a>(&'a self, bucket: &'a str, key: &'a str) -> StoreResult<'a, bool> {
        async move {
            let out = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(key)
                .max_keys(1)
                .send()
                .await
                .map_err(|e| StoreError::from_sdk("ListObjectsV2", bucket, key, e, |_| false))?;
            Ok(out.contents().iter().any(|o| o.key() == Some(key)))
        }
        .boxed()
    }

    fn list_page<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> StoreResult<'a, Page> {
        async move {
            let out = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_start_after(after.map(str::to_owned))
                .send()
                .await
                .map_err(|e| StoreError::from_sdk("ListObjectsV2", bucket, prefix, e, |_| false))?;
            Ok(Page {
                keys: out
                    .contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned))
                    .collect(),
                truncated: out.is_truncated().unwrap_or(false),
            })
        }
        .boxed()
    }

    fn get_capped<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        etag: &'a str,
        cap: u64,
    ) -> StoreResult<'a, Body> {
        async move {
            let out = self
                .s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .if_match(format!("\"{etag}\""))
                .send()
                .await
                .map_err(|e| {
                    StoreError::from_sdk("GetObject", bucket, key, e, |e| e.is_no_such_key())
                })?;
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
        .boxed()
    }

    fn put<'a>(&'a self, put: Put<'a>) -> StoreResult<'a, ()> {
        async move {
            let request = self
                .s3
                .put_object()
                .bucket(put.bucket)
                .key(put.key)
                .content_type(put.content_type)
                .set_cache_control(put.cache_control.map(str::to_owned))
                .set_metadata(Some(put.metadata))
                .body(ByteStream::from(put.body));
            let request = match put.condition {
                Condition::Always => request,
                Condition::Absent => request.if_none_match("*"),
                Condition::Unchanged(etag) => request.if_match(format!("\"{etag}\"")),
            };
            request.send().await.map_err(|e| {
                StoreError::from_sdk("PutObject", put.bucket, put.key, e, |_| false)
            })?;
            Ok(())
        }
        .boxed()
    }

    fn copy<'a>(
        &'a self,
        from_bucket: &'a str,
        key: &'a str,
        to_bucket: &'a str,
        etag: &'a str,
    ) -> StoreResult<'a, ()> {
        async move {
            self.s3
                .copy_object()
                .copy_source(copy_source(from_bucket, key))
                .copy_source_if_match(format!("\"{etag}\""))
                .bucket(to_bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| StoreError::from_sdk("CopyObject", to_bucket, key, e, |_| false))?;
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        if_match: Option<&'a str>,
    ) -> StoreResult<'a, ()> {
        async move {
            self.s3
                .delete_object()
                .bucket(bucket)
                .key(key)
                .set_if_match(if_match.map(|etag| format!("\"{etag}\"")))
                .send()
                .await
                .map_err(|e| StoreError::from_sdk("DeleteObject", bucket, key, e, |_| false))?;
            Ok(())
        }
        .boxed()
    }
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
#[path = "s3_tests.rs"]
mod tests;
