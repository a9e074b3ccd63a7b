//! `Plan::put` for arm64: the portable body, with the colour conversion written in NEON. The
//! compiler leaves the portable conversion's 3-byte RGB stores scalar on arm64; here eight pixels
//! go out in one `st3`. Each lane does the float operations of `idct::convert` in the same order,
//! multiplies and adds kept apart (no fused multiply-add), so the pixels are the portable kernel's,
//! which a test checks under qemu (`make test-arm64`).
use super::super::idct::{self, MAGIC};
use super::super::plan::Plan;
use super::portable;
use core::arch::aarch64::*;
use std::ops::Range;

/// `portable::put` with the NEON colour conversion. NEON is part of arm64's baseline.
pub(super) fn put<'r>(
    plan: &Plan,
    mxs: Range<usize>,
    record: impl Fn(usize) -> (&'r [i16], [i32; 3]),
    rows: &mut [u8],
    width: usize,
    planes: &mut [f32],
) {
    portable::put(plan, mxs, record, rows, width, planes, ycbcr_to_rgb)
}

/// `idct::ycbcr_to_rgb` with the NEON kernel for each run of eight pixels.
fn ycbcr_to_rgb(y: &[f32], cb: &[f32], cr: &[f32], chroma_h: usize, out: &mut [u8]) {
    idct::ycbcr_to_rgb_with(y, cb, cr, chroma_h, out, eight)
}

/// Eight pixels: `y[..8]`, `cb` and `cr[..8 / chroma_h]` (1 or 2) into `rgb[..24]` with one `st3`.
#[inline(always)]
fn eight(y: &[f32], cb: &[f32], cr: &[f32], chroma_h: usize, rgb: &mut [u8]) {
    let (y, rgb) = (&y[..8], &mut rgb[..24]);
    let (cb, cr) = (&cb[..8 / chroma_h], &cr[..8 / chroma_h]);
    // SAFETY: each load reads four floats and the store 24 bytes, all inside the slices just cut.
    unsafe {
        let (b, r) = if chroma_h == 1 {
            let b0 = sample(vld1q_f32(cb.as_ptr()));
            let b1 = sample(vld1q_f32(cb.as_ptr().add(4)));
            let r0 = sample(vld1q_f32(cr.as_ptr()));
            let r1 = sample(vld1q_f32(cr.as_ptr().add(4)));
            ([b0, b1], [r0, r1])
        } else {
            // Four chroma samples, each for two pixels.
            let b = sample(vld1q_f32(cb.as_ptr()));
            let r = sample(vld1q_f32(cr.as_ptr()));
            (
                [vzip1q_f32(b, b), vzip2q_f32(b, b)],
                [vzip1q_f32(r, r), vzip2q_f32(r, r)],
            )
        };
        let y0 = vaddq_f32(sample(vld1q_f32(y.as_ptr())), vdupq_n_f32(128.0));
        let y1 = vaddq_f32(sample(vld1q_f32(y.as_ptr().add(4))), vdupq_n_f32(128.0));
        let red = bytes(
            vaddq_f32(y0, vmulq_n_f32(r[0], 1.402)),
            vaddq_f32(y1, vmulq_n_f32(r[1], 1.402)),
        );
        let green = bytes(
            vsubq_f32(
                vsubq_f32(y0, vmulq_n_f32(b[0], 0.344_136)),
                vmulq_n_f32(r[0], 0.714_136),
            ),
            vsubq_f32(
                vsubq_f32(y1, vmulq_n_f32(b[1], 0.344_136)),
                vmulq_n_f32(r[1], 0.714_136),
            ),
        );
        let blue = bytes(
            vaddq_f32(y0, vmulq_n_f32(b[0], 1.772)),
            vaddq_f32(y1, vmulq_n_f32(b[1], 1.772)),
        );
        vst3_u8(rgb.as_mut_ptr(), uint8x8x3_t(red, green, blue));
    }
}

