//! The Lambda function (issue 5) against moto: the handler in-process (as `imgdeploy invoke --local`
//! runs it) and the `bootstrap` binary through a local Lambda Runtime API.
mod binary;
mod failures;
pub mod fixture;
mod pipeline;
