//! The Paeth filter for 3- and 4-byte pixels with SSE4.1, a pixel's channels in one vector, one row or
//! two rows at once. Paeth is a chain from each pixel to the next (the left neighbour is the pixel just
//! unfiltered), so its speed is the chain's latency, not arithmetic; two rows at once run two chains,
//! the lower row a pixel behind the upper so that its "above" is the upper pixel just computed, still in
//! a register. Bytes identical to `portable`'s (tested on noise and on runs where ties decide).
use super::portable;
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

/// A pixel's 4 bytes (the next pixel's first byte too, for 3-byte pixels) as 16-bit lanes.
#[inline(always)]
unsafe fn load(p: *const u8) -> __m128i {
    _mm_unpacklo_epi8(
        _mm_cvtsi32_si128((p as *const i32).read_unaligned()),
        _mm_setzero_si128(),
    )
}

/// Stores the pixel `v`, with lane 3 taken from `x` where `keep` says so (the next pixel's first byte
/// as it was, for 3-byte pixels).
#[inline(always)]
unsafe fn store(p: *mut u8, v: __m128i, x: __m128i, keep: __m128i) {
    let bytes = _mm_packus_epi16(_mm_blendv_epi8(v, x, keep), _mm_setzero_si128());
    (p as *mut i32).write_unaligned(_mm_cvtsi128_si32(bytes));
}

/// One pixel: `x` (as stored) plus the Paeth predictor of left `a`, above `b`, upper-left `c`, in
/// stb_image's form (`portable::paeth_stb`), with 3c - b computed before `a` is known.
#[inline(always)]
unsafe fn pixel(a: __m128i, b: __m128i, c: __m128i, x: __m128i) -> __m128i {
    let threshold = _mm_sub_epi16(_mm_sub_epi16(_mm_add_epi16(c, _mm_add_epi16(c, c)), b), a);
    let (lo, hi) = (_mm_min_epi16(a, b), _mm_max_epi16(a, b));
    let nearer = _mm_blendv_epi8(lo, c, _mm_cmpgt_epi16(hi, threshold));
    let predicted = _mm_blendv_epi8(hi, nearer, _mm_cmpgt_epi16(threshold, lo));
    _mm_and_si128(_mm_add_epi16(x, predicted), _mm_set1_epi16(0xff))
}

fn keep_mask(bpp: usize) -> __m128i {
    // SAFETY: SSE2 is part of x86-64.
    unsafe {
        if bpp == 3 {
            _mm_set_epi16(0, 0, 0, 0, -1, 0, 0, 0)
        } else {
            _mm_setzero_si128()
        }
    }
}

/// One row's state in the vector loop: its left and upper-left pixels, and the next pixel's bytes,
/// loaded before the store before them, which overlaps them for 3-byte pixels, so that no load waits
/// on a store.
struct Lane {
    a: __m128i,
    c: __m128i,
    x_next: __m128i,
}

impl Lane {
    #[inline(always)]
    unsafe fn new(row: *const u8) -> Lane {
        let zero = _mm_setzero_si128();
        Lane {
            a: zero,
            c: zero,
            x_next: load(row),
        }
    }

    /// Unfilters pixel `i` of `n` (`i + 1 < n`: the last is the Rust tail's) of `row`, under `b`.
    #[inline(always)]
    unsafe fn step(
        &mut self,
        row: *mut u8,
        i: usize,
        n: usize,
        b: __m128i,
        bpp: usize,
        keep: __m128i,
    ) {
        let (at, x) = (i * bpp, self.x_next);
        if i + 2 < n {
            self.x_next = load(row.add(at + bpp));
        }
        let v = pixel(self.a, b, self.c, x);
        store(row.add(at), v, x, keep);
        (self.a, self.c) = (v, b);
    }
}

