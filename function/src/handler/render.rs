//! The CPU side of a record: the variant engine behind a trait (so that the handler's logic is testable
//! with any renderer), run off the async reactor, with a memory budget that bounds how many decoded
//! images are in flight at once (a batch of 48 MP photos must not exhaust the function's memory).
use crate::engine::{self, Rendered};
use crate::spec::{Limits, VariantSpec};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Why an input cannot be rendered; always permanent for that input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    /// Stable snake_case reason (`corrupt`, `unsupported_format`, `too_many_pixels`, `panic`, ...).
    pub kind: String,
    pub message: String,
}

/// Bytes of one image in, its variants out.
pub trait Renderer: Send + Sync + 'static {
    /// Width and height from the header, if readable (only used to size the memory reservation).
    fn dimensions(&self, input: &[u8]) -> Option<(u32, u32)>;
    fn render(
        &self,
        input: &[u8],
        variants: &[VariantSpec],
        limits: &Limits,
    ) -> Result<Vec<Rendered>, RenderError>;
}

/// The real renderer: the crate's variant engine.
pub struct EngineRenderer;

impl Renderer for EngineRenderer {
    fn dimensions(&self, input: &[u8]) -> Option<(u32, u32)> {
        engine::probe(input).ok().map(|i| (i.width, i.height))
    }

    fn render(
        &self,
        input: &[u8],
        variants: &[VariantSpec],
        limits: &Limits,
    ) -> Result<Vec<Rendered>, RenderError> {
        engine::render(input, variants, limits).map_err(|e| RenderError {
            kind: e.kind().to_owned(),
            message: e.to_string(),
        })
    }
}

/// Memory for decoded images, in MiB, shared by the records of all invocations of this process.
#[derive(Clone)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    total_mib: u32,
}

/// What one image may cost while it is rendered: the decoded pixels (RGBA) and a resampling buffer of
/// the same order, plus the input itself.
pub fn estimated_mib(dimensions: Option<(u32, u32)>, input_bytes: usize) -> u32 {
    let pixels = dimensions.map(|(w, h)| w as u64 * h as u64).unwrap_or(0);
    let bytes = pixels * 8 + input_bytes as u64;
    bytes.div_ceil(1024 * 1024).clamp(1, u32::MAX as u64) as u32
}

impl MemoryBudget {
    pub fn new(total_mib: u32) -> Self {
        let total_mib = total_mib.max(1);
        MemoryBudget {
            permits: Arc::new(Semaphore::new(total_mib as usize)),
            total_mib,
        }
    }

    /// Three quarters of the function's memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), 2 GiB outside Lambda.
    pub fn from_lambda_env() -> Self {
        let function_mib = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(2048);
        Self::new(function_mib / 4 * 3)
    }

    pub fn total_mib(&self) -> u32 {
        self.total_mib
    }

    pub fn available_mib(&self) -> usize {
        self.permits.available_permits()
    }

    /// Renders `input` on the blocking pool once `estimated_mib` of the budget is free (an image larger
    /// than the whole budget waits until it has the budget to itself). A panic in the renderer becomes
    /// a `panic` render error; the runtime goes on.
    pub async fn render(
        &self,
        renderer: Arc<dyn Renderer>,
        input: Arc<Vec<u8>>,
        variants: Arc<Vec<VariantSpec>>,
        limits: Limits,
    ) -> Result<Vec<Rendered>, RenderError> {
        let need = estimated_mib(renderer.dimensions(&input), input.len()).min(self.total_mib);
        let _reservation = self
            .permits
            .acquire_many(need)
            .await
            .expect("the budget semaphore is never closed");
        let job = tokio::task::spawn_blocking(move || renderer.render(&input, &variants, &limits));
        match job.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => Err(RenderError {
                kind: "panic".into(),
                message: format!("the renderer panicked: {}", panic_text(e.into_panic())),
            }),
            Err(e) => Err(RenderError {
                kind: "cancelled".into(),
                message: e.to_string(),
            }),
        }
    }
}

pub fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "non-string panic payload".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Format;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    struct Slow {
        running: AtomicUsize,
        peak: AtomicUsize,
    }

    impl Renderer for Slow {
        fn dimensions(&self, input: &[u8]) -> Option<(u32, u32)> {
            if input == b"panic" {
                return None;
            }
            Some((8000, 6000)) // 48 MP: 367 MiB reserved
        }
        fn render(
            &self,
            input: &[u8],
            _: &[VariantSpec],
            _: &Limits,
        ) -> Result<Vec<Rendered>, RenderError> {
            if input == b"panic" {
                panic!("boom in the decoder");
            }
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(vec![Rendered {
                name: "v".into(),
                output: crate::spec::Output::Named(Format::Jpeg),
                format: Format::Jpeg,
                bytes: vec![1],
                width: 1,
                height: 1,
                millis: 1.0,
                decoder: crate::engine::Decoder::Image,
            }])
        }
    }

    #[test]
    fn estimate_counts_pixels_and_input() {
        assert_eq!(estimated_mib(Some((8000, 6000)), 0), 367);
        assert_eq!(estimated_mib(None, 10 * 1024 * 1024), 10);
        assert_eq!(estimated_mib(None, 0), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn budget_bounds_large_images_in_flight_and_survives_panics() {
        let renderer = Arc::new(Slow {
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        });
        let budget = MemoryBudget::new(800); // room for two 48 MP photos, not three
        let jobs = (0..6).map(|i| {
            let input = if i == 3 {
                b"panic".to_vec()
            } else {
                vec![0u8; 16]
            };
            budget.render(
                renderer.clone(),
                Arc::new(input),
                Arc::new(vec![]),
                Limits::default(),
            )
        });
        let results = futures::future::join_all(jobs).await;
        assert_eq!(
            renderer.peak.load(Ordering::SeqCst),
            2,
            "two 48 MP images at most in flight"
        );
        let panicked = results[3].as_ref().unwrap_err();
        assert_eq!(panicked.kind, "panic");
        assert!(panicked.message.contains("boom in the decoder"));
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 5);
        assert_eq!(budget.available_mib(), 800, "every reservation is returned");
    }

    #[tokio::test]
    async fn an_image_larger_than_the_budget_still_runs_alone() {
        let renderer = Arc::new(Slow {
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        });
        let budget = MemoryBudget::new(100);
        let out = budget
            .render(
                renderer,
                Arc::new(vec![0u8; 4]),
                Arc::new(vec![]),
                Limits::default(),
            )
            .await;
        assert!(out.is_ok());
    }
}
