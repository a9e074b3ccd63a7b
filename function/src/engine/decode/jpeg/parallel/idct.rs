//! The scaled inverse DCT and colour conversion of one MCU. A block shrunk to `n` x `n` pixels is the
//! `n` x `n` inverse DCT of its top-left (lowest-frequency) coefficients, scaled so that the DC stays the
//! block's mean: an 8:n shrink with an ideal low-pass inside each block. Chroma blocks shrink like luma
//! blocks, so subsampled chroma keeps the file's own ratio to luma and each sample is repeated across
//! the luma pixels it covers when converting to RGB. libjpeg-turbo instead shrinks chroma less, to full
//! resolution; that costs memory and decoding time and measurably gains nothing once the outputs are
//! resized and subsampled again (docs/engine-notes.md). Hence close to libjpeg-turbo's pixels, not equal.

/// `BASIS[log2 n][y][u]`: the weight of frequency `u` at output pixel `y` for an `n`-point shrink
/// (n = 1, 2, 4), `0.5 * c(u) * cos((2y + 1) u pi / 2n)` with `c(0) = 1/sqrt(2)` (a test recomputes
/// it). Literal so that the compiler folds the small sizes.
#[rustfmt::skip]
#[allow(clippy::excessive_precision)]
const BASIS: [[[f32; 4]; 4]; 3] = [
    [
        [0.353553391, 0.0, 0.0, 0.0],
        [0.0; 4],
        [0.0; 4],
        [0.0; 4],
    ],
    [
        [0.353553391, 0.353553391, 0.0, 0.0],
        [0.353553391, -0.353553391, 0.0, 0.0],
        [0.0; 4],
        [0.0; 4],
    ],
    [
        [0.353553391, 0.461939766, 0.353553391, 0.191341716],
        [0.353553391, 0.191341716, -0.353553391, -0.461939766],
        [0.353553391, -0.191341716, -0.353553391, 0.461939766],
        [0.353553391, -0.461939766, 0.353553391, -0.191341716],
    ],
];

/// One block's kept coefficients (`N` x `N`, row-major, not dequantised) to level-shifted pixels in
/// `out` at `stride`; `dc` replaces the first coefficient.
#[inline(always)]
fn idct<const N: usize>(kept: &[i16], dc: i16, quant: &[f32; 64], out: &mut [f32], stride: usize) {
    let basis = &BASIS[N.trailing_zeros() as usize];
    let kept = &kept[..N * N];
    let mut coef = [[0f32; N]; N];
    for (v, row) in coef.iter_mut().enumerate() {
        for (u, c) in row.iter_mut().enumerate() {
            *c = kept[v * N + u] as f32 * quant[v * N + u];
        }
    }
    coef[0][0] = dc as f32 * quant[0];
    let mut rows = [[0f32; N]; N];
    for (v, row) in rows.iter_mut().enumerate() {
        for (x, px) in row.iter_mut().enumerate() {
            *px = (0..N).map(|u| basis[x][u] * coef[v][u]).sum();
        }
    }
    for y in 0..N {
        let line = &mut out[y * stride..y * stride + N];
        for (x, px) in line.iter_mut().enumerate() {
            *px = (0..N).map(|v| basis[y][v] * rows[v][x]).sum();
        }
    }
}

/// The IDCT for a block shrunk to `n` x `n` (1, 2 or 4); `quant` is in kept order.
#[inline(always)]
pub fn shrink(n: usize, kept: &[i16], dc: i16, quant: &[f32; 64], out: &mut [f32], stride: usize) {
    match n {
        1 => out[0] = dc as f32 * quant[0] * 0.125,
        2 => idct::<2>(kept, dc, quant, out, stride),
        4 => idct::<4>(kept, dc, quant, out, stride),
        _ => unreachable!("block shrink {n}x{n} is not planned"),
    }
}

/// JFIF YCbCr (level-shifted planes, one row each) to one row of RGB8; each chroma sample covers
/// `chroma_h` (1 or 2) luma pixels. Eight pixels at a time in arrays that the compiler keeps in vector
/// registers; rounding is a float add (see `to_u8`), because Rust's saturating float-to-int casts
/// compile to scalar code (the per-pixel form was a tenth of a render's CPU). On x86-64 the 3-byte stores
/// only vectorise with AVX2's byte shuffles, hence `Plan::put`'s AVX2 compilation.
#[inline(always)]
pub fn ycbcr_to_rgb(y: &[f32], cb: &[f32], cr: &[f32], chroma_h: usize, out: &mut [u8]) {
    ycbcr_to_rgb_with(y, cb, cr, chroma_h, out, convert_eight)
}

