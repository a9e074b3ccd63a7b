//! imgdeploy's Lambda function as a library: the pure variant engine, and (feature `lambda`) the handler
//! that turns S3 upload notifications into variants, backups and failure reports.
pub mod engine;
#[cfg(feature = "lambda")]
pub mod handler;
#[cfg(feature = "lambda")]
pub mod https;
pub mod local;
#[cfg(feature = "source")]
pub mod source;
pub mod spec;
