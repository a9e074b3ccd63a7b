//! `imgdeploy doctor`: every prerequisite of the other commands, checked read-only, each missing one
//! with its fix: the build tools (cargo, the Rust target, cargo-zigbuild, zig), where the function
//! will be built from, the configuration, credentials, region, the endpoint, and (where IAM lets the
//! caller simulate) every grant of `policies/deployer.json`. Exits non-zero when anything is missing.
use crate::artifact::{Arch, Features};
use crate::cli::{DoctorArgs, GlobalArgs};
use crate::config::Config;
use anyhow::Result;
use serde::Serialize;
use std::fmt;

mod checks;
mod grants;
#[cfg(test)]
mod tests;

/// One prerequisite and how it stands.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    /// The command or change that fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Missing or broken: the commands that need it fail.
    Missing,
    /// Could not be checked here (no configuration, or IAM does not let the caller simulate).
    Unchecked,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn missing(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Missing,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn unchecked(name: &'static str, detail: impl Into<String>, fix: Option<String>) -> Check {
        Check {
            name,
            status: Status::Unchecked,
            detail: detail.into(),
            fix,
        }
    }
}

/// Every check, in the order a deploy needs them.
#[derive(Debug, Serialize)]
pub struct DoctorResult {
    /// Nothing is missing.
    pub ready: bool,
    pub checks: Vec<Check>,
}

impl DoctorResult {
    fn of(checks: Vec<Check>) -> DoctorResult {
        DoctorResult {
            ready: checks.iter().all(|c| c.status != Status::Missing),
            checks,
        }
    }

    /// The exit status: an error when anything is missing (the report is printed first).
    pub fn check(&self) -> Result<()> {
        let missing = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Missing)
            .count();
        match missing {
            0 => Ok(()),
            n => anyhow::bail!("{n} prerequisite(s) missing: each fix is above"),
        }
    }
}

pub async fn run(g: &GlobalArgs, _: &DoctorArgs) -> Result<DoctorResult> {
    let (config, config_check) = checks::config(&g.config);
    let arch = config
        .as_ref()
        .map_or(Arch::default(), |c: &Config| c.function.architecture);
    let features = config
        .as_ref()
        .map_or(Features::default(), Features::for_config);
    let mut all = checks::build_tools(arch, features);
    all.push(checks::function_source(arch, features));
    all.push(config_check);
    all.extend(checks::aws(g, config.as_ref()).await);
    Ok(DoctorResult::of(all))
}

impl fmt::Display for DoctorResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &self.checks {
            let mark = match c.status {
                Status::Ok => "ok",
                Status::Missing => "MISSING",
                Status::Unchecked => "unchecked",
            };
            writeln!(f, "{:width$}  {mark:9}  {}", c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(f, "{:width$}  {:9}  fix: {fix}", "", "")?;
            }
        }
        match self.ready {
            true => writeln!(f, "\nready: `imgdeploy up` has everything it needs"),
            false => writeln!(
                f,
                "\nnot ready: apply the fixes above, then run `imgdeploy doctor` again"
            ),
        }
    }
}