/// `ycbcr_to_rgb` with another kernel for each run of eight pixels: `eight(y, cb, cr, chroma_h, rgb)`
/// gets 8 luma samples, `8 / chroma_h` of each chroma and 24 output bytes, and must give the bytes
/// `convert_eight` gives (an instruction set's kernel, `put/neon.rs`). The rest of a row, fewer than
/// eight pixels, is converted here one pixel at a time.
#[inline(always)]
pub(super) fn ycbcr_to_rgb_with(
    y: &[f32],
    cb: &[f32],
    cr: &[f32],
    chroma_h: usize,
    out: &mut [u8],
    eight: impl Fn(&[f32], &[f32], &[f32], usize, &mut [u8]),
) {
    match chroma_h {
        1 => convert_row::<1>(y, cb, cr, out, eight),
        _ => convert_row::<2>(y, cb, cr, out, eight),
    }
}

#[inline(always)]
fn convert_row<const H: usize>(
    y: &[f32],
    cb: &[f32],
    cr: &[f32],
    out: &mut [u8],
    eight: impl Fn(&[f32], &[f32], &[f32], usize, &mut [u8]),
) {
    const LANES: usize = 8;
    let pixels = y
        .len()
        .min(cb.len() * H)
        .min(cr.len() * H)
        .min(out.len() / 3);
    let whole = pixels / LANES * LANES;
    let planes = (y[..whole].chunks_exact(LANES))
        .zip(cb.chunks_exact(LANES / H))
        .zip(cr.chunks_exact(LANES / H));
    for (((y, b), r), px) in planes.zip(out.chunks_exact_mut(3 * LANES)) {
        eight(y, b, r, H, px);
    }
    for i in whole..pixels {
        out[i * 3..i * 3 + 3].copy_from_slice(&convert(y[i], cb[i / H], cr[i / H]));
    }
}

/// Eight pixels, in an array that the compiler keeps in vector registers.
#[inline(always)]
fn convert_eight(y: &[f32], b: &[f32], r: &[f32], chroma_h: usize, px: &mut [u8]) {
    let mut rgb = [[0u8; 3]; 8];
    for (i, px) in rgb.iter_mut().enumerate() {
        *px = convert(y[i], b[i / chroma_h], r[i / chroma_h]);
    }
    px.copy_from_slice(rgb.as_flattened());
}

/// One pixel's level-shifted samples to RGB8. Each sample is first made the 8-bit value a JPEG decoder's
/// IDCT hands out (libjpeg rounds and range-limits every component before converting colour), so that
/// the pixels follow the decoders that everything else uses, the Lanczos reference's included. Converting
/// the exact values instead was no closer to that reference in RMSE (0.757 against 0.753 levels on
/// dragonfly's thumbnail) but further in DSSIM: 0.0000462 against 0.0000401 before the JPEG encode,
/// 0.00073030 against 0.00072639 after it, where sharp's is 0.00072846. A rounding-level effect: on the
/// other corpus outputs DSSIM moved both ways, by up to 2%.
#[inline(always)]
fn convert(y: f32, cb: f32, cr: f32) -> [u8; 3] {
    let (y, cb, cr) = (sample(y) + 128.0, sample(cb), sample(cr));
    [
        to_u8(y + 1.402 * cr),
        to_u8(y - 0.344_136 * cb - 0.714_136 * cr),
        to_u8(y + 1.772 * cb),
    ]
}

/// Adding 1.5 * 2^23 to a float of magnitude below 2^22 rounds it to the nearest integer, which then
/// sits in the low mantissa bits.
pub(super) const MAGIC: f32 = 12_582_912.0;

/// `v` clamped to 0..=255 and rounded to the nearest integer.
#[inline(always)]
fn to_u8(v: f32) -> u8 {
    ((v.clamp(0.0, 255.0) + MAGIC).to_bits() & 0xFF) as u8
}

