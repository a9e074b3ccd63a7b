//! Huffman decoding of baseline JPEG blocks. The bit reader counts positions in the unstuffed data, and
//! a refill is one big-endian load unless the next 8 bytes hold a 0xFF (about 3% of refills). Up to the
//! last coefficient the scaled IDCT reads, the AC table resolves a whole coefficient (code, run and
//! magnitude bits) per lookup when it fits in `FAST_BITS`, which is most of them in photos; the DC table
//! likewise resolves a whole difference, a dependent second lookup and a sign branch fewer per block
//! (2-thread render CPU, first quartile: mosaic48/thumb1000 78.7 -> 71.9 ms, kleiber 51.1 -> 46.8). Past it,
//! coefficients are only read through to find the next block, and the `skip` table steps over every
//! coefficient whose code is in the next 12 bits at once (single-thread render CPU kleiber/thumb1000 64 ->
//! 56.5 ms, mosaic 96 -> 86 ms), the last one's magnitude bits included even where they run past the 12:
//! their count is in the code (8% fewer lookups on the mosaic and kleiber; fewer than 1% of lookups fall
//! back to one coefficient at a time). The progressive scans (`scans`) use the same reader and tables,
//! one symbol or bit at a time.
use super::parse::{Entropy, HuffSpec};

const FAST_BITS: u32 = 11;
const FAST_SIZE: usize = 1 << FAST_BITS;
/// `fast_ac` flag: the entry is the end-of-block code.
const EOB: i32 = 1 << 5;
/// `fast_dc` flag: the entry holds a whole DC difference (also when it is 0).
const DC_WHOLE: i32 = 1 << 5;
/// Bits the `skip` table looks at: 4096 two-byte entries stay in L1 beside the other tables.
const SKIP_BITS: u32 = 12;
/// `skip` entry layout: bits used (low 5: up to SKIP_BITS plus a 10-bit magnitude), positions advanced
/// (next 7), end of block (bit 12).
const SKIP_ADVANCE: u32 = 5;
const SKIP_USED: u16 = (1 << SKIP_ADVANCE) - 1;
const SKIP_EOB: u16 = 1 << 12;

/// Corrupt entropy data: the caller falls back (or, speculating, restarts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

pub struct Table {
    /// By the next FAST_BITS bits: symbol << 8 | code length, or 0 when the code is longer.
    fast: Box<[u16; FAST_SIZE]>,
    /// AC tables: value << 16 | run << 8 | EOB flag | bits used (code and magnitude), or 0.
    fast_ac: Box<[i32; FAST_SIZE]>,
    /// DC tables: difference << 16 | DC_WHOLE | bits used (code and magnitude), or 0.
    fast_dc: Box<[i32; FAST_SIZE]>,
    /// AC tables, for coefficients nobody reads: by the next SKIP_BITS bits, every whole coefficient
    /// they hold (up to and including an end of block) at once, as positions advanced and bits used.
    skip: Box<[u16; 1 << SKIP_BITS]>,
    /// By code length: the largest code of that length (-1: none), and symbol index minus first code.
    maxcode: [i32; 17],
    offset: [i32; 17],
    symbols: [u8; 256],
}

impl Table {
    /// The table of `spec` where one is defined (`Some(None)` where not), `None` when `spec` is invalid.
    pub fn optional(spec: Option<&HuffSpec>, is_ac: bool) -> Option<Option<Table>> {
        match spec {
            Some(s) => Table::new(s, is_ac).map(Some),
            None => Some(None),
        }
    }

