//! The SNS topics: uploads (S3 publishes each upload, the function subscribes), failures (failure
//! reports and the function's dead-letter target) and, with `[events] processed`, processed (the
//! function tells apps an original is ready or deleted). Only the upload topic carries a resource
//! policy.
use crate::aws::{error_code, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::{tag_changes, Stack};
use anyhow::Result;
use aws_sdk_sns::types::Tag;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub arn: String,
    /// `None`: leave SNS's default policy (owner-only).
    pub policy: Option<Value>,
    pub tags: BTreeMap<String, String>,
    /// False for the processed topic without `[events] processed`: `up` leaves it, teardown removes it.
    pub wanted: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    pub policy: Option<String>,
    pub tags: BTreeMap<String, String>,
}

pub fn upload(stack: &Stack<'_>) -> Desired {
    Desired {
        name: stack.names.upload_topic.clone(),
        arn: stack.arns.upload_topic.clone(),
        policy: Some(stack.policies.upload_topic()),
        tags: stack.tags(),
        wanted: true,
    }
}

pub fn failure(stack: &Stack<'_>) -> Desired {
    Desired {
        name: stack.names.failure_topic.clone(),
        arn: stack.arns.failure_topic.clone(),
        policy: None,
        tags: stack.tags(),
        wanted: true,
    }
}

/// `[events] processed`: apps subscribe to it; only the stack's account may publish (SNS's default).
pub fn processed(stack: &Stack<'_>) -> Desired {
    Desired {
        name: stack.names.processed_topic.clone(),
        arn: stack.arns.processed_topic.clone(),
        policy: None,
        tags: stack.tags(),
        wanted: stack.config.events.processed,
    }
}

pub fn diff(current: Option<&Current>, desired: &Desired) -> Action {
    let Some(c) = current else {
        return Action::Create;
    };
    let mut changes = Vec::new();
    if let Some(p) = &desired.policy {
        if !c
            .policy
            .as_deref()
            .is_some_and(|cp| crate::policy::same_policy(cp, p))
        {
            changes.push("policy".to_string());
        }
    }
    changes.extend(tag_changes(&c.tags, &desired.tags));
    Action::from_changes(changes)
}

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::Topic;

    fn name(&self) -> &str {
        &self.name
    }

    fn wanted(&self) -> bool {
        self.wanted
    }

    async fn describe(&self, stack: &Stack<'_>, _: &mut Known) -> Result<Option<Current>> {
        let desired = self;
        let sns = &stack.aws.sns;
        let attrs = match sns
            .get_topic_attributes()
            .topic_arn(&desired.arn)
            .send()
            .await
        {
            Ok(out) => out.attributes().cloned().unwrap_or_default(),
            Err(e) if error_code(&e) == Some("NotFound") => return Ok(None),
            Err(e) => {
                return Err(e).explain(
                    stack.aws,
                    &format!("sns:GetTopicAttributes {}", desired.name),
                )
            }
        };
        let tags = sns
            .list_tags_for_resource()
            .resource_arn(&desired.arn)
            .send()
            .await
            .explain(
                stack.aws,
                &format!("sns:ListTagsForResource {}", desired.name),
            )?;
        Ok(Some(Current {
            policy: attrs.get("Policy").cloned(),
            tags: tags
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        }))
    }

    fn diff(&self, current: Option<&Current>, _: &Known) -> Action {
        diff(current, self)
    }

    fn owner(&self, current: &Current, stack: &str, _: &Known) -> Option<Owner> {
        Some(Owner::of_tags(&current.tags, stack))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&Current>,
        _: &mut Known,
        _: &Task,
    ) -> Result<()> {
        let desired = self;
        let sns = &stack.aws.sns;
        let what = |op: &str| format!("sns:{op} {}", desired.name);
        let tags = || {
            desired
                .tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<Result<Vec<_>, _>>()
        };
        match current {
            None => {
                // CreateTopic is idempotent for the same name and attributes.
                let mut req = sns
                    .create_topic()
                    .name(&desired.name)
                    .set_tags(Some(tags()?));
                if let Some(p) = &desired.policy {
                    req = req.attributes("Policy", p.to_string());
                }
                req.send().await.explain(stack.aws, &what("CreateTopic"))?;
            }
            Some(c) => {
                if let Some(p) = &desired.policy {
                    if !c
                        .policy
                        .as_deref()
                        .is_some_and(|cp| crate::policy::same_policy(cp, p))
                    {
                        sns.set_topic_attributes()
                            .topic_arn(&desired.arn)
                            .attribute_name("Policy")
                            .attribute_value(p.to_string())
                            .send()
                            .await
                            .explain(stack.aws, &what("SetTopicAttributes"))?;
                    }
                }
                if !tag_changes(&c.tags, &desired.tags).is_empty() {
                    sns.tag_resource()
                        .resource_arn(&desired.arn)
                        .set_tags(Some(tags()?))
                        .send()
                        .await
                        .explain(stack.aws, &what("TagResource"))?;
                }
            }
        }
        Ok(())
    }

    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let desired = self;
        if desired
            .describe(stack, &mut Known::default())
            .await?
            .is_none()
        {
            return Ok(Action::Absent);
        }
        stack
            .aws
            .sns
            .delete_topic()
            .topic_arn(&desired.arn)
            .send()
            .await
            .explain(stack.aws, &format!("sns:DeleteTopic {}", desired.name))?;
        Ok(Action::Delete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(policy: Option<Value>) -> Desired {
        Desired {
            name: "acme-uploads".into(),
            arn: "arn:aws:sns:us-east-1:123456789012:acme-uploads".into(),
            policy,
            tags: BTreeMap::from([("imgdeploy:stack".into(), "acme".into())]),
            wanted: true,
        }
    }

    #[test]
    fn default_policy_is_not_drift_for_the_failure_topic() {
        let c = Current {
            policy: Some("{\"Version\":\"2008-10-17\"}".into()),
            tags: desired(None).tags,
        };
        assert_eq!(diff(Some(&c), &desired(None)), Action::Unchanged);
    }

    #[test]
    fn upload_topic_policy_drift_is_an_update() {
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "S3"}]});
        let c = Current {
            policy: Some("{\"Version\":\"2008-10-17\"}".into()),
            tags: desired(None).tags,
        };
        assert_eq!(
            diff(Some(&c), &desired(Some(policy.clone()))),
            Action::Update {
                changes: vec!["policy".into()]
            }
        );
        let c = Current {
            policy: Some(policy.to_string()),
            ..c
        };
        assert_eq!(diff(Some(&c), &desired(Some(policy))), Action::Unchanged);
        assert_eq!(diff(None, &desired(None)), Action::Create);
    }
}
