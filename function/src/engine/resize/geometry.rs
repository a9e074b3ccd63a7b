//! Where each variant's pixels come from: the fit modes (cover, contain, fill, inside, outside) and
//! gravity, planned in the upright picture and mapped back to the stored (EXIF-rotated, possibly
//! DCT-shrunk) pixels, so that only the small output is ever rotated.
use crate::engine::error::EngineError;
use crate::spec::{Fit, Gravity, VariantSpec};

/// Largest edge a variant may ask for.
pub const MAX_EDGE: u32 = 16384;

/// A validated variant request.
#[derive(Debug, Clone)]
pub struct Request {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    pub gravity: Gravity,
    /// RGBA letterbox colour for `contain`, and what alpha is flattened onto for JPEG.
    pub background: [u8; 4],
}

impl Request {
    /// Rough output size, to start the largest variant first.
    pub fn area_hint(&self) -> u64 {
        let w = self.width.or(self.height).unwrap_or(MAX_EDGE) as u64;
        let h = self.height.or(self.width).unwrap_or(MAX_EDGE) as u64;
        w * h
    }
}

/// The stored picture as decoded.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    /// Stored (not oriented) full-resolution size.
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1..=8.
    pub orientation: u8,
    /// Decoded pixels per stored pixel (M/8 after DCT shrink-on-load, else 1).
    pub scale: f64,
}

impl Header {
    /// A picture decoded at full resolution.
    pub fn unscaled(width: u32, height: u32, orientation: u8) -> Header {
        Header {
            width,
            height,
            orientation,
            scale: 1.0,
        }
    }

