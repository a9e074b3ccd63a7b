//! The scaled inverse DCT and colour conversion of one MCU. A block shrunk to `nh` x `nv` pixels is the
//! `nh` x `nv` inverse DCT of its top-left (lowest-frequency) coefficients, scaled so that the DC stays the
//! block's mean: an 8:n shrink with an ideal low-pass inside each block. Chroma blocks are shrunk less
//! than luma by their subsampling factor, so that every plane of the MCU comes out at the output
//! resolution and no upsampling pass is needed (libjpeg-turbo does the same for its scaled output).

/// `BASIS[log2 n][y][u]`: the weight of frequency `u` at output pixel `y` for an `n`-point shrink,
/// `0.5 * c(u) * cos((2y + 1) u pi / 2n)` with `c(0) = 1/sqrt(2)` (a test recomputes it). Literal so
/// that the compiler folds the small sizes.
#[rustfmt::skip]
#[allow(clippy::excessive_precision)]
const BASIS: [[[f32; 8]; 8]; 4] = [
    [
        [0.353553391, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    ],
    [
        [0.353553391, 0.353553391, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.353553391, -0.353553391, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    ],
    [
        [0.353553391, 0.461939766, 0.353553391, 0.191341716, 0.0, 0.0, 0.0, 0.0],
        [0.353553391, 0.191341716, -0.353553391, -0.461939766, 0.0, 0.0, 0.0, 0.0],
        [0.353553391, -0.191341716, -0.353553391, 0.461939766, 0.0, 0.0, 0.0, 0.0],
        [0.353553391, -0.461939766, 0.353553391, -0.191341716, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    ],
    [
        [0.353553391, 0.49039264, 0.461939766, 0.415734806, 0.353553391, 0.277785117, 0.191341716, 0.097545161],
        [0.353553391, 0.415734806, 0.191341716, -0.097545161, -0.353553391, -0.49039264, -0.461939766, -0.277785117],
        [0.353553391, 0.277785117, -0.191341716, -0.49039264, -0.353553391, 0.097545161, 0.461939766, 0.415734806],
        [0.353553391, 0.097545161, -0.461939766, -0.277785117, 0.353553391, 0.415734806, -0.191341716, -0.49039264],
        [0.353553391, -0.097545161, -0.461939766, 0.277785117, 0.353553391, -0.415734806, -0.191341716, 0.49039264],
        [0.353553391, -0.277785117, -0.191341716, 0.49039264, -0.353553391, -0.097545161, 0.461939766, -0.415734806],
        [0.353553391, -0.415734806, 0.191341716, 0.097545161, -0.353553391, 0.49039264, -0.461939766, 0.277785117],
        [0.353553391, -0.49039264, 0.461939766, -0.415734806, 0.353553391, -0.277785117, 0.191341716, -0.097545161],
    ],
];

/// One block's kept coefficients (`NH` x `NV`, row-major, not dequantised) to level-shifted pixels in
/// `out` at `stride`; `dc` replaces the first coefficient.
#[inline(always)]
fn idct<const NH: usize, const NV: usize>(
    kept: &[i16],
    dc: i16,
    quant: &[f32; 64],
    out: &mut [f32],
    stride: usize,
) {
    let (bh, bv) = (
        &BASIS[NH.trailing_zeros() as usize],
        &BASIS[NV.trailing_zeros() as usize],
    );
    let kept = &kept[..NH * NV];
    let mut coef = [[0f32; NH]; NV];
    for (v, row) in coef.iter_mut().enumerate() {
        for (u, c) in row.iter_mut().enumerate() {
            *c = kept[v * NH + u] as f32 * quant[v * NH + u];
        }
    }
    coef[0][0] = dc as f32 * quant[0];
    let mut rows = [[0f32; NH]; NV];
    for (v, row) in rows.iter_mut().enumerate() {
        for (x, px) in row.iter_mut().enumerate() {
            *px = (0..NH).map(|u| bh[x][u] * coef[v][u]).sum();
        }
    }
    for y in 0..NV {
        let line = &mut out[y * stride..y * stride + NH];
        for (x, px) in line.iter_mut().enumerate() {
            *px = (0..NV).map(|v| bv[y][v] * rows[v][x]).sum();
        }
    }
}

/// The IDCT for a block shrunk to `nh` x `nv` (each 1, 2, 4 or 8); `quant` is in kept order.
pub fn shrink(
    nh: usize,
    nv: usize,
    kept: &[i16],
    dc: i16,
    quant: &[f32; 64],
    out: &mut [f32],
    stride: usize,
) {
    macro_rules! sizes {
        ($(($h:literal, $v:literal)),*) => {
            match (nh, nv) {
                (1, 1) => out[0] = dc as f32 * quant[0] * 0.125,
                $(($h, $v) => idct::<$h, $v>(kept, dc, quant, out, stride),)*
                _ => unreachable!("block shrink {nh}x{nv} is not planned"),
            }
        };
    }
    sizes!(
        (2, 2),
        (2, 1),
        (1, 2),
        (4, 4),
        (4, 2),
        (2, 4),
        (8, 8),
        (8, 4),
        (4, 8)
    );
}

/// JFIF YCbCr (level-shifted planes, one row each) to one row of RGB8.
pub fn ycbcr_to_rgb(y: &[f32], cb: &[f32], cr: &[f32], out: &mut [u8]) {
    for (((px, &y), &b), &r) in out.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
        let y = y + 128.5;
        // `as u8` saturates: below 0 gives 0, above 255 gives 255.
        px[0] = (y + 1.402 * r) as u8;
        px[1] = (y - 0.344_136 * b - 0.714_136 * r) as u8;
        px[2] = (y + 1.772 * b) as u8;
    }
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
        for (nh, nv) in [(1, 1), (2, 2), (4, 2), (8, 8), (4, 8)] {
            let kept = vec![0i16; nh * nv];
            let mut quant = [1f32; 64];
            quant[0] = 4.0;
            let mut out = vec![0f32; 64];
            shrink(nh, nv, &kept, 80, &quant, &mut out, 8);
            for y in 0..nv {
                for x in 0..nh {
                    assert!((out[y * 8 + x] - 40.0).abs() < 1e-3, "{nh}x{nv} at {x},{y}");
                }
            }
        }
    }

    #[test]
    fn first_horizontal_frequency_brightens_the_left_half() {
        let kept = [0, 100, 0, 0]; // u = 1, v = 0
        let mut out = vec![0f32; 4];
        shrink(2, 2, &kept, 0, &[1f32; 64], &mut out, 2);
        assert!(out[0] > 0.0 && out[1] < 0.0 && (out[0] + out[1]).abs() < 1e-3);
        assert_eq!(out[0], out[2]);
    }
}
