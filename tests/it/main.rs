//! The integration test binary: the `imgdeploy` binary and the function against a local moto server.
//! One binary, so that moto starts once; each area is one module.
/// imgdeploy as an installed tool (issue 19): `init` and `up` from folders outside the repository, the
/// build cache a second stack reuses, and `logs`.
mod anywhere;
/// Backfills (issue 18): `--local` (plan, price, every variant once, then only a new one), the
/// function's fan-out in chunks, and `[source] trigger = "manual"`.
mod backfill;
/// `build` and `update` (issue 3): the zigbuilt bootstrap read back with readelf, refusals, no-change update.
mod build;
/// CloudFront: the OAC and the distribution of `up` and `teardown` (issue 2), and the CloudFront
/// Function of `format = "auto"` (issue 22).
mod cdn;
/// The demo script and its contact sheet, in headless Chromium (issue 6).
mod demo;
/// The deploying identity's least-privilege policy (issue 19): every call of a stack's life is in its table.
mod deployer;
/// `imgdeploy doctor` (issue 19): missing tools named with their install command, an unreachable endpoint.
mod doctor;
/// A custom domain (issue 22): the ACM certificate in us-east-1, Route 53's validation and alias
/// records, the distribution's alias and TLS minimum, the records printed without a hosted zone.
mod domain;
/// The Lambda function (issue 5): handler and `bootstrap` against moto.
mod function;
mod harness;
/// The harness itself: moto, S3 -> SNS -> SQS, the inspector, the fake Lambda Runtime API.
mod moto_smoke;
/// Ownership on a shared account (issue 17): foreign and untagged look-alikes, `--adopt`, teardown.
mod ownership;
/// The arm64 `bootstrap` of `imgdeploy build` under qemu-aarch64 against moto's S3 (issue 3): an upload, and a
/// backfill chunk with its record (issue 18).
mod qemu;
/// The failure queue in `status`, and `redrive` back to the function (issue 17).
mod redrive;
/// Requests moto does not keep or check (ordering, trust policy, DeadLetterConfig), pinned by snapshot.
mod requests;
/// `up` and `teardown` (issue 2); also `StackDir`, the deployed stack the other areas reuse.
mod stack;
/// `imgdeploy status` and `imgdeploy invoke` (issue 6).
mod status;
