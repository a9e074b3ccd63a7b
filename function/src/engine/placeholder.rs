//! What an app shows while a picture loads: a ThumbHash (a 20-odd byte sketch of the picture, alpha
//! and aspect ratio included, that decodes to a blurred preview) and the picture's average colour,
//! computed from one small rendering. ThumbHash is the reference implementation's Rust port (the
//! `thumbhash` crate); it reads at most 100 by 100 pixels, so the rendering is shrunk to that first.
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// ThumbHash's largest input side.
const MAX_SIDE: u32 = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placeholder {
    /// The ThumbHash, standard base64 (with padding), as thumbhash.js's `thumbHashToDataURL` reads it
    /// once decoded to bytes.
    pub thumbhash: String,
    /// The average colour, `#rrggbb` (from the ThumbHash, so the two agree).
    pub colour: String,
}

/// The placeholder of an encoded picture that the `image` crate reads (JPEG, PNG, WebP); `None` for
/// anything else (AVIF) or an unreadable one.
pub fn from_encoded(encoded: &[u8]) -> Option<Placeholder> {
    let img = image::load_from_memory(encoded).ok()?;
    let small = if img.width() > MAX_SIDE || img.height() > MAX_SIDE {
        img.thumbnail(MAX_SIDE, MAX_SIDE)
    } else {
        img
    }
    .to_rgba8();
    let (w, h) = (small.width() as usize, small.height() as usize);
    let hash = thumbhash::rgba_to_thumb_hash(w, h, small.as_raw());
    let (r, g, b, _) = thumbhash::thumb_hash_to_average_rgba(&hash).ok()?;
    let byte = |c: f32| (c.clamp(0.0, 1.0) * 255.0).round() as u8;
    Some(Placeholder {
        thumbhash: base64::engine::general_purpose::STANDARD.encode(&hash),
        colour: format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, pixel: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba(pixel(x, y)));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn the_hash_decodes_to_the_pictures_shape_and_colours() {
        // 320x160, left half red, right half blue: wider than tall, red on the left.
        let input = png(320, 160, |x, _| {
            if x < 160 {
                [220, 20, 20, 255]
            } else {
                [20, 20, 220, 255]
            }
        });
        let p = from_encoded(&input).unwrap();
        let hash = base64::engine::general_purpose::STANDARD
            .decode(&p.thumbhash)
            .unwrap();
        let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(&hash).unwrap();
        assert!((ratio - 2.0).abs() < 0.3, "aspect ratio {ratio}");
        let (w, h, rgba) = thumbhash::thumb_hash_to_rgba(&hash).unwrap();
        let at = |x: usize| &rgba[(h / 2 * w + x) * 4..][..3];
        let (left, right) = (at(w / 8), at(w - 1 - w / 8));
        assert!(left[0] > left[2] + 80, "left {left:?}");
        assert!(right[2] > right[0] + 80, "right {right:?}");
        // The average of red and blue halves: purple.
        let c = u32::from_str_radix(&p.colour[1..], 16).unwrap();
        let (r, g, b) = (c >> 16, (c >> 8) & 0xff, c & 0xff);
        assert!(r > 90 && b > 90 && g < 60, "{}", p.colour);
    }

    #[test]
    fn avif_and_garbage_have_none() {
        assert_eq!(from_encoded(b"\0\0\0\x1cftypavif"), None);
        assert_eq!(from_encoded(b"not a picture"), None);
    }
}
