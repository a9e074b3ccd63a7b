//! Output encoders, by format: JPEG (`jpeg`), PNG (`png`), WebP (`webp`) and, in builds with the
//! `avif` feature, AVIF (`avif`). Nothing but pixels is written: no EXIF, XMP, ICC or comments
//! (outputs are sRGB, the web's default).
#[cfg(feature = "avif")]
mod avif;
pub mod jpeg;
mod png;
mod webp;

use crate::engine::error::EngineError;
use crate::engine::pixels::Pixels;
use crate::spec::{Format, VariantSpec};

/// Why a build without the `avif` feature refuses an AVIF variant (checked up front with the other
/// variant settings, and here as the encoder's own answer).
#[cfg(not(feature = "avif"))]
pub(crate) const NO_AVIF: &str = "AVIF output needs a build with the `avif` feature (libaom)";

pub fn encode(img: &Pixels, spec: &VariantSpec) -> Result<Vec<u8>, EngineError> {
    match spec.format {
        Format::Jpeg => jpeg::encode(img, spec.quality(), spec.progressive),
        Format::Png => png::encode(img),
        Format::Webp => webp::encode(img, spec.quality(), spec.lossless),
        #[cfg(feature = "avif")]
        Format::Avif => avif::encode(img, spec.quality(), spec.effort()),
        #[cfg(not(feature = "avif"))]
        Format::Avif => Err(EngineError::InvalidVariant {
            name: spec.name.clone(),
            reason: NO_AVIF.into(),
        }),
        // The engine encodes an `auto` variant as its three formats (`engine::negotiated`).
        Format::Auto => Err(EngineError::Internal(format!(
            "variant {:?}: format \"auto\" reached the encoder unresolved",
            spec.name
        ))),
    }
}
