//! Decoding one upload into 8-bit pixels (stored orientation, sRGB), dispatching on the sniffed format.
//! Every decoder runs with explicit dimension and allocation caps, and ancillary data that can be a
//! decompression bomb (PNG text, oversized ICC) is skipped or inflated with a cap.
pub mod jpeg;
pub mod png;
pub mod sniff;

use crate::engine::pixels::{Layout, Pixels};
use crate::engine::resize::geometry::{Header, Request};
use crate::engine::resize::orient;
use crate::engine::resize::streamed::Streamed;
use crate::engine::resize::Rows;
use crate::engine::{colour, scratch, EngineError, ImageInfo};
use crate::spec::Limits;
use image::{DynamicImage, ImageDecoder};
use std::io::Cursor;

/// Largest embedded ICC profile accepted (real ones are a few KB to ~1 MB).
const MAX_ICC: usize = 4 << 20;

pub struct Decoded {
    pub header: Header,
    pub pixels: Pixels,
    /// Variants already resampled while the picture decoded (by variant index; empty or `None` for
    /// the rest), see `streamed`.
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
        "png" => png(input, info, requests, limits, &mut early)?,
        _ => with_image(input, info, limits)?,
    };
    Ok(Decoded {
        header,
        pixels: pixels.drop_opaque_alpha(),
        early,
    })
}

/// Bytes the decoder may allocate: the picture as RGBA8 plus slack, bounded by the pixel limit.
fn alloc_cap(info: &ImageInfo, limits: &Limits) -> u64 {
    let px = (info.width as u64 * info.height as u64).min(limits.max_input_pixels);
    px * 8 + (16 << 20)
}

fn full(w: u32, h: u32, orientation: u8) -> Header {
    Header {
        width: w,
        height: h,
        orientation,
        scale: 1.0,
    }
}

/// PNG: the common 8-bit shapes on two threads (`pngpipe`), with the variants resampled as the rows
/// arrive (into `early`) unless the colours must be converted first; everything else and every file
/// that does not decode cleanly there through the `png` crate.
fn png(
    input: &[u8],
    info: &ImageInfo,
    requests: &[Request],
    limits: &Limits,
    early: &mut Vec<Option<Pixels>>,
) -> Result<(Header, Pixels), EngineError> {
    let cap = alloc_cap(info, limits) as usize;
    let chunks = png_chunks(input);
    let icc = if chunks.srgb { None } else { chunks.icc };
    let header = full(info.width, info.height, chunks.orientation);
    let mut streamed = icc.is_none().then(|| Streamed::new(requests, &header));
    let mut on_wait = |rows: &Rows| streamed.as_mut().is_some_and(|s| s.step(rows));
    let px = match png::pipe::decode(input, cap, &mut on_wait) {
        Some(px) => {
            *early = streamed.map(|s| s.finish(&px)).unwrap_or_default();
            px
        }
        None => png_crate(input, cap)?,
    };
    Ok((
        full(px.width, px.height, chunks.orientation),
        colour::to_srgb(px, icc.as_deref()),
    ))
}

fn png_crate(input: &[u8], cap: usize) -> Result<Pixels, EngineError> {
    let corrupt = |e: ::png::DecodingError| match e {
        ::png::DecodingError::LimitsExceeded => {
            EngineError::DecompressionBomb("PNG needs more memory than its header allows".into())
        }
        e => EngineError::Corrupt(format!("PNG: {e}")),
    };
    let mut dec = ::png::Decoder::new_with_limits(Cursor::new(input), ::png::Limits { bytes: cap });
    dec.set_ignore_text_chunk(true);
    dec.set_ignore_iccp_chunk(true);
    dec.set_transformations(::png::Transformations::EXPAND | ::png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(corrupt)?;
    let (ct, _) = reader.output_color_type();
    let layout = match ct {
        ::png::ColorType::Grayscale => Layout::Gray,
        ::png::ColorType::GrayscaleAlpha => Layout::GrayAlpha,
        ::png::ColorType::Rgb => Layout::Rgb,
        ::png::ColorType::Rgba => Layout::Rgba,
        ::png::ColorType::Indexed => {
            return Err(EngineError::Corrupt("PNG palette was not expanded".into()))
        }
    };
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| EngineError::DecompressionBomb("PNG size overflows".into()))?;
    let mut buf = scratch::take(size)
        .map_err(|_| EngineError::DecompressionBomb("no memory for the decoded PNG".into()))?;
    buf.resize(size, 0);
    let frame = reader.next_frame(&mut buf).map_err(corrupt)?;
    buf.truncate(frame.buffer_size());
    Ok(Pixels::new(frame.width, frame.height, layout, buf))
}

#[derive(Default)]
struct PngChunks {
    icc: Option<Vec<u8>>,
    srgb: bool,
    orientation: u8,
}

/// Walks the chunk list before IDAT for iCCP (inflated with a cap), sRGB and eXIf.
fn png_chunks(b: &[u8]) -> PngChunks {
    let mut out = PngChunks {
        orientation: 1,
        ..Default::default()
    };
    for chunk in png::pipe::chunks(b) {
        let data = chunk.data();
        match chunk.kind() {
            b"IDAT" | b"IEND" => break,
            b"sRGB" => out.srgb = true,
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

/// WebP and GIF (first frame) through the `image` crate, capped.
fn with_image(
    input: &[u8],
    info: &ImageInfo,
    limits: &Limits,
) -> Result<(Header, Pixels), EngineError> {
    // The `image` decoders allocate their own buffer: the spare one would only double the memory.
    scratch::release();
    let mut caps = image::Limits::default();
    caps.max_image_width = Some(info.width.max(1));
    caps.max_image_height = Some(info.height.max(1));
    caps.max_alloc = Some(alloc_cap(info, limits));
    let err = |e: image::ImageError| match e {
        image::ImageError::Limits(l) => {
            EngineError::DecompressionBomb(format!("{}: {l}", info.format))
        }
        image::ImageError::Unsupported(u) => EngineError::UnsupportedFormat(u.to_string()),
        e => EngineError::Corrupt(format!("{}: {e}", info.format)),
    };
    let (img, icc, orientation) = match info.format {
        "webp" => {
            let mut d = image::codecs::webp::WebPDecoder::new(Cursor::new(input)).map_err(err)?;
            d.set_limits(caps).map_err(err)?;
            let icc = d.icc_profile().ok().flatten();
            let o = d
                .exif_metadata()
                .ok()
                .flatten()
                .map(|e| orient::from_exif(&e))
                .unwrap_or(1);
            (DynamicImage::from_decoder(d).map_err(err)?, icc, o)
        }
        "gif" => {
            let mut d = image::codecs::gif::GifDecoder::new(Cursor::new(input)).map_err(err)?;
            d.set_limits(caps).map_err(err)?;
            (DynamicImage::from_decoder(d).map_err(err)?, None, 1)
        }
        other => return Err(EngineError::UnsupportedFormat(other.to_string())),
    };
    let (w, h) = (img.width(), img.height());
    let px = match img {
        DynamicImage::ImageLuma8(b) => Pixels::new(w, h, Layout::Gray, b.into_raw()),
        DynamicImage::ImageLumaA8(b) => Pixels::new(w, h, Layout::GrayAlpha, b.into_raw()),
        DynamicImage::ImageRgb8(b) => Pixels::new(w, h, Layout::Rgb, b.into_raw()),
        other => Pixels::new(w, h, Layout::Rgba, other.into_rgba8().into_raw()),
    };
    Ok((full(w, h, orientation), colour::to_srgb(px, icc.as_deref())))
}
