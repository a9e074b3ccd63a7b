//! The kinds of resource a stack has, typed: a misspelt kind does not compile. Plans, `status` and
//! `--json` print them by these names.
use serde::Serialize;
use std::fmt;

/// A kind of resource, as plans, `status` and `--json` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
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
    BucketPolicy,
    Permission,
    Subscription,
    Alert,
    DnsAlias,
    Notification,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bucket => "bucket",
            Kind::Topic => "topic",
            Kind::Queue => "queue",
            Kind::LogGroup => "log-group",
            Kind::Role => "role",
            Kind::Function => "function",
            Kind::Certificate => "certificate",
            Kind::DnsValidation => "dns-validation",
            Kind::DnsAlias => "dns-alias",
            Kind::CdnOac => "cdn-oac",
            Kind::CdnFunction => "cdn-function",
            Kind::CdnDistribution => "cdn-distribution",
            Kind::BucketPolicy => "bucket-policy",
            Kind::Permission => "permission",
            Kind::Subscription => "subscription",
            Kind::Alert => "alert",
            Kind::Notification => "notification",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
