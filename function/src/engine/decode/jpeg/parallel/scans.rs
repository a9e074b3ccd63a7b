//! The four kinds of progressive scan, one block at a time (ITU T.81 annex G, as libjpeg's jdphuff.c
//! reads them): DC first, DC refinement, AC first and AC refinement. Only the coefficients that the
//! scaled IDCT reads are kept; of every other one a bit per block says whether it is nonzero yet, which is
//! all that a refinement scan needs to find its way through a block (a correction bit follows each
//! coefficient that is already nonzero). The storage is shared between the scans that run at once, in
//! atomics read and written with `Relaxed` order (plain loads and stores), because no two scans touch the
//! same coefficient at the same time: see `progressive`.
use super::huffman::{Bits, Invalid, Table};
use std::sync::atomic::{AtomicI16, AtomicU64, Ordering::Relaxed};

/// One block's storage: the kept coefficients in kept order (`[0]` is the DC) and, by zigzag
/// position, which coefficients are nonzero so far.
pub(super) struct Block<'a> {
    pub(super) kept: &'a [AtomicI16],
    pub(super) nonzero: &'a AtomicU64,
}

/// What an AC scan decodes: zigzag positions `ss..=se`, scaled by `1 << al`; `slot` is the kept index
/// of each zigzag position (past `kept`: not kept), `kept_mask` the kept positions as bits.
pub(super) struct Band<'a> {
    pub(super) ss: usize,
    pub(super) se: usize,
    pub(super) al: u32,
    pub(super) slot: &'a [u8; 64],
    pub(super) kept_mask: u64,
}

/// Bits `from..=to` (none when `from > to`).
fn span(from: usize, to: usize) -> u64 {
    if from > to || from > 63 {
        return 0;
    }
    (u64::MAX << from) & (u64::MAX >> (63 - to.min(63)))
}

impl Bits<'_> {
    /// A DC first scan's block: the difference from `pred`, which it updates; gives the DC scaled.
    #[inline(always)]
    pub(super) fn dc_first(&mut self, dc: &Table, pred: &mut i32, al: u32) -> Result<i16, Invalid> {
        self.refill();
        *pred = pred.wrapping_add(self.dc_difference(dc)?);
        Ok(pred.wrapping_shl(al) as i16)
    }

    /// A DC refinement scan's block: one more bit of the DC.
    #[inline(always)]
    pub(super) fn dc_refine(&mut self, dc: &AtomicI16, al: u32) {
        if self.bit() {
            dc.store(dc.load(Relaxed) | 1 << al, Relaxed);
        }
    }

    /// An AC first scan's block. `eobrun` counts the blocks left in a run of empty ones.
    #[inline(always)]
    pub(super) fn ac_first(
        &mut self,
        ac: &Table,
        eobrun: &mut u32,
        band: &Band,
        block: &Block,
    ) -> Result<(), Invalid> {
        if *eobrun > 0 {
            *eobrun -= 1;
            return Ok(());
        }
        let mut nonzero = 0u64;
        let mut k = band.ss;
        while k <= band.se {
            self.refill();
            let (run, value) = self.ac_symbol(ac)?;
            if value != 0 {
                k += run as usize;
                if k > band.se {
                    return Err(Invalid);
                }
                nonzero |= 1 << k;
                if let Some(c) = block.kept.get(band.slot[k] as usize) {
                    c.store(value.wrapping_shl(band.al) as i16, Relaxed);
                }
                k += 1;
            } else if run == 15 {
                k += 16;
            } else {
                // An end of band, for this block and `2^run - 1 + extra` more.
                *eobrun = (1 << run) - 1 + self.get_bits(run);
                break;
            }
        }
        if nonzero != 0 {
            block
                .nonzero
                .store(block.nonzero.load(Relaxed) | nonzero, Relaxed);
        }
        Ok(())
    }

    /// An AC refinement scan's block: new coefficients of magnitude `1 << al`, each after a run of
    /// coefficients that are still zero, and a correction bit for every nonzero one passed on the way.
    #[inline(always)]
    pub(super) fn ac_refine(
        &mut self,
        ac: &Table,
        eobrun: &mut u32,
        band: &Band,
        block: &Block,
    ) -> Result<(), Invalid> {
        let (plus, minus) = (1i16 << band.al, -1i16 << band.al);
        let mut nonzero = block.nonzero.load(Relaxed);
        let mut k = band.ss;
        if *eobrun == 0 {
            while k <= band.se {
                self.refill();
                let (run, sign) = self.ac_symbol(ac)?;
                let value = match sign {
                    1 => plus,
                    -1 => minus,
                    0 if run == 15 => 0,
                    0 => {
                        *eobrun = (1 << run) + self.get_bits(run);
                        break;
                    }
                    _ => return Err(Invalid),
                };
                // The new coefficient goes to the (run + 1)-th position from k that is still zero.
                let mut zeros = !nonzero & span(k, band.se);
                for _ in 0..run {
                    zeros &= zeros.wrapping_sub(1);
                }
                let at = if zeros == 0 {
                    band.se + 1
                } else {
                    zeros.trailing_zeros() as usize
                };
                self.correct(nonzero & span(k, at - 1), band, block);
                if value != 0 {
                    if at > band.se {
                        return Err(Invalid);
                    }
                    nonzero |= 1 << at;
                    if let Some(c) = block.kept.get(band.slot[at] as usize) {
                        c.store(value, Relaxed);
                    }
                }
                k = at + 1;
            }
        }
        if *eobrun > 0 {
            // The rest of the band holds no new coefficient, only corrections.
            self.correct(nonzero & span(k, band.se), band, block);
            *eobrun -= 1;
        }
        block.nonzero.store(nonzero, Relaxed);
        Ok(())
    }

    /// Reads the correction bits of the nonzero coefficients `mask` (in zigzag order), applying those of
    /// the kept ones: a set bit adds `1 << al` to the magnitude, unless that bit is already set.
    #[inline(always)]
    fn correct(&mut self, mask: u64, band: &Band, block: &Block) {
        let kept = mask & band.kept_mask;
        if kept == 0 {
            self.skip_bits(mask.count_ones());
            return;
        }
        // Kept positions come first in zigzag order up to the last one kept; past that, only bits to
        // skip. (Reading all the bits at once and finding each kept one's by its rank among the nonzero
        // ones was 2.5 ms slower on a 13 MP photo: x86-64 without POPCNT counts bits in software.)
        let last = 63 - kept.leading_zeros() as usize;
        let mut below = mask & span(0, last);
        while below != 0 {
            let k = below.trailing_zeros() as usize;
            below &= below - 1;
            if self.bit() && kept & 1 << k != 0 {
                refine(&block.kept[band.slot[k] as usize], band.al);
            }
        }
        self.skip_bits((mask & !span(0, last)).count_ones());
    }
}

/// Applies a set correction bit to a nonzero coefficient: one more bit of magnitude `1 << al`, unless
/// it already has it.
#[inline(always)]
fn refine(c: &AtomicI16, al: u32) {
    let v = c.load(Relaxed);
    if v & 1 << al == 0 {
        let step = if v >= 0 { 1i16 } else { -1 };
        c.store(v.wrapping_add(step << al), Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn span_is_inclusive_and_empty_when_reversed() {
        assert_eq!(span(0, 63), u64::MAX);
        assert_eq!(span(1, 5), 0b11_1110);
        assert_eq!(span(63, 63), 1 << 63);
        assert_eq!(span(6, 5), 0);
        assert_eq!(span(64, 63), 0);
    }
}
