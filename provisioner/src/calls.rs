//! Records every AWS operation the tool sends, so that `up` can prove "no changes" made no mutating call
//! and tests can pin requests that the emulator does not keep (the `IMGDEPLOY_RECORD_REQUESTS` file).
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Call {
    pub service: String,
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_match: Option<String>,
    /// S3's `x-amz-expected-bucket-owner`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl Call {
    /// Reads never start with these; everything else changes something.
    pub fn mutates(&self) -> bool {
        !["Get", "List", "Describe", "Head", "Filter"]
            .iter()
            .any(|p| self.operation.starts_with(p))
    }
}

/// The interceptor; clone it into every client's config.
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    calls: Arc<Mutex<Vec<Call>>>,
    /// When set, each call is also appended to this file as one JSON line, with its request body.
    record_to: Option<std::path::PathBuf>,
}

impl CallLog {
    pub fn from_env() -> Self {
        CallLog {
            calls: Arc::default(),
            record_to: std::env::var_os("IMGDEPLOY_RECORD_REQUESTS").map(Into::into),
        }
    }

    /// How many calls were sent, reads included: proves a "no mutating call" was a run that called.
    pub fn count(&self) -> usize {
        self.calls.lock().expect("call log").len()
    }

    pub fn mutating(&self) -> Vec<String> {
        let calls = self.calls.lock().expect("call log");
        calls
            .iter()
            .filter(|c| c.mutates())
            .map(|c| format!("{}:{}", c.service, c.operation))
            .collect()
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "imgdeploy-call-log"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let request = ctx.request();
        let mut call = Call {
            service: meta.service().to_string(),
            operation: meta.name().to_string(),
            if_match: request.headers().get("If-Match").map(str::to_string),
            expected_owner: request
                .headers()
                .get("x-amz-expected-bucket-owner")
                .map(str::to_string),
            body: None,
        };
        if let Some(path) = &self.record_to {
            call.body = request
                .body()
                .bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned());
            let line = serde_json::to_string(&call)?;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            writeln!(f, "{line}")?;
            call.body = None;
        }
        self.calls.lock().expect("call log").push(call);
        Ok(())
    }
}
