//! Resampling one variant out of the decoded pixels (fast_image_resize, Lanczos3, sub-pixel crop
//! window), content-aware window placement, and the final letterbox / alpha flattening.
pub mod geometry;
pub mod orient;
pub mod smart;
pub mod streamed;

use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};
use crate::engine::scratch;
use crate::spec::{Format, Gravity};
use fast_image_resize::{
    images::Image, images::ImageRef, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};
use geometry::{Plan, Request};

fn pixel_type(l: Layout) -> PixelType {
    match l {
        Layout::Gray => PixelType::U8,
        Layout::GrayAlpha => PixelType::U8x2,
        Layout::Rgb => PixelType::U8x3,
        Layout::Rgba => PixelType::U8x4,
    }
}

/// Resamples the plan's window of `src` to the plan's (stored-frame) size.
pub fn resample(src: &Pixels, plan: &Plan, gravity: Gravity) -> Result<Pixels, EngineError> {
    let mut win = plan.window;
    if plan.smart {
        let (x, y) = smart::place(src, win, gravity);
        win[0] = x;
        win[1] = y;
    }
    let win = inside(win, src.width, src.height);
    let (ow, oh) = plan.resized;
    if whole(win, ow, oh) {
        return Ok(crop(src, win, ow, oh));
    }
    let len = ow as usize * oh as usize * src.layout.channels();
    let mut buf = scratch::take(len)
        .map_err(|_| EngineError::Internal(format!("no memory for a {ow}x{oh} variant")))?;
    buf.resize(len, 0);
    let rows = Rows {
        data: &src.data,
        width: src.width,
        layout: src.layout,
    };
    resample_rows(&rows, win, plan.resized, 0..oh, &mut buf)?;
    Ok(Pixels::new(ow, oh, src.layout, buf))
}

/// The window kept inside a `width` x `height` picture despite rounding.
pub fn inside(mut win: [f64; 4], width: u32, height: u32) -> [f64; 4] {
    let (sw, sh) = (width as f64, height as f64);
    win[2] = win[2].clamp(1.0, sw);
    win[3] = win[3].clamp(1.0, sh);
    win[0] = win[0].clamp(0.0, sw - win[2]);
    win[1] = win[1].clamp(0.0, sh - win[3]);
    win
}

/// Whether the window is already the output size on whole pixels: then it is copied, not resampled.
pub fn whole(win: [f64; 4], ow: u32, oh: u32) -> bool {
    let whole = |v: f64| (v - v.round()).abs() < 1e-6;
    win.iter().all(|&v| whole(v)) && win[2].round() as u32 == ow && win[3].round() as u32 == oh
}

fn crop(src: &Pixels, win: [f64; 4], ow: u32, oh: u32) -> Pixels {
    let (x, y) = (win[0].round() as usize, win[1].round() as usize);
    let c = src.layout.channels();
    let stride = src.width as usize * c;
    let mut data = Vec::with_capacity(ow as usize * oh as usize * c);
    for row in y..y + oh as usize {
        let start = row * stride + x * c;
        data.extend_from_slice(&src.data[start..start + ow as usize * c]);
    }
    Pixels::new(ow, oh, src.layout, data)
}

/// The first rows of a picture (all of it, or as far as a decoder has got): whole rows of `width`
/// pixels in `layout`.
pub struct Rows<'a> {
    pub data: &'a [u8],
    pub width: u32,
    pub layout: Layout,
}

/// Resamples output rows `rows` (of `size`) of the window `win` into `out`, which holds just those
/// rows. The picture may be cut short below `source_rows(win, size.1, rows.end)`.
pub fn resample_rows(
    src: &Rows,
    win: [f64; 4],
    size: (u32, u32),
    rows: std::ops::Range<u32>,
    out: &mut [u8],
) -> Result<(), EngineError> {
    let internal = |e: &dyn std::fmt::Display| EngineError::Internal(format!("resize: {e}"));
    let stride = src.width as usize * src.layout.channels();
    let height = (src.data.len() / stride) as u32;
    let (ow, oh) = size;
    // A band of the output is the same resample of a band of the window: its rows' centres, and so
    // their weights, are the whole one's.
    let (top, tall) = if rows == (0..oh) {
        (win[1], win[3])
    } else {
        let scale = win[3] / oh as f64;
        (
            win[1] + rows.start as f64 * scale,
            rows.len() as f64 * scale,
        )
    };
    let pixel = pixel_type(src.layout);
    let view = ImageRef::new(
        src.width,
        height,
        &src.data[..height as usize * stride],
        pixel,
    )
    .map_err(|e| internal(&e))?;
    let mut dst =
        Image::from_slice_u8(ow, rows.len() as u32, out, pixel).map_err(|e| internal(&e))?;
    let opts = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(win[0], top, win[2], tall);
    // A fresh resizer: kept between images, its row buffers (3-4 MB per thread) were still held while
    // the next photo decoded, for no measurable CPU gain (render --repeat 12, four interleaved rounds:
    // mosaic48/cover3 peak RSS 39-45 -> 37-40 MB, kleiber/thumb1000 22.4 -> 19.9 MB, CPU within 1 ms).
    Resizer::new()
        .resize(&view, &mut dst, &opts)
        .map_err(|e| internal(&e))
}

