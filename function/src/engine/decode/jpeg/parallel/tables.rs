//! The table segments of a JPEG as the parallel decoders read them: DQT (quantisation tables, 8- or
//! 16-bit) and DHT (Huffman tables as stored). A segment they cannot read, or one libjpeg-turbo would
//! refuse when a scan uses it, answers `None`, so the file goes to libjpeg-turbo.

/// A Huffman table as stored: code counts by length (1..=16) and the symbols in code order.
#[derive(Debug, Clone, Default)]
pub struct HuffSpec {
    pub counts: [u8; 16],
    pub symbols: Vec<u8>,
}

/// Reads a DQT segment into `quant`, marking each table it holds as `defined`.
pub fn quant(mut seg: &[u8], quant: &mut [[u16; 64]; 4], defined: &mut [bool; 4]) -> Option<()> {
    while !seg.is_empty() {
        let (precision, id) = (seg[0] >> 4, (seg[0] & 15) as usize);
        let table = quant.get_mut(id)?;
        defined[id] = true;
        if precision == 0 {
            let v = seg.get(1..65)?;
            table.iter_mut().zip(v).for_each(|(q, &b)| *q = b as u16);
            seg = &seg[65..];
        } else {
            let v = seg.get(1..129)?;
            for (i, q) in table.iter_mut().enumerate() {
                *q = u16::from_be_bytes([v[2 * i], v[2 * i + 1]]);
            }
            seg = &seg[129..];
        }
    }
    Some(())
}

/// Reads a DHT segment into the DC and AC table slots.
pub fn huffman(
    mut seg: &[u8],
    dc: &mut [Option<HuffSpec>; 4],
    ac: &mut [Option<HuffSpec>; 4],
) -> Option<()> {
    while !seg.is_empty() {
        let (class, id) = (seg[0] >> 4, (seg[0] & 15) as usize);
        let counts: [u8; 16] = seg.get(1..17)?.try_into().ok()?;
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let symbols = seg.get(17..17 + total)?.to_vec();
        // libjpeg-turbo refuses a DC table with a symbol past 15 (a magnitude no 8-bit file has)
        // when a scan uses it, even if no code ever reads that symbol; such a file is left to it.
        if class == 0 && symbols.iter().any(|&s| s > 15) {
            return None;
        }
        let spec = Some(HuffSpec { counts, symbols });
        match class {
            0 => *dc.get_mut(id)? = spec,
            1 => *ac.get_mut(id)? = spec,
            _ => return None,
        }
        seg = &seg[17 + total..];
    }
    Some(())
}
