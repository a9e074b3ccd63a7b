//! Fixture inputs synthesised from integer arithmetic only (so that they cannot drift with a libm), one
//! per decoder path: baseline and progressive YCbCr JPEGs (the parallel decoders), an EXIF-rotated one,
//! gray and CMYK JPEGs (libjpeg-turbo), RGB, RGBA and gray PNGs (the PNG pipeline), a 16-bit PNG (the
//! `png` crate), WebP and GIF (the `image` crate).
use super::with_orientation;
use image::{DynamicImage, ImageEncoder, RgbImage, RgbaImage};

/// A photo-like picture from integer arithmetic only: gradients, hard edges, a disc and grain, so
/// that every filter of a PNG and every coefficient of a JPEG block has work.
pub fn photo(w: u32, h: u32) -> RgbImage {
    let mut seed = 0x2545_f491_u32;
    let (cx, cy, r) = (w as i64 / 3, h as i64 / 2, h as i64 / 4);
    RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let grain = (seed % 40) as i64 - 20;
        let edge = if (x / 37 + y / 23) % 2 == 0 { 70 } else { 0 };
        let (dx, dy) = (x as i64 - cx, y as i64 - cy);
        let rgb = if dx * dx + dy * dy < r * r {
            [225, 190 - (y as i64 * 60 / h as i64), 40]
        } else {
            [
                x as i64 * 255 / w as i64,
                y as i64 * 255 / h as i64 + edge / 2,
                128 + edge - (x as i64 * 60 / w as i64),
            ]
        };
        image::Rgb(rgb.map(|c| (c + grain).clamp(0, 255) as u8))
    })
}

pub fn jpeg(rgb: &[u8], w: u32, h: u32, space: mozjpeg::ColorSpace, progressive: bool) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(space);
    c.set_fastest_defaults();
    c.set_size(w as usize, h as usize);
    c.set_quality(90.0);
    if progressive {
        c.set_progressive_mode();
    }
    let mut started = c.start_compress(Vec::new()).unwrap();
    started.write_scanlines(rgb).unwrap();
    started.finish().unwrap()
}

pub fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Default,
        image::codecs::png::FilterType::Adaptive,
    );
    enc.write_image(
        img.as_bytes(),
        img.width(),
        img.height(),
        img.color().into(),
    )
    .unwrap();
    out
}

fn encoded(img: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// The fixture inputs, by name.
pub fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let (w, h) = (640, 480);
    let rgb = photo(w, h);
    let gray: Vec<u8> = rgb
        .pixels()
        .map(|p| ((p[0] as u32 * 3 + p[1] as u32 * 4 + p[2] as u32) / 8) as u8)
        .collect();
    let cmyk: Vec<u8> = rgb
        .pixels()
        .flat_map(|p| [255 - p[0], 255 - p[1], 255 - p[2], 255 - p[0].min(p[1]) / 2])
        .collect();
    let rgba = RgbaImage::from_fn(w, h, |x, y| {
        let p = rgb.get_pixel(x, y);
        image::Rgba([p[0], p[1], p[2], ((x + y) * 255 / (w + h)) as u8])
    });
    let rgb_img = DynamicImage::ImageRgb8(rgb.clone());
    let sixteen = DynamicImage::ImageRgb16(rgb_img.to_rgb16());
    let small = rgb_img.resize_exact(160, 120, image::imageops::FilterType::Nearest);
    vec![
        (
            "baseline.jpg",
            jpeg(rgb.as_raw(), w, h, mozjpeg::ColorSpace::JCS_RGB, false),
        ),
        (
            "progressive.jpg",
            jpeg(rgb.as_raw(), w, h, mozjpeg::ColorSpace::JCS_RGB, true),
        ),
        (
            "rotated.jpg",
            with_orientation(
                &jpeg(rgb.as_raw(), w, h, mozjpeg::ColorSpace::JCS_RGB, false),
                6,
            ),
        ),
        (
            "gray.jpg",
            jpeg(&gray, w, h, mozjpeg::ColorSpace::JCS_GRAYSCALE, false),
        ),
        (
            "cmyk.jpg",
            jpeg(&cmyk, w, h, mozjpeg::ColorSpace::JCS_CMYK, false),
        ),
        ("rgb.png", png(&rgb_img)),
        ("rgba.png", png(&DynamicImage::ImageRgba8(rgba))),
        (
            "gray.png",
            png(&DynamicImage::ImageLuma8(rgb_img.to_luma8())),
        ),
        ("rgb16.png", png(&sixteen)),
        ("small.webp", encoded(&small, image::ImageFormat::WebP)),
        ("small.gif", encoded(&small, image::ImageFormat::Gif)),
    ]
}