    pub fn new(spec: &HuffSpec, is_ac: bool) -> Option<Table> {
        let mut t = Table {
            fast: Box::new([0; FAST_SIZE]),
            fast_ac: Box::new([0; FAST_SIZE]),
            fast_dc: Box::new([0; FAST_SIZE]),
            skip: Box::new([0; 1 << SKIP_BITS]),
            maxcode: [-1; 17],
            offset: [0; 17],
            symbols: [0; 256],
        };
        if spec.symbols.len() > 256 {
            return None;
        }
        t.symbols[..spec.symbols.len()].copy_from_slice(&spec.symbols);
        let (mut code, mut index) = (0i32, 0usize);
        for len in 1..=16u32 {
            let count = spec.counts[len as usize - 1] as usize;
            if count > 0 {
                t.offset[len as usize] = index as i32 - code;
                for &sym in &spec.symbols[index..index + count] {
                    if code >= 1 << len {
                        return None; // more codes than the length allows
                    }
                    if len <= FAST_BITS {
                        let shift = FAST_BITS - len;
                        let first = (code as usize) << shift;
                        for slot in first..first + (1 << shift) {
                            t.fast[slot] = (sym as u16) << 8 | len as u16;
                            if is_ac {
                                t.fast_ac[slot] = whole_coefficient(sym, len, slot);
                            } else {
                                t.fast_dc[slot] = whole_difference(sym, len, slot);
                            }
                        }
                    }
                    code += 1;
                }
                index += count;
                t.maxcode[len as usize] = code - 1;
            }
            code <<= 1;
        }
        if is_ac {
            for (bits, entry) in t.skip.iter_mut().enumerate() {
                *entry = skip_entry(&t.fast, bits);
            }
        }
        Some(t)
    }
}

/// The `skip` entry for the SKIP_BITS bits `bits`: the coefficients whose codes are wholly inside them,
/// stopping after an end of block, at 64 positions, after a coefficient whose magnitude bits run past
/// them (their count is in the code, so they are skipped unseen), or at anything else (longer codes,
/// invalid symbols), which the one-at-a-time path then reads.
fn skip_entry(fast: &[u16; FAST_SIZE], bits: usize) -> u16 {
    let (mut used, mut advance) = (0u32, 0u32);
    while advance < 64 && used < SKIP_BITS {
        // The FAST_BITS bits from `used` on (zeros past the window); a code found is only trusted
        // when it and its magnitude end inside the window.
        let window = ((bits << FAST_BITS) >> (SKIP_BITS - used)) & (FAST_SIZE - 1);
        let e = fast[window];
        let len = (e & 0xFF) as u32;
        let (run, size) = ((e >> 12) as u32, ((e >> 8) & 15) as u32);
        if e == 0 || used + len > SKIP_BITS || size > 10 || (size == 0 && run != 0 && run != 15) {
            break;
        }
        used += len + size;
        if run == 0 && size == 0 {
            return (used | (advance + 1) << SKIP_ADVANCE) as u16 | SKIP_EOB;
        }
        advance += run + 1;
        if used > SKIP_BITS {
            break; // the magnitude ran past the window: nothing after it is known
        }
    }
    (used | advance << SKIP_ADVANCE) as u16
}

/// The `fast_ac` entry for the code of `sym` (length `len`) at table slot `slot`, when the magnitude
/// bits follow within FAST_BITS.
fn whole_coefficient(sym: u8, len: u32, slot: usize) -> i32 {
    let (run, size) = ((sym >> 4) as i32, (sym & 15) as u32);
    match (run, size) {
        (0, 0) => EOB | len as i32,
        (15, 0) => 15 << 8 | len as i32, // sixteen zeros: a run of 15 and a zero coefficient
        (_, 0) => 0,
        _ if len + size > FAST_BITS => 0,
        _ => magnitude(slot, len, size) << 16 | run << 8 | (len + size) as i32,
    }
}

/// The `fast_dc` entry for the code of `sym` (a magnitude size, length `len`) at table slot `slot`,
/// when the magnitude bits follow within FAST_BITS.
fn whole_difference(sym: u8, len: u32, slot: usize) -> i32 {
    let size = sym as u32;
    match size {
        0 => DC_WHOLE | len as i32,
        _ if size > 11 || len + size > FAST_BITS => 0,
        _ => magnitude(slot, len, size) << 16 | DC_WHOLE | (len + size) as i32,
    }
}

