//! The four kinds of progressive scan, coded as libjpeg-turbo's jcphuff.c codes them (T.81 annex
//! G.1.2): DC first, DC refinement, AC first and AC refinement, with the same end-of-band runs and
//! correction-bit buffering, so that the bytes agree. Each scan runs twice over its blocks, as in
//! libjpeg: once counting symbols (for its optimal Huffman table), once writing.
use super::front::Component;
use super::huffman::Sink;

/// One scan of a script: components (indices), spectral band, successive approximation bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    pub components: &'static [usize],
    pub ss: usize,
    pub se: usize,
    pub ah: u32,
    pub al: u32,
}

/// libjpeg's correction-bit buffer holds 1000 bits; an end-of-band run is forced out before the
/// next block could overflow it.
const MAX_PENDING: usize = 1000 - 64 + 1;

/// Codes `scan` of `comps` into `sink`, whose Huffman table slots are the components' tables.
pub fn code<S: Sink>(scan: &Scan, comps: &[Component], sink: &mut S) {
    if scan.ss == 0 {
        let mut last = [0i32; 4];
        for_each_dc(scan, comps, |i, ci, dc| {
            if scan.ah == 0 {
                dc_first(sink, comps[ci].table, &mut last[i], dc >> scan.al);
            } else {
                sink.bits(((dc >> scan.al) & 1) as u32, 1);
            }
        });
        return;
    }
    let comp = &comps[scan.components[0]];
    let mut state = Runs {
        table: comp.table,
        eobrun: 0,
        pending: Vec::with_capacity(MAX_PENDING),
        pending_bits: 0,
    };
    for block in &comp.blocks {
        if scan.ah == 0 {
            ac_first(sink, &mut state, block, scan);
        } else {
            ac_refine(sink, &mut state, block, scan);
        }
    }
    state.flush(sink);
}

/// Calls `f(position in scan, component, DC)` for every block of a DC scan, in stream order:
/// raster order for one component, MCU order for several. Blocks that pad an edge MCU are dummies
/// carrying the DC of the block before them, as libjpeg makes them.
fn for_each_dc(scan: &Scan, comps: &[Component], mut f: impl FnMut(usize, usize, i32)) {
    if let [ci] = scan.components {
        for block in &comps[*ci].blocks {
            f(0, *ci, block[0] as i32);
        }
        return;
    }
    // MCUs: the luma component's blocks (it has the largest sampling factors) over its factors.
    let luma = &comps[0];
    let (mcus_x, mcus_y) = (
        luma.blocks_x.div_ceil(luma.h),
        luma.blocks_y.div_ceil(luma.v),
    );
    for my in 0..mcus_y {
        for mx in 0..mcus_x {
            for (i, &ci) in scan.components.iter().enumerate() {
                let c = &comps[ci];
                let mut previous = 0;
                for v in 0..c.v {
                    for h in 0..c.h {
                        let (bx, by) = (mx * c.h + h, my * c.v + v);
                        let dc = if bx < c.blocks_x && by < c.blocks_y {
                            c.blocks[by * c.blocks_x + bx][0] as i32
                        } else {
                            previous
                        };
                        f(i, ci, dc);
                        previous = dc;
                    }
                }
            }
        }
    }
}

/// Bits needed for `v` (0 for 0).
fn bit_length(v: u32) -> u32 {
    32 - v.leading_zeros()
}

fn dc_first<S: Sink>(sink: &mut S, table: usize, last: &mut i32, value: i32) {
    let diff = value - *last;
    *last = value;
    let magnitude = diff.unsigned_abs();
    let nbits = bit_length(magnitude);
    sink.symbol(table, nbits as u8);
    if nbits > 0 {
        let bits = if diff < 0 { !magnitude } else { magnitude };
        sink.bits(bits, nbits);
    }
}

/// The end-of-band run of an AC scan and the correction bits of the blocks in it.
struct Runs {
    table: usize,
    eobrun: u32,
    /// Per block of the run: its correction bits (oldest in the high bits) and their count.
    pending: Vec<(u64, u32)>,
    pending_bits: usize,
}

