//! The stack, written once: every resource kind ([`Kind`]) and the ordered table of the stack's
//! resources. `up` creates in this order; `teardown` deletes in the reverse order; `status` and the
//! plan read the same table. A new resource kind is a module implementing
//! [`Resource`](super::resource::Resource), a variant of [`Kind`](super::kind::Kind) and a line in
//! [`table`].
//!
//! The order's constraints, stated once (each reads "A before B" for `up`, so "B before A" for
//! `teardown`):
//! - buckets before everything that names them (notification, policies, origins, the function's env);
//! - the topics before the function (the failure topic is its dead-letter target, the processed
//!   topic is in its environment) and the upload
//!   topic's policy before the notification (S3 checks it can publish when the notification is put);
//! - the log group before the function, or Lambda creates it without retention or tags (and in
//!   teardown, after the function, or a last invocation recreates it);
//! - the role before the function (the function retries while IAM propagates) and before the failure
//!   queue (its policy names the role), the queue before the function (its dead-letter target) and
//!   before the subscription (its redrive target);
//! - the custom domain's certificate and its validation record before the distribution (it serves the
//!   domain only with an issued certificate; ACM refuses to delete a certificate in use), the
//!   domain's alias records after it (they name its domain name; in teardown they go first, so the
//!   domain stops pointing at a distribution that is going away);
//! - the CloudFront Function before the distribution (CloudFront associates only a published
//!   function, and refuses to delete one in use);
//! - the OAC before the distribution (its origins read through it; CloudFront refuses to delete an
//!   OAC in use), the distribution before the bucket policies (they name its ARN) and before the role
//!   and the function (the role may invalidate it, the function's environment names its id);
//! - the permission before the subscription (SNS delivers as soon as it subscribes);
//! - the upload notification last, so that uploads flow only into a finished stack, and in
//!   teardown first, so that new work stops before anything it needs goes.
use crate::artifact::Artifact;
#[cfg(test)]
use crate::resources::kind::Kind;
use crate::resources::resource::{entry, Slot};
use crate::resources::{
    alert, bucket, cdn, domain, function, log_group, notification, permission, queue, role,
    subscription, topic, Stack,
};