/// Every pixel but the last through the vector loop (its 4-byte loads and stores stay inside the
/// row), the last one in Rust.
#[target_feature(enable = "sse4.1")]
unsafe fn one(prev: &[u8], row: &mut [u8], bpp: usize) {
    let n = row.len() / bpp;
    if n == 0 {
        return;
    }
    let keep = keep_mask(bpp);
    let (rp, pp) = (row.as_mut_ptr(), prev.as_ptr());
    let mut lane = Lane::new(rp);
    for i in 0..n - 1 {
        lane.step(rp, i, n, load(pp.add(i * bpp)), bpp, keep);
    }
    tail(prev, row, bpp, n - 1);
}

/// The upper row's pixel j and the lower row's pixel j - 1 in each step; the upper row's last pixel
/// and the lower row's last two in Rust.
#[target_feature(enable = "sse4.1")]
unsafe fn two(prev: &[u8], upper: &mut [u8], lower: &mut [u8], bpp: usize) {
    let n = upper.len() / bpp;
    if n < 3 {
        one(prev, upper, bpp);
        one(upper, lower, bpp);
        return;
    }
    let keep = keep_mask(bpp);
    let (up, lp, pp) = (upper.as_mut_ptr(), lower.as_mut_ptr(), prev.as_ptr());
    let (mut high, mut low) = (Lane::new(up), Lane::new(lp));
    for j in 0..n - 1 {
        // Above the lower pixel j - 1: the upper pixel j - 1, still in the upper lane.
        let above = high.a;
        high.step(up, j, n, load(pp.add(j * bpp)), bpp, keep);
        if j > 0 {
            low.step(lp, j - 1, n, above, bpp, keep);
        }
    }
    tail(prev, upper, bpp, n - 1);
    tail(upper, lower, bpp, n - 2);
}

/// Pixels `from..` of `row` in Rust, their neighbours read back from memory.
fn tail(prev: &[u8], row: &mut [u8], bpp: usize, from: usize) {
    for at in from * bpp..row.len() {
        let (a, c) = match at.checked_sub(bpp) {
            Some(left) => (row[left] as i16, prev[left] as i16),
            None => (0, 0),
        };
        row[at] = row[at].wrapping_add(portable::paeth_stb(a, prev[at] as i16, c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of noise and of runs (where ties between the neighbours decide), `n` pixels wide.
    fn rows(n: usize, bpp: usize, seed: u32) -> [Vec<u8>; 3] {
        let mut state = seed;
        std::array::from_fn(|r| {
            (0..n * bpp)
                .map(|i| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    if (seed + r as u32).is_multiple_of(3) {
                        (i / 5 * 40) as u8
                    } else {
                        (state >> 24) as u8
                    }
                })
                .collect()
        })
    }

    #[test]
    fn one_row_and_two_rows_match_the_portable_filter() {
        assert!(available(), "an x86-64 machine without SSE4.1");
        for bpp in [3, 4] {
            for n in (0..=9).chain([64, 101]) {
                for seed in 0..6 {
                    let [prev, upper, lower] = rows(n, bpp, seed);
                    let (mut want_upper, mut want_lower) = (upper.clone(), lower.clone());
                    let paeth = |prev: &[u8], row: &mut [u8]| match bpp {
                        3 => portable::row::<3>(prev, row),
                        _ => portable::row::<4>(prev, row),
                    };
                    paeth(&prev, &mut want_upper);
                    paeth(&want_upper, &mut want_lower);
                    let mut got = upper.clone();
                    row(&prev, &mut got, bpp);
                    assert_eq!(got, want_upper, "one row, bpp {bpp}, {n} px, seed {seed}");
                    let (mut got_upper, mut got_lower) = (upper.clone(), lower.clone());
                    pair(&prev, &mut got_upper, &mut got_lower, bpp);
                    assert_eq!(got_upper, want_upper, "pair's upper, bpp {bpp}, {n} px");
                    assert_eq!(got_lower, want_lower, "pair's lower, bpp {bpp}, {n} px");
                }
            }
        }
    }
}
