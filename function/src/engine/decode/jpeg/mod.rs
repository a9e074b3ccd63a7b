//! JPEG decoding, shrunk in the DCT domain to the smallest M/8 scale that still leaves enough pixels
//! for the largest variant, so that most of the pixels of a 48 MP photo are never produced. YCbCr files
//! at 1/8, 1/4 and 1/2 go first to our own decoder (`parallel`: every core, DCT-domain shrink);
//! libjpeg-turbo (`libjpeg`) takes what it declines, and reads every file's markers.
mod libjpeg;
pub mod parallel;

use super::which::{Decoder, Decoders};
use crate::engine::colour;
use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};
use crate::engine::resize::geometry::{self, Header, Request};
use mozjpeg_sys as ffi;

/// How much more than the exact scale the DCT shrink keeps, so that Lanczos still has at least ~1.3x
/// to reduce. DCT-domain shrinking alone is a block average: measured with compare.py, a margin of
/// 1.3 brings DSSIM to or below sharp's on every corpus photo (1.0 left the 48 MP thumbnail at
/// 0.00125 vs 0.00111 and progressive 13-16 MP photos 5-20% worse), for 10-20% more CPU there.
const QUALITY_MARGIN: f64 = 1.3;

/// The DCT scale numerator (over 8): the smallest that keeps `needed` of the full resolution, with
/// the quality margin.
pub fn scale_for(needed: f64) -> u8 {
    (1..=8u8)
        .find(|&m| m as f64 / 8.0 >= needed * QUALITY_MARGIN - 1e-9)
        .unwrap_or(8)
}

/// Decodes `input` for `requests`: the stored picture's header, its (possibly shrunk) pixels, and the
/// decoder that made them (`Decoders::Library`: always libjpeg-turbo).
pub fn decode(
    input: &[u8],
    requests: &[Request],
    decoders: Decoders,
) -> Result<(Header, Pixels, Decoder), EngineError> {
    libjpeg::guarded(|| decode_unchecked(input, requests, decoders))
}

fn decode_unchecked(
    input: &[u8],
    requests: &[Request],
    decoders: Decoders,
) -> Result<(Header, Pixels, Decoder), EngineError> {
    let mut dec = libjpeg::open(input)?;
    let mk = libjpeg::read_markers(&dec);
    let (w, h) = (dec.width() as u32, dec.height() as u32);
    libjpeg::limit_scans(libjpeg::max_scans(w, h, dec.components().len()));
    let needed = geometry::needed_scale(requests, w, h, mk.orientation);
    let m = scale_for(needed);
    dec.scale(m);
    if decoders == Decoders::Auto && dec.color_space() == ffi::J_COLOR_SPACE::JCS_YCbCr {
        // Shrinks to a power of two (1/8, 1/4, 1/2) decode on every core; see `parallel`.
        let n = m.next_power_of_two();
        if let Some(rgb) = parallel::decode(input, n as usize) {
            let header = Header {
                width: w,
                height: h,
                orientation: mk.orientation,
                scale: n as f64 / 8.0,
            };
            let pixels = Pixels::new(rgb.width, rgb.height, Layout::Rgb, rgb.data);
            let pixels = colour::to_srgb(pixels, mk.icc.as_deref());
            return Ok((header, pixels, Decoder::DctParallel));
        }
    }
    let pixels = libjpeg::read(dec, &mk)?;
    let header = Header {
        width: w,
        height: h,
        orientation: mk.orientation,
        scale: m as f64 / 8.0,
    };
    Ok((header, pixels, Decoder::Libjpeg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_keeps_enough_pixels() {
        assert_eq!(scale_for(0.09), 1);
        assert_eq!(scale_for(0.125), 2);
        assert_eq!(scale_for(0.177), 2);
        assert_eq!(scale_for(0.2), 3);
        assert_eq!(scale_for(0.7), 8);
        assert_eq!(scale_for(2.0), 8);
    }

    #[test]
    fn the_scans_a_picture_may_hold_shrink_with_its_blocks() {
        // Small pictures: libjpeg-turbo's own limit for untrusted files.
        assert_eq!(libjpeg::max_scans(640, 480, 3), libjpeg::MAX_SCANS);
        // 12 MP: 2^26 block passes over 562,500 blocks.
        assert_eq!(libjpeg::max_scans(4000, 3000, 3), 119);
        // 48 MP and beyond: never fewer than any encoder writes.
        assert_eq!(libjpeg::max_scans(8000, 6000, 3), libjpeg::MIN_SCANS);
        assert_eq!(libjpeg::max_scans(65535, 65535, 4), libjpeg::MIN_SCANS);
        assert_eq!(libjpeg::max_scans(0, 0, 0), libjpeg::MAX_SCANS);
    }
}
