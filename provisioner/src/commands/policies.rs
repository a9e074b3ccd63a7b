//! `imgdeploy policies`: every policy document the stack grants, rendered for this account, region and
//! configuration exactly as `up` sends them (with the distribution's ARN once it exists). For a
//! security review before the first `up`, and for the tests that run the function under exactly its
//! role's policy. Read-only.
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
}

pub async fn run(g: &GlobalArgs, _: &PoliciesArgs) -> Result<PoliciesResult> {
    let config = Config::load(&g.config)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &config.stack()?.name);

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
    Ok(PoliciesResult {
        stack: stack.names.stack.clone(),
        account: aws.account.clone(),
        lambda_trust: stack.policies.lambda_trust(),
        function_access: stack.policies.function_access(distribution),
        upload_topic: stack.policies.upload_topic(),
        failure_queue: stack.policies.failure_queue(),
        buckets,
    })
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
        Ok(())
    }
}
