//! Decoding one upload into 8-bit pixels (stored orientation, sRGB), dispatching on the sniffed format:
//! JPEG (`jpeg`: our parallel decoder, or libjpeg-turbo), PNG (`png`: our two-thread pipeline, or the
//! `png` crate), WebP and GIF (`image`). Every decoder runs with explicit dimension and allocation caps,
//! and ancillary data that can be a decompression bomb (PNG text, oversized ICC) is skipped or inflated
//! with a cap. Each image says which decoder ran (`Decoder`), and `IMGDEPLOY_DECODER=library`
//! (`Decoders::Library`) sends every JPEG and PNG to the libraries, for debugging and for differential
//! tests.
mod image_crate;
pub mod jpeg;
pub mod png;
pub mod sniff;
mod which;

use crate::engine::error::EngineError;
use crate::engine::pixels::Pixels;
use crate::engine::resize::geometry::{Header, Request};
use crate::spec::Limits;
use sniff::ImageInfo;
pub use which::{Decoder, Decoders};

pub struct Decoded {
    pub header: Header,
    pub pixels: Pixels,
    /// Variants already resampled while the picture decoded (by variant index; empty or `None` for
    /// the rest), see `resize::streamed`.
    pub early: Vec<Option<Pixels>>,
    pub decoder: Decoder,
}

pub fn decode(
    input: &[u8],
    info: &ImageInfo,
    requests: &[Request],
    limits: &Limits,
    decoders: Decoders,
) -> Result<Decoded, EngineError> {
    let mut early = Vec::new();
    let (header, pixels, decoder) = match info.format {
        "jpeg" => jpeg::decode(input, requests, decoders)?,
        "png" => png::decode(input, info, requests, limits, decoders, &mut early)?,
        _ => {
            let (header, pixels) = image_crate::decode(input, info, limits)?;
            (header, pixels, Decoder::Image)
        }
    };
    Ok(Decoded {
        header,
        pixels: pixels.drop_opaque_alpha(),
        early,
        decoder,
    })
}
