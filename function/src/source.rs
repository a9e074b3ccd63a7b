//! This crate's own build inputs, embedded in the `imgdeploy` CLI (feature `source`), so that `imgdeploy
//! up` builds the very function it was released with from any folder, without a clone of the repository
//! or a registry lookup. `build.rs` lists the files; the CLI writes them into a workspace of their own.
include!(concat!(env!("OUT_DIR"), "/source.rs"));

/// This crate's version, which the CLI prints beside its own.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
