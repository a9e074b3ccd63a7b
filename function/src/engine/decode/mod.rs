//! Decoding one upload into 8-bit pixels (stored orientation, sRGB), dispatching on the sniffed format:
//! JPEG (`jpeg`: our parallel decoder, or libjpeg-turbo), PNG (`png`: our two-thread pipeline, or the
//! `png` crate), WebP and GIF (`image`). Every decoder runs with explicit dimension and allocation caps,
//! and ancillary data that can be a decompression bomb (PNG text, oversized ICC) is skipped or inflated
//! with a cap.
mod image_crate;
pub mod jpeg;
pub mod png;
pub mod sniff;

use crate::engine::error::EngineError;
use crate::engine::pixels::Pixels;
use crate::engine::resize::geometry::{Header, Request};
use crate::spec::Limits;
use sniff::ImageInfo;

pub struct Decoded {
    pub header: Header,
    pub pixels: Pixels,
    /// Variants already resampled while the picture decoded (by variant index; empty or `None` for
    /// the rest), see `resize::streamed`.
    pub early: Vec<Option<Pixels>>,
}

pub fn decode(
    input: &[u8],
    info: &ImageInfo,
    requests: &[Request],
    limits: &Limits,
) -> Result<Decoded, EngineError> {
    let mut early = Vec::new();
    let (header, pixels) = match info.format {
        "jpeg" => jpeg::decode(input, requests)?,
        "png" => png::decode(input, info, requests, limits, &mut early)?,
        _ => image_crate::decode(input, info, limits)?,
    };
    Ok(Decoded {
        header,
        pixels: pixels.drop_opaque_alpha(),
        early,
    })
}
