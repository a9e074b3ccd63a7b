//! JPEG decoding with libjpeg-turbo's scaled IDCT (mozjpeg): the picture is shrunk in the DCT domain to
//! the smallest M/8 scale that still leaves enough pixels for the largest variant, so that most of the
//! pixels of a 48 MP photo are never produced. Also reads EXIF orientation, ICC and Adobe markers.
//! YCbCr files at 1/8, 1/4 and 1/2 go first to our own parallel decoder (`dct`); libjpeg-turbo takes
//! what it declines.
pub mod parallel;

use crate::engine::colour;
use crate::engine::pixels::{Layout, Pixels};
use crate::engine::resize::geometry::{self, Header, Request};
use crate::engine::resize::orient;
use crate::engine::EngineError;
use mozjpeg::{Decompress, Marker};
use mozjpeg_sys as ffi;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    /// Set by the libjpeg warning hook when the data ended early (a truncated upload).
    static PREMATURE_EOF: Cell<bool> = const { Cell::new(false) };
}

extern "C-unwind" fn on_message(cinfo: &mut ffi::jpeg_common_struct, level: std::os::raw::c_int) {
    // SAFETY: libjpeg calls this with its own valid cinfo, whose `err` points to our error manager.
    let code = unsafe { cinfo.err.as_ref() }
        .map(|e| e.msg_code)
        .unwrap_or(0);
    if level < 0 && code == ffi::JWRN_JPEG_EOF {
        PREMATURE_EOF.with(|c| c.set(true));
    }
}

extern "C-unwind" fn on_error(cinfo: &mut ffi::jpeg_common_struct) {
    // libjpeg's messages fit JMSG_LENGTH_MAX (200) bytes.
    let mut buf = [0u8; 200];
    type Format = unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, *mut u8);
    // SAFETY: format_message writes at most JMSG_LENGTH_MAX bytes into the buffer; the binding declares
    // the buffer as a shared reference, which has the ABI of the raw pointer passed here.
    let msg = unsafe {
        match cinfo.err.as_ref().and_then(|e| e.format_message) {
            Some(f) => {
                let f: Format = std::mem::transmute(f);
                f(cinfo, buf.as_mut_ptr());
                let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
                String::from_utf8_lossy(&buf[..end]).into_owned()
            }
            None => "libjpeg error".to_string(),
        }
    };
    std::panic::resume_unwind(Box::new(msg));
}

fn error_mgr() -> ffi::jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills every field of a zeroed struct.
    unsafe {
        let mut err: ffi::jpeg_error_mgr = std::mem::zeroed();
        ffi::jpeg_std_error(&mut err);
        err.error_exit = Some(on_error);
        err.emit_message = Some(on_message);
        err
    }
}

/// What the markers say.
#[derive(Default)]
struct Markers {
    orientation: u8,
    icc: Option<Vec<u8>>,
    /// An Adobe APP14 marker was present (CMYK data is then stored inverted).
    adobe: bool,
}

fn read_markers(dec: &Decompress<&[u8]>) -> Markers {
    let mut m = Markers {
        orientation: 1,
        ..Default::default()
    };
    let mut icc_chunks: Vec<(u8, &[u8])> = Vec::new();
    for mk in dec.markers() {
        match mk.marker {
            Marker::APP(1) if mk.data.starts_with(b"Exif\0\0") && m.orientation == 1 => {
                m.orientation = orient::from_exif(&mk.data[6..]);
            }
            Marker::APP(2) if mk.data.len() > 14 && mk.data.starts_with(b"ICC_PROFILE\0") => {
                icc_chunks.push((mk.data[12], &mk.data[14..]));
            }
            Marker::APP(14) if mk.data.starts_with(b"Adobe") => m.adobe = true,
            _ => {}
        }
    }
    if !icc_chunks.is_empty() {
        icc_chunks.sort_by_key(|c| c.0);
        m.icc = Some(
            icc_chunks
                .iter()
                .flat_map(|c| c.1.iter().copied())
                .collect(),
        );
    }
    m
}

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

pub fn decode(input: &[u8], requests: &[Request]) -> Result<(Header, Pixels), EngineError> {
    PREMATURE_EOF.with(|c| c.set(false));
    let result = catch_unwind(AssertUnwindSafe(|| decode_unchecked(input, requests)));
    let truncated = PREMATURE_EOF.with(|c| c.replace(false));
    match result {
        Ok(Ok(_)) if truncated => Err(EngineError::Corrupt(
            "JPEG data ends early (truncated upload)".into(),
        )),
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "libjpeg error".into());
            Err(EngineError::Corrupt(format!("JPEG: {msg}")))
        }
    }
}

fn io_err(e: std::io::Error) -> EngineError {
    EngineError::Corrupt(format!("JPEG: {e}"))
}

fn decode_unchecked(input: &[u8], requests: &[Request]) -> Result<(Header, Pixels), EngineError> {
    let markers = [Marker::APP(1), Marker::APP(2), Marker::APP(14)];
    let mut dec = Decompress::with_err(error_mgr())
        .with_markers(&markers)
        .from_mem(input)
        .map_err(io_err)?;
    let mk = read_markers(&dec);
    let (w, h) = (dec.width() as u32, dec.height() as u32);
    let needed = geometry::needed_scale(requests, w, h, mk.orientation);
    let m = scale_for(needed);
    dec.scale(m);
    use ffi::J_COLOR_SPACE::*;
    let source_space = dec.color_space();
    if source_space == JCS_YCbCr {
        // Shrinks to a power of two (1/8, 1/4, 1/2) decode on every core; see `dct`.
        let n = m.next_power_of_two();
        if let Some(rgb) = parallel::decode(input, n as usize) {
            let header = Header {
                width: w,
                height: h,
                orientation: mk.orientation,
                scale: n as f64 / 8.0,
            };
            let pixels = Pixels::new(rgb.width, rgb.height, Layout::Rgb, rgb.data);
            return Ok((header, colour::to_srgb(pixels, mk.icc.as_deref())));
        }
    }
    let (out_space, layout) = match source_space {
        JCS_GRAYSCALE => (JCS_GRAYSCALE, Layout::Gray),
        JCS_CMYK | JCS_YCCK => (JCS_CMYK, Layout::Rgba),
        _ => (JCS_RGB, Layout::Rgb),
    };
    let mut started = dec.to_colorspace(out_space).map_err(io_err)?;
    let (dw, dh) = (started.width() as u32, started.height() as u32);
    let channels = match out_space {
        JCS_GRAYSCALE => 1,
        JCS_CMYK => 4,
        _ => 3,
    };
    let len = dw as usize * dh as usize * channels;
    let mut data = crate::engine::scratch::take(len)
        .map_err(|_| EngineError::DecompressionBomb("no memory for the decoded picture".into()))?;
    let read = started
        .read_scanlines_into_uninit(&mut data.spare_capacity_mut()[..len])
        .map_err(io_err)?
        .len();
    // SAFETY: read_scanlines_into_uninit initialised the first `read` bytes of the spare capacity.
    unsafe { data.set_len(read) };
    started.finish().map_err(io_err)?;
    let header = Header {
        width: w,
        height: h,
        orientation: mk.orientation,
        scale: m as f64 / 8.0,
    };
    let pixels = if out_space == JCS_CMYK {
        // libjpeg hands out Adobe CMYK as stored, i.e. inverted; the colour module knows both forms.
        colour::cmyk_to_srgb(&data, dw, dh, mk.icc.as_deref(), mk.adobe)?
    } else {
        colour::to_srgb(Pixels::new(dw, dh, layout, data), mk.icc.as_deref())
    };
    Ok((header, pixels))
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
}
