//! The SDK side of the specs: CloudFront's request shapes built from them, and the comparable view
//! read back from what CloudFront returns (AWS's defaults and the fields imgdeploy does not set left out).
use super::spec::{BehaviorSpec, DistributionSpec, FunctionSpec, OacSpec, OriginSpec};
use anyhow::{Context, Result};
use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CacheBehavior, CacheBehaviors, CachedMethods, DefaultCacheBehavior,
    DistributionConfig, EventType, FunctionAssociation, FunctionAssociations, HttpVersion, Method,
    MinimumProtocolVersion, Origin, OriginAccessControlConfig, OriginAccessControlOriginTypes,
    OriginAccessControlSigningBehaviors, OriginAccessControlSigningProtocols, Origins, PriceClass,
    S3OriginConfig, SslSupportMethod, ViewerCertificate, ViewerProtocolPolicy,
};

impl OacSpec {
    pub fn from_config(c: &OriginAccessControlConfig) -> OacSpec {
        OacSpec {
            name: c.name.clone(),
            description: c.description.clone().unwrap_or_default(),
            signing_protocol: c.signing_protocol.as_str().to_string(),
            signing_behavior: c.signing_behavior.as_str().to_string(),
            origin_type: c.origin_access_control_origin_type.as_str().to_string(),
        }
    }

    pub fn to_config(&self) -> Result<OriginAccessControlConfig> {
        Ok(OriginAccessControlConfig::builder()
            .name(&self.name)
            .description(&self.description)
            .signing_protocol(OriginAccessControlSigningProtocols::from(
                self.signing_protocol.as_str(),
            ))
            .signing_behavior(OriginAccessControlSigningBehaviors::from(
                self.signing_behavior.as_str(),
            ))
            .origin_access_control_origin_type(OriginAccessControlOriginTypes::from(
                self.origin_type.as_str(),
            ))
            .build()?)
    }
}

impl DistributionSpec {
    /// The view of a configuration CloudFront returned.
    pub fn from_config(c: &DistributionConfig) -> DistributionSpec {
        let origins = c
            .origins
            .as_ref()
            .map(|o| o.items.as_slice())
            .unwrap_or_default();
        let behaviors = c
            .cache_behaviors
            .as_ref()
            .and_then(|b| b.items.as_deref())
            .unwrap_or_default();
        DistributionSpec {
            comment: c.comment.clone(),
            enabled: c.enabled,
            price_class: c
                .price_class
                .as_ref()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            http_version: c
                .http_version
                .as_ref()
                .map(|h| h.as_str().to_string())
                .unwrap_or_default(),
            ipv6: c.is_ipv6_enabled.unwrap_or(false),
            origins: origins
                .iter()
                .map(|o| OriginSpec {
                    id: o.id.clone(),
                    domain: o.domain_name.clone(),
                })
                .collect(),
            default_behavior: c
                .default_cache_behavior
                .as_ref()
                .map(default_view)
                .unwrap_or_else(|| BehaviorSpec {
                    path_pattern: None,
                    target: String::new(),
                    viewer_protocol_policy: String::new(),
                    allowed_methods: vec![],
                    cached_methods: vec![],
                    compress: false,
                    cache_policy_id: String::new(),
                    response_headers_policy_id: String::new(),
                    functions: vec![],
                }),
            behaviors: behaviors.iter().map(behavior_view).collect(),
            aliases: c
                .aliases
                .as_ref()
                .and_then(|a| a.items.clone())
                .unwrap_or_default(),
            certificate_arn: acm_certificate(c).map(str::to_string),
            minimum_protocol: acm_certificate(c).and_then(|_| {
                let v = c.viewer_certificate.as_ref()?;
                v.minimum_protocol_version
                    .as_ref()
                    .map(|p| p.as_str().to_string())
            }),
        }
    }

