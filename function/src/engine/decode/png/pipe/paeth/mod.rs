//! The Paeth filter's kernels, and the one place that picks among them: for 3- and 4-byte pixels,
//! SSE4.1 (`sse41`) on x86-64 CPUs that have it and NEON (`neon`) on arm64, the Lambda's default, one
//! row or two at once; the portable loop (`portable`) for everything else. Every kernel gives the
//! portable loop's bytes (the tests compare them on random and tie-heavy rows, on the machine's own
//! architecture: arm64's under qemu-aarch64 with `make test-arm64`). `chain` holds the vector kernels'
//! loop, written once.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod chain;
#[cfg(target_arch = "aarch64")]
mod neon;
pub(super) mod portable;
#[cfg(target_arch = "x86_64")]
mod sse41;

/// Whether Paeth rows of `bpp`-byte pixels have a vector kernel here, which can also take two rows
/// at once (`pair`).
pub(super) fn two_rows(bpp: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    if (bpp == 3 || bpp == 4) && sse41::available() {
        return true;
    }
    cfg!(target_arch = "aarch64") && (bpp == 3 || bpp == 4)
}

/// Unfilters the Paeth row `row` of `bpp`-byte pixels under the final row `prev`.
pub(super) fn row(prev: &[u8], row: &mut [u8], bpp: usize) {
    #[cfg(target_arch = "x86_64")]
    if two_rows(bpp) {
        return sse41::row(prev, row, bpp);
    }
    #[cfg(target_arch = "aarch64")]
    if two_rows(bpp) {
        return neon::row(prev, row, bpp);
    }
    match bpp {
        1 => portable::row::<1>(prev, row),
        2 => portable::row::<2>(prev, row),
        3 => portable::row::<3>(prev, row),
        _ => portable::row::<4>(prev, row),
    }
}

/// Unfilters the Paeth rows `upper` and `lower` (the one below it) under the final row `prev`; only
/// where `two_rows(bpp)`.
pub(super) fn pair(prev: &[u8], upper: &mut [u8], lower: &mut [u8], bpp: usize) {
    #[cfg(target_arch = "x86_64")]
    if two_rows(bpp) {
        return sse41::pair(prev, upper, lower, bpp);
    }
    #[cfg(target_arch = "aarch64")]
    if two_rows(bpp) {
        return neon::pair(prev, upper, lower, bpp);
    }
    let _ = (prev, upper, lower, bpp);
    unreachable!("no two-row Paeth kernel for {bpp}-byte pixels here")
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

    /// The vector kernel picked here (SSE4.1 on x86-64, NEON on arm64) against the portable loop.
    #[test]
    fn one_row_and_two_rows_match_the_portable_filter() {
        assert!(
            two_rows(3) && two_rows(4),
            "no vector Paeth kernel on this machine (x86-64 without SSE4.1?)"
        );
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
