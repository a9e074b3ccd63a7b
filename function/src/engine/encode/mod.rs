//! Output encoders: JPEG (mozjpeg's libjpeg-turbo-compatible mode: progressive, 4:2:0, optimised
//! Huffman tables), PNG and WebP (libwebp, lossy or lossless). Nothing but pixels is written: no EXIF,
//! XMP, ICC or comments (outputs are sRGB, the web's default).
pub mod jpeg;

use crate::engine::pixels::{Layout, Pixels};
use crate::engine::EngineError;
use crate::spec::{Format, VariantSpec};

pub fn encode(img: &Pixels, spec: &VariantSpec) -> Result<Vec<u8>, EngineError> {
    match spec.format {
        Format::Jpeg => jpeg(img, spec.quality, spec.progressive),
        Format::Png => png(img),
        Format::Webp => webp(img, spec.quality, spec.lossless),
        Format::Avif => Err(EngineError::InvalidVariant {
            name: spec.name.clone(),
            reason: "AVIF output is not supported by this engine build".into(),
        }),
    }
}

/// Progressive files come from our encoder (`jpegenc`: libjpeg-turbo's bytes, its scans coded on
/// every core); baseline ones from mozjpeg.
fn jpeg(img: &Pixels, quality: u8, progressive: bool) -> Result<Vec<u8>, EngineError> {
    // libjpeg's limits on either side; outside them mozjpeg gives the error.
    let fits = (1..=65500).contains(&img.width) && (1..=65500).contains(&img.height);
    if !(progressive && fits) {
        return mozjpeg(img, quality, progressive);
    }
    let img = opaque(img);
    let rgb = img.layout == Layout::Rgb;
    Ok(jpeg::parallel::progressive(
        &img.data, img.width, img.height, rgb, quality,
    ))
}

/// Gray or RGB as it is; with alpha flattened onto white (callers flatten before JPEG already, with
/// the variant's background: this is the safety net).
fn opaque(img: &Pixels) -> std::borrow::Cow<'_, Pixels> {
    match img.layout {
        Layout::Gray | Layout::Rgb => std::borrow::Cow::Borrowed(img),
        _ => std::borrow::Cow::Owned(img.clone().flatten([255, 255, 255])),
    }
}

/// mozjpeg in libjpeg-turbo's mode (also the reference the `jpegenc` tests hold its bytes to).
pub fn mozjpeg(img: &Pixels, quality: u8, progressive: bool) -> Result<Vec<u8>, EngineError> {
    let img = opaque(img);
    let space = if img.layout == Layout::Gray {
        mozjpeg::ColorSpace::JCS_GRAYSCALE
    } else {
        mozjpeg::ColorSpace::JCS_RGB
    };
    let run = || -> std::io::Result<Vec<u8>> {
        let mut c = mozjpeg::Compress::new(space);
        c.set_fastest_defaults();
        c.set_size(img.width as usize, img.height as usize);
        c.set_quality(quality as f32);
        if space == mozjpeg::ColorSpace::JCS_RGB {
            c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        }
        if progressive {
            c.set_progressive_mode();
        }
        c.set_optimize_coding(true);
        let cap = img.width as usize * img.height as usize / 4 + 4096;
        let mut started = c.start_compress(Vec::with_capacity(cap))?;
        started.write_scanlines(&img.data)?;
        started.finish()
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(EngineError::Internal(format!("JPEG encoder: {e}"))),
        Err(_) => Err(EngineError::Internal("JPEG encoder failed".into())),
    }
}

fn png(img: &Pixels) -> Result<Vec<u8>, EngineError> {
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

fn webp(img: &Pixels, quality: u8, lossless: bool) -> Result<Vec<u8>, EngineError> {
    // libwebp takes RGB or RGBA only.
    let expanded;
    let (data, layout) = match img.layout {
        Layout::Rgb => (&img.data[..], webp::PixelLayout::Rgb),
        Layout::Rgba => (&img.data[..], webp::PixelLayout::Rgba),
        Layout::Gray => {
            expanded = img
                .data
                .iter()
                .flat_map(|&g| [g, g, g])
                .collect::<Vec<u8>>();
            (&expanded[..], webp::PixelLayout::Rgb)
        }
        Layout::GrayAlpha => {
            expanded = img
                .data
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect::<Vec<u8>>();
            (&expanded[..], webp::PixelLayout::Rgba)
        }
    };
    let enc = webp::Encoder::new(data, layout, img.width, img.height);
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
