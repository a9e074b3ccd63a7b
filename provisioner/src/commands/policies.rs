//! `imgdeploy policies`: every policy document the stack grants, rendered for this account, region and
//! configuration exactly as `up` sends them (with the distribution's ARN once it exists). For a
//! security review before the first `up`, and for the tests that run the function under exactly its
//! role's policy; and the policy the identity running imgdeploy needs (`--deployer`). Read-only.
use crate::cli::{GlobalArgs, PoliciesArgs};
use crate::commands::connect;
use crate::config::Config;
use crate::resources::bucket;
use crate::resources::state::StackState;
use crate::resources::Stack;
use anyhow::Result;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Serialize)]
pub struct PoliciesResult {
    pub stack: String,
    pub account: String,
    /// The function role's trust policy: who may assume it.
    pub lambda_trust: Value,
    /// The function role's inline policy: everything the function may do.
    pub function_access: Value,
    /// The upload topic's policy: who may publish uploads.
    pub upload_topic: Value,
    /// Who may send to the failure queue.
    pub failure_queue: Value,
    /// Each bucket's policy, by bucket name.
    pub buckets: BTreeMap<String, Value>,
    /// What the identity running imgdeploy needs (`policies/deployer.json`), for this stack.
    pub deployer: Value,
}

/// `--deployer`: the deploying identity's policy alone.
#[derive(Debug, Serialize)]
pub struct DeployerPolicy {
    pub stack: String,
    pub account: String,
    pub deployer: Value,
}

pub enum Policies {
    All(Box<PoliciesResult>),
    Deployer(DeployerPolicy),
}

pub async fn run(g: &GlobalArgs, args: &PoliciesArgs) -> Result<Policies> {
    let config = Config::load(&g.config)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &config.stack()?.name);
    if args.deployer {
        return Ok(Policies::Deployer(DeployerPolicy {
            stack: stack.names.stack.clone(),
            account: aws.account.clone(),
            deployer: stack.policies.deployer(),
        }));
    }

    // The distribution's ARN is part of two grants; it is known once the distribution exists.
    let state = StackState::describe(&stack, None).await?;
    let distribution = state.known.distribution.as_ref().map(|d| d.arn.as_str());
    let buckets = bucket::all(&stack)
        .iter()
        .map(|b| {
            let policy = bucket::policy::desired(&stack, b);
            (b.name.clone(), policy.document(distribution))
        })
        .collect();
    Ok(Policies::All(Box::new(PoliciesResult {
        stack: stack.names.stack.clone(),
        account: aws.account.clone(),
        lambda_trust: stack.policies.lambda_trust(),
        function_access: stack.policies.function_access(distribution),
        upload_topic: stack.policies.upload_topic(),
        failure_queue: stack.policies.failure_queue(),
        buckets,
        deployer: stack.policies.deployer(),
    })))
}

impl Serialize for Policies {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Policies::All(all) => all.serialize(s),
            Policies::Deployer(d) => d.serialize(s),
        }
    }
}

impl fmt::Display for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policies::All(all) => all.fmt(f),
            Policies::Deployer(d) => writeln!(
                f,
                "# stack {} in account {}: what the identity running imgdeploy needs\n{}",
                d.stack,
                d.account,
                serde_json::to_string_pretty(&d.deployer).unwrap_or_default()
            ),
        }
    }
}

impl fmt::Display for PoliciesResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        writeln!(f, "# stack {} in account {}", self.stack, self.account)?;
        writeln!(
            f,
            "\n## function role: trust policy\n{}",
            pretty(&self.lambda_trust)
        )?;
        writeln!(
            f,
            "\n## function role: inline policy\n{}",
            pretty(&self.function_access)
        )?;
        writeln!(
            f,
            "\n## upload topic policy\n{}",
            pretty(&self.upload_topic)
        )?;
        writeln!(
            f,
            "\n## failure queue policy\n{}",
            pretty(&self.failure_queue)
        )?;
        for (name, policy) in &self.buckets {
            writeln!(f, "\n## bucket {name}\n{}", pretty(policy))?;
        }
        writeln!(
            f,
            "\n## who runs imgdeploy (attach to your deploying user or role)\n{}",
            pretty(&self.deployer)
        )
    }
}
