//! The variant engine: bytes of one upload in, its configured variants out. Pure (no AWS, no files), so
//! that the Lambda handler and `imgdeploy render` share it. One decode per upload, then every variant
//! resampled, cropped, oriented and encoded in parallel. The folders are the pipeline:
//!
//! - `decode/`: sniff the format (`sniff.rs`) and decode once to 8-bit sRGB pixels in stored orientation,
//!   by format: `jpeg/` (our parallel DCT-domain decoder, `parallel/`, beside libjpeg-turbo,
//!   `libjpeg.rs`), `png/` (our two-thread pipeline, `pipe/`, beside the `png` crate, `library.rs`), WebP
//!   and GIF through the `image` crate (`image_crate.rs`);
//! - `colour.rs`: embedded ICC profiles and CMYK to sRGB, for every decoder;
//! - `resize/`: where each variant comes from (`geometry.rs`: fit modes and gravity, planned upright and
//!   mapped to the stored pixels; `smart.rs`: content-aware crops), resampling (`mod.rs`; `streamed.rs`
//!   while a PNG decodes), and turning the small output upright (`orient.rs`);
//! - `encode/`: by format, `jpeg/` (our parallel progressive encoder, `parallel/`, beside mozjpeg,
//!   `libjpeg.rs`), `png.rs`, `webp.rs`.
//!
//! A `format = "auto"` variant is resampled once and encoded as AVIF, WebP and a JPEG (or PNG with
//! alpha) fallback, in parallel (`negotiated`).
//!
//! Beside them: `pixels.rs` (the in-memory picture), `scratch.rs` (buffer reuse across renders),
//! `error.rs`, and `placeholder.rs` (the manifest's ThumbHash, from a small rendering). A kernel written
//! for one instruction set has a file of its own, and the `mod.rs` beside it picks one
//! (`decode/png/pipe/paeth/`, `decode/jpeg/parallel/put/`). No module imports from a module that
//! imports it (tests/engine_layout.rs checks). Every `Rendered` names the decoder that ran;
//! `IMGDEPLOY_DECODER=library` forces libjpeg-turbo and the `png` crate. Measurements behind the
//! design: docs/engine-notes.md.
mod colour;
mod decode;
mod encode;
mod error;
mod pixels;
pub mod placeholder;
mod resize;
mod scratch;

use crate::spec::{Format, Limits, Output, VariantSpec};
use rayon::prelude::*;
use std::time::Instant;

use decode::sniff;
use resize::{geometry, orient};

pub use decode::{Decoder, Decoders};
pub use error::EngineError;
pub use sniff::{ImageInfo, Kind};

/// The two progressive JPEG encoders side by side, for `examples/encode.rs` (not an API).
#[doc(hidden)]
pub mod encoders {
    pub use super::encode::jpeg::libjpeg::mozjpeg;
    pub use super::encode::jpeg::parallel::progressive;
    pub use super::pixels::{Layout, Pixels};
}

/// One encoded variant.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub name: String,
    /// Which of the variant's objects this is (`format = "auto"` renders three).
    pub output: Output,
    /// The format it was encoded in (never `Auto`).
    pub format: Format,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Time spent on this variant after the shared decode (resample, crop, orient, encode).
    pub millis: f64,
    /// The decoder that made the pixels every variant of this image came from.
    pub decoder: Decoder,
}

/// Sniffs the format and reads the dimensions from the header (stored orientation, cheap).
pub fn probe(input: &[u8]) -> Result<ImageInfo, EngineError> {
    let kind = sniff::sniff(input)?;
    let (width, height) = sniff::dimensions(kind, input)?;
    Ok(ImageInfo {
        format: kind.name(),
        width,
        height,
    })
}

/// Renders every variant of `input`, in the order of `variants`, with the decoders that
/// `IMGDEPLOY_DECODER` allows (`Decoders::from_env`).
pub fn render(
    input: &[u8],
    variants: &[VariantSpec],
    limits: &Limits,
) -> Result<Vec<Rendered>, EngineError> {
    render_with(input, variants, limits, Decoders::from_env()?)
}

/// `render` with the decoders given.
pub fn render_with(
    input: &[u8],
    variants: &[VariantSpec],
    limits: &Limits,
    decoders: Decoders,
) -> Result<Vec<Rendered>, EngineError> {
    match std::panic::catch_unwind(|| render_inner(input, variants, limits, decoders)) {
        Ok(r) => r,
        Err(p) => Err(EngineError::Internal(panic_message(&*p))),
    }
}