/// How many of the picture's rows output rows `..end` (of `oh`) of the window `win` are drawn from:
/// down to Lanczos3's reach (3 rows, times the scale when shrinking) below the last one's centre, and
/// one more for rounding.
pub fn source_rows(win: [f64; 4], oh: u32, end: u32) -> u32 {
    let scale = win[3] / oh as f64;
    let centre = win[1] + (end as f64 - 0.5) * scale;
    (centre + 3.0 * scale.max(1.0)).ceil() as u32 + 1
}

/// Letterbox (`contain`) and alpha flattening for formats without alpha.
pub fn finish(img: Pixels, plan: &Plan, req: &Request, format: Format) -> Pixels {
    let bg = req.background;
    let keeps_alpha = format != Format::Jpeg;
    let img = if !keeps_alpha {
        img.flatten([bg[0], bg[1], bg[2]])
    } else {
        img
    };
    let Some((cw, ch, x, y)) = plan.canvas else {
        return img;
    };
    if (cw, ch) == (img.width, img.height) {
        return img;
    }
    let bg_gray = bg[0] == bg[1] && bg[1] == bg[2];
    let alpha = keeps_alpha && (img.layout.has_alpha() || bg[3] < 255);
    let layout = match (img.layout.is_gray() && bg_gray, alpha) {
        (true, false) => Layout::Gray,
        (true, true) => Layout::GrayAlpha,
        (false, false) => Layout::Rgb,
        (false, true) => Layout::Rgba,
    };
    let c = layout.channels();
    let fill: Vec<u8> = match layout {
        Layout::Gray => vec![bg[0]],
        Layout::GrayAlpha => vec![bg[0], bg[3]],
        Layout::Rgb => bg[..3].to_vec(),
        Layout::Rgba => bg.to_vec(),
    };
    let mut data: Vec<u8> = fill
        .iter()
        .copied()
        .cycle()
        .take(cw as usize * ch as usize * c)
        .collect();
    let ic = img.layout.channels();
    for row in 0..img.height as usize {
        for col in 0..img.width as usize {
            let s = &img.data[(row * img.width as usize + col) * ic..][..ic];
            let (rgb, a) = match img.layout {
                Layout::Gray => ([s[0]; 3], 255),
                Layout::GrayAlpha => ([s[0]; 3], s[1]),
                Layout::Rgb => ([s[0], s[1], s[2]], 255),
                Layout::Rgba => ([s[0], s[1], s[2]], s[3]),
            };
            let d = &mut data[((row + y as usize) * cw as usize + col + x as usize) * c..][..c];
            over(d, layout, rgb, a);
        }
    }
    Pixels::new(cw, ch, layout, data)
}

/// Source-over compositing of one pixel onto the canvas pixel `d`.
fn over(d: &mut [u8], layout: Layout, rgb: [u8; 3], a: u8) {
    let a = a as u32;
    let mix = |s: u8, b: u8, ba: u32| -> u8 {
        // Straight alpha: out = (s*a + b*ba*(1-a)) / out_a.
        let out_a = a * 255 + ba * (255 - a);
        if out_a == 0 {
            return 0;
        }
        ((s as u32 * a * 255 + b as u32 * ba * (255 - a) + out_a / 2) / out_a) as u8
    };
    let out_alpha = |ba: u32| ((a * 255 + ba * (255 - a) + 127) / 255) as u8;
    match layout {
        Layout::Gray => d[0] = mix(rgb[0], d[0], 255),
        Layout::GrayAlpha => {
            let ba = d[1] as u32;
            d[0] = mix(rgb[0], d[0], ba);
            d[1] = out_alpha(ba);
        }
        Layout::Rgb => (0..3).for_each(|i| d[i] = mix(rgb[i], d[i], 255)),
        Layout::Rgba => {
            let ba = d[3] as u32;
            (0..3).for_each(|i| d[i] = mix(rgb[i], d[i], ba));
            d[3] = out_alpha(ba);
        }
    }
}