/// Every resource the stack can have, in creation order; unwanted ones (the backup bucket without
/// `[backup]`, the CDN without `[cdn]`) are in the table too, so that teardown removes them.
/// `artifact`: the function's zip, when the caller built one (`status` has none: the code is then
/// not compared).
pub fn table(stack: &Stack<'_>, artifact: Option<&Artifact>) -> Vec<Box<dyn Slot>> {
    let mut t: Vec<Box<dyn Slot>> = Vec::new();
    for b in bucket::all(stack) {
        t.push(entry(b));
    }
    t.push(entry(topic::failure(stack)));
    t.push(entry(topic::processed(stack)));
    t.push(entry(topic::upload(stack)));
    t.push(entry(log_group::desired(stack)));
    t.push(entry(domain::certificate::desired(stack)));
    t.push(entry(domain::records::validation(stack)));
    t.push(entry(cdn::oac(stack)));
    t.push(entry(cdn::edge_function(stack)));
    t.push(entry(cdn::distribution(stack)));
    t.push(entry(domain::alias::aliases(stack)));
    t.push(entry(role::desired(stack)));
    // Made by `backfill --engine batch`, not by `up`; its policy names the function by ARN only.
    t.push(entry(role::batch(stack)));
    t.push(entry(queue::desired(stack)));
    t.push(entry(function::desired(stack, artifact)));
    for b in bucket::all(stack) {
        t.push(entry(bucket::policy::desired(stack, &b)));
    }
    t.push(entry(permission::desired(stack)));
    t.push(entry(subscription::desired(stack)));
    t.push(entry(alert::desired(stack)));
    t.push(entry(notification::desired(stack)));
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Aws;
    use crate::config::Config;

    fn kinds(config: &str) -> Vec<(Kind, bool)> {
        let text = format!(
            "[stack]\nname = \"acme\"\n{config}\n[[variant]]\nname = \"thumb\"\nwidth = 200\nheight = 200\n"
        );
        let config = Config::parse(&text, "imgdeploy.toml").unwrap();
        let aws = Aws::offline_in("eu-west-1");
        let stack = Stack::new(&aws, &config, "acme");
        table(&stack, None)
            .iter()
            .map(|s| (s.kind(), s.wanted()))
            .collect()
    }

    #[test]
    fn the_table_holds_every_kind_in_creation_order() {
        let all: Vec<Kind> = kinds("").into_iter().map(|(k, _)| k).collect();
        use Kind::*;
        assert_eq!(
            all,
            [
                Bucket,
                Bucket,
                Bucket,
                Topic,
                Topic,
                Topic,
                LogGroup,
                Certificate,
                DnsValidation,
                CdnOac,
                CdnFunction,
                CdnDistribution,
                DnsAlias,
                Role,
                Role,
                Queue,
                Function,
                BucketPolicy,
                BucketPolicy,
                BucketPolicy,
                Permission,
                Subscription,
                Alert,
                Notification
            ]
        );
        // Every kind has a line: a new kind without one fails here.
        let every = [
            Bucket,
            Topic,
            Queue,
            LogGroup,
            Role,
            Function,
            Certificate,
            DnsValidation,
            CdnOac,
            CdnFunction,
            CdnDistribution,
            DnsAlias,
            BucketPolicy,
            Permission,
            Subscription,
            Alert,
            Notification,
        ];
        for kind in every {
            // A compile-time reminder too: this match must name every kind.
            match kind {
                Bucket | Topic | Queue | LogGroup | Role | Function | Certificate
                | DnsValidation | CdnOac | CdnFunction | CdnDistribution | DnsAlias
                | BucketPolicy | Permission | Subscription | Alert | Notification => {}
            }
            assert!(all.contains(&kind), "{kind} has no line in the table");
        }
    }

    #[test]
    fn switched_off_parts_are_unwanted_but_still_listed_for_teardown() {
        let off = kinds("[cdn]\nenabled = false\n[backup]\nenabled = false\n");
        let unwanted: Vec<Kind> = off.iter().filter(|(_, w)| !w).map(|(k, _)| *k).collect();
        // Without a backup, its bucket and that bucket's policy; without events, the processed topic;
        // without the CDN, its parts and the domain's; without an address, the e-mail alert; and always the batch
        // role, which `backfill` makes.
        assert_eq!(
            unwanted,
            [
                Kind::Bucket,
                Kind::Topic,
                Kind::Certificate,
                Kind::DnsValidation,
                Kind::CdnOac,
                Kind::CdnFunction,
                Kind::CdnDistribution,
                Kind::DnsAlias,
                Kind::Role,
                Kind::BucketPolicy,
                Kind::Alert
            ]
        );
        let on = kinds("[alerts]\nemail = \"ops@example.com\"\n[events]\nprocessed = true");
        let unwanted: Vec<Kind> = on.iter().filter(|(_, w)| !w).map(|(k, _)| *k).collect();
        assert_eq!(
            unwanted,
            [
                Kind::Certificate,
                Kind::DnsValidation,
                Kind::CdnFunction,
                Kind::DnsAlias,
                Kind::Role
            ],
            "only the domain's parts without [cdn] domain, the edge function without an `auto` \
             variant, and the batch role, made by backfill: {on:?}"
        );
        let every = kinds(
            "[cdn]\ndomain = \"img.example.com\"\n[alerts]\nemail = \"ops@example.com\"\n\
             [events]\nprocessed = true\n[[variant]]\nname = \"hero\"\nwidth = 800\n\
             fit = \"inside\"\nformat = \"auto\"",
        );
        let unwanted: Vec<Kind> = every.iter().filter(|(_, w)| !w).map(|(k, _)| *k).collect();
        assert_eq!(unwanted, [Kind::Role], "every feature on: {every:?}");
    }
}
