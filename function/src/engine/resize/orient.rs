//! EXIF orientation: reading the tag, and turning a (small, already resized) stored-frame picture upright.
use crate::engine::pixels::Pixels;

/// Orientation 1..=8 from a raw EXIF block (TIFF header first, as in JPEG APP1 after "Exif\0\0",
/// the PNG eXIf chunk and WebP's EXIF chunk); 1 when absent or malformed.
pub fn from_exif(tiff: &[u8]) -> u8 {
    let tiff = tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff);
    image::metadata::Orientation::from_exif_chunk(tiff)
        .map(|o| o.to_exif())
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

/// Applies the transform that shows orientation `o` upright.
pub fn apply(img: Pixels, o: u8) -> Pixels {
    if !(2..=8).contains(&o) {
        return img;
    }
    let (sw, sh) = (img.width as usize, img.height as usize);
    let (w, h) = if o >= 5 { (sh, sw) } else { (sw, sh) };
    let c = img.layout.channels();
    let mut out = vec![0u8; img.data.len()];
    for v in 0..h {
        for u in 0..w {
            // Upright (u, v) shows stored (x, y); see geometry::to_stored for the same mapping.
            let (x, y) = match o {
                2 => (w - 1 - u, v),
                3 => (w - 1 - u, h - 1 - v),
                4 => (u, h - 1 - v),
                5 => (v, u),
                6 => (v, w - 1 - u),
                7 => (h - 1 - v, w - 1 - u),
                _ => (h - 1 - v, u),
            };
            let s = (y * sw + x) * c;
            let d = (v * w + u) * c;
            out[d..d + c].copy_from_slice(&img.data[s..s + c]);
        }
    }
    Pixels {
        width: w as u32,
        height: h as u32,
        layout: img.layout,
        data: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::pixels::Layout;

    #[test]
    fn every_orientation_restores_the_same_picture() {
        // Upright 3x2 gray picture 0..6; build each stored form with image's own transforms, then undo it.
        let upright = image::GrayImage::from_raw(3, 2, (0..6).collect()).unwrap();
        for o in 1..=8u8 {
            let mut stored = image::DynamicImage::ImageLuma8(upright.clone());
            // The stored picture is the upright one with the inverse transform applied.
            let inverse = match o {
                6 => 8,
                8 => 6,
                x => x,
            };
            stored.apply_orientation(image::metadata::Orientation::from_exif(inverse).unwrap());
            let s = stored.to_luma8();
            let px = Pixels::new(s.width(), s.height(), Layout::Gray, s.into_raw());
            let back = apply(px, o);
            assert_eq!((back.width, back.height), (3, 2), "orientation {o}");
            assert_eq!(back.data, upright.as_raw().clone(), "orientation {o}");
        }
    }
}
