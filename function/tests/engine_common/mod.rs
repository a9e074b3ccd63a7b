//! Helpers shared by the engine's integration tests: fixtures synthesised from code, and comparisons.
#![allow(dead_code)]
pub mod fixtures;
use image::{DynamicImage, RgbImage};
use imgdeploy_function::engine::{self, Rendered};
use imgdeploy_function::spec::{Limits, VariantSpec};
use std::path::{Path, PathBuf};

/// `rel` inside the shared corpus beside the project (`../shared`, which CI has), or `None` where it is
/// missing: the test then has nothing to check and returns. With `CI` set a missing corpus fails the
/// test instead, so that a CI run cannot pass by skipping.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} not found, and CI is set: the shared corpus must be beside the project",
        p.display()
    );
    eprintln!("SKIPPED: {} not found (it exists in CI)", p.display());
    None
}

pub fn variant(json: &str) -> VariantSpec {
    serde_json::from_str(json).unwrap()
}

pub fn render_one(input: &[u8], v: &str) -> Rendered {
    let mut out = engine::render(input, &[variant(v)], &Limits::default()).unwrap();
    out.remove(0)
}

pub fn decoded(r: &Rendered) -> DynamicImage {
    image::load_from_memory(&r.bytes).unwrap()
}

/// Mean absolute difference per channel of two same-sized RGB pictures.
pub fn mad(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let s: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| (*x as i32 - *y as i32).unsigned_abs() as u64)
        .sum();
    s as f64 / a.as_raw().len() as f64
}

/// A picture that looks different under every flip and rotation: four coloured quadrants of unequal size.
pub fn asymmetric(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let c = match (x < w / 3, y < h / 3) {
            (true, true) => [220, 30, 30],
            (false, true) => [30, 200, 40],
            (true, false) => [40, 40, 210],
            (false, false) => [230, 220, 60],
        };
        image::Rgb(c)
    })
}

pub fn jpeg_bytes(img: &DynamicImage, quality: f32) -> Vec<u8> {
    let rgb = img.to_rgb8();
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_size(rgb.width() as usize, rgb.height() as usize);
    c.set_quality(quality);
    c.set_chroma_sampling_pixel_sizes((1, 1), (1, 1));
    let mut s = c.start_compress(Vec::new()).unwrap();
    s.write_scanlines(rgb.as_raw()).unwrap();
    s.finish().unwrap()
}

/// Inserts an APP1 EXIF segment holding only the orientation tag, right after SOI.
pub fn with_orientation(jpeg: &[u8], o: u16) -> Vec<u8> {
    let mut tiff = b"Exif\0\0MM\0*\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&o.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((tiff.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}
