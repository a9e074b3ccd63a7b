//! A custom domain for the CDN (`[cdn] domain`): an ACM certificate in us-east-1 validated by DNS,
//! the validation record and the domain's alias records in the account's Route 53 hosted zone for it,
//! and the distribution's aliases and viewer certificate (in `cdn/`).
//!
//! Three resources of the stack's table, in this order around the distribution:
//! - [`certificate::Certificate`] (before it): requested with the stack tag, found by domain and tag;
//! - [`records::ValidationRecord`] (before it): the CNAME ACM checks; after writing it, `up` waits a
//!   bounded time for the certificate to be issued;
//! - [`alias::AliasRecords`] (after it, which they name): A and AAAA aliases to the distribution.
//!
//! Promises:
//! - the distribution answers to the domain only with an ISSUED certificate (the one given, or the
//!   one requested); until then it keeps CloudFront's own, and `up` says what it waits for;
//! - without a public hosted zone for the domain, nothing is written to DNS: `up` prints the exact
//!   records to create (CNAMEs, for any DNS provider), and the next `up` converges;
//! - a record of the domain that is not the one imgdeploy would write (another CNAME, an A record to
//!   elsewhere) is a conflict, never overwritten; teardown deletes only the records it would write,
//!   with their exact values, and the certificate only when it carries the stack tag.
use crate::aws::{Aws, Explain};
use crate::resources::Stack;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

pub mod alias;
pub mod certificate;
pub mod records;
#[cfg(test)]
mod tests;

/// The hosted zone id of every CloudFront distribution, for Route 53 alias records.
pub const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";
/// The viewer TLS policy with a custom certificate: TLS 1.2 or later, modern ciphers.
pub const MINIMUM_PROTOCOL: &str = "TLSv1.2_2021";

/// What the configuration asks of the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSpec {
    /// `[cdn] domain`; `None`: no custom domain, and none of these resources is wanted.
    pub domain: Option<String>,
    /// `[cdn] certificate_arn`: the user's certificate; `up` requests none.
    pub certificate_arn: Option<String>,
    /// `[cdn] enabled`.
    pub cdn: bool,
    pub tags: BTreeMap<String, String>,
}

impl DomainSpec {
    pub fn of(stack: &Stack<'_>) -> DomainSpec {
        let cdn = &stack.config.cdn;
        DomainSpec {
            domain: cdn.domain.clone(),
            certificate_arn: cdn.certificate_arn.clone(),
            cdn: cdn.enabled,
            tags: stack.tags(),
        }
    }

    /// The domain, when the CDN serves one.
    pub fn served(&self) -> Option<&str> {
        self.domain.as_deref().filter(|_| self.cdn)
    }

    /// Whether `up` requests (and `teardown` deletes) the certificate.
    pub fn requests_certificate(&self) -> bool {
        self.served().is_some() && self.certificate_arn.is_none()
    }

    /// The name in plans: the domain, or a placeholder for the unwanted lines teardown still visits.
    pub fn name(&self) -> &str {
        self.domain.as_deref().unwrap_or("(no domain)")
    }
}

/// One DNS record, as written to Route 53 or printed for another DNS provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsRecord {
    /// Fully qualified, with the final dot.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl fmt::Display for DnsRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  {}  {}", self.name, self.kind, self.value)
    }
}

/// `name` with exactly one final dot, lower case: how Route 53 returns names.
pub fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

/// A public Route 53 hosted zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    pub id: String,
    /// With the final dot.
    pub name: String,
}

/// What the domain's resources learn for the ones after them (and for `up`'s outputs).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DomainKnown {
    /// The requested certificate, when it exists.
    pub certificate: Option<certificate::CertificateState>,
    /// The hosted zone for the domain, once looked up (`Some(None)`: the account has none).
    pub zone: Option<Option<Zone>>,
}

impl DomainKnown {
    /// The certificate the distribution serves the domain with: the one given, or the requested one
    /// once ACM has issued it. `None`: the distribution keeps CloudFront's certificate and no alias.
    pub fn serving(&self, spec: &DomainSpec) -> Option<String> {
        spec.served()?;
        if let Some(given) = &spec.certificate_arn {
            return Some(given.clone());
        }
        self.certificate
            .as_ref()
            .filter(|c| c.status == "ISSUED")
            .map(|c| c.arn.clone())
    }
}

