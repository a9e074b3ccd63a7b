//! The Paeth filter in plain Rust, for every pixel size and every architecture: the reference the
//! vector kernels are tested against, and the kernel wherever there is no vector one.

/// Unfilters the Paeth row `row` of `B`-byte pixels under the final row `prev`, a pixel at a time
/// with the neighbours carried in arrays (the form of the `png` crate's own filters, and as fast).
pub(super) fn row<const B: usize>(prev: &[u8], row: &mut [u8]) {
    // Left and upper-left as i16, the predictor's arithmetic.
    let (mut a, mut c) = ([0i16; B], [0i16; B]);
    for (x, b) in row.chunks_exact_mut(B).zip(prev.chunks_exact(B)) {
        for i in 0..B {
            x[i] = x[i].wrapping_add(paeth(a[i], b[i] as i16, c[i]));
        }
        a = std::array::from_fn(|i| x[i] as i16);
        c = std::array::from_fn(|i| b[i] as i16);
    }
}

/// Pixels `from..` of `row` in Rust, their neighbours read back from memory.
pub(super) fn tail(prev: &[u8], row: &mut [u8], bpp: usize, from: usize) {
    for at in from * bpp..row.len() {
        let (a, c) = match at.checked_sub(bpp) {
            Some(left) => (row[left] as i16, prev[left] as i16),
            None => (0, 0),
        };
        row[at] = row[at].wrapping_add(paeth_stb(a, prev[at] as i16, c));
    }
}

/// The Paeth predictor: whichever of left `a`, above `b` and upper-left `c` is closest to a + b - c,
/// ties in that order. On x86-64 in stb_image's branch-free form, which the `png` crate measured as the
/// faster one there; on ARM the `png` crate found the specification's form faster.
#[inline(always)]
fn paeth(a: i16, b: i16, c: i16) -> u8 {
    if cfg!(target_arch = "x86_64") {
        paeth_stb(a, b, c)
    } else {
        paeth_spec(a, b, c)
    }
}

#[inline(always)]
pub(in crate::engine::decode::png::pipe) fn paeth_stb(a: i16, b: i16, c: i16) -> u8 {
    let threshold = c * 3 - (a + b);
    let (lo, hi) = (a.min(b), a.max(b));
    let nearer = if hi <= threshold { lo } else { c };
    (if threshold <= lo { hi } else { nearer }) as u8
}

#[inline(always)]
pub(in crate::engine::decode::png::pipe) fn paeth_spec(a: i16, b: i16, c: i16) -> u8 {
    let (pa, pb, pc) = ((b - c).abs(), (a - c).abs(), (a + b - 2 * c).abs());
    (if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }) as u8
}
