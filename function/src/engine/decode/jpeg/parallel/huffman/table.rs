//! The Huffman tables of the parallel decoder, built once per file from its DHT specifications: the
//! canonical code by length, and the lookup tables that resolve a code, a whole AC coefficient, a
//! whole DC difference or a run of skipped coefficients from the next bits at once.
use super::super::parse::HuffSpec;

pub(super) const FAST_BITS: u32 = 11;
pub(super) const FAST_SIZE: usize = 1 << FAST_BITS;
/// `fast_ac` flag: the entry is the end-of-block code.
pub(super) const EOB: i32 = 1 << 5;
/// `fast_dc` flag: the entry holds a whole DC difference (also when it is 0).
pub(super) const DC_WHOLE: i32 = 1 << 5;
/// Bits the `skip` table looks at: 4096 two-byte entries stay in L1 beside the other tables.
pub(super) const SKIP_BITS: u32 = 12;
/// `skip` entry layout: bits used (low 5: up to SKIP_BITS plus a 10-bit magnitude), positions advanced
/// (next 7), end of block (bit 12).
pub(super) const SKIP_ADVANCE: u32 = 5;
pub(super) const SKIP_USED: u16 = (1 << SKIP_ADVANCE) - 1;
pub(super) const SKIP_EOB: u16 = 1 << 12;

pub struct Table {
    /// By the next FAST_BITS bits: symbol << 8 | code length, or 0 when the code is longer.
    pub(super) fast: Box<[u16; FAST_SIZE]>,
    /// AC tables: value << 16 | run << 8 | EOB flag | bits used (code and magnitude), or 0.
    pub(super) fast_ac: Box<[i32; FAST_SIZE]>,
    /// DC tables: difference << 16 | DC_WHOLE | bits used (code and magnitude), or 0.
    pub(super) fast_dc: Box<[i32; FAST_SIZE]>,
    /// AC tables, for coefficients nobody reads: by the next SKIP_BITS bits, every whole coefficient
    /// they hold (up to and including an end of block) at once, as positions advanced and bits used.
    pub(super) skip: Box<[u16; 1 << SKIP_BITS]>,
    /// By code length: the largest code of that length (-1: none), and symbol index minus first code.
    pub(super) maxcode: [i32; 17],
    pub(super) offset: [i32; 17],
    pub(super) symbols: [u8; 256],
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
pub(super) fn extend(v: i32, size: u32) -> i32 {
    if v < 1 << (size - 1) {
        v - (1 << size) + 1
    } else {
        v
    }
}