    /// Writes the fields imgdeploy sets into `config`, keeping everything else it holds (AWS's defaults,
    /// the caller reference). Every origin reads through the OAC `oac_id`; a behaviour's functions are
    /// found in `functions` (name -> ARN).
    pub fn apply_to(
        &self,
        config: &mut DistributionConfig,
        oac_id: &str,
        functions: &FunctionArns,
    ) -> Result<()> {
        config.comment = self.comment.clone();
        config.enabled = self.enabled;
        config.price_class = Some(PriceClass::from(self.price_class.as_str()));
        config.http_version = Some(HttpVersion::from(self.http_version.as_str()));
        config.is_ipv6_enabled = Some(self.ipv6);
        let origins = self
            .origins
            .iter()
            .map(|o| {
                Ok(Origin::builder()
                    .id(&o.id)
                    .domain_name(&o.domain)
                    // An empty identity: the OAC signs instead of a legacy origin access identity.
                    .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
                    .origin_access_control_id(oac_id)
                    .build()?)
            })
            .collect::<Result<Vec<_>>>()?;
        config.origins = Some(
            Origins::builder()
                .quantity(origins.len() as i32)
                .set_items(Some(origins))
                .build()?,
        );
        let d = &self.default_behavior;
        config.default_cache_behavior = Some(
            DefaultCacheBehavior::builder()
                .target_origin_id(&d.target)
                .viewer_protocol_policy(ViewerProtocolPolicy::from(
                    d.viewer_protocol_policy.as_str(),
                ))
                .allowed_methods(methods(d)?)
                .compress(d.compress)
                .cache_policy_id(&d.cache_policy_id)
                .response_headers_policy_id(&d.response_headers_policy_id)
                .function_associations(associations(d, functions)?)
                .build()?,
        );
        let behaviors = self
            .behaviors
            .iter()
            .map(|b| {
                Ok(CacheBehavior::builder()
                    .path_pattern(b.path_pattern.clone().unwrap_or_default())
                    .target_origin_id(&b.target)
                    .viewer_protocol_policy(ViewerProtocolPolicy::from(
                        b.viewer_protocol_policy.as_str(),
                    ))
                    .allowed_methods(methods(b)?)
                    .compress(b.compress)
                    .cache_policy_id(&b.cache_policy_id)
                    .response_headers_policy_id(&b.response_headers_policy_id)
                    .function_associations(associations(b, functions)?)
                    .build()?)
            })
            .collect::<Result<Vec<_>>>()?;
        config.aliases = Some(
            Aliases::builder()
                .quantity(self.aliases.len() as i32)
                .set_items((!self.aliases.is_empty()).then(|| self.aliases.clone()))
                .build()?,
        );
        config.viewer_certificate = Some(match &self.certificate_arn {
            Some(arn) => ViewerCertificate::builder()
                .acm_certificate_arn(arn)
                .ssl_support_method(SslSupportMethod::SniOnly)
                .minimum_protocol_version(MinimumProtocolVersion::from(
                    self.minimum_protocol.as_deref().unwrap_or("TLSv1.2_2021"),
                ))
                .cloud_front_default_certificate(false)
                .build(),
            None => ViewerCertificate::builder()
                .cloud_front_default_certificate(true)
                .build(),
        });
        config.cache_behaviors = Some(
            CacheBehaviors::builder()
                .quantity(behaviors.len() as i32)
                .set_items((!behaviors.is_empty()).then_some(behaviors))
                .build()?,
        );
        Ok(())
    }

    /// A complete configuration for CreateDistribution.
    pub fn to_new_config(
        &self,
        oac_id: &str,
        functions: &FunctionArns,
        caller_reference: &str,
    ) -> Result<DistributionConfig> {
        let mut config = DistributionConfig::builder()
            .caller_reference(caller_reference)
            .comment(&self.comment)
            .enabled(self.enabled)
            .build()?;
        self.apply_to(&mut config, oac_id, functions)?;
        Ok(config)
    }
}

/// The ACM certificate a configuration serves its aliases with, if any.
fn acm_certificate(c: &DistributionConfig) -> Option<&str> {
    c.viewer_certificate
        .as_ref()
        .and_then(|v| v.acm_certificate_arn.as_deref())
        .filter(|a| !a.is_empty())
}

/// The OAC id each origin of `config` reads through, when CloudFront reports it (moto does not).
pub fn origin_access_controls(config: &DistributionConfig) -> Vec<(String, Option<String>)> {
    let origins = config
        .origins
        .as_ref()
        .map(|o| o.items.as_slice())
        .unwrap_or_default();
    origins
        .iter()
        .map(|o| (o.id.clone(), o.origin_access_control_id.clone()))
        .collect()
}

