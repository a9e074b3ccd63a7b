//! Huffman decoding of baseline JPEG blocks. The bit reader counts positions in the unstuffed data, and
//! a refill is one big-endian load unless the next 8 bytes hold a 0xFF (rare in photos). Up to the last
//! coefficient the scaled IDCT reads, the AC table resolves a whole coefficient (code, run and magnitude
//! bits) per lookup when it fits in `FAST_BITS`, which is most of them in photos; the DC table likewise
//! resolves a whole difference, a dependent second lookup and a sign branch fewer per block. Past it,
//! coefficients are only read through to find the next block, and the `skip` table steps over every
//! coefficient whose code is in the next 12 bits at once, the last one's magnitude bits included even
//! where they run past the 12: their count is in the code. Corrupt data is `Invalid`, never a panic.
//! The progressive scans (`scans`) use the same reader and tables, one symbol or bit at a time.
//! (Measurements: docs/engine-notes.md.)
mod table;

use super::parse::Entropy;
pub use table::Table;
use table::{extend, EOB, FAST_BITS, SKIP_ADVANCE, SKIP_BITS, SKIP_EOB, SKIP_USED};

/// Corrupt entropy data: the caller falls back (or, speculating, restarts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// Reads bits MSB first, skipping stuffed bytes; past the end of the data it reads zeros (the caller
/// compares `position` with the data's length).
pub struct Bits<'a> {
    raw: &'a [u8],
    end: usize,
    /// Next byte of `raw` to load, and the stuffed bytes before it.
    pos: usize,
    removed: usize,
    buf: u64,
    /// Valid bits in `buf`, from the top.
    count: u32,
}

impl<'a> Bits<'a> {
    /// A reader starting at bit `bit` of the unstuffed data.
    pub fn new(data: &'a Entropy, bit: usize) -> Bits<'a> {
        let pos = data.raw_offset(bit / 8);
        let mut b = Bits {
            raw: data.raw,
            end: data.end,
            pos,
            removed: pos - bit / 8,
            buf: 0,
            count: 0,
        };
        b.refill();
        b.consume((bit % 8) as u32);
        b
    }

    /// The position of the next unread bit in the unstuffed data.
    pub fn position(&self) -> usize {
        (self.pos - self.removed) * 8 - self.count as usize
    }

    #[inline(always)]
    pub(super) fn refill(&mut self) {
        if let Some(bytes) = self.raw.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes(bytes.try_into().unwrap_or_default());
            // A byte is 0xFF where !word has a zero byte; the data ends at a marker, which starts with
            // one, so a word without any is all data.
            let inv = !word;
            if inv.wrapping_sub(0x0101_0101_0101_0101) & !inv & 0x8080_8080_8080_8080 == 0 {
                self.buf |= word >> self.count;
                self.pos += (63 - self.count as usize) >> 3;
                self.count |= 56;
                return;
            }
        }
        self.refill_bytewise();
    }

    #[cold]
    fn refill_bytewise(&mut self) {
        // At most 56 bits after this: the fast path shifts by `count`, which must stay below 64.
        while self.count <= 48 {
            let mut byte = 0;
            if self.pos < self.end {
                byte = self.raw[self.pos];
                if byte == 0xFF {
                    // Before `end` every 0xFF is followed by a stuffed 0x00.
                    self.pos += 1;
                    self.removed += 1;
                }
            }
            // Past the end the position still advances, so that overrunning shows.
            self.pos += 1;
            self.buf |= (byte as u64) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline(always)]
    pub(super) fn peek(&self, n: u32) -> usize {
        (self.buf >> (64 - n)) as usize
    }

    #[inline(always)]
    pub(super) fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.count -= n;
    }

    #[inline(always)]
    pub(super) fn receive_extend(&mut self, size: u32) -> i32 {
        if size == 0 {
            return 0;
        }
        extend(self.get_bits(size) as i32, size)
    }

    #[inline(always)]
    pub(super) fn symbol(&mut self, t: &Table) -> Result<u8, Invalid> {
        let e = t.fast[self.peek(FAST_BITS)];
        if e != 0 {
            self.consume((e & 0xFF) as u32);
            return Ok((e >> 8) as u8);
        }
        for len in FAST_BITS + 1..=16 {
            let code = self.peek(len) as i32;
            if code <= t.maxcode[len as usize] {
                self.consume(len);
                return Ok(t.symbols[(code + t.offset[len as usize]) as usize & 255]);
            }
        }
        Err(Invalid)
    }

    /// One AC symbol of a progressive scan, resolved by one lookup when it fits: the zeros before it,
    /// and the coefficient's value (0 for sixteen zeros, run 15, or an end of band, run < 15, whose count
    /// of extra bands is still to read). Needs a refilled buffer.
    #[inline(always)]
    pub(super) fn ac_symbol(&mut self, ac: &Table) -> Result<(u32, i32), Invalid> {
        let e = ac.fast_ac[self.peek(FAST_BITS)];
        if e != 0 {
            self.consume((e & 31) as u32);
            if e & EOB != 0 {
                return Ok((0, 0));
            }
            return Ok((((e >> 8) & 0xFF) as u32, e >> 16));
        }
        let sym = self.symbol(ac)?;
        let (run, size) = ((sym >> 4) as u32, (sym & 15) as u32);
        if size > 10 {
            return Err(Invalid);
        }
        Ok((run, self.receive_extend(size)))
    }