    pub fn upright(&self) -> (u32, u32) {
        if self.orientation >= 5 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// How one variant is cut from the decoded pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Source window in decoded pixel coordinates (stored frame): left, top, width, height.
    pub window: [f64; 4],
    /// Resampled size, stored frame (swapped for orientations 5..=8).
    pub resized: (u32, u32),
    /// Final canvas in the upright frame, and where the picture sits on it (`contain` only).
    pub canvas: Canvas,
    /// Slide the window to the most interesting spot (entropy / attention).
    pub smart: bool,
}

pub fn validate(variants: &[VariantSpec]) -> Result<Vec<Request>, EngineError> {
    variants.iter().map(validate_one).collect()
}

fn validate_one(v: &VariantSpec) -> Result<Request, EngineError> {
    let bad = |reason: String| EngineError::InvalidVariant {
        name: v.name.clone(),
        reason,
    };
    for (what, d) in [("width", v.width), ("height", v.height)] {
        if let Some(d) = d {
            if d == 0 || d > MAX_EDGE {
                return Err(bad(format!("{what} {d} is outside 1..={MAX_EDGE}")));
            }
        }
    }
    if !(1..=100).contains(&v.quality()) {
        return Err(bad(format!("quality {} is outside 1..=100", v.quality())));
    }
    if v.effort() > 9 {
        return Err(bad(format!("effort {} is outside 0..=9", v.effort())));
    }
    #[cfg(not(feature = "avif"))]
    if v.encodes_avif() {
        return Err(bad(crate::engine::encode::NO_AVIF.into()));
    }
    let background = match &v.background {
        None => [255, 255, 255, 255],
        Some(s) => parse_colour(s)
            .ok_or_else(|| bad(format!("background {s:?} is not #rrggbb or #rrggbbaa")))?,
    };
    Ok(Request {
        width: v.width,
        height: v.height,
        fit: v.fit,
        gravity: v.gravity,
        background,
    })
}

/// `#rrggbb` or `#rrggbbaa`.
pub fn parse_colour(s: &str) -> Option<[u8; 4]> {
    let h = s.strip_prefix('#')?;
    if !(h.len() == 6 || h.len() == 8) || !h.is_ascii() {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some([
        byte(0)?,
        byte(2)?,
        byte(4)?,
        if h.len() == 8 { byte(6)? } else { 255 },
    ])
}

fn dim(x: f64) -> u32 {
    (x.round() as u32).clamp(1, MAX_EDGE)
}

/// Letterbox canvas: width, height, and where the picture sits (x, y).
type Canvas = Option<(u32, u32, u32, u32)>;
/// Upright output size, upright source window, canvas.
type UprightPlan = ((u32, u32), [f64; 4], Canvas);

/// The upright output size and the upright source window of a request.
fn upright_plan(r: &Request, w: f64, h: f64) -> UprightPlan {
    let whole = [0.0, 0.0, w, h];
    // A missing side is unbounded for inside/outside, and derived from the aspect ratio otherwise.
    let sx = r.width.map(|t| t as f64 / w);
    let sy = r.height.map(|t| t as f64 / h);
    let (tw, th) = match (r.width, r.height) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => (a, dim(h * a as f64 / w)),
        (None, Some(b)) => (dim(w * b as f64 / h), b),
        (None, None) => (dim(w), dim(h)),
    };
    let scaled = |s: f64| (dim(w * s), dim(h * s));
    match r.fit {
        Fit::Fill => ((tw, th), whole, None),
        Fit::Inside => {
            let s = sx
                .unwrap_or(f64::INFINITY)
                .min(sy.unwrap_or(f64::INFINITY))
                .min(1.0);
            (
                if s.is_finite() {
                    scaled(s)
                } else {
                    (dim(w), dim(h))
                },
                whole,
                None,
            )
        }
        Fit::Outside => {
            let s = sx.unwrap_or(0.0).max(sy.unwrap_or(0.0));
            (
                if s > 0.0 {
                    scaled(s.min(1.0))
                } else {
                    (dim(w), dim(h))
                },
                whole,
                None,
            )
        }
        Fit::Contain => {
            let s = (tw as f64 / w).min(th as f64 / h);
            let (iw, ih) = scaled(s);
            let (iw, ih) = (iw.min(tw), ih.min(th));
            let (x, y) = place(r.gravity, tw - iw, th - ih);
            ((iw, ih), whole, Some((tw, th, x, y)))
        }
        Fit::Cover => {
            // Like sharp and ImageMagick: resize to whole pixels that cover the box, then crop whole
            // output pixels, so that the result is exactly a crop of the resized picture.
            let s = (tw as f64 / w).max(th as f64 / h);
            let (fw, fh) = (dim(w * s).max(tw), dim(h * s).max(th));
            let (sx, sy) = (fw as f64 / w, fh as f64 / h);
            let (ox, oy) = match r.gravity {
                Gravity::Top => ((fw - tw) / 2, 0),
                Gravity::Bottom => ((fw - tw) / 2, fh - th),
                Gravity::Left => (0, (fh - th) / 2),
                Gravity::Right => (fw - tw, (fh - th) / 2),
                _ => ((fw - tw) / 2, (fh - th) / 2),
            };
            (
                (tw, th),
                [
                    ox as f64 / sx,
                    oy as f64 / sy,
                    tw as f64 / sx,
                    th as f64 / sy,
                ],
                None,
            )
        }
    }
}

fn place(g: Gravity, free_x: u32, free_y: u32) -> (u32, u32) {
    match g {
        Gravity::Top => (free_x / 2, 0),
        Gravity::Bottom => (free_x / 2, free_y),
        Gravity::Left => (0, free_y / 2),
        Gravity::Right => (free_x, free_y / 2),
        _ => (free_x / 2, free_y / 2),
    }
}

/// Maps an upright point to the stored frame (continuous coordinates; `w`,`h` = upright size).
fn to_stored(o: u8, w: f64, h: f64, u: f64, v: f64) -> (f64, f64) {
    match o {
        2 => (w - u, v),
        3 => (w - u, h - v),
        4 => (u, h - v),
        5 => (v, u),
        6 => (v, w - u),
        7 => (h - v, w - u),
        8 => (h - v, u),
        _ => (u, v),
    }
}

pub fn plan(r: &Request, hd: &Header) -> Plan {
    let (uw, uh) = hd.upright();
    let (w, h) = (uw as f64, uh as f64);
    let (out, win, canvas) = upright_plan(r, w, h);
    let o = hd.orientation;
    let (ax, ay) = to_stored(o, w, h, win[0], win[1]);
    let (bx, by) = to_stored(o, w, h, win[0] + win[2], win[1] + win[3]);
    let k = hd.scale;
    let window = [
        ax.min(bx) * k,
        ay.min(by) * k,
        (ax - bx).abs() * k,
        (ay - by).abs() * k,
    ];
    let resized = if o >= 5 { (out.1, out.0) } else { out };
    let smart = r.fit == Fit::Cover && matches!(r.gravity, Gravity::Entropy | Gravity::Attention);
    Plan {
        window,
        resized,
        canvas,
        smart,
    }
}

/// The decoded size the largest variant needs: the DCT scale must leave at least this many pixels
/// across the full stored width/height (as a fraction of full resolution, 0..=1).
pub fn needed_scale(requests: &[Request], width: u32, height: u32, orientation: u8) -> f64 {
    let hd = Header {
        width,
        height,
        orientation,
        scale: 1.0,
    };
    requests
        .iter()
        .map(|r| {
            let p = plan(r, &hd);
            (p.resized.0 as f64 / p.window[2]).max(p.resized.1 as f64 / p.window[3])
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(w: Option<u32>, h: Option<u32>, fit: Fit, gravity: Gravity) -> Request {
        Request {
            width: w,
            height: h,
            fit,
            gravity,
            background: [255; 4],
        }
    }
    fn hd(w: u32, h: u32, o: u8) -> Header {
        Header {
            width: w,
            height: h,
            orientation: o,
            scale: 1.0,
        }
    }

    #[test]
    fn cover_crops_the_centre_and_edges() {
        let p = plan(
            &req(Some(800), Some(600), Fit::Cover, Gravity::Centre),
            &hd(4000, 2000, 1),
        );
        assert_eq!(p.resized, (800, 600));
        let want = [666.667, 0.0, 2666.667, 2000.0];
        assert!(
            p.window.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-3),
            "{:?}",
            p.window
        );
        let p = plan(
            &req(Some(800), Some(600), Fit::Cover, Gravity::Left),
            &hd(4000, 2000, 1),
        );
        assert_eq!(p.window[0], 0.0);
        let p = plan(
            &req(Some(800), Some(600), Fit::Cover, Gravity::Right),
            &hd(4000, 2000, 1),
        );
        assert!((p.window[0] + p.window[2] - 4000.0).abs() < 1e-9);
    }

    #[test]
    fn rotated_source_plans_in_the_upright_frame() {
        // Stored 4000x2000 with orientation 6 is upright 2000x4000: a 600x800 cover takes the full width.
        let p = plan(
            &req(Some(600), Some(800), Fit::Cover, Gravity::Top),
            &hd(4000, 2000, 6),
        );
        assert_eq!(p.resized, (800, 600));
        // Upright top = stored left for orientation 6 (rotate 90 CW to display).
        assert_eq!(p.window[1], 0.0);
        assert!((p.window[3] - 2000.0).abs() < 1e-9);
        assert!((p.window[0] - 0.0).abs() < 1e-9, "{:?}", p.window);
    }

    #[test]
    fn inside_never_enlarges_and_outside_covers() {
        let p = plan(
            &req(Some(1000), Some(1000), Fit::Inside, Gravity::Centre),
            &hd(6028, 3391, 1),
        );
        assert_eq!(p.resized, (1000, 563));
        let p = plan(
            &req(Some(1000), Some(1000), Fit::Inside, Gravity::Centre),
            &hd(300, 200, 1),
        );
        assert_eq!(p.resized, (300, 200));
        let p = plan(
            &req(Some(100), Some(100), Fit::Outside, Gravity::Centre),
            &hd(400, 200, 1),
        );
        assert_eq!(p.resized, (200, 100));
        let p = plan(
            &req(Some(500), None, Fit::Inside, Gravity::Centre),
            &hd(1000, 4000, 1),
        );
        assert_eq!(p.resized, (500, 2000));
    }

    #[test]
    fn contain_letterboxes_and_fill_stretches() {
        let p = plan(
            &req(Some(400), Some(400), Fit::Contain, Gravity::Centre),
            &hd(800, 400, 1),
        );
        assert_eq!(p.resized, (400, 200));
        assert_eq!(p.canvas, Some((400, 400, 0, 100)));
        let p = plan(
            &req(Some(100), Some(300), Fit::Fill, Gravity::Centre),
            &hd(800, 400, 1),
        );
        assert_eq!(
            (p.resized, p.window),
            ((100, 300), [0.0, 0.0, 800.0, 400.0])
        );
    }

    #[test]
    fn background_parses() {
        assert_eq!(parse_colour("#ff000080"), Some([255, 0, 0, 128]));
        assert_eq!(parse_colour("#00ff00"), Some([0, 255, 0, 255]));
        assert_eq!(parse_colour("red"), None);
    }
}
