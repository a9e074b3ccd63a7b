//! Telling the CDN to forget variants that were replaced or deleted: one CloudFront invalidation per
//! invocation, with every path of every record (CloudFront bills per path, and the first 1,000 paths
//! a month are free). A variant that was created where there was none is never invalidated: the CDN
//! cannot hold it. The function's role may invalidate only its own stack's distribution.
use futures::future::BoxFuture;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};

/// What the handler asked the CDN to forget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invalidation {
    pub paths: Vec<String>,
    /// CloudFront's id of the invalidation, when it was created.
    pub id: Option<String>,
    /// Why it could not be created (then also published to the failure topic).
    pub error: Option<String>,
}

/// A CDN that can forget paths.
pub trait Cdn: Send + Sync {
    /// Creates one invalidation of `paths`; returns its id.
    fn invalidate<'a>(
        &'a self,
        paths: &'a [String],
        caller_reference: &'a str,
    ) -> BoxFuture<'a, Result<String, String>>;
}

/// CloudFront, for one distribution.
pub struct CloudFront {
    pub client: aws_sdk_cloudfront::Client,
    pub distribution_id: String,
}

impl Cdn for CloudFront {
    fn invalidate<'a>(
        &'a self,
        paths: &'a [String],
        caller_reference: &'a str,
    ) -> BoxFuture<'a, Result<String, String>> {
        use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
        Box::pin(async move {
            let batch = InvalidationBatch::builder()
                .caller_reference(caller_reference)
                .paths(
                    Paths::builder()
                        .quantity(paths.len() as i32)
                        .set_items(Some(paths.to_vec()))
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .build()
                .map_err(|e| e.to_string())?;
            let out = self
                .client
                .create_invalidation()
                .distribution_id(&self.distribution_id)
                .invalidation_batch(batch)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "CreateInvalidation on distribution {}: {}",
                        self.distribution_id,
                        aws_sdk_cloudfront::error::DisplayErrorContext(&e)
                    )
                })?;
            Ok(out
                .invalidation()
                .map(|i| i.id().to_owned())
                .unwrap_or_default())
        })
    }
}

/// What CloudFront leaves unencoded in a path (RFC 3986's unreserved characters and `/`).
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The CDN path of a key of the processed bucket (the distribution serves it at its root):
/// `/` and the key, URL-encoded as CloudFront requires for anything outside RFC 1738's safe set.
pub fn path_of(key: &str) -> String {
    format!("/{}", utf8_percent_encode(key, PATH_KEEP))
}

/// The command that does by hand what a failed invalidation did not.
pub fn manual_fix(distribution_id: &str, paths: &[String]) -> String {
    format!(
        "aws cloudfront create-invalidation --distribution-id {distribution_id} --paths {}",
        paths.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_rooted_and_encoded() {
        assert_eq!(path_of("thumb/a.webp"), "/thumb/a.webp");
        assert_eq!(
            path_of("thumb/2024/red flower+café.webp"),
            "/thumb/2024/red%20flower%2Bcaf%C3%A9.webp"
        );
        // A `*` in a key must not become a wildcard that invalidates other objects.
        assert_eq!(path_of("web/a*.jpg"), "/web/a%2A.jpg");
    }
}