/// `idct::sample` on four lanes.
///
/// # Safety
/// None beyond NEON, which every arm64 CPU has; `unsafe` only because the intrinsics are.
#[inline(always)]
unsafe fn sample(v: float32x4_t) -> float32x4_t {
    let magic = vdupq_n_f32(MAGIC);
    let r = vsubq_f32(vaddq_f32(v, magic), magic);
    let scaled = vmulq_n_f32(vaddq_f32(r, vdupq_n_f32(512.0)), 1.0 / 1024.0);
    let shifted = vsubq_f32(scaled, vdupq_n_f32(0.5 - 1.0 / 2048.0));
    let wraps = vsubq_f32(vaddq_f32(shifted, magic), magic);
    let wrapped = vsubq_f32(r, vmulq_n_f32(wraps, 1024.0));
    vminq_f32(vmaxq_f32(wrapped, vdupq_n_f32(-128.0)), vdupq_n_f32(127.0))
}

/// `idct::to_u8` on eight lanes: clamped to 0..=255, rounded by the magic number, the low byte kept.
///
/// # Safety
/// As `sample`.
#[inline(always)]
unsafe fn bytes(lo: float32x4_t, hi: float32x4_t) -> uint8x8_t {
    let byte = |v: float32x4_t| {
        let clamped = vminq_f32(vmaxq_f32(v, vdupq_n_f32(0.0)), vdupq_n_f32(255.0));
        vmovn_u32(vreinterpretq_u32_f32(vaddq_f32(
            clamped,
            vdupq_n_f32(MAGIC),
        )))
    };
    vmovn_u16(vcombine_u16(byte(lo), byte(hi)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The conversion alone, over far more values than whole rows of MCUs give: every sample the
    /// range limit keeps, fractions near each rounding boundary, and values that wrap; row lengths with
    /// and without a tail.
    #[test]
    fn the_colour_conversion_matches_the_portable_one() {
        let mut seed = 0x2545_f491_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut compared = 0;
        for round in 0..400usize {
            let len = 8 * (1 + round % 16) + round % 8;
            // Half the values near a rounding boundary (k + 0.5 ± a little), half anywhere in ±1100.
            let mut value = || {
                let r = next();
                if r & 1 == 0 {
                    (r >> 8) as f32 / (1 << 24) as f32 * 2200.0 - 1100.0
                } else {
                    ((r >> 8) % 300) as f32 - 150.5 + ((r >> 1) % 7) as f32 * 1e-4 - 3e-4
                }
            };
            let y: Vec<f32> = (0..len).map(|_| value()).collect();
            let cb: Vec<f32> = (0..len).map(|_| value()).collect();
            let cr: Vec<f32> = (0..len).map(|_| value()).collect();
            for h in [1, 2] {
                let chroma = len.div_ceil(h);
                let mut want = vec![0u8; len * 3];
                let mut got = vec![1u8; len * 3];
                idct::ycbcr_to_rgb(&y, &cb[..chroma], &cr[..chroma], h, &mut want);
                ycbcr_to_rgb(&y, &cb[..chroma], &cr[..chroma], h, &mut got);
                assert_eq!(got, want, "length {len}, chroma every {h} pixels");
                compared += len;
            }
        }
        assert!(compared > 50_000, "{compared} pixels");
    }

    /// Every pixel the range limit lets through: each (Y, Cb, Cr) of whole samples, 2^24 in all.
    #[test]
    fn the_colour_conversion_matches_the_portable_one_on_every_8_bit_pixel() {
        let y: Vec<f32> = (0..256).map(|v| (v - 128) as f32).collect();
        let (mut want, mut got) = (vec![0u8; 256 * 3], vec![0u8; 256 * 3]);
        for cb in -128..128 {
            for cr in -128..128 {
                let (cb, cr) = ([cb as f32; 256], [cr as f32; 256]);
                idct::ycbcr_to_rgb(&y, &cb, &cr, 1, &mut want);
                ycbcr_to_rgb(&y, &cb, &cr, 1, &mut got);
                assert!(got == want, "Cb {} Cr {}", cb[0], cr[0]);
            }
        }
    }
}