    /// The next `n` bits (n <= 32) as a number; needs that many held.
    #[inline(always)]
    pub(super) fn get_bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let v = self.peek(n) as u32;
        self.consume(n);
        v
    }

    /// The next bit, refilling when needed.
    #[inline(always)]
    pub(super) fn bit(&mut self) -> bool {
        if self.count == 0 {
            self.refill();
        }
        let b = self.buf >> 63 != 0;
        self.consume(1);
        b
    }

    /// Reads past `n` bits.
    pub(super) fn skip_bits(&mut self, mut n: u32) {
        while n > 0 {
            if self.count == 0 {
                self.refill();
            }
            let now = n.min(self.count);
            self.consume(now);
            n -= now;
        }
    }

    /// Decodes one block: the DC difference (added to `pred`) and the AC coefficients. Coefficient `k`
    /// (zigzag order, not dequantised) goes to `out[slot[k]]` when that index is inside `out`; none past
    /// zigzag position `needed` is, so from there on the block is only skipped through.
    #[inline(always)]
    pub fn block<const KEPT: usize>(
        &mut self,
        dc: &Table,
        ac: &Table,
        pred: &mut i32,
        out: &mut [i16; KEPT],
        slot: &[u8; 64],
        needed: usize,
    ) -> Result<(), Invalid> {
        self.refill();
        *pred = pred.wrapping_add(self.dc_difference(dc)?);
        // The kept coefficients (at most 16), and past them one cell for those not kept, so that a
        // coefficient is stored without a branch on where it goes.
        let mut kept = [0i16; 17];
        kept[0] = *pred as i16;
        let mut k = 1usize;
        let mut ended = false;
        while k <= needed {
            self.refill();
            let Some((run, value)) = self.coefficient(ac)? else {
                ended = true;
                break;
            };
            k += run;
            if k > 63 {
                return Err(Invalid);
            }
            kept[(slot[k] as usize).min(16)] = value;
            k += 1;
        }
        // A constant length: inline moves, not a call to `memcpy` per block.
        out.copy_from_slice(&kept[..KEPT]);
        if ended {
            return Ok(());
        }
        self.skip_rest(ac, k)
    }

    /// Reads one DC difference: code and magnitude in one lookup when they fit, as for AC
    /// coefficients. Needs a refilled buffer.
    #[inline(always)]
    pub(super) fn dc_difference(&mut self, dc: &Table) -> Result<i32, Invalid> {
        let e = dc.fast_dc[self.peek(FAST_BITS)];
        if e != 0 {
            self.consume((e & 31) as u32);
            return Ok(e >> 16);
        }
        let size = self.symbol(dc)? as u32;
        if size > 11 {
            return Err(Invalid);
        }
        Ok(self.receive_extend(size))
    }

    /// Reads one AC coefficient: the zeros before it and its value, or `None` at the end of the block.
    /// Needs a refilled buffer.
    #[inline(always)]
    fn coefficient(&mut self, ac: &Table) -> Result<Option<(usize, i16)>, Invalid> {
        let e = ac.fast_ac[self.peek(FAST_BITS)];
        if e != 0 {
            self.consume((e & 31) as u32);
            if e & EOB != 0 {
                return Ok(None);
            }
            return Ok(Some((((e >> 8) & 0xFF) as usize, (e >> 16) as i16)));
        }
        let sym = self.symbol(ac)?;
        let (run, size) = ((sym >> 4) as usize, (sym & 15) as u32);
        match (run, size) {
            (0, 0) => Ok(None),
            (_, 0) if run != 15 => Err(Invalid),
            (_, s) if s > 10 => Err(Invalid),
            _ => Ok(Some((run, self.receive_extend(size) as i16))),
        }
    }

    /// Reads past the rest of a block from zigzag position `k`, keeping nothing.
    #[inline(always)]
    fn skip_rest(&mut self, ac: &Table, mut k: usize) -> Result<(), Invalid> {
        while k < 64 {
            if self.count < 32 {
                self.refill();
            }
            let e = ac.skip[self.peek(SKIP_BITS)];
            let advance = (e >> SKIP_ADVANCE) as usize & 127;
            // An entry that runs past the block's end holds the next block's first code: read one
            // coefficient at a time there.
            if advance != 0 && k + advance <= 64 {
                self.consume((e & SKIP_USED) as u32);
                if e & SKIP_EOB != 0 {
                    return Ok(());
                }
                k += advance;
                continue;
            }
            let Some((run, _)) = self.coefficient(ac)? else {
                return Ok(());
            };
            k += run + 1;
            if k > 64 {
                return Err(Invalid);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
