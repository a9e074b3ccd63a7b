//! `imgdeploy init`: writes a commented `imgdeploy.toml` for a new stack (three sensible variants, every
//! other key commented out with its default), never over an existing file, after checking with AWS,
//! when credentials allow it, that the stack's bucket names are not another account's.
use crate::aws::{Aws, AwsOptions};
use crate::cli::GlobalArgs;
use crate::config::{validate::check_stack_name, Config};
use crate::names::Names;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("template.toml");

/// What `init` wrote and what it found.
#[derive(Debug, Serialize)]
pub struct Initialised {
    pub path: PathBuf,
    pub stack: String,
    pub region: Option<String>,
    /// The stack's bucket names, each free or already this account's (empty when unchecked).
    pub buckets: Vec<BucketName>,
    /// Why the bucket names were not checked (no credentials, no region, no answer).
    pub unchecked: Option<String>,
    /// False with `--dry-run`: the file is printed instead.
    pub written: bool,
    /// The configuration written (or, with `--dry-run`, that would be).
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct BucketName {
    pub name: String,
    /// `free`, or `yours` (a bucket of this name exists in this account: an earlier `up`).
    pub state: &'static str,
}

impl fmt::Display for Initialised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let region = match &self.region {
            Some(region) => region.clone(),
            None => "not set: uncomment `region` in [stack], or export AWS_REGION".to_string(),
        };
        let buckets = match &self.unchecked {
            None => {
                let names: Vec<String> = self
                    .buckets
                    .iter()
                    .map(|b| format!("{} ({})", b.name, b.state))
                    .collect();
                names.join(", ")
            }
            Some(why) => format!("not checked: {why}"),
        };
        let summary = format!("region   {region}\nbuckets  {buckets}\nnext     imgdeploy up\n");
        if self.written {
            writeln!(
                f,
                "wrote {} for the stack {}",
                self.path.display(),
                self.stack
            )?;
            return f.write_str(&summary);
        }
        // The file itself, then the summary as TOML comments: `init --dry-run > x.toml` is a config.
        write!(f, "{}", self.text)?;
        writeln!(
            f,
            "\n# dry run: {} not written (the stack {})",
            self.path.display(),
            self.stack
        )?;
        for line in summary.lines() {
            writeln!(f, "# {line}")?;
        }
        Ok(())
    }
}

pub async fn run(g: &GlobalArgs, name: Option<&str>) -> Result<Initialised> {
    let path = g.config.clone();
    if path.exists() {
        bail!(
            "{} already exists: init never overwrites a configuration\n  fix: edit it, or pass --config NEW.toml",
            path.display()
        );
    }
    let stack = match name {
        Some(name) => name.to_string(),
        None => name_from_folder(&std::env::current_dir()?)?,
    };
    check_stack_name(&stack).map_err(|why| {
        anyhow::anyhow!("--name {stack:?}: {why}\n  fix: pass --name with a valid stack name")
    })?;
    let region = g
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty());
    let text = render(&stack, region.as_deref());
    // The template must stay a configuration `up` accepts: checked before writing, not after.
    let config =
        Config::parse(&text, &path.display().to_string()).context("the generated configuration")?;
    config.stack()?;

    let (buckets, unchecked) = match connect(g, region.as_deref()).await {
        Ok(aws) => (check_buckets(&aws, &Names::new(&stack)).await?, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    if !g.dry_run {
        write_new(&path, &text)?;
    }
    Ok(Initialised {
        path,
        stack,
        region,
        buckets,
        unchecked,
        written: !g.dry_run,
        text,
    })
}

/// The template for `stack`, with its region or a commented one.
pub fn render(stack: &str, region: Option<&str>) -> String {
    let region = match region {
        Some(r) => format!("region = \"{r}\""),
        None => "# region = \"us-east-1\"  (default: the profile's, or AWS_REGION)".to_string(),
    };
    TEMPLATE
        .replace("{name}", stack)
        .replace("{region}", &region)
}

/// The current folder's name made a valid stack name: lowercase, runs of other characters one hyphen.
pub fn name_from_folder(dir: &Path) -> Result<String> {
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name = String::new();
    for c in folder.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name
        .trim_end_matches('-')
        .chars()
        .take(53)
        .collect::<String>();
    let name = name.trim_end_matches('-').to_string();
    check_stack_name(&name).map_err(|why| {
        anyhow::anyhow!(
            "the folder {} gives no valid stack name ({why})\n  fix: pass --name",
            dir.display()
        )
    })?;
    Ok(name)
}

/// Credentials and a region from the usual places, or why there are none (init goes on without).
async fn connect(g: &GlobalArgs, region: Option<&str>) -> Result<Aws, String> {
    Aws::connect(&AwsOptions {
        region: region.map(str::to_string),
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
    })
    .await
    .map_err(|e| {
        format!("{}", e)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    })
}

/// Asks S3 about each bucket name. Names are global across every AWS account: a bucket of another
/// account answers 403 (the client names this account as the expected owner), or 301 from another
/// region.
async fn check_buckets(aws: &Aws, names: &Names) -> Result<Vec<BucketName>> {
    let mut found = Vec::new();
    for bucket in [
        &names.originals_bucket,
        &names.processed_bucket,
        &names.backup_bucket,
    ] {
        let status = match aws.s3.head_bucket().bucket(bucket).send().await {
            Ok(_) => 200,
            Err(e) => e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0),
        };
        let state = classify(bucket, status)?;
        found.push(BucketName {
            name: bucket.clone(),
            state,
        });
    }
    Ok(found)
}

/// HeadBucket's status for a name: free (404), this account's (200), or another's (403, 301).
pub fn classify(bucket: &str, status: u16) -> Result<&'static str> {
    match status {
        404 => Ok("free"),
        200 => Ok("yours"),
        301 | 403 => bail!(
            "the bucket name {bucket} is taken by another AWS account (bucket names are global): `up` would fail\n  \
             fix: choose another stack name with `imgdeploy init --name NAME`"
        ),
        other => bail!("s3:HeadBucket {bucket} answered HTTP {other}: cannot tell whether the name is free"),
    }
}

/// Creates `path` with `text`, failing if it appeared meanwhile.
fn write_new(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests;
