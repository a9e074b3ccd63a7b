//! Output encoders, by format: JPEG (`jpeg`), PNG (`png`) and WebP (`webp`). Nothing but pixels is
//! written: no EXIF, XMP, ICC or comments (outputs are sRGB, the web's default).
pub mod jpeg;
mod png;
mod webp;

use crate::engine::error::EngineError;
use crate::engine::pixels::Pixels;
use crate::spec::{Format, VariantSpec};

pub fn encode(img: &Pixels, spec: &VariantSpec) -> Result<Vec<u8>, EngineError> {
    match spec.format {
        Format::Jpeg => jpeg::encode(img, spec.quality, spec.progressive),
        Format::Png => png::encode(img),
        Format::Webp => webp::encode(img, spec.quality, spec.lossless),
        Format::Avif => Err(EngineError::InvalidVariant {
            name: spec.name.clone(),
            reason: "AVIF output is not supported by this engine build".into(),
        }),
    }
}
