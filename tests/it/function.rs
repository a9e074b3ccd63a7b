//! The Lambda function against moto with IAM enforced for S3: every S3 call of the handler is signed as
//! a user holding exactly the function role's policy.
// The handler in-process (as the Lambda and `imgdeploy invoke --local` run it): the happy paths.
mod pipeline;
// Bad uploads, panics and S3 faults: reported, retried, never lost.
mod failures;
// Deletes, overwrites, tagged uploads and missing originals, as AWS authorises them.
mod changes;
// The `bootstrap` binary through a local Lambda Runtime API.
mod binary;
// Uploads through a stack made by `up`: its notification, topic and subscription deliver the events.
pub mod fixture;
mod through_up;
