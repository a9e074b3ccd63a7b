//! WebP output through libwebp, lossy at the variant's quality or lossless; gray is widened to RGB,
//! which is all libwebp takes.
use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};

pub fn encode(img: &Pixels, quality: u8, lossless: bool) -> Result<Vec<u8>, EngineError> {
    // libwebp takes RGB or RGBA only.
    let colour = img.colour();
    let layout = match colour.layout {
        Layout::Rgba => webp::PixelLayout::Rgba,
        _ => webp::PixelLayout::Rgb,
    };
    let enc = webp::Encoder::new(&colour.data, layout, img.width, img.height);
    let mut config =
        webp::WebPConfig::new().map_err(|_| EngineError::Internal("WebP config".into()))?;
    config.lossless = i32::from(lossless);
    config.quality = if lossless { 75.0 } else { quality as f32 };
    config.method = 4;
    let mem = enc
        .encode_advanced(&config)
        .map_err(|e| EngineError::Internal(format!("WebP encoder: {e:?}")))?;
    Ok(mem.to_vec())
}
