//! The encoder against the mozjpeg crate (libjpeg-turbo, one core): the same bytes, for pictures
//! of awkward sizes (edge padding, dummy blocks), colour and gray, over the range of qualities.
use super::progressive;
use crate::engine::encode::jpeg::libjpeg::mozjpeg as libjpeg;
use crate::engine::pixels::{Layout, Pixels};

/// Gradients, a sharp-edged disc and noise, so that every scan and symbol kind has work to do.
fn picture(width: u32, height: u32, rgb: bool, seed: u32) -> Vec<u8> {
    let mut state = seed;
    let mut data = Vec::new();
    for y in 0..height {
        for x in 0..width {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let noise = (state >> 26) as i32 - 32;
            let (dx, dy) = (x as i32 - width as i32 / 2, y as i32 - height as i32 / 3);
            let disc = if dx * dx + dy * dy < (width * width / 16) as i32 {
                90
            } else {
                0
            };
            let r = (x * 255 / width) as i32 + noise;
            let g = (y * 255 / height) as i32 + disc - noise;
            let b = 128 + disc + noise / 2 - (x as i32 % 7) * 9;
            if rgb {
                data.extend([r, g, b].map(|v| v.clamp(0, 255) as u8));
            } else {
                data.push(((r + g + b) / 3).clamp(0, 255) as u8);
            }
        }
    }
    data
}

fn same_as_libjpeg(width: u32, height: u32, rgb: bool, quality: u8) {
    let data = picture(width, height, rgb, width * 31 + height);
    same_bytes(&data, width, height, rgb, quality);
}

fn same_bytes(data: &[u8], width: u32, height: u32, rgb: bool, quality: u8) {
    let layout = if rgb { Layout::Rgb } else { Layout::Gray };
    let want = libjpeg(
        &Pixels::new(width, height, layout, data.to_vec()),
        quality,
        true,
    )
    .unwrap();
    let got = progressive(data, width, height, rgb, quality);
    if got != want {
        let first = got.iter().zip(&want).position(|(a, b)| a != b);
        panic!(
            "{width}x{height} rgb {rgb} q{quality}: {} bytes against libjpeg's {}, first difference at {first:?}",
            got.len(),
            want.len()
        );
    }
}

#[test]
fn colour_files_are_libjpegs_byte_for_byte() {
    for (w, h) in [
        (1, 1),
        (7, 5),
        (16, 16),
        (17, 33),
        (31, 8),
        (100, 75),
        (257, 129),
    ] {
        same_as_libjpeg(w, h, true, 80);
    }
    for q in [1, 10, 50, 75, 90, 95, 100] {
        same_as_libjpeg(97, 61, true, q);
    }
}

#[test]
fn gray_files_are_libjpegs_byte_for_byte() {
    for (w, h) in [(1, 1), (9, 9), (64, 48), (133, 71)] {
        same_as_libjpeg(w, h, false, 80);
    }
    same_as_libjpeg(50, 50, false, 30);
}

#[test]
fn a_large_picture_is_libjpegs_byte_for_byte() {
    // Long end-of-band runs and correction-bit buffers only fill up on large pictures.
    same_as_libjpeg(1000, 817, true, 80);
}

#[test]
fn long_end_of_band_runs_are_cut_where_libjpeg_cuts_them() {
    // A flat 1600x1400 picture: 35,000 luma blocks without AC, past the 32,767 blocks one run holds.
    let flat = vec![90u8; 1600 * 1400];
    same_bytes(&flat, 1600, 1400, false, 80);
    // Vertical stripes with a period of one block: every block has one large coefficient and nothing
    // else, so each adds a correction bit to the run in the first refinement, and the run is forced
    // out when libjpeg's 1000-bit correction buffer would overflow.
    let stripes: Vec<u8> = (0..256 * 320)
        .map(|i| {
            let x = (i % 320) as f64;
            (128.0 + 40.0 * ((2.0 * x + 1.0) * std::f64::consts::PI / 16.0).cos()).round() as u8
        })
        .collect();
    same_bytes(&stripes, 320, 256, false, 80);
}
