//! The `png` crate's decoder: every PNG shape (16-bit, palette, interlaced, tRNS), with its own
//! allocation limit, and the error messages for damaged files. It checks every chunk's CRC and the
//! image data's Adler-32 (which the crate skips by default), as the pipeline does.
use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};
use crate::engine::scratch;
use std::io::Cursor;

/// The error of image data whose zlib stream fails its checksum.
const ADLER_MISMATCH: &str =
    "PNG: the image data fails its Adler-32 checksum (damaged in the encoder or in transit)";

/// Decodes `input` to 8-bit samples, allocating at most `cap` bytes.
pub fn decode(input: &[u8], cap: usize) -> Result<Pixels, EngineError> {
    let corrupt = |e: png::DecodingError| match e {
        png::DecodingError::LimitsExceeded => {
            EngineError::DecompressionBomb("PNG needs more memory than its header allows".into())
        }
        // fdeflate's wording of a failed Adler-32 ("Corrupt deflate stream. WrongChecksum").
        e if e.to_string().contains("WrongChecksum") => EngineError::Corrupt(ADLER_MISMATCH.into()),
        e => EngineError::Corrupt(format!("PNG: {e}")),
    };
    let mut options = png::DecodeOptions::default();
    options.set_ignore_adler32(false);
    options.set_ignore_text_chunk(true);
    options.set_ignore_iccp_chunk(true);
    let mut dec = png::Decoder::new_with_options(Cursor::new(input), options);
    dec.set_limits(png::Limits { bytes: cap });
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(corrupt)?;
    let (ct, _) = reader.output_color_type();
    let layout = match ct {
        png::ColorType::Grayscale => Layout::Gray,
        png::ColorType::GrayscaleAlpha => Layout::GrayAlpha,
        png::ColorType::Rgb => Layout::Rgb,
        png::ColorType::Rgba => Layout::Rgba,
        png::ColorType::Indexed => {
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
