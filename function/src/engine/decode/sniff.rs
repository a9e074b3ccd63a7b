//! Format sniffing from the first bytes, and header-only dimensions, so that limits are checked before
//! any decoder allocates.
use crate::engine::error::EngineError;
use crate::spec::Limits;

/// What the header says, without decoding the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// "jpeg", "png", "webp" or "gif".
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
}

impl ImageInfo {
    /// Bytes a decoder may allocate for this picture: RGBA8 plus slack, bounded by the pixel limit.
    pub fn alloc_cap(&self, limits: &Limits) -> u64 {
        let px = (self.width as u64 * self.height as u64).min(limits.max_input_pixels);
        px * 8 + (16 << 20)
    }
}

/// A format the engine decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
            Kind::Webp => "webp",
            Kind::Gif => "gif",
        }
    }
}

/// Sniffs the format from the magic bytes; unknown or unsupported formats are named in the error.
pub fn sniff(b: &[u8]) -> Result<Kind, EngineError> {
    if b.is_empty() {
        return Err(EngineError::Empty);
    }
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Kind::Jpeg);
    }
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Kind::Png);
    }
    if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        return Ok(Kind::Webp);
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Ok(Kind::Gif);
    }
    Err(EngineError::UnsupportedFormat(describe_unsupported(b)))
}

/// Names what the bytes look like, for the "unsupported format" error.
fn describe_unsupported(b: &[u8]) -> String {
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        let brand = String::from_utf8_lossy(&b[8..12]).trim().to_string();
        let name = match brand.as_str() {
            "heic" | "heix" | "heim" | "heis" | "hevc" | "hevx" | "mif1" | "msf1" => "HEIC",
            "avif" | "avis" => "AVIF",
            "jxl" => "JPEG XL",
            _ => "ISO-BMFF",
        };
        return format!("{name} (ISO-BMFF brand {brand})");
    }
    let starts = |m: &[u8]| b.starts_with(m);
    let name = if starts(b"BM") {
        "BMP"
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        "TIFF"
    } else if starts(&[0, 0, 1, 0]) || starts(&[0, 0, 2, 0]) {
        "ICO"
    } else if starts(&[0xFF, 0x0A]) || starts(b"\0\0\0\x0cJXL ") {
        "JPEG XL"
    } else if starts(b"8BPS") {
        "PSD"
    } else if starts(b"%PDF") {
        "PDF"
    } else if starts(&[0xFF, 0xD8]) {
        "JPEG (truncated marker)"
    } else if starts(b"\x89PNG") {
        "PNG (damaged signature)"
    } else if starts(b"RIFF") {
        "RIFF (not WebP)"
    } else if starts(b"GIF") {
        "GIF (unknown version)"
    } else {
        let head = String::from_utf8_lossy(&b[..b.len().min(512)]).to_ascii_lowercase();
        if head.contains("<svg") {
            "SVG"
        } else if head.contains("<html") || head.contains("<!doctype") || head.contains("<script") {
            "HTML"
        } else if head.trim_start().starts_with("<?xml") {
            "XML"
        } else if b
            .iter()
            .take(512)
            .all(|&c| c == b'\n' || c == b'\r' || c == b'\t' || (0x20..0x7f).contains(&c))
        {
            "text"
        } else {
            "unknown"
        }
    };
    name.to_string()
}

/// Width and height read from the header only (no pixel allocation).
pub fn dimensions(kind: Kind, b: &[u8]) -> Result<(u32, u32), EngineError> {
    let dims = match kind {
        Kind::Jpeg => jpeg_dims(b),
        Kind::Png => png_dims(b),
        Kind::Gif => gif_dims(b),
        Kind::Webp => webp_dims(b),
    };
    match dims {
        Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
        Some((w, h)) => Err(EngineError::Corrupt(format!(
            "{} header gives an empty image {w}x{h}",
            kind.name()
        ))),
        None => Err(EngineError::Corrupt(format!(
            "{} header is truncated or malformed",
            kind.name()
        ))),
    }
}

fn be16(b: &[u8], i: usize) -> Option<u32> {
    Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?) as u32)
}
fn le16(b: &[u8], i: usize) -> Option<u32> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?) as u32)
}
fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}
fn le24(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i..i + 3)?;
    Some(s[0] as u32 | (s[1] as u32) << 8 | (s[2] as u32) << 16)
}

/// Walks the JPEG markers to the first SOFn.
fn jpeg_dims(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    loop {
        // Skip fill bytes before a marker.
        while *b.get(i)? == 0xFF && *b.get(i + 1)? == 0xFF {
            i += 1;
        }
        if *b.get(i)? != 0xFF {
            return None;
        }
        let m = *b.get(i + 1)?;
        if (0xD0..=0xD9).contains(&m) || m == 0x01 {
            i += 2;
            continue;
        }
        let len = be16(b, i + 2)? as usize;
        if len < 2 {
            return None;
        }
        let is_sof = matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let h = be16(b, i + 5)?;
            let w = be16(b, i + 7)?;
            return Some((w, h));
        }
        i += 2 + len;
    }
}

fn png_dims(b: &[u8]) -> Option<(u32, u32)> {
    if b.get(12..16)? != b"IHDR" {
        return None;
    }
    Some((be32(b, 16)?, be32(b, 20)?))
}

fn gif_dims(b: &[u8]) -> Option<(u32, u32)> {
    Some((le16(b, 6)?, le16(b, 8)?))
}

fn webp_dims(b: &[u8]) -> Option<(u32, u32)> {
    let chunk = b.get(12..16)?;
    match chunk {
        b"VP8 " => {
            // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
            if b.get(23..26)? != [0x9d, 0x01, 0x2a] {
                return None;
            }
            Some((le16(b, 26)? & 0x3FFF, le16(b, 28)? & 0x3FFF))
        }
        b"VP8L" => {
            if *b.get(20)? != 0x2f {
                return None;
            }
            let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_heic_and_html() {
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        let e = sniff(heic).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported format: HEIC (ISO-BMFF brand heic)"
        );
        let e = sniff(b"<!DOCTYPE html><script>alert(1)</script>").unwrap_err();
        assert!(e.to_string().contains("HTML"), "{e}");
        assert_eq!(sniff(b"").unwrap_err().kind(), "empty");
    }

    #[test]
    fn jpeg_header_lie_is_read_without_decoding() {
        // SOI, SOF0 65535x65535, 3 components, then nothing.
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3];
        b.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        assert_eq!(dimensions(Kind::Jpeg, &b).unwrap(), (65535, 65535));
    }
}
