//! The vector kernels' loop, written once for every instruction set: Paeth is a chain from each pixel
//! to the next (the left neighbour is the pixel just unfiltered), so its speed is the chain's latency,
//! not arithmetic. A pixel's channels sit in one vector; two rows at once run two chains, the lower row
//! a pixel behind the upper so that its "above" is the upper pixel just computed, still in a register.
//! Each instruction set (`sse41`, `neon`) supplies the per-pixel operations (`Pixel`) and calls `one`
//! and `two` from a function compiled for it, into which everything here is inlined.
use super::portable;

/// One pixel's 3 or 4 channels as 16-bit lanes of an instruction set's vector.
pub(super) trait Pixel: Copy {
    /// Which lanes a store keeps as they were (lane 3 for 3-byte pixels: the next pixel's first byte).
    type Keep: Copy;
    fn keep(bpp: usize) -> Self::Keep;
    unsafe fn zero() -> Self;
    /// A pixel's 4 bytes (the next pixel's first byte too, for 3-byte pixels).
    unsafe fn load(p: *const u8) -> Self;
    /// Stores `v`, with the lanes `keep` names taken from `x`.
    unsafe fn store(p: *mut u8, v: Self, x: Self, keep: Self::Keep);
    /// `x` (as stored) plus the Paeth predictor of left `a`, above `b`, upper-left `c`, in stb_image's
    /// form (`portable::paeth_stb`).
    unsafe fn unfilter(a: Self, b: Self, c: Self, x: Self) -> Self;
}

/// One row's state in the vector loop: its left and upper-left pixels, and the next pixel's bytes,
/// loaded before the store before them, which overlaps them for 3-byte pixels, so that no load waits
/// on a store.
struct Lane<P> {
    a: P,
    c: P,
    x_next: P,
}

impl<P: Pixel> Lane<P> {
    #[inline(always)]
    unsafe fn new(row: *const u8) -> Lane<P> {
        Lane {
            a: P::zero(),
            c: P::zero(),
            x_next: P::load(row),
        }
    }

    /// Unfilters pixel `i` of `n` (`i + 1 < n`: the last is the Rust tail's) of `row`, under `b`.
    #[inline(always)]
    unsafe fn step(&mut self, row: *mut u8, i: usize, n: usize, b: P, bpp: usize, keep: P::Keep) {
        let (at, x) = (i * bpp, self.x_next);
        if i + 2 < n {
            self.x_next = P::load(row.add(at + bpp));
        }
        let v = P::unfilter(self.a, b, self.c, x);
        P::store(row.add(at), v, x, keep);
        (self.a, self.c) = (v, b);
    }
}

/// Unfilters `row` of `bpp`-byte pixels (3 or 4) under `prev`: every pixel but the last through the
/// vector loop (its 4-byte loads and stores stay inside the row), the last one in Rust.
#[inline(always)]
pub(super) unsafe fn one<P: Pixel>(prev: &[u8], row: &mut [u8], bpp: usize) {
    let n = row.len() / bpp;
    if n == 0 {
        return;
    }
    let keep = P::keep(bpp);
    let (rp, pp) = (row.as_mut_ptr(), prev.as_ptr());
    let mut lane = Lane::<P>::new(rp);
    for i in 0..n - 1 {
        lane.step(rp, i, n, P::load(pp.add(i * bpp)), bpp, keep);
    }
    portable::tail(prev, row, bpp, n - 1);
}

/// Unfilters `upper` under `prev` and `lower` under `upper`: the upper row's pixel j and the lower
/// row's pixel j - 1 in each step; the upper row's last pixel and the lower row's last two in Rust.
#[inline(always)]
pub(super) unsafe fn two<P: Pixel>(prev: &[u8], upper: &mut [u8], lower: &mut [u8], bpp: usize) {
    let n = upper.len() / bpp;
    if n < 3 {
        one::<P>(prev, upper, bpp);
        one::<P>(upper, lower, bpp);
        return;
    }
    let keep = P::keep(bpp);
    let (up, lp, pp) = (upper.as_mut_ptr(), lower.as_mut_ptr(), prev.as_ptr());
    let (mut high, mut low) = (Lane::<P>::new(up), Lane::<P>::new(lp));
    for j in 0..n - 1 {
        // Above the lower pixel j - 1: the upper pixel j - 1, still in the upper lane.
        let above = high.a;
        high.step(up, j, n, P::load(pp.add(j * bpp)), bpp, keep);
        if j > 0 {
            low.step(lp, j - 1, n, above, bpp, keep);
        }
    }
    portable::tail(prev, upper, bpp, n - 1);
    portable::tail(upper, lower, bpp, n - 2);
}
