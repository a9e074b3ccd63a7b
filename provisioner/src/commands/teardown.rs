//! `imgdeploy teardown`: removes the stack in the reverse order of `up`. Every step treats "already gone"
//! as success, so an interrupted teardown is finished by running it again. Buckets holding the user's data
//! (originals, backup) are kept unless `--delete-data`.
use crate::cli::{GlobalArgs, TeardownArgs};
use crate::commands::{connect, print_json};
use crate::config::Config;
use crate::plan::{Action, Plan};
use crate::progress::Progress;
use crate::resources::{
    bucket, cdn, function, log_group, notification, role, subscription, topic, Stack,
};
use anyhow::{bail, Result};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};

pub async fn run(g: &GlobalArgs, args: &TeardownArgs) -> Result<()> {
    let config = Config::load(&g.config)?;
    let stack_name = config.stack()?.name.clone();
    let progress = Progress::new(g.json);
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &stack_name);
    let n = &stack.names;

    if g.dry_run {
        let plan = survey(&stack, args.delete_data).await?;
        if g.json {
            print_json(&json!({ "stack": stack_name, "dry_run": true, "plan": plan }));
        } else {
            eprintln!("Teardown plan for stack {stack_name}:\n{plan}");
        }
        return Ok(());
    }
    if args.delete_data {
        confirm_data_deletion(&stack, g.yes).await?;
    }

    let mut done = Plan::new(&stack_name);
    // 1. Stop new work first: no more upload events reach the topic.
    let d = notification::desired(&stack);
    record(
        &mut done,
        &progress,
        "notification",
        &n.originals_bucket,
        notification::destroy(&stack, &d),
    )
    .await?;
    // 2. Then the topic stops invoking the function (subscription), and the function stops accepting SNS.
    let d = subscription::desired(&stack);
    let task = progress.start("subscription", &n.upload_topic);
    let (permission, sub) = subscription::destroy(&stack, &d).await?;
    task.finish(&outcome(&sub));
    done.push("subscription", &n.upload_topic, sub);
    done.push("permission", &n.permission_sid, permission);
    // 3. The distribution goes before the buckets it reads from; the OAC only once no distribution uses it.
    let (oac, dist) = cdn::destroy(&stack, &progress).await?;
    done.push("cdn-distribution", &n.distribution_comment, dist);
    done.push("cdn-oac", &n.oac, oac);
    // 4. The function, now that nothing invokes it; its log group after it, or a last invocation recreates it.
    record(
        &mut done,
        &progress,
        "function",
        &n.function,
        function::destroy(&stack),
    )
    .await?;
    let d = log_group::desired(&stack);
    record(
        &mut done,
        &progress,
        "log-group",
        &n.log_group,
        log_group::destroy(&stack, &d),
    )
    .await?;
    // 5. The role once no function uses it (inline policy first: IAM refuses to delete a role with policies).
    let d = role::desired(&stack);
    record(
        &mut done,
        &progress,
        "role",
        &n.role,
        role::destroy(&stack, &d),
    )
    .await?;
    // 6. The topics once the notification, the subscription and the function's dead-letter config are gone.
    let d = topic::desired_upload(&stack);
    record(
        &mut done,
        &progress,
        "topic",
        &n.upload_topic,
        topic::destroy(&stack, &d),
    )
    .await?;
    let d = topic::desired_failure(&stack);
    record(
        &mut done,
        &progress,
        "topic",
        &n.failure_topic,
        topic::destroy(&stack, &d),
    )
    .await?;
    // 7. Buckets last: processed holds only derived data; originals and backup hold the user's.
    record(
        &mut done,
        &progress,
        "bucket",
        &n.processed_bucket,
        bucket::empty_and_delete(&stack, &n.processed_bucket),
    )
    .await?;
    for data in [&n.originals_bucket, &n.backup_bucket] {
        record(
            &mut done,
            &progress,
            "bucket",
            data,
            data_bucket(&stack, data, args.delete_data),
        )
        .await?;
    }

    let kept: Vec<&str> = done
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Keep { .. }))
        .map(|s| s.name.as_str())
        .collect();
    let gone_already = done
        .steps
        .iter()
        .all(|s| matches!(s.action, Action::Absent));
    if g.json {
        print_json(
            &json!({ "stack": stack_name, "steps": done.steps, "kept": kept, "already_gone": gone_already }),
        );
    } else if gone_already {
        eprintln!("\nstack {stack_name} is already gone: nothing to delete");
    } else {
        eprintln!("\nstack {stack_name} removed");
        for k in &kept {
            eprintln!("kept bucket {k}: it holds your data; `imgdeploy teardown --delete-data` removes it");
        }
    }
    Ok(())
}