/// The signed value of the `size` magnitude bits that follow a `len`-bit code at table slot `slot`.
fn magnitude(slot: usize, len: u32, size: u32) -> i32 {
    let bits = ((slot >> (FAST_BITS - len - size)) & ((1 << size) - 1)) as i32;
    extend(bits, size)
}

#[inline(always)]
fn extend(v: i32, size: u32) -> i32 {
    if v < 1 << (size - 1) {
        v - (1 << size) + 1
    } else {
        v
    }
}

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
#[allow(clippy::unusual_byte_groupings)] // the bit patterns are grouped by code, not by nibble
mod tests {
    use super::*;

    /// Codes: `00` end of block, `01` a 1-bit coefficient, `10` a 10-bit one, `110` a zero then a 1-bit
    /// coefficient.
    fn table() -> Table {
        let mut counts = [0; 16];
        (counts[1], counts[2]) = (3, 1);
        let spec = HuffSpec {
            counts,
            symbols: vec![0x00, 0x01, 0x0A, 0x11],
        };
        Table::new(&spec, true).unwrap()
    }

    #[test]
    fn dc_differences_resolve_in_one_lookup_when_code_and_magnitude_fit() {
        // Codes: `00` size 0, `01` size 3, `10` size 9, `110` size 11.
        let mut counts = [0; 16];
        (counts[1], counts[2]) = (3, 1);
        let spec = HuffSpec {
            counts,
            symbols: vec![0, 3, 9, 11],
        };
        let t = Table::new(&spec, false).unwrap();
        let at = |bits: usize, len: u32| bits << (FAST_BITS - len);
        let whole = |value: i32, used: i32| value << 16 | DC_WHOLE | used;
        // Size 0: a difference of 0 (not the empty entry).
        assert_eq!(t.fast_dc[at(0b00, 2)], whole(0, 2));
        // Size 3: 101 is +5, 010 is -5 (JPEG's one's-complement negatives).
        assert_eq!(t.fast_dc[at(0b01_101, 5)], whole(5, 5));
        assert_eq!(t.fast_dc[at(0b01_010, 5)], whole(-5, 5));
        // Size 9: 2 + 9 = 11 bits, still inside the window.
        assert_eq!(t.fast_dc[at(0b10_000000000, 11)], whole(-511, 11));
        // Size 11: 3 + 11 bits do not fit; left to the two-step path.
        assert_eq!(t.fast_dc[at(0b110, 3)], 0);
        // AC tables have no DC entries.
        assert!(table().fast_dc.iter().all(|&e| e == 0));
    }

    fn entry(used: u32, advance: u32, eob: bool) -> u16 {
        (used | advance << SKIP_ADVANCE) as u16 | if eob { SKIP_EOB } else { 0 }
    }

    #[test]
    fn skip_steps_over_whole_coefficients_and_stops_at_the_end_of_block() {
        let t = table();
        // 01 1 | 110 1 | 01 0 | 00: three coefficients over four positions, then the end of block.
        assert_eq!(t.skip[0b011_1101_010_00], entry(12, 5, true));
        // 01 1 | 01 1 | 01 1 | 01 1: four coefficients fill the window exactly.
        assert_eq!(t.skip[0b011_011_011_011], entry(12, 4, false));
    }

    #[test]
    fn skip_takes_a_magnitude_that_runs_past_the_window_but_not_a_cut_code() {
        let t = table();
        // 01 1 | 10 + ten magnitude bits, seven of them in the window: 15 bits, two positions.
        assert_eq!(t.skip[0b011_10_1010101], entry(15, 2, false));
        // 01 1 | 110 1 | 110 1 | 1: the last bit starts a code the window cuts; it is left unread.
        assert_eq!(t.skip[0b011_1101_1101_1], entry(11, 5, false));
        // 01 1 ×3, then 111, which is no code: left to the one-at-a-time path, which refuses it.
        assert_eq!(t.skip[0b011_011_011_111], entry(9, 3, false));
    }
}
