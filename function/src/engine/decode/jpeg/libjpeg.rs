//! libjpeg-turbo (through mozjpeg) as the engine's JPEG decoder: every JPEG the parallel decoder
//! declines (grayscale, CMYK and YCCK, 12-bit, restart intervals, scales other than 1/8, 1/4 and 1/2,
//! damaged entropy data), the markers of every JPEG (EXIF orientation, ICC, Adobe), and the wording of
//! every error. libjpeg's fatal errors unwind out of its callbacks as Rust panics and become
//! `EngineError::Corrupt`, or `UnsupportedFormat` for a valid file of a kind it was built without
//! (12-bit, lossless, hierarchical); a premature end of data, which libjpeg only warns about, is an
//! error here. Its work is bounded by the picture: a progressive file may hold only as many scans as
//! `max_scans` allows for its size (each scan is a pass over every block), checked as each scan starts.
use crate::engine::colour;
use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};
use crate::engine::resize::orient;
use crate::engine::scratch;
use mozjpeg::{Decompress, Marker};
use mozjpeg_sys as ffi;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    /// Set by the libjpeg warning hook when the data ended early (a truncated upload).
    static PREMATURE_EOF: Cell<bool> = const { Cell::new(false) };
    /// Scans started in this decode, and how many it may start (`limit_scans`).
    static SCANS: Cell<(u32, u32)> = const { Cell::new((0, MAX_SCANS)) };
    /// The message code of libjpeg's fatal error, to tell an unsupported file from a damaged one.
    static ERROR_CODE: Cell<ffi::J_MESSAGE_CODE> = const { Cell::new(0) };
}

/// Scans any file may hold. Encoders write 3 to 20 (libjpeg's progressive script 10, mozjpeg's
/// optimised ones up to ~20); libjpeg-turbo suggests 500 for untrusted files (`djpeg -maxscans`).
pub const MAX_SCANS: u32 = 500;
/// Scans every picture may hold, however large: more than any encoder writes.
pub const MIN_SCANS: u32 = 32;
/// Block passes a decode may make over its scans: each scan of a progressive file is one pass over
/// every block of its components, even when it carries no data. Measured at 12 to 50 ns a pass in
/// libjpeg-turbo (docs/engine.md, "Work bounded by the picture"), 2^26 passes are 0.8 to 3.4 s.
const BLOCK_PASSES: u64 = 1 << 26;

/// The scans a `width`x`height` picture of `components` components may hold: as many as keep its
/// block passes under `BLOCK_PASSES`, within `MIN_SCANS..=MAX_SCANS`.
pub fn max_scans(width: u32, height: u32, components: usize) -> u32 {
    let blocks =
        (width as u64).div_ceil(8) * (height as u64).div_ceil(8) * components.max(1) as u64;
    (BLOCK_PASSES / blocks.max(1)).clamp(MIN_SCANS as u64, MAX_SCANS as u64) as u32
}

/// Limits the scans of the decode under way (in `guarded`) to `limit`.
pub fn limit_scans(limit: u32) {
    SCANS.with(|s| s.set((s.get().0, limit.min(MAX_SCANS))));
}

/// The panic payload of a file with more scans than its limit.
struct TooManyScans {
    limit: u32,
}

extern "C-unwind" fn on_message(cinfo: &mut ffi::jpeg_common_struct, level: std::os::raw::c_int) {
    // SAFETY: libjpeg calls this with its own valid cinfo, whose `err` points to our error manager.
    let code = unsafe { cinfo.err.as_ref() }
        .map(|e| e.msg_code)
        .unwrap_or(0);
    if level < 0 && code == ffi::JWRN_JPEG_EOF {
        PREMATURE_EOF.with(|c| c.set(true));
    }
    // libjpeg traces every SOS marker it reads (JTRC_SOS, level 1), whatever the trace level.
    if level >= 0 && code == ffi::JTRC_SOS {
        let (started, limit) = SCANS.with(|s| s.get());
        if started >= limit {
            std::panic::resume_unwind(Box::new(TooManyScans { limit }));
        }
        SCANS.with(|s| s.set((started + 1, limit)));
    }
}

