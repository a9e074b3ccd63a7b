//! `imgdeploy up`: build (or take) the function, read what exists, print the plan, apply it in the
//! table's order, and say where everything is.
use crate::artifact::{self, BuildProfile};
use crate::cli::{GlobalArgs, UpArgs};
use crate::commands::connect;
use crate::config::Config;
use crate::progress::Progress;
use crate::resources::domain::{DomainOutput, DomainSpec};
use crate::resources::function::{self, BackfillHint};
use crate::resources::plan::{Action, Plan};
use crate::resources::state::StackState;
use crate::resources::Stack;
use anyhow::{bail, Result};
use serde::Serialize;
use std::fmt;

pub async fn run(g: &GlobalArgs, args: &UpArgs) -> Result<UpResult> {
    let config = Config::load(&g.config)?;
    let stack_name = config.stack()?.name.clone();
    let progress = Progress::new(g.json);

    let profile = BuildProfile::from_quick(args.source.quick);
    let given = args.source.artifact.as_deref();
    let artifact = artifact::obtain(given, profile, &config, &progress)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &stack_name);

    let task = progress.start(
        "read",
        &format!("stack {stack_name} in {} ({})", aws.region, aws.account),
    );
    let mut state = StackState::describe(&stack, Some(&artifact)).await?;
    task.finish("done");
    let plan = state.plan(&stack, args.adopt);
    if !g.json && (!g.dry_run || !plan.conflicts().is_empty()) {
        eprintln!("\nPlan for stack {stack_name}:\n{plan}");
    }
    // Nothing is changed while any resource it would touch is another stack's or nobody's.
    refuse_conflicts(&plan, &aws)?;
    if g.dry_run {
        return Ok(UpResult::planned(plan, artifact.origin.clone()));
    }

    // A changed variant set leaves the existing originals with the previous variants: say how many.
    let desired = function::desired(&stack, Some(&artifact));
    let variants_changed = state
        .known
        .function
        .as_ref()
        .is_some_and(|current| function::variants_changed(current, &desired));
    state.apply(&stack, &progress).await?;
    let mutating = aws.calls.mutating();
    let outputs = Outputs::of(&stack, &state);
    let backfill = match variants_changed {
        true => function::backfill_hint(&stack).await?,
        false => None,
    };
    Ok(UpResult {
        stack: stack_name,
        dry_run: false,
        plan,
        function_source: artifact.origin.clone(),
        changed: Some(!mutating.is_empty()),
        mutating_calls: Some(mutating),
        calls_sent: Some(aws.calls.count()),
        outputs: Some(outputs),
        backfill,
    })
}

/// Stops `up` when the plan has conflicts: each resource, whose it is and the fix.
fn refuse_conflicts(plan: &Plan, aws: &crate::aws::Aws) -> Result<()> {
    let conflicts = plan.conflicts();
    if conflicts.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "stack {} in {} ({}): {} resource(s) of its names exist and are not the stack's; nothing was changed",
        plan.stack,
        aws.region,
        aws.account,
        conflicts.len()
    );
    for step in conflicts {
        if let Action::Conflict { reason, fix, .. } = &step.action {
            message.push_str(&format!(
                "\n  {} {}: {reason}\n    fix: {fix}",
                step.kind, step.name
            ));
        }
    }
    bail!(message)
}

/// What `up` did: its plan and, unless `--dry-run`, what it changed and where everything is.
#[derive(Debug, Serialize)]
pub struct UpResult {
    pub stack: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    pub plan: Plan,
    /// What the deployed function was built from (the source tree, this CLI's embedded source now or
    /// its cached build, or `--artifact`).
    pub function_source: artifact::Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
    /// Every mutating AWS call sent, in order (`Service:Operation`): empty on a run with no changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutating_calls: Option<Vec<String>>,
    /// Every AWS call sent, reads included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls_sent: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Outputs>,
    /// When the variant set changed: the originals made with the previous one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillHint>,
}

impl UpResult {
    fn planned(plan: Plan, function_source: artifact::Origin) -> UpResult {
        UpResult {
            stack: plan.stack.clone(),
            dry_run: true,
            plan,
            function_source,
            changed: None,
            mutating_calls: None,
            calls_sent: None,
            outputs: None,
            backfill: None,
        }
    }
}

/// What `up` tells the user at the end.
#[derive(Debug, Serialize)]
pub struct Outputs {
    pub originals_bucket: String,
    pub processed_bucket: String,
    pub backup_bucket: Option<String>,
    pub upload_prefix: String,
    pub function: String,
    pub failure_topic: String,
    /// Events nothing could process, kept 14 days for `imgdeploy redrive`.
    pub failure_queue: String,
    pub cdn_domain: Option<String>,
    /// `[cdn] domain`: where it serves, or what it waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_domain: Option<DomainOutput>,
    pub upload_command: String,
}

