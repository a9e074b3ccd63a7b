//! PNG: the common 8-bit shapes on two threads (`pipe`), with the variants resampled as the rows
//! arrive unless the colours must be converted first; everything else, and every file that does not
//! decode cleanly there, through the `png` crate (`library`), which words the errors. Both read the
//! colour and orientation metadata from the chunk list here (iCCP inflated with a cap, sRGB, eXIf).
mod library;
pub mod pipe;

use super::which::{Decoder, Decoders};
use crate::engine::colour;
use crate::engine::decode::sniff::ImageInfo;
use crate::engine::error::EngineError;
use crate::engine::pixels::Pixels;
use crate::engine::resize::geometry::{Header, Request};
use crate::engine::resize::orient;
use crate::engine::resize::streamed::Streamed;
use crate::engine::resize::Rows;
use crate::spec::Limits;

/// Largest embedded ICC profile accepted (real ones are a few KB to ~1 MB).
const MAX_ICC: usize = 4 << 20;

/// Decodes the PNG `input`; variants resampled while it decoded go into `early` (by variant index).
/// `Decoders::Library`: always the `png` crate.
pub fn decode(
    input: &[u8],
    info: &ImageInfo,
    requests: &[Request],
    limits: &Limits,
    decoders: Decoders,
    early: &mut Vec<Option<Pixels>>,
) -> Result<(Header, Pixels, Decoder), EngineError> {
    let cap = info.alloc_cap(limits) as usize;
    let chunks = metadata(input);
    if let Some(len) = chunks.palette {
        // The `png` crate (0.18.1) panics expanding a palette that ends in a partial entry (found by
        // fuzz/fuzz_targets/png_decoders.rs); libpng refuses such a file.
        if len == 0 || len % 3 != 0 || len > 3 * 256 {
            return Err(EngineError::Corrupt(format!(
                "PNG: the palette (PLTE) is {len} bytes, not 1 to 256 entries of 3 bytes"
            )));
        }
    }
    let icc = if chunks.srgb { None } else { chunks.icc };
    let header = Header::unscaled(info.width, info.height, chunks.orientation);
    let mut streamed = icc.is_none().then(|| Streamed::new(requests, &header));
    let mut on_wait = |rows: &Rows| streamed.as_mut().is_some_and(|s| s.step(rows));
    let piped = match decoders {
        Decoders::Auto => pipe::decode(input, cap, &mut on_wait),
        Decoders::Library => None,
    };
    let (px, decoder) = match piped {
        Some(px) => {
            *early = streamed.map(|s| s.finish(&px)).unwrap_or_default();
            (px, Decoder::PngPipe)
        }
        None => (library::decode(input, cap)?, Decoder::PngCrate),
    };
    Ok((
        Header::unscaled(px.width, px.height, chunks.orientation),
        colour::to_srgb(px, icc.as_deref()),
        decoder,
    ))
}

#[derive(Default)]
struct Metadata {
    icc: Option<Vec<u8>>,
    srgb: bool,
    orientation: u8,
    /// The length of the PLTE chunk, if there is one.
    palette: Option<usize>,
}

/// Walks the chunk list before IDAT for iCCP (inflated with a cap), sRGB, eXIf and PLTE's length.
fn metadata(b: &[u8]) -> Metadata {
    let mut out = Metadata {
        orientation: 1,
        ..Default::default()
    };
    for chunk in pipe::chunks(b) {
        let data = chunk.data();
        match chunk.kind() {
            b"IDAT" | b"IEND" => break,
            b"sRGB" => out.srgb = true,
            b"PLTE" => out.palette = Some(data.len()),
            b"eXIf" => out.orientation = orient::from_exif(data),
            b"iCCP" => {
                if let Some(nul) = data.iter().position(|&c| c == 0) {
                    if let Some(z) = data.get(nul + 2..) {
                        out.icc =
                            miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(z, MAX_ICC)
                                .ok();
                    }
                }
            }
            _ => {}
        }
    }
    out
}