extern "C-unwind" fn on_error(cinfo: &mut ffi::jpeg_common_struct) {
    // SAFETY: as in on_message.
    let code = unsafe { cinfo.err.as_ref() }.map_or(0, |e| e.msg_code);
    ERROR_CODE.with(|c| c.set(code));
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
pub struct Markers {
    pub orientation: u8,
    pub icc: Option<Vec<u8>>,
    /// An Adobe APP14 marker was present (CMYK data is then stored inverted).
    pub adobe: bool,
}

pub fn read_markers(dec: &Decompress<&[u8]>) -> Markers {
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

/// Runs `decode` (which may call into libjpeg anywhere) with libjpeg's errors and warnings caught.
pub fn guarded<T>(decode: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
    PREMATURE_EOF.with(|c| c.set(false));
    SCANS.with(|s| s.set((0, MAX_SCANS)));
    ERROR_CODE.with(|c| c.set(0));
    let result = catch_unwind(AssertUnwindSafe(decode));
    let truncated = PREMATURE_EOF.with(|c| c.replace(false));
    let code = ERROR_CODE.with(|c| c.replace(0));
    match result {
        Ok(Ok(_)) if truncated => Err(EngineError::Corrupt(
            "JPEG data ends early (truncated upload)".into(),
        )),
        Ok(r) => r,
        Err(p) => {
            if let Some(t) = p.downcast_ref::<TooManyScans>() {
                return Err(EngineError::DecompressionBomb(format!(
                    "progressive JPEG with more than {} scans, the most its size allows (encoders write 3 to 20)",
                    t.limit
                )));
            }
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "libjpeg error".into());
            Err(match code {
                ffi::JERR_BAD_PRECISION => EngineError::UnsupportedFormat(format!(
                    "JPEG: {msg} (only 8-bit JPEGs are supported; 12-bit ones are rare outside medical imaging)"
                )),
                ffi::JERR_SOF_UNSUPPORTED | ffi::JERR_NOT_COMPILED | ffi::JERR_ARITH_NOTIMPL => {
                    EngineError::UnsupportedFormat(format!("JPEG: {msg}"))
                }
                _ => EngineError::Corrupt(format!("JPEG: {msg}")),
            })
        }
    }
}

fn io_err(e: std::io::Error) -> EngineError {
    EngineError::Corrupt(format!("JPEG: {e}"))
}

/// Reads the header of `input`, keeping the markers `read_markers` looks at.
pub fn open(input: &[u8]) -> Result<Decompress<&[u8]>, EngineError> {
    let markers = [Marker::APP(1), Marker::APP(2), Marker::APP(14)];
    Decompress::with_err(error_mgr())
        .with_markers(&markers)
        .from_mem(input)
        .map_err(io_err)
}

/// Decodes the picture `dec` was opened on, at the scale set on it, to sRGB.
pub fn read(dec: Decompress<&[u8]>, mk: &Markers) -> Result<Pixels, EngineError> {
    use ffi::J_COLOR_SPACE::*;
    let (out_space, layout) = match dec.color_space() {
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
    let mut data = scratch::take(len)
        .map_err(|_| EngineError::DecompressionBomb("no memory for the decoded picture".into()))?;
    let read = started
        .read_scanlines_into_uninit(&mut data.spare_capacity_mut()[..len])
        .map_err(io_err)?
        .len();
    // SAFETY: read_scanlines_into_uninit initialised the first `read` bytes of the spare capacity.
    unsafe { data.set_len(read) };
    started.finish().map_err(io_err)?;
    if out_space == JCS_CMYK {
        // libjpeg hands out Adobe CMYK as stored, i.e. inverted; the colour module knows both forms.
        colour::cmyk_to_srgb(&data, dw, dh, mk.icc.as_deref(), mk.adobe)
    } else {
        Ok(colour::to_srgb(
            Pixels::new(dw, dh, layout, data),
            mk.icc.as_deref(),
        ))
    }
}