/// The ARN of each CloudFront Function a distribution may run, by name.
pub type FunctionArns = std::collections::BTreeMap<String, String>;

/// A behaviour's function associations, by ARN; an empty list removes those it had.
fn associations(b: &BehaviorSpec, arns: &FunctionArns) -> Result<FunctionAssociations> {
    let items = b
        .functions
        .iter()
        .map(|f| {
            let arn = arns.get(&f.name).with_context(|| {
                format!(
                    "CloudFront Function {} is not deployed: no ARN to associate",
                    f.name
                )
            })?;
            Ok(FunctionAssociation::builder()
                .function_arn(arn)
                .event_type(EventType::from(f.event_type.as_str()))
                .build()?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(FunctionAssociations::builder()
        .quantity(items.len() as i32)
        .set_items((!items.is_empty()).then_some(items))
        .build()?)
}

/// The functions a behaviour runs, named by the last part of their ARN
/// (`arn:aws:cloudfront::<account>:function/<name>`), sorted by event type.
fn functions_view(a: Option<&FunctionAssociations>) -> Vec<FunctionSpec> {
    let mut out: Vec<FunctionSpec> = a
        .and_then(|a| a.items.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|f| FunctionSpec {
            event_type: f.event_type.as_str().to_string(),
            name: f
                .function_arn
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string(),
        })
        .collect();
    out.sort();
    out
}

fn methods(b: &BehaviorSpec) -> Result<AllowedMethods> {
    let list = |m: &[String]| {
        m.iter()
            .map(|s| Method::from(s.as_str()))
            .collect::<Vec<_>>()
    };
    let cached = CachedMethods::builder()
        .quantity(b.cached_methods.len() as i32)
        .set_items(Some(list(&b.cached_methods)))
        .build()?;
    Ok(AllowedMethods::builder()
        .quantity(b.allowed_methods.len() as i32)
        .set_items(Some(list(&b.allowed_methods)))
        .cached_methods(cached)
        .build()?)
}

fn sorted(methods: &[Method]) -> Vec<String> {
    let mut v: Vec<String> = methods.iter().map(|m| m.as_str().to_string()).collect();
    v.sort();
    v
}

fn methods_view(allowed: Option<&AllowedMethods>) -> (Vec<String>, Vec<String>) {
    let Some(a) = allowed else {
        return (vec![], vec![]);
    };
    let cached = a
        .cached_methods
        .as_ref()
        .map(|c| sorted(&c.items))
        .unwrap_or_default();
    (sorted(&a.items), cached)
}

fn default_view(b: &DefaultCacheBehavior) -> BehaviorSpec {
    let (allowed_methods, cached_methods) = methods_view(b.allowed_methods.as_ref());
    BehaviorSpec {
        path_pattern: None,
        target: b.target_origin_id.clone(),
        viewer_protocol_policy: b.viewer_protocol_policy.as_str().to_string(),
        allowed_methods,
        cached_methods,
        compress: b.compress.unwrap_or(false),
        cache_policy_id: b.cache_policy_id.clone().unwrap_or_default(),
        response_headers_policy_id: b.response_headers_policy_id.clone().unwrap_or_default(),
        functions: functions_view(b.function_associations.as_ref()),
    }
}

fn behavior_view(b: &CacheBehavior) -> BehaviorSpec {
    let (allowed_methods, cached_methods) = methods_view(b.allowed_methods.as_ref());
    BehaviorSpec {
        path_pattern: Some(b.path_pattern.clone()),
        target: b.target_origin_id.clone(),
        viewer_protocol_policy: b.viewer_protocol_policy.as_str().to_string(),
        allowed_methods,
        cached_methods,
        compress: b.compress.unwrap_or(false),
        cache_policy_id: b.cache_policy_id.clone().unwrap_or_default(),
        response_headers_policy_id: b.response_headers_policy_id.clone().unwrap_or_default(),
        functions: functions_view(b.function_associations.as_ref()),
    }
}
