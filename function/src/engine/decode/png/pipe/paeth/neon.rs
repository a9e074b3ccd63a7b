//! The Paeth filter for 3- and 4-byte pixels with NEON (part of every arm64 CPU, the Lambda's Graviton
//! included): `chain`'s loop over a pixel's channels in four 16-bit lanes, one row or two rows at once,
//! with NEON's bit select where SSE4.1 blends. Bytes identical to `portable`'s (`super::tests`, run on
//! arm64 or under qemu-aarch64: `make test-arm64`).
use super::chain::{self, Pixel};
use std::arch::aarch64::*;

/// Unfilters the Paeth row `row` of `bpp`-byte pixels (3 or 4) under the final row `prev`.
pub(super) fn row(prev: &[u8], row: &mut [u8], bpp: usize) {
    assert!((bpp == 3 || bpp == 4) && prev.len() == row.len());
    // SAFETY: NEON is part of aarch64; the kernel reads and writes only inside the two slices.
    unsafe { chain::one::<int16x4_t>(prev, row, bpp) }
}

/// Unfilters the Paeth rows `upper` and `lower` (the one below it) under the final row `prev`.
pub(super) fn pair(prev: &[u8], upper: &mut [u8], lower: &mut [u8], bpp: usize) {
    assert!(bpp == 3 || bpp == 4);
    assert!(prev.len() == upper.len() && upper.len() == lower.len());
    // SAFETY: as above.
    unsafe { chain::two::<int16x4_t>(prev, upper, lower, bpp) }
}

impl Pixel for int16x4_t {
    type Keep = uint16x4_t;

    fn keep(bpp: usize) -> uint16x4_t {
        // SAFETY: NEON is part of aarch64.
        unsafe { vcreate_u16(if bpp == 3 { 0xFFFF << 48 } else { 0 }) }
    }

    #[inline(always)]
    unsafe fn zero() -> int16x4_t {
        vdup_n_s16(0)
    }

    #[inline(always)]
    unsafe fn load(p: *const u8) -> int16x4_t {
        let bytes = vcreate_u8((p as *const u32).read_unaligned() as u64);
        vreinterpret_s16_u16(vget_low_u16(vmovl_u8(bytes)))
    }

    #[inline(always)]
    unsafe fn store(p: *mut u8, v: int16x4_t, x: int16x4_t, keep: uint16x4_t) {
        let lanes = vreinterpret_u16_s16(vbsl_s16(keep, x, v));
        let bytes = vmovn_u16(vcombine_u16(lanes, vdup_n_u16(0)));
        (p as *mut u32).write_unaligned(vget_lane_u32::<0>(vreinterpret_u32_u8(bytes)));
    }

    /// With 3c - b computed before `a` is known.
    #[inline(always)]
    unsafe fn unfilter(a: int16x4_t, b: int16x4_t, c: int16x4_t, x: int16x4_t) -> int16x4_t {
        let threshold = vsub_s16(vsub_s16(vadd_s16(c, vadd_s16(c, c)), b), a);
        let (lo, hi) = (vmin_s16(a, b), vmax_s16(a, b));
        let nearer = vbsl_s16(vcgt_s16(hi, threshold), c, lo);
        let predicted = vbsl_s16(vcgt_s16(threshold, lo), nearer, hi);
        vand_s16(vadd_s16(x, predicted), vdup_n_s16(0xff))
    }
}