/// A level-shifted sample as libjpeg-turbo's range limit makes it: rounded to the nearest integer,
/// wrapped into -512..=511, then limited to -128..=127. libjpeg-turbo looks samples up in a table by
/// their low 10 bits, so a value far outside the 8-bit range (only damaged or crafted files have them)
/// wraps instead of saturating; doing the same keeps the two decoders' pixels equal on such files (found
/// by fuzz/fuzz_targets/jpeg_decoders.rs). Exact for |v| < 2^22, which covers every DC-only block.
#[inline(always)]
fn sample(v: f32) -> f32 {
    let r = (v + MAGIC) - MAGIC;
    // floor((r + 512) / 1024) for an integer r, by rounding a value that never lands on a tie.
    let wraps = ((r + 512.0) * (1.0 / 1024.0) - (0.5 - 1.0 / 2048.0) + MAGIC) - MAGIC;
    (r - 1024.0 * wraps).clamp(-128.0, 127.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_is_the_scaled_cosine() {
        for (log, table) in BASIS.iter().enumerate() {
            let n = 1 << log;
            for (y, row) in table.iter().enumerate() {
                for (u, &w) in row.iter().enumerate() {
                    let c = if u == 0 {
                        std::f64::consts::FRAC_1_SQRT_2
                    } else {
                        1.0
                    };
                    let angle = ((2 * y + 1) * u) as f64 * std::f64::consts::PI / (2 * n) as f64;
                    let want = if y < n && u < n {
                        0.5 * c * angle.cos()
                    } else {
                        0.0
                    };
                    assert!((w as f64 - want).abs() < 1e-7, "n {n} y {y} u {u}");
                }
            }
        }
    }

    #[test]
    fn dc_alone_gives_the_block_mean_at_every_size() {
        // A flat 8x8 block of level 40 has DC 8 * 40 = 320 in JPEG's DCT.
        for n in [1, 2, 4] {
            let kept = vec![0i16; n * n];
            let mut quant = [1f32; 64];
            quant[0] = 4.0;
            let mut out = vec![0f32; 64];
            shrink(n, &kept, 80, &quant, &mut out, 8);
            for y in 0..n {
                for x in 0..n {
                    assert!((out[y * 8 + x] - 40.0).abs() < 1e-3, "{n}x{n} at {x},{y}");
                }
            }
        }
    }

    #[test]
    fn first_horizontal_frequency_brightens_the_left_half() {
        let kept = [0, 100, 0, 0]; // u = 1, v = 0
        let mut out = vec![0f32; 4];
        shrink(2, &kept, 0, &[1f32; 64], &mut out, 2);
        assert!(out[0] > 0.0 && out[1] < 0.0 && (out[0] + out[1]).abs() < 1e-3);
        assert_eq!(out[0], out[2]);
    }

    #[test]
    fn samples_wrap_as_libjpeg_turbos_range_limit_does() {
        // libjpeg-turbo: range_limit[x & 1023] over -512..=511, saturating outside -128..=127.
        let libjpeg = |x: i32| ((x + 512).rem_euclid(1024) - 512).clamp(-128, 127) as f32;
        for x in -5000..5000 {
            assert_eq!(sample(x as f32), libjpeg(x), "{x}");
        }
        for (v, want) in [
            (0.4, 0.0),
            (-0.6, -1.0),
            (126.6, 127.0),
            (511.4, 127.0),
            (512.0, -128.0),
        ] {
            assert_eq!(sample(v), want, "{v}");
        }
    }

    #[test]
    fn colour_conversion_rounds_and_clamps_every_pixel_of_a_row() {
        // 11 pixels: one group of eight and a scalar tail of three.
        let y = [
            -200.0, -128.0, -0.6, -0.4, 0.0, 0.4, 0.6, 127.0, 300.0, 0.0, 0.0,
        ];
        let cb = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 100.0, -100.0];
        let cr = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 100.0];
        let mut out = [0u8; 33];
        ycbcr_to_rgb(&y, &cb, &cr, 1, &mut out);
        let grey: Vec<u8> = out[..27].chunks(3).map(|p| p[0]).collect();
        assert_eq!(grey, [0, 0, 127, 128, 128, 128, 129, 255, 255]);
        assert!(out[..27].chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]));
        // Blue-difference +100 saturates blue and lowers green; red-difference +100 raises red.
        assert_eq!(&out[27..30], &[128, 94, 255]);
        assert_eq!(&out[30..33], &[255, 91, 0]);
    }

    #[test]
    fn samples_are_whole_8_bit_values_before_colour_conversion() {
        // Exact: red 128.4 + 1.402 * 0.4 = 128.96 -> 129. As a decoder's 8-bit samples: Y 128, Cr 0.
        let mut out = [0u8; 3];
        ycbcr_to_rgb(&[0.4], &[0.0], &[0.4], 1, &mut out);
        assert_eq!(out[0], 128);
        // Y past the 8-bit range is limited to 255 first, so chroma still pulls it down.
        ycbcr_to_rgb(&[130.0], &[0.0], &[-20.0], 1, &mut out);
        assert_eq!(out[0], (255.0f32 - 1.402 * 20.0).round() as u8);
    }
}