fn render_inner(
    input: &[u8],
    variants: &[VariantSpec],
    limits: &Limits,
    decoders: Decoders,
) -> Result<Vec<Rendered>, EngineError> {
    if input.len() as u64 > limits.max_input_bytes {
        return Err(EngineError::TooManyBytes {
            bytes: input.len() as u64,
            limit: limits.max_input_bytes,
        });
    }
    let info = probe(input)?;
    let pixels = info.width as u64 * info.height as u64;
    if pixels > limits.max_input_pixels {
        return Err(EngineError::TooManyPixels {
            width: info.width,
            height: info.height,
            pixels,
            limit: limits.max_input_pixels,
        });
    }
    let requests = geometry::validate(variants)?;
    let mut decoded = decode::decode(input, &info, &requests, limits, decoders)?;
    let work = |i: usize, early: Option<pixels::Pixels>| -> Result<Vec<Rendered>, EngineError> {
        let (spec, req) = (&variants[i], &requests[i]);
        let t0 = Instant::now();
        let plan = geometry::plan(req, &decoded.header);
        let img = match early {
            Some(img) => img,
            None => resize::resample(&decoded.pixels, &plan, req.gravity)?,
        };
        let img = orient::apply(img, decoded.header.orientation);
        // `auto` keeps alpha, and picks its fallback by whether the picture has any.
        let keep = match spec.format {
            Format::Auto => Format::Png,
            format => format,
        };
        let img = resize::finish(img, &plan, req, keep);
        let encoded = match spec.format {
            Format::Auto => negotiated(&img, spec)?,
            format => vec![(Output::Named(format), format, encode::encode(&img, spec)?)],
        };
        let (width, height) = (img.width, img.height);
        scratch::give_back(img.data);
        let millis = t0.elapsed().as_secs_f64() * 1000.0;
        Ok(encoded
            .into_iter()
            .map(|(output, format, bytes)| Rendered {
                name: spec.name.clone(),
                output,
                format,
                width,
                height,
                bytes,
                millis,
                decoder: decoded.decoder,
            })
            .collect())
    };
    // Largest first, so that the longest job starts first on the pool.
    let mut early = std::mem::take(&mut decoded.early);
    early.resize_with(variants.len(), || None);
    let mut order: Vec<(usize, Option<pixels::Pixels>)> = early.into_iter().enumerate().collect();
    order.sort_by_key(|&(i, _)| std::cmp::Reverse(requests[i].area_hint()));
    let mut done: Vec<(usize, Result<Vec<Rendered>, EngineError>)> = order
        .into_par_iter()
        .map(|(i, early)| (i, work(i, early)))
        .collect();
    scratch::give_back(decoded.pixels.data);
    done.sort_by_key(|(i, _)| *i);
    let mut rendered = Vec::with_capacity(variants.len());
    for (_, r) in done {
        rendered.extend(r?);
    }
    Ok(rendered)
}

/// The objects of a `format = "auto"` variant, encoded in parallel from one picture: AVIF, WebP and the
/// fallback, which is PNG when the picture has alpha and JPEG otherwise.
fn negotiated(
    img: &pixels::Pixels,
    spec: &VariantSpec,
) -> Result<Vec<(Output, Format, Vec<u8>)>, EngineError> {
    let fallback = if img.layout.has_alpha() {
        Format::Png
    } else {
        Format::Jpeg
    };
    spec.outputs()
        .par_iter()
        .map(|&output| {
            let format = match output {
                Output::Named(format) => format,
                Output::Fallback => fallback,
            };
            let concrete = VariantSpec {
                format,
                ..spec.clone()
            };
            Ok((output, format, encode::encode(img, &concrete)?))
        })
        .collect()
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "panic in the engine".to_string()
    }
}

/// User + system CPU time of this process so far, in milliseconds (getrusage), for benchmarks and
/// per-invocation metrics.
pub fn process_cpu_ms() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Peak resident set size of this process so far, in MB (getrusage).
pub fn peak_rss_mb() -> f64 {
    // SAFETY: as above.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    ru.ru_maxrss as f64 / 1024.0
}
