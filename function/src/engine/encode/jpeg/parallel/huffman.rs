//! Huffman coding for the encoder: symbol counting, libjpeg's optimal table construction
//! (`jpeg_gen_optimal_table`: the same lengths and order, hence the same bytes), and the bit writer
//! with 0xFF byte stuffing.

/// Where a scan's symbols and bits go: counted on the first pass, written on the second.
pub trait Sink {
    fn symbol(&mut self, table: usize, symbol: u8);
    /// The low `count` bits of `value` (1..=16).
    fn bits(&mut self, value: u32, count: u32);
    /// Buffered refinement correction bits: the low `count` bits of `bits`, oldest first.
    fn corrections(&mut self, bits: u64, mut count: u32) {
        while count > 0 {
            let take = count.min(16);
            count -= take;
            self.bits((bits >> count) as u32, take);
        }
    }
}

/// A scan's symbols counted per table slot and kept in order with their bits, so that the scan is
/// written from this record once its tables are known, without coding its blocks a second time.
pub struct Recorder {
    pub freq: [[u32; 257]; 2],
    entries: Vec<u32>,
}

/// An entry of raw bits (else a symbol): `RAW | count << 16 | value`.
const RAW: u32 = 1 << 31;

impl Recorder {
    pub fn new(capacity: usize) -> Recorder {
        Recorder {
            freq: [[0; 257]; 2],
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Writes the recorded symbols and bits.
    pub fn replay(&self, writer: &mut Writer) {
        for &e in &self.entries {
            if e & RAW != 0 {
                writer.bits(e & 0xFFFF, (e >> 16) & 0x1F);
            } else {
                writer.symbol((e >> 8) as usize, e as u8);
            }
        }
    }
}

impl Sink for Recorder {
    #[inline(always)]
    fn symbol(&mut self, table: usize, symbol: u8) {
        self.freq[table][symbol as usize] += 1;
        self.entries.push((table as u32) << 8 | symbol as u32);
    }

    #[inline(always)]
    fn bits(&mut self, value: u32, count: u32) {
        self.entries
            .push(RAW | count << 16 | (value & ((1 << count) - 1)));
    }
}

/// A table as a DHT segment carries it: code counts per length 1..=16, symbols by code length.
pub struct Table {
    pub counts: [u8; 16],
    pub symbols: Vec<u8>,
}

impl Table {
    /// libjpeg's `jpeg_gen_optimal_table` for `freq` (slot 256 is reserved so no code is all ones).
    pub fn optimal(freq: &[u32; 257]) -> Table {
        let mut freq: [u64; 257] = freq.map(u64::from);
        freq[256] = 1;
        let mut codesize = [0usize; 257];
        let mut others = [-1i32; 257];
        loop {
            // The two least frequent (the later index on ties), as libjpeg picks them.
            let mut c1 = None;
            let mut v = u64::MAX;
            for (i, &f) in freq.iter().enumerate() {
                if f != 0 && f <= v {
                    v = f;
                    c1 = Some(i);
                }
            }
            let mut c2 = None;
            v = u64::MAX;
            for (i, &f) in freq.iter().enumerate() {
                if f != 0 && f <= v && Some(i) != c1 {
                    v = f;
                    c2 = Some(i);
                }
            }
            let (Some(mut c1), Some(mut c2)) = (c1, c2) else {
                break;
            };
            freq[c1] += freq[c2];
            freq[c2] = 0;
            codesize[c1] += 1;
            while others[c1] >= 0 {
                c1 = others[c1] as usize;
                codesize[c1] += 1;
            }
            others[c1] = c2 as i32;
            codesize[c2] += 1;
            while others[c2] >= 0 {
                c2 = others[c2] as usize;
                codesize[c2] += 1;
            }
        }
        let mut bits = [0u32; 33];
        for &size in codesize.iter().filter(|&&s| s > 0) {
            bits[size.min(32)] += 1;
        }
        // Limit code lengths to 16 bits, as JPEG requires (T.81 figure K.3).
        let mut i = 32;
        while i > 16 {
            while bits[i] > 0 {
                let mut j = i - 2;
                while bits[j] == 0 {
                    j -= 1;
                }
                bits[i] -= 2;
                bits[i - 1] += 1;
                bits[j + 1] += 2;
                bits[j] -= 1;
            }
            i -= 1;
        }
        // Remove the reserved code point from the longest length in use.
        while bits[i] == 0 {
            i -= 1;
        }
        bits[i] -= 1;
        let mut symbols = Vec::new();
        for length in 1..=32 {
            for (symbol, &size) in codesize[..256].iter().enumerate() {
                if size == length {
                    symbols.push(symbol as u8);
                }
            }
        }
        let counts = std::array::from_fn(|l| bits[l + 1] as u8);
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        symbols.truncate(total);
        Table { counts, symbols }
    }

    /// Code and length of every symbol (canonical codes, T.81 annex C).
    fn codes(&self) -> [(u16, u8); 256] {
        let mut out = [(0u16, 0u8); 256];
        let (mut code, mut k) = (0u16, 0);
        for (length, &count) in self.counts.iter().enumerate() {
            for _ in 0..count {
                out[self.symbols[k] as usize] = (code, length as u8 + 1);
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        out
    }

    /// The DHT segment defining this table in `slot` (`ac`: an AC table).
    pub fn segment(&self, ac: bool, slot: usize, out: &mut Vec<u8>) {
        let len = 2 + 1 + 16 + self.symbols.len();
        out.extend_from_slice(&[0xFF, 0xC4, (len >> 8) as u8, len as u8]);
        out.push((u8::from(ac) << 4) | slot as u8);
        out.extend_from_slice(&self.counts);
        out.extend_from_slice(&self.symbols);
    }
}

/// Writes codes and bits into `out`, stuffing a 0x00 after every 0xFF byte.
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
    buffer: u64,
    count: u32,
    codes: [[(u16, u8); 256]; 2],
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut Vec<u8>, tables: [Option<&Table>; 2]) -> Writer<'a> {
        let codes = tables.map(|t| t.map(Table::codes).unwrap_or([(0, 0); 256]));
        Writer {
            out,
            buffer: 0,
            count: 0,
            codes,
        }
    }

    /// Pads the last byte with one bits, as libjpeg ends a scan.
    pub fn finish(mut self) {
        self.bits(0x7F, 7);
    }
}

impl Sink for Writer<'_> {
    #[inline(always)]
    fn symbol(&mut self, table: usize, symbol: u8) {
        let (code, length) = self.codes[table][symbol as usize];
        debug_assert!(
            length > 0,
            "symbol {symbol:#x} has no code in table {table}"
        );
        self.bits(code as u32, length as u32);
    }

    #[inline(always)]
    fn bits(&mut self, value: u32, count: u32) {
        let value = value as u64 & ((1 << count) - 1);
        self.buffer = (self.buffer << count) | value;
        self.count += count;
        while self.count >= 8 {
            self.count -= 8;
            let byte = (self.buffer >> self.count) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
    }
}
