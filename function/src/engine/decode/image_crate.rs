//! WebP and GIF (its first frame) through the `image` crate, with the header's dimensions and an
//! allocation cap as its limits.
use crate::engine::colour;
use crate::engine::decode::sniff::ImageInfo;
use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};
use crate::engine::resize::geometry::Header;
use crate::engine::resize::orient;
use crate::engine::scratch;
use crate::spec::Limits;
use image::{DynamicImage, ImageDecoder};
use std::io::Cursor;

pub fn decode(
    input: &[u8],
    info: &ImageInfo,
    limits: &Limits,
) -> Result<(Header, Pixels), EngineError> {
    // The `image` decoders allocate their own buffer: the spare one would only double the memory.
    scratch::release();
    let mut caps = image::Limits::default();
    caps.max_image_width = Some(info.width.max(1));
    caps.max_image_height = Some(info.height.max(1));
    caps.max_alloc = Some(info.alloc_cap(limits));
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
    Ok((
        Header::unscaled(w, h, orientation),
        colour::to_srgb(px, icc.as_deref()),
    ))
}
