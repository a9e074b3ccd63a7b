//! What the CDN should look like, as plain comparable data built purely from the stack: the same view is
//! read back from what CloudFront returns, so that `diff` compares only the fields imgdeploy sets and
//! ignores the defaults AWS (or the emulator) fills in (`sdk.rs` converts to and from CloudFront's shapes).
use serde::Serialize;

/// The managed cache policy "CachingOptimized" (the same id in every account).
pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
/// The managed response headers policy "SecurityHeadersPolicy" (the same id in every account).
pub const SECURITY_HEADERS: &str = "67f7725c-6f97-4210-82d7-5512b31e9d03";
/// Origin ids inside the distribution.
pub const PROCESSED_ORIGIN: &str = "processed";
pub const ORIGINALS_ORIGIN: &str = "originals";

/// The Origin Access Control: CloudFront signs every request to S3 with SigV4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OacSpec {
    pub name: String,
    pub description: String,
    pub signing_protocol: String,
    pub signing_behavior: String,
    pub origin_type: String,
}

impl OacSpec {
    pub fn for_stack(name: &str, stack: &str) -> OacSpec {
        OacSpec {
            name: name.to_string(),
            description: format!("imgdeploy stack {stack}: CloudFront reads its S3 buckets"),
            signing_protocol: "sigv4".into(),
            signing_behavior: "always".into(),
            origin_type: "s3".into(),
        }
    }

    /// What differs from `desired` (the name is how it was found, so it never differs).
    pub fn changes(&self, desired: &OacSpec) -> Vec<String> {
        let mut out = Vec::new();
        field(
            &mut out,
            "description",
            &self.description,
            &desired.description,
        );
        field(
            &mut out,
            "signing protocol",
            &self.signing_protocol,
            &desired.signing_protocol,
        );
        field(
            &mut out,
            "signing behavior",
            &self.signing_behavior,
            &desired.signing_behavior,
        );
        field(
            &mut out,
            "origin type",
            &self.origin_type,
            &desired.origin_type,
        );
        out
    }
}

/// An S3 origin: `<bucket>.s3.<region>.amazonaws.com`, read through the OAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OriginSpec {
    pub id: String,
    pub domain: String,
}

/// A CloudFront Function on one event of a behaviour, named (the ARN is the account's: the name is
/// what `diff` compares, so a plan needs no account id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FunctionSpec {
    /// `viewer-request` or `viewer-response`.
    pub event_type: String,
    pub name: String,
}

impl std::fmt::Display for FunctionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.name, self.event_type)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BehaviorSpec {
    /// `None` for the default behaviour.
    pub path_pattern: Option<String>,
    pub target: String,
    pub viewer_protocol_policy: String,
    /// Sorted: AWS does not keep the order.
    pub allowed_methods: Vec<String>,
    pub cached_methods: Vec<String>,
    pub compress: bool,
    pub cache_policy_id: String,
    /// AWS's managed SecurityHeadersPolicy: HSTS, `X-Content-Type-Options: nosniff`, frame and
    /// referrer policies on every answer.
    pub response_headers_policy_id: String,
    /// The CloudFront Functions it runs, sorted by event type.
    pub functions: Vec<FunctionSpec>,
}

impl BehaviorSpec {
    /// Read-only, HTTPS, compressed, cached with CachingOptimized.
    pub fn read_only(path_pattern: Option<String>, target: &str) -> BehaviorSpec {
        let get_head = vec!["GET".to_string(), "HEAD".to_string()];
        BehaviorSpec {
            path_pattern,
            target: target.to_string(),
            viewer_protocol_policy: "redirect-to-https".into(),
            allowed_methods: get_head.clone(),
            cached_methods: get_head,
            compress: true,
            cache_policy_id: CACHING_OPTIMIZED.into(),
            response_headers_policy_id: SECURITY_HEADERS.into(),
            functions: Vec::new(),
        }
    }

    /// The same behaviour with the CloudFront Function `name` on both viewer events: the request
    /// (it rewrites the URI) and the response (it adds `Vary: Accept`).
    pub fn negotiated(mut self, name: &str) -> BehaviorSpec {
        self.functions = ["viewer-request", "viewer-response"]
            .map(|event_type| FunctionSpec {
                event_type: event_type.into(),
                name: name.into(),
            })
            .to_vec();
        self
    }

    fn label(&self) -> String {
        match &self.path_pattern {
            Some(p) => format!("behaviour {p}"),
            None => "default behaviour".into(),
        }
    }