impl Runs {
    /// Emits the pending end-of-band run, then its blocks' correction bits.
    fn flush<S: Sink>(&mut self, sink: &mut S) {
        if self.eobrun == 0 {
            return;
        }
        let nbits = bit_length(self.eobrun) - 1;
        sink.symbol(self.table, (nbits << 4) as u8);
        if nbits > 0 {
            sink.bits(self.eobrun, nbits);
        }
        self.eobrun = 0;
        for &(bits, count) in &self.pending {
            sink.corrections(bits, count);
        }
        self.pending.clear();
        self.pending_bits = 0;
    }
}

/// The point-transformed magnitudes of a block's band, and masks of which are nonzero, negative,
/// and exactly 1 (newly nonzero in a refinement).
#[inline(always)]
fn magnitudes(block: &[i16; 64], scan: &Scan) -> ([u16; 64], u64, u64, u64) {
    let band = &block[scan.ss..=scan.se];
    let mut abs = [0u16; 64];
    for (a, &c) in abs.iter_mut().zip(band) {
        *a = c.unsigned_abs() >> scan.al;
    }
    let (mut nonzero, mut negative, mut ones) = (0u64, 0u64, 0u64);
    for (i, (&a, &c)) in abs.iter().zip(band).enumerate() {
        nonzero |= u64::from(a != 0) << i;
        negative |= u64::from(c < 0) << i;
        ones |= u64::from(a == 1) << i;
    }
    (abs, nonzero, negative & nonzero, ones)
}

fn ac_first<S: Sink>(sink: &mut S, runs: &mut Runs, block: &[i16; 64], scan: &Scan) {
    let (abs, mut nonzero, negative, _) = magnitudes(block, scan);
    let len = scan.se - scan.ss + 1;
    if nonzero != 0 {
        runs.flush(sink);
    }
    let mut next = 0;
    while nonzero != 0 {
        let i = nonzero.trailing_zeros() as usize;
        nonzero &= nonzero - 1;
        let mut run = i - next;
        while run > 15 {
            sink.symbol(runs.table, 0xF0);
            run -= 16;
        }
        let magnitude = abs[i] as u32;
        let nbits = bit_length(magnitude);
        sink.symbol(runs.table, ((run as u32) << 4 | nbits) as u8);
        let bits = if negative >> i & 1 == 1 {
            !magnitude
        } else {
            magnitude
        };
        sink.bits(bits, nbits);
        next = i + 1;
    }
    if next < len {
        runs.eobrun += 1;
        if runs.eobrun == 0x7FFF {
            runs.flush(sink);
        }
    }
}

fn ac_refine<S: Sink>(sink: &mut S, runs: &mut Runs, block: &[i16; 64], scan: &Scan) {
    let (abs, mut nonzero, negative, ones) = magnitudes(block, scan);
    let len = scan.se - scan.ss + 1;
    // The last newly-nonzero coefficient: zero runs up to it are coded, past it they join the EOB.
    let eob = 63 - ones.leading_zeros().min(63) as usize;
    // This block's correction bits not yet written (oldest in the high bits).
    let (mut corrections, mut count) = (0u64, 0u32);
    let (mut run, mut next) = (0, 0);
    while nonzero != 0 {
        let i = nonzero.trailing_zeros() as usize;
        nonzero &= nonzero - 1;
        run += i - next;
        next = i + 1;
        while run > 15 && i <= eob {
            runs.flush(sink);
            sink.symbol(runs.table, 0xF0);
            run -= 16;
            sink.corrections(corrections, count);
            count = 0;
        }
        if abs[i] > 1 {
            corrections = corrections << 1 | u64::from(abs[i] & 1);
            count += 1;
            continue;
        }
        runs.flush(sink);
        sink.symbol(runs.table, ((run as u32) << 4 | 1) as u8);
        sink.bits(u32::from(negative >> i & 1 == 0), 1);
        sink.corrections(corrections, count);
        count = 0;
        run = 0;
    }
    if run > 0 || next < len || count > 0 {
        runs.eobrun += 1;
        if count > 0 {
            runs.pending.push((corrections, count));
            runs.pending_bits += count as usize;
        }
        if runs.eobrun == 0x7FFF || runs.pending_bits > MAX_PENDING {
            runs.flush(sink);
        }
    }
}
