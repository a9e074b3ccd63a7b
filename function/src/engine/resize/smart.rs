//! Content-aware crop placement for `cover`: slide the window along its free axis to where the picture
//! is most detailed (`entropy`: Shannon entropy of luminance) or most eye-catching (`attention`: edges,
//! saturation and skin tones), scored on a small luminance/saliency grid so that it costs next to nothing.
use crate::engine::pixels::{Layout, Pixels};
use crate::spec::Gravity;

/// Grid cells along the longer side.
const GRID: usize = 96;

/// The best top-left corner for `window` (decoded coordinates).
pub fn place(src: &Pixels, window: [f64; 4], gravity: Gravity) -> (f64, f64) {
    let (w, h) = (src.width as usize, src.height as usize);
    let cell = (w.max(h).div_ceil(GRID)).max(1);
    let (gw, gh) = (w.div_ceil(cell), h.div_ceil(cell));
    let grid = cells(src, cell, gw, gh);
    let (ww, wh) = (
        (window[2] / cell as f64).round() as usize,
        (window[3] / cell as f64).round() as usize,
    );
    let (ww, wh) = (ww.clamp(1, gw), wh.clamp(1, gh));
    let mut best = (f64::MIN, window[0], window[1]);
    for gy in 0..=gh - wh {
        for gx in 0..=gw - ww {
            let score = match gravity {
                Gravity::Attention => attention(&grid, gw, gx, gy, ww, wh),
                _ => entropy(&grid, gw, gx, gy, ww, wh),
            };
            if score > best.0 + 1e-9 {
                best = (score, (gx * cell) as f64, (gy * cell) as f64);
            }
        }
    }
    // Only move along the axes that have room.
    let x = if window[2] < src.width as f64 {
        best.1
    } else {
        window[0]
    };
    let y = if window[3] < src.height as f64 {
        best.2
    } else {
        window[1]
    };
    (x, y)
}

/// Per cell: mean luminance, mean saturation, skin likeness, and local contrast.
#[derive(Clone, Copy, Default)]
struct Cell {
    luma: f32,
    sat: f32,
    skin: f32,
    edge: f32,
}

fn cells(src: &Pixels, cell: usize, gw: usize, gh: usize) -> Vec<Cell> {
    let (w, h) = (src.width as usize, src.height as usize);
    let c = src.layout.channels();
    let mut sums = vec![[0f32; 5]; gw * gh];
    // Sample every other pixel in each direction: plenty for a placement decision.
    let step = (cell / 8).max(1);
    for y in (0..h).step_by(step) {
        for x in (0..w).step_by(step) {
            let p = &src.data[(y * w + x) * c..][..c];
            let (r, g, b) = match src.layout {
                Layout::Gray | Layout::GrayAlpha => (p[0] as f32, p[0] as f32, p[0] as f32),
                _ => (p[0] as f32, p[1] as f32, p[2] as f32),
            };
            let l = 0.299 * r + 0.587 * g + 0.114 * b;
            let (mx, mn) = (r.max(g).max(b), r.min(g).min(b));
            let sat = if mx > 0.0 { (mx - mn) / mx } else { 0.0 };
            let skin = if r > 95.0 && g > 40.0 && b > 20.0 && r > g && r > b && (r - g) > 15.0 {
                1.0
            } else {
                0.0
            };
            let s = &mut sums[(y / cell) * gw + x / cell];
            s[0] += l;
            s[1] += sat;
            s[2] += skin;
            s[3] += l * l;
            s[4] += 1.0;
        }
    }
    sums.iter()
        .map(|s| {
            let n = s[4].max(1.0);
            let mean = s[0] / n;
            Cell {
                luma: mean,
                sat: s[1] / n,
                skin: s[2] / n,
                edge: (s[3] / n - mean * mean).max(0.0).sqrt(),
            }
        })
        .collect()
}

fn entropy(grid: &[Cell], gw: usize, gx: usize, gy: usize, ww: usize, wh: usize) -> f64 {
    let mut hist = [0u32; 64];
    for y in gy..gy + wh {
        for c in &grid[y * gw + gx..y * gw + gx + ww] {
            hist[((c.luma as usize) >> 2).min(63)] += 1;
            // Texture inside a cell counts too: its contrast spreads the histogram.
            hist[(((c.luma + c.edge) as usize) >> 2).min(63)] += 1;
        }
    }
    let n: u32 = hist.iter().sum();
    hist.iter()
        .filter(|&&k| k > 0)
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

fn attention(grid: &[Cell], gw: usize, gx: usize, gy: usize, ww: usize, wh: usize) -> f64 {
    let mut s = 0.0;
    for y in gy..gy + wh {
        for c in &grid[y * gw + gx..y * gw + gx + ww] {
            s += (c.edge / 32.0 + c.sat + 2.0 * c.skin) as f64;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_and_attention_find_the_busy_side() {
        // 400x100: flat grey except a noisy, colourful block on the right quarter.
        let (w, h) = (400usize, 100usize);
        let mut data = vec![128u8; w * h * 3];
        let mut seed = 1u32;
        for y in 0..h {
            for x in 300..w {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                let v = (seed >> 24) as u8;
                data[(y * w + x) * 3..][..3].copy_from_slice(&[v, 255 - v, v / 2]);
            }
        }
        let px = Pixels::new(w as u32, h as u32, Layout::Rgb, data);
        for g in [Gravity::Entropy, Gravity::Attention] {
            let (x, y) = place(&px, [150.0, 0.0, 100.0, 100.0], g);
            assert!(x >= 290.0, "{g:?}: x={x}");
            assert_eq!(y, 0.0);
        }
    }
}
