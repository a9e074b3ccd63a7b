//! Starts and reaches the moto server that every integration test talks to, reads moto back with an
//! independent client, and runs the real `bootstrap` against a local Lambda Runtime API.
//!
//! - [`moto()`]: one server per test process (`tests/moto/launch.py`, 127.0.0.1, free port), made from the
//!   venv at `$IMGDEPLOY_VENV` (default `~/.cache/imgdeploy/venv`), which is created from
//!   `tests/requirements.txt` when missing. Every test uses its own stack name ([`unique_name`]).
//! - [`Moto::env`] / [`Moto::configure`]: the environment for a spawned `imgdeploy` or `bootstrap`.
//! - [`subscribe_queue`] / [`drain_messages`]: what an SNS topic publishes, through a test SQS queue.
//! - [`inspect()`]: everything moto holds for a stack, read with boto3 (`tests/moto/inspect_stack.py`).
//! - [`run_bootstrap`]: a function binary run as Lambda runs it, with its init (cold-start) time.
//!
//! moto 5.2 behaviours that the provisioner and the function rely on or must work around (checked against
//! moto 5.2.5; the table with the details is in `tests/README.md`):
//! - Bucket policies: moto applies a policy's Deny statements without their conditions, so a TLS-only
//!   statement would refuse every object request. The launcher makes `FakeBucket.get_permission` neutral:
//!   policies are stored and read back, never enforced. Block Public Access and `BucketOwnerEnforced` are
//!   stored but not enforced either (a public policy and `ACL: public-read` are accepted).
//! - S3 -> SNS: `PutBucketNotificationConfiguration` does not check that the topic exists or that its
//!   policy lets S3 publish, and it publishes an `s3:TestEvent` to the topic at once. Event keys are
//!   encoded with `quote_plus`, slashes included (`originals%2Fa+b.jpg`): decode before the prefix check.
//! - SNS -> Lambda: a `lambda` subscription is accepted whether or not the function exists. Plain moto
//!   would try to run the function in Docker on publish, create `/aws/lambda/<function>` as a side effect,
//!   and, when the function is gone, fail the publish and starve the topic's later subscribers. The
//!   launcher records each delivery instead ([`Moto::sns_lambda_deliveries`]: the SNS event Lambda would
//!   get) and the publish always succeeds, as on AWS.
//! - Lambda without Docker: CreateFunction stores the zip; `CodeSha256` is base64(SHA-256 of the zip) as on
//!   AWS; `State` is `Active` at once; the CreateFunction answer has no `LastUpdateStatus`, GetFunction
//!   says `Successful`, so the SDK waiters return on the first poll. The role must exist in moto's IAM,
//!   else "The role defined for the function cannot be assumed by Lambda." (never transient here).
//!   `DeadLetterConfig` is dropped (create and update); `Architectures` cannot change after create;
//!   AddPermission accepts a duplicate statement id; reserved concurrency round-trips.
//! - CloudFront: distributions are `InProgress` in the create answer and `Deployed` from the first read
//!   on; the ETag never changes and any non-empty `If-Match` is accepted (an empty one is refused); an
//!   enabled distribution can be deleted (no `DistributionNotDisabled`); origins lose
//!   `OriginAccessControlId` and `S3OriginConfig` on the way back; an OAC in use can be deleted.
//! - SNS: CreateTopic on an existing topic ignores its `Tags` (use TagResource); DeleteTopic deletes the
//!   topic's subscriptions; deleting or unsubscribing something missing succeeds.
//! - IAM accepts a malformed trust policy; DeleteRole refuses while inline policies remain.
// A toolbox shared by every area's tests: not every helper is used by every build of the test binary.
#![allow(dead_code, unused_imports)]

pub mod inspect;
pub mod moto;
pub mod queues;
pub mod runtime_api;
pub mod venv;

pub use inspect::{found, inspect};
pub use moto::{moto, moto_s3_iam, unique_name, Moto, ACCOUNT, REGION};
pub use queues::{drain_messages, subscribe_queue};
pub use runtime_api::{run_bootstrap, run_bootstrap_events, BootstrapRun, RuntimeOutcome};
pub use venv::{repo_root, venv_dir};
