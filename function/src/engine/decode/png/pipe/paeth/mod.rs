//! The Paeth filter's kernels, and the one place that picks among them: SSE4.1 (`sse41`) for 3- and
//! 4-byte pixels on x86-64 CPUs that have it, one row or two at once; the portable loop (`portable`)
//! for everything else, the arm64 Lambda included. Every kernel gives the portable loop's bytes (the
//! tests compare them on random and tie-heavy rows).
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
    let _ = bpp;
    false
}

/// Unfilters the Paeth row `row` of `bpp`-byte pixels under the final row `prev`.
pub(super) fn row(prev: &[u8], row: &mut [u8], bpp: usize) {
    #[cfg(target_arch = "x86_64")]
    if two_rows(bpp) {
        return sse41::row(prev, row, bpp);
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
    let _ = (prev, upper, lower, bpp);
    unreachable!("no two-row Paeth kernel for {bpp}-byte pixels here")
}