    fn changes(&self, desired: &BehaviorSpec, out: &mut Vec<String>) {
        let label = desired.label();
        field(
            out,
            &format!("{label} origin"),
            &self.target,
            &desired.target,
        );
        field(
            out,
            &format!("{label} viewer protocol"),
            &self.viewer_protocol_policy,
            &desired.viewer_protocol_policy,
        );
        field(
            out,
            &format!("{label} methods"),
            &self.allowed_methods.join("+"),
            &desired.allowed_methods.join("+"),
        );
        field(
            out,
            &format!("{label} cached methods"),
            &self.cached_methods.join("+"),
            &desired.cached_methods.join("+"),
        );
        field(
            out,
            &format!("{label} compress"),
            &self.compress,
            &desired.compress,
        );
        field(
            out,
            &format!("{label} cache policy"),
            &self.cache_policy_id,
            &desired.cache_policy_id,
        );
        field(
            out,
            &format!("{label} response headers policy"),
            &self.response_headers_policy_id,
            &desired.response_headers_policy_id,
        );
        let list = |f: &[FunctionSpec]| {
            let names: Vec<String> = f.iter().map(FunctionSpec::to_string).collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        if self.functions != desired.functions {
            out.push(format!(
                "{label} functions {} -> {}",
                list(&self.functions),
                list(&desired.functions)
            ));
        }
    }
}

/// The distribution fields imgdeploy sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistributionSpec {
    pub comment: String,
    pub enabled: bool,
    pub price_class: String,
    pub http_version: String,
    pub ipv6: bool,
    pub origins: Vec<OriginSpec>,
    pub default_behavior: BehaviorSpec,
    pub behaviors: Vec<BehaviorSpec>,
    /// The custom domain it answers to; empty: only its `cloudfront.net` name.
    pub aliases: Vec<String>,
    /// The ACM certificate of `aliases`; `None`: CloudFront's own.
    pub certificate_arn: Option<String>,
    /// The viewer TLS policy with that certificate (`TLSv1.2_2021`); `None` with CloudFront's own.
    pub minimum_protocol: Option<String>,
}

impl DistributionSpec {
    /// Every field that differs from `desired`, as short phrases for the plan.
    pub fn changes(&self, desired: &DistributionSpec) -> Vec<String> {
        let mut out = Vec::new();
        field(&mut out, "comment", &self.comment, &desired.comment);
        field(&mut out, "enabled", &self.enabled, &desired.enabled);
        field(
            &mut out,
            "price class",
            &self.price_class,
            &desired.price_class,
        );
        field(
            &mut out,
            "http version",
            &self.http_version,
            &desired.http_version,
        );
        field(&mut out, "ipv6", &self.ipv6, &desired.ipv6);
        for want in &desired.origins {
            match self.origins.iter().find(|o| o.id == want.id) {
                None => out.push(format!("origin {} (new)", want.id)),
                Some(have) => field(
                    &mut out,
                    &format!("origin {} domain", want.id),
                    &have.domain,
                    &want.domain,
                ),
            }
        }
        for have in self
            .origins
            .iter()
            .filter(|o| !desired.origins.iter().any(|w| w.id == o.id))
        {
            out.push(format!("origin {} (remove)", have.id));
        }
        field(&mut out, "aliases", &self.aliases, &desired.aliases);
        field(
            &mut out,
            "certificate",
            &self.certificate_arn,
            &desired.certificate_arn,
        );
        field(
            &mut out,
            "minimum TLS",
            &self.minimum_protocol,
            &desired.minimum_protocol,
        );
        self.default_behavior
            .changes(&desired.default_behavior, &mut out);
        for want in &desired.behaviors {
            match self
                .behaviors
                .iter()
                .find(|b| b.path_pattern == want.path_pattern)
            {
                None => out.push(format!("{} (new)", want.label())),
                Some(have) => have.changes(want, &mut out),
            }
        }
        for have in self.behaviors.iter().filter(|b| {
            !desired
                .behaviors
                .iter()
                .any(|w| w.path_pattern == b.path_pattern)
        }) {
            out.push(format!("{} (remove)", have.label()));
        }
        out
    }
}

fn field<T: PartialEq + std::fmt::Debug>(out: &mut Vec<String>, what: &str, have: &T, want: &T) {
    if have != want {
        out.push(format!("{what} {have:?} -> {want:?}"));
    }
}
