//! The Paeth filter for 3- and 4-byte pixels with SSE4.1: `chain`'s loop over a pixel's channels in
//! the 16-bit lanes of an SSE register, one row or two rows at once. Bytes identical to `portable`'s
//! (`super::tests`, on noise and on runs where ties decide).
use super::chain::{self, Pixel};
use std::arch::x86_64::*;
use std::sync::OnceLock;

/// Whether this CPU has SSE4.1 (every x86-64 CPU since 2008 that Lambda or a laptop would offer).
pub(super) fn available() -> bool {
    static SSE41: OnceLock<bool> = OnceLock::new();
    *SSE41.get_or_init(|| is_x86_feature_detected!("sse4.1"))
}

/// Unfilters the Paeth row `row` of `bpp`-byte pixels (3 or 4) under the final row `prev`.
pub(super) fn row(prev: &[u8], row: &mut [u8], bpp: usize) {
    assert!(available() && (bpp == 3 || bpp == 4) && prev.len() == row.len());
    // SAFETY: SSE4.1 is present; the kernel reads and writes only inside the two slices.
    unsafe { one(prev, row, bpp) }
}

/// Unfilters the Paeth rows `upper` and `lower` (the one below it) under the final row `prev`.
pub(super) fn pair(prev: &[u8], upper: &mut [u8], lower: &mut [u8], bpp: usize) {
    assert!(available() && (bpp == 3 || bpp == 4));
    assert!(prev.len() == upper.len() && upper.len() == lower.len());
    // SAFETY: as above.
    unsafe { two(prev, upper, lower, bpp) }
}

#[target_feature(enable = "sse4.1")]
unsafe fn one(prev: &[u8], row: &mut [u8], bpp: usize) {
    chain::one::<__m128i>(prev, row, bpp)
}

#[target_feature(enable = "sse4.1")]
unsafe fn two(prev: &[u8], upper: &mut [u8], lower: &mut [u8], bpp: usize) {
    chain::two::<__m128i>(prev, upper, lower, bpp)
}

impl Pixel for __m128i {
    type Keep = __m128i;

    fn keep(bpp: usize) -> __m128i {
        // SAFETY: SSE2 is part of x86-64.
        unsafe {
            if bpp == 3 {
                _mm_set_epi16(0, 0, 0, 0, -1, 0, 0, 0)
            } else {
                _mm_setzero_si128()
            }
        }
    }

    #[inline(always)]
    unsafe fn zero() -> __m128i {
        _mm_setzero_si128()
    }

    #[inline(always)]
    unsafe fn load(p: *const u8) -> __m128i {
        _mm_unpacklo_epi8(
            _mm_cvtsi32_si128((p as *const i32).read_unaligned()),
            _mm_setzero_si128(),
        )
    }

    #[inline(always)]
    unsafe fn store(p: *mut u8, v: __m128i, x: __m128i, keep: __m128i) {
        let bytes = _mm_packus_epi16(_mm_blendv_epi8(v, x, keep), _mm_setzero_si128());
        (p as *mut i32).write_unaligned(_mm_cvtsi128_si32(bytes));
    }

    /// With 3c - b computed before `a` is known.
    #[inline(always)]
    unsafe fn unfilter(a: __m128i, b: __m128i, c: __m128i, x: __m128i) -> __m128i {
        let threshold = _mm_sub_epi16(_mm_sub_epi16(_mm_add_epi16(c, _mm_add_epi16(c, c)), b), a);
        let (lo, hi) = (_mm_min_epi16(a, b), _mm_max_epi16(a, b));
        let nearer = _mm_blendv_epi8(lo, c, _mm_cmpgt_epi16(hi, threshold));
        let predicted = _mm_blendv_epi8(hi, nearer, _mm_cmpgt_epi16(threshold, lo));
        _mm_and_si128(_mm_add_epi16(x, predicted), _mm_set1_epi16(0xff))
    }
}