impl Outputs {
    fn of(stack: &Stack<'_>, state: &StackState) -> Outputs {
        let n = &stack.names;
        let prefix = &stack.config.source.prefix;
        let endpoint = stack
            .aws
            .endpoint
            .as_deref()
            .map(|e| format!(" --endpoint-url {e}"))
            .unwrap_or_default();
        Outputs {
            originals_bucket: n.originals_bucket.clone(),
            processed_bucket: n.processed_bucket.clone(),
            backup_bucket: stack.config.backup.enabled.then(|| n.backup_bucket.clone()),
            upload_prefix: prefix.clone(),
            function: n.function.clone(),
            failure_topic: stack.arns.failure_topic.clone(),
            failure_queue: n.failure_queue.clone(),
            cdn_domain: stack
                .config
                .cdn
                .enabled
                .then(|| state.known.distribution.as_ref().map(|d| d.domain.clone()))
                .flatten(),
            custom_domain: DomainOutput::of(
                &DomainSpec::of(stack),
                &state.known.domain,
                state.known.distribution.as_ref().map(|d| d.domain.as_str()),
            ),
            upload_command: format!(
                "aws s3 cp photo.jpg s3://{}/{prefix}photo.jpg{endpoint}",
                n.originals_bucket
            ),
        }
    }
}

impl fmt::Display for UpResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            return write!(
                f,
                "Plan for stack {} (dry run, nothing sent):\n{}function code: {}\n",
                self.stack, self.plan, self.function_source
            );
        }
        if self.changed == Some(false) {
            writeln!(f, "no changes: stack {} is up to date", self.stack)?;
        }
        if let Some(o) = &self.outputs {
            write!(f, "{o}")?;
        }
        writeln!(f, "function code    : {}", self.function_source)?;
        if let Some(hint) = &self.backfill {
            write!(f, "\n{hint}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Outputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "originals bucket : {}  (uploads under {})",
            self.originals_bucket, self.upload_prefix
        )?;
        writeln!(f, "processed bucket : {}", self.processed_bucket)?;
        if let Some(b) = &self.backup_bucket {
            writeln!(f, "backup bucket    : {b}")?;
        }
        writeln!(f, "function         : {}", self.function)?;
        writeln!(f, "failure reports  : {}", self.failure_topic)?;
        writeln!(
            f,
            "failed events    : SQS {}  (`imgdeploy redrive` after a fix)",
            self.failure_queue
        )?;
        match &self.cdn_domain {
            Some(d) => writeln!(f, "CDN              : https://{d}/<variant>/<key>")?,
            None => writeln!(f, "CDN              : off")?,
        }
        if let Some(d) = &self.custom_domain {
            write!(f, "{d}")?;
        }
        writeln!(f, "\nUpload a photo:\n  {}", self.upload_command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kind::Kind;
    use crate::resources::plan::Action;

    fn outputs(cdn: bool) -> Outputs {
        Outputs {
            originals_bucket: "acme-originals".into(),
            processed_bucket: "acme-processed".into(),
            backup_bucket: Some("acme-backup".into()),
            upload_prefix: "originals/".into(),
            function: "acme-variants".into(),
            failure_topic: "arn:aws:sns:eu-west-1:123456789012:acme-failures".into(),
            failure_queue: "acme-failures".into(),
            cdn_domain: cdn.then(|| "d111111abcdef8.cloudfront.net".into()),
            custom_domain: None,
            upload_command: "aws s3 cp photo.jpg s3://acme-originals/originals/photo.jpg".into(),
        }
    }

    #[test]
    fn up_ends_with_where_everything_is() {
        let mut plan = Plan::new("acme");
        plan.push(Kind::Bucket, "acme-originals", Action::Create);
        let result = UpResult {
            stack: "acme".into(),
            dry_run: false,
            plan,
            function_source: artifact::Origin::Cached {
                id: "0.1.0-0123456789ab".into(),
            },
            changed: Some(true),
            mutating_calls: Some(vec!["S3:CreateBucket".into()]),
            calls_sent: Some(20),
            outputs: Some(outputs(true)),
            backfill: Some(BackfillHint {
                originals: 1200,
                at_least: false,
                command: "imgdeploy backfill --local".into(),
            }),
        };
        insta::assert_snapshot!(result.to_string());
    }

    #[test]
    fn an_unchanged_stack_says_so_first() {
        let mut plan = Plan::new("acme");
        plan.push(Kind::Bucket, "acme-originals", Action::Unchanged);
        let result = UpResult {
            stack: "acme".into(),
            dry_run: false,
            plan,
            function_source: artifact::Origin::Given,
            changed: Some(false),
            mutating_calls: Some(vec![]),
            calls_sent: Some(20),
            outputs: Some(outputs(false)),
            backfill: None,
        };
        let text = result.to_string();
        assert!(
            text.starts_with("no changes: stack acme is up to date\n"),
            "{text}"
        );
        assert!(text.contains("CDN              : off"), "{text}");
    }

    #[test]
    fn the_dry_run_is_the_plan_and_json_has_no_outputs() {
        let mut plan = Plan::new("acme");
        plan.push(Kind::Bucket, "acme-originals", Action::Create);
        plan.push(
            Kind::Function,
            "acme-variants",
            Action::Update {
                changes: vec!["memory 1024 -> 2048 MB".into()],
            },
        );
        let result = UpResult::planned(
            plan,
            artifact::Origin::Embedded {
                id: "0.1.0-0123456789ab".into(),
            },
        );
        insta::assert_snapshot!(result.to_string());
        insta::assert_json_snapshot!(result);
    }
}
