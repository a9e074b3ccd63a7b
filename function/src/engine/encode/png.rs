//! PNG output through the `png` crate: 8-bit, the picture's own channels, balanced compression.
use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};

pub fn encode(img: &Pixels) -> Result<Vec<u8>, EngineError> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, img.width, img.height);
    enc.set_color(match img.layout {
        Layout::Gray => png::ColorType::Grayscale,
        Layout::GrayAlpha => png::ColorType::GrayscaleAlpha,
        Layout::Rgb => png::ColorType::Rgb,
        Layout::Rgba => png::ColorType::Rgba,
    });
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Balanced);
    let err = |e: png::EncodingError| EngineError::Internal(format!("PNG encoder: {e}"));
    let mut w = enc.write_header().map_err(err)?;
    w.write_image_data(&img.data).map_err(err)?;
    w.finish().map_err(err)?;
    Ok(out)
}
