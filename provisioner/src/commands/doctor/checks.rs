//! The checks themselves: each returns a [`Check`] and never fails, so that one missing piece does
//! not hide the next.
use super::{grants, Check};
use crate::artifact::source::{cache_dir, cached_zip, SOURCE_ID};
use crate::artifact::toolchain::{
    find_on_path, install_command, target_installed, venv_dir, zig_env,
};
use crate::artifact::{workspace_root, Arch, BuildProfile, Features};
use crate::aws::{explain, partition_of};
use crate::cli::GlobalArgs;
use crate::config::Config;
use aws_config::Region;
use aws_credential_types::provider::ProvideCredentials;
use std::path::Path;
use std::process::Command;

/// The configuration file: present, valid, with a stack.
pub fn config(path: &Path) -> (Option<Config>, Check) {
    const NAME: &str = "config";
    if !path.exists() {
        let detail = format!("no {} here", path.display());
        return (
            None,
            Check::missing(
                NAME,
                detail,
                "`imgdeploy init` writes one (or pass --config PATH)",
            ),
        );
    }
    match Config::load(path) {
        Err(e) => (
            None,
            Check::missing(
                NAME,
                e.to_string(),
                "correct it; `imgdeploy init --dry-run` prints a valid example",
            ),
        ),
        Ok(c) => {
            let check = match &c.stack {
                None => Check::missing(
                    NAME,
                    format!("{}: no [stack] name", path.display()),
                    "add [stack] name = \"...\": the AWS commands need it",
                ),
                Some(s) => Check::ok(
                    NAME,
                    format!(
                        "{}: stack {}, {} variant(s)",
                        path.display(),
                        s.name,
                        c.variants.len()
                    ),
                ),
            };
            (Some(c), check)
        }
    }
}

/// What `build` needs to cross-compile the function for `arch` with `features`.
pub fn build_tools(arch: Arch, features: Features) -> Vec<Check> {
    let venv = venv_dir();
    let install = install_command(&venv);
    let target = arch.rust_target();
    let cargo = match find_on_path("cargo") {
        Some(path) => {
            let version = Command::new("rustc")
                .arg("--version")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            Check::ok("cargo", format!("{} ({version})", path.display()))
        }
        None => Check::missing(
            "cargo",
            "cargo is not on PATH",
            "install Rust with rustup: https://rustup.rs",
        ),
    };
    let rust_target = match target_installed(target) {
        true => Check::ok("rust target", target),
        false => Check::missing(
            "rust target",
            format!("{target} is not installed"),
            format!("rustup target add {target}"),
        ),
    };
    let zigbuild = find_on_path("cargo-zigbuild")
        .or_else(|| Some(venv.join("bin/cargo-zigbuild")).filter(|p| p.is_file()));
    let zigbuild = match zigbuild {
        Some(path) => Check::ok("cargo-zigbuild", path.display().to_string()),
        None => Check::missing(
            "cargo-zigbuild",
            format!("not on PATH nor in {}/bin", venv.display()),
            install.clone(),
        ),
    };
    let zig = match zig_env(&venv) {
        Some(env) if env.is_empty() => Check::ok("zig", "zig on PATH (or Python's ziglang)"),
        Some(_) => Check::ok("zig", format!("the ziglang package in {}", venv.display())),
        None => Check::missing(
            "zig",
            format!(
                "no zig on PATH, no ziglang package on PATH's Python or in {}",
                venv.display()
            ),
            install,
        ),
    };
    let mut checks = vec![cargo, rust_target, zigbuild, zig];
    if features.avif {
        checks.push(match find_on_path("cmake") {
            Some(path) => Check::ok("cmake", format!("{} (builds libaom for AVIF)", path.display())),
            None => Check::missing(
                "cmake",
                "a variant is AVIF, whose encoder (libaom) is built with CMake, and cmake is not on PATH",
                "apt install cmake (Debian, Ubuntu) or brew install cmake (macOS)",
            ),
        });
    }
    checks
}