fn outcome(a: &Action) -> String {
    match a {
        Action::Delete => "deleted".into(),
        Action::Absent => "already gone".into(),
        Action::Keep { reason } => format!("kept: {reason}"),
        _ => "done".into(),
    }
}

async fn record(
    done: &mut Plan,
    progress: &Progress,
    kind: &'static str,
    name: &str,
    work: impl std::future::Future<Output = Result<Action>>,
) -> Result<()> {
    let task = progress.start(kind, name);
    match work.await {
        Ok(action) => {
            task.finish(&outcome(&action));
            done.push(kind, name, action);
            Ok(())
        }
        Err(e) => {
            task.fail("failed");
            Err(e.context(format!(
                "teardown stopped at {kind} {name}; run `imgdeploy teardown` again to continue"
            )))
        }
    }
}

/// Originals and backup: deleted when empty or with `--delete-data`, kept otherwise.
async fn data_bucket(stack: &Stack<'_>, name: &str, delete_data: bool) -> Result<Action> {
    if bucket::describe_exists(stack, name).await? {
        if delete_data || bucket::is_empty(stack, name).await? {
            return bucket::empty_and_delete(stack, name).await;
        }
        return Ok(Action::Keep {
            reason: "holds objects (your data)".into(),
        });
    }
    Ok(Action::Absent)
}

async fn confirm_data_deletion(stack: &Stack<'_>, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    let n = &stack.names;
    if !std::io::stdin().is_terminal() {
        bail!("--delete-data would delete every object in {} and {}; no terminal to confirm on\n  fix: add --yes", n.originals_bucket, n.backup_bucket);
    }
    eprint!(
        "This deletes every object (all versions) in {} and {}. Type the stack name ({}) to confirm: ",
        n.originals_bucket, n.backup_bucket, n.stack
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != n.stack {
        bail!("not confirmed: nothing was deleted");
    }
    Ok(())
}

/// `--dry-run`: what teardown would do, from existence checks only.
async fn survey(stack: &Stack<'_>, delete_data: bool) -> Result<Plan> {
    let n = &stack.names;
    let mut plan = Plan::new(&n.stack);
    let present = |exists: bool| {
        if exists {
            Action::Delete
        } else {
            Action::Absent
        }
    };
    let notif = notification::describe(stack, &notification::desired(stack)).await?;
    plan.push(
        "notification",
        &n.originals_bucket,
        present(
            notification::diff(notif.as_ref(), &notification::desired(stack)) != Action::Create,
        ),
    );
    let sub = subscription::describe(stack, &subscription::desired(stack)).await?;
    plan.push(
        "subscription",
        &n.upload_topic,
        present(sub.subscription_arn.is_some()),
    );
    plan.push(
        "permission",
        &n.permission_sid,
        present(sub.permission.is_some()),
    );
    let cdn_now = cdn::describe(stack).await?;
    plan.push(
        "cdn-distribution",
        &n.distribution_comment,
        present(cdn_now.distribution_arn().is_some()),
    );
    plan.push(
        "function",
        &n.function,
        present(function::exists(stack).await?),
    );
    plan.push(
        "log-group",
        &n.log_group,
        present(
            log_group::describe(stack, &log_group::desired(stack))
                .await?
                .is_some(),
        ),
    );
    plan.push(
        "role",
        &n.role,
        present(
            role::describe(stack, &role::desired(stack))
                .await?
                .is_some(),
        ),
    );
    for d in [topic::desired_upload(stack), topic::desired_failure(stack)] {
        plan.push(
            "topic",
            &d.name,
            present(topic::describe(stack, &d).await?.is_some()),
        );
    }
    plan.push(
        "bucket",
        &n.processed_bucket,
        present(bucket::describe_exists(stack, &n.processed_bucket).await?),
    );
    for data in [&n.originals_bucket, &n.backup_bucket] {
        let action = if !bucket::describe_exists(stack, data).await? {
            Action::Absent
        } else if delete_data || bucket::is_empty(stack, data).await? {
            Action::Delete
        } else {
            Action::Keep {
                reason: "holds objects (your data)".into(),
            }
        };
        plan.push("bucket", data, action);
    }
    Ok(plan)
}