/// The public hosted zone that holds `domain`: the longest zone name that is the domain or a parent.
pub async fn find_zone(aws: &Aws, domain: &str) -> Result<Option<Zone>> {
    let mut pages = aws.route53.list_hosted_zones().into_paginator().send();
    let mut public = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.explain(aws, "route53:ListHostedZones")?;
        public.extend(
            page.hosted_zones
                .into_iter()
                .filter(|z| !z.config.as_ref().is_some_and(|c| c.private_zone))
                .map(|z| Zone {
                    id: z.id.trim_start_matches("/hostedzone/").to_string(),
                    name: fqdn(&z.name),
                }),
        );
    }
    Ok(best_zone(public, domain))
}

/// Of the public zones, the one that holds `domain` most closely. Pure.
pub fn best_zone(public: Vec<Zone>, domain: &str) -> Option<Zone> {
    let want = fqdn(domain);
    public
        .into_iter()
        .filter(|z| want == z.name || want.ends_with(&format!(".{}", z.name)))
        .max_by_key(|z| z.name.len())
}

/// The zone for the domain, looked up once per run.
pub async fn zone(aws: &Aws, domain: &str, known: &mut DomainKnown) -> Result<Option<Zone>> {
    if let Some(z) = &known.zone {
        return Ok(z.clone());
    }
    let z = find_zone(aws, domain).await?;
    known.zone = Some(z.clone());
    Ok(z)
}

/// What `up` says of the custom domain: where it serves, what it waits for, and which records to
/// create by hand when Route 53 does not hold the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainOutput {
    pub domain: String,
    /// Whether the distribution answers to it now.
    pub serving: bool,
    /// The requested certificate's ACM status, or `given` for `certificate_arn`.
    pub certificate: String,
    /// The records to create at the domain's DNS provider (empty when Route 53 holds the domain).
    pub dns_records_to_create: Vec<DnsRecord>,
}

impl DomainOutput {
    pub fn of(spec: &DomainSpec, known: &DomainKnown, distribution: Option<&str>) -> Option<Self> {
        let domain = spec.served()?.to_string();
        let certificate = match (&spec.certificate_arn, &known.certificate) {
            (Some(_), _) => "given".to_string(),
            (None, Some(c)) => c.status.clone(),
            (None, None) => "not requested".to_string(),
        };
        Some(DomainOutput {
            domain,
            serving: known.serving(spec).is_some(),
            certificate,
            dns_records_to_create: records_to_create(spec, known, distribution),
        })
    }
}

impl fmt::Display for DomainOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.serving {
            writeln!(
                f,
                "custom domain    : https://{}/<variant>/<key>  (TLS 1.2 or later)",
                self.domain
            )?;
        } else {
            writeln!(
                f,
                "custom domain    : {} is not served yet: its certificate is {}",
                self.domain, self.certificate
            )?;
        }
        if self.dns_records_to_create.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "\nNo Route 53 hosted zone in this account holds {}. Create these records at its DNS provider{}:",
            self.domain,
            if self.serving {
                " (keep them: ACM renews the certificate with the first)"
            } else {
                ", then run `imgdeploy up` again"
            }
        )?;
        for r in &self.dns_records_to_create {
            writeln!(f, "  {r}")?;
        }
        Ok(())
    }
}

/// The records someone must create at their DNS provider when the account has no hosted zone for the
/// domain: the certificate's validation CNAME (when imgdeploy requested it) and a CNAME of the domain
/// to the distribution.
pub fn records_to_create(
    spec: &DomainSpec,
    known: &DomainKnown,
    distribution_domain: Option<&str>,
) -> Vec<DnsRecord> {
    let Some(domain) = spec.served() else {
        return vec![];
    };
    if !matches!(known.zone, Some(None)) {
        return vec![];
    }
    let mut out = Vec::new();
    if spec.requests_certificate() {
        if let Some(v) = known
            .certificate
            .as_ref()
            .and_then(|c| c.validation.clone())
        {
            out.push(v);
        }
    }
    if let Some(target) = distribution_domain {
        out.push(DnsRecord {
            name: fqdn(domain),
            kind: "CNAME".into(),
            value: fqdn(target),
        });
    }
    out
}