/// Where `up` will take the function from; never missing (the source is inside this binary).
pub fn function_source(arch: Arch, features: Features) -> Check {
    const NAME: &str = "function source";
    let here = std::env::current_dir().unwrap_or_default();
    if let Some(root) = workspace_root(&here) {
        return Check::ok(NAME, format!("the source tree at {}", root.display()));
    }
    let zip = cached_zip(&cache_dir(), arch, BuildProfile::Optimised, features);
    match zip.is_file() {
        true => Check::ok(NAME, format!("imgdeploy-function {}: built, cached at {}", SOURCE_ID.as_str(), zip.display())),
        false => Check::ok(NAME, format!("imgdeploy-function {}, inside this binary: the first `up` compiles it once (minutes), later ones reuse it", SOURCE_ID.as_str())),
    }
}

/// Region, credentials, the endpoint and who we are, then the deployer policy's grants.
pub async fn aws(g: &GlobalArgs, config: Option<&Config>) -> Vec<Check> {
    let mut loader = imgdeploy_function::https::sdk_defaults();
    if let Some(p) = &g.profile {
        loader = loader.profile_name(p);
    }
    let region = g
        .region
        .clone()
        .or_else(|| config.and_then(|c| c.stack.as_ref()?.region.clone()));
    if let Some(r) = region {
        loader = loader.region(Region::new(r));
    }
    if let Some(e) = &g.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    let sdk = loader.load().await;
    let mut checks = Vec::new();
    let region = sdk.region().map(|r| r.to_string());
    checks.push(match &region {
        Some(r) => Check::ok("region", r.clone()),
        None => Check::missing(
            "region",
            "no region is set",
            "pass --region, set [stack] region, or export AWS_REGION",
        ),
    });
    let credentials = match sdk.credentials_provider() {
        None => Err("no credentials provider".to_string()),
        Some(p) => p
            .provide_credentials()
            .await
            .map_err(|e| aws_credential_types::provider::error::CredentialsError::to_string(&e)),
    };
    checks.push(match &credentials {
        Ok(c) => {
            let key = c.access_key_id();
            let tail = &key[key.len().saturating_sub(4)..];
            Check::ok("credentials", format!("access key …{tail}"))
        }
        Err(e) => Check::missing(
            "credentials",
            format!("none found: {e}"),
            "run `aws configure` or `aws sso login`, set AWS_PROFILE, or pass --profile",
        ),
    });
    let (Some(region), Ok(_)) = (region, credentials) else {
        checks.push(Check::unchecked(
            "endpoint",
            "needs a region and credentials",
            None,
        ));
        checks.push(Check::unchecked(
            "permissions",
            "needs a region and credentials",
            None,
        ));
        return checks;
    };
    let endpoint = sdk.endpoint_url().map(str::to_string);
    let sts = aws_sdk_sts::Client::new(&sdk);
    let who = match sts.get_caller_identity().send().await {
        Ok(who) => who,
        Err(e) => {
            let text = explain(&e, "sts:GetCallerIdentity", endpoint.as_deref(), &region);
            let (detail, fix) = text
                .split_once("\n  fix: ")
                .unwrap_or((&text, "check the endpoint, the region and the credentials"));
            checks.push(Check::missing("endpoint", detail, fix));
            checks.push(Check::unchecked(
                "permissions",
                "needs a working endpoint",
                None,
            ));
            return checks;
        }
    };
    let caller = who.arn().unwrap_or_default().to_string();
    let account = who.account().unwrap_or_default().to_string();
    let via = endpoint.as_deref().unwrap_or("AWS");
    checks.push(Check::ok(
        "endpoint",
        format!("{via} answers: {caller} in account {account}"),
    ));
    checks.push(permissions(&sdk, config, &caller, &account, &region).await);
    checks
}

async fn permissions(
    sdk: &aws_config::SdkConfig,
    config: Option<&Config>,
    caller: &str,
    account: &str,
    region: &str,
) -> Check {
    let Some(config) = config.filter(|c| c.stack.is_some()) else {
        return Check::unchecked(
            "permissions",
            "no stack configured: the grants are scoped to its names",
            None,
        );
    };
    let principal = match grants::principal(caller) {
        Ok(p) => p,
        Err(why) => return Check::ok("permissions", why),
    };
    let names = crate::names::Names::new(&config.stack().expect("checked").name);
    let policy = crate::policy::PolicyContext::new(
        &names,
        partition_of(region),
        region,
        account,
        &config.source.prefix,
        config.backup.enabled,
    )
    .deployer();
    grants::simulate(&aws_sdk_iam::Client::new(sdk), &principal, &policy).await
}
