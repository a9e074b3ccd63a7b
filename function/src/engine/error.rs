//! The engine's one error type: why an input cannot be rendered, with a stable snake_case name per
//! reason for failure reports and metrics.
/// Why an input cannot be rendered. Every variant is permanent for that input: retrying will not help.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("empty input (0 bytes)")]
    Empty,
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),
    #[error("corrupt image: {0}")]
    Corrupt(String),
    #[error("too many pixels: {width}x{height} = {pixels} > limit {limit}")]
    TooManyPixels {
        width: u32,
        height: u32,
        pixels: u64,
        limit: u64,
    },
    #[error("input too large: {bytes} bytes > limit {limit}")]
    TooManyBytes { bytes: u64, limit: u64 },
    #[error("decompression bomb: {0}")]
    DecompressionBomb(String),
    #[error("invalid variant {name}: {reason}")]
    InvalidVariant { name: String, reason: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// Stable snake_case name of the reason, for failure reports and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::Empty => "empty",
            EngineError::UnsupportedFormat(_) => "unsupported_format",
            EngineError::Corrupt(_) => "corrupt",
            EngineError::TooManyPixels { .. } => "too_many_pixels",
            EngineError::TooManyBytes { .. } => "too_many_bytes",
            EngineError::DecompressionBomb(_) => "decompression_bomb",
            EngineError::InvalidVariant { .. } => "invalid_variant",
            EngineError::Internal(_) => "internal",
        }
    }
}
