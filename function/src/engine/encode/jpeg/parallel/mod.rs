//! Progressive JPEG encoding on every core, byte for byte what libjpeg-turbo (mozjpeg in its
//! libjpeg-turbo mode: `jpeg_simple_progression`, optimised Huffman tables, 4:2:0) writes.
//!
//! libjpeg-turbo codes a progressive file one scan after another on one core, each scan twice (once
//! to count symbols for its optimal table, once to write). But every scan stands alone in the file
//! (its own tables, then its data) and how it is coded depends only on the coefficients and its own
//! parameters, not on the scans before it. So here the coefficients are computed in bands on every
//! core (`front`), then the ten scans are coded at once (`scans`) and the file is their
//! concatenation. A test holds the bytes to the mozjpeg crate's.
mod dct;
mod front;
mod huffman;
mod jsimd;
mod scans;
mod tables;

use huffman::{Recorder, Table, Writer};
use scans::Scan;

const fn scan(components: &'static [usize], ss: usize, se: usize, ah: u32, al: u32) -> Scan {
    Scan {
        components,
        ss,
        se,
        ah,
        al,
    }
}

/// libjpeg's `jpeg_simple_progression` script for YCbCr.
const YCBCR: [Scan; 10] = [
    scan(&[0, 1, 2], 0, 0, 0, 1),
    scan(&[0], 1, 5, 0, 2),
    scan(&[2], 1, 63, 0, 1),
    scan(&[1], 1, 63, 0, 1),
    scan(&[0], 6, 63, 0, 2),
    scan(&[0], 1, 63, 2, 1),
    scan(&[0, 1, 2], 0, 0, 1, 0),
    scan(&[2], 1, 63, 1, 0),
    scan(&[1], 1, 63, 1, 0),
    scan(&[0], 1, 63, 1, 0),
];

/// ... and for one (gray) component.
const GRAY: [Scan; 6] = [
    scan(&[0], 0, 0, 0, 1),
    scan(&[0], 1, 5, 0, 2),
    scan(&[0], 6, 63, 0, 2),
    scan(&[0], 1, 63, 2, 1),
    scan(&[0], 0, 0, 1, 0),
    scan(&[0], 1, 63, 1, 0),
];

/// Encodes 8-bit RGB (`rgb`) or gray rows as a progressive JPEG at `quality` (1..=100).
pub fn progressive(data: &[u8], width: u32, height: u32, rgb: bool, quality: u8) -> Vec<u8> {
    let (width, height) = (width as usize, height as usize);
    let tables = tables::quant_tables(quality);
    let mut comps = front::layout(width, height, rgb);
    front::transform(data, width, height, &tables, &mut comps);
    let script: &[Scan] = if rgb { &YCBCR } else { &GRAY };
    // Largest scans first, taken in that order by whichever core is free (longest processing time
    // first), so that the cores finish together.
    let mut coded = vec![Vec::new(); script.len()];
    let mut slots: Vec<(usize, &mut Vec<u8>)> = coded.iter_mut().enumerate().collect();
    slots.sort_by_key(|(i, _)| std::cmp::Reverse(cost(&script[*i], &comps)));
    let comps = &comps;
    rayon::scope_fifo(|s| {
        for (i, slot) in slots {
            s.spawn_fifo(move |_| *slot = code(&script[i], comps));
        }
    });
    let mut out = header(width, height, comps, &tables);
    for bytes in coded {
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// A rough cost of coding a scan: its blocks times its band, twice for a refinement (measured on
/// kleiber's thumbnail: the two luma refinements take 1.3 and 1.0 ms of the scans' 4.2).
fn cost(scan: &Scan, comps: &[front::Component]) -> usize {
    let blocks: usize = scan.components.iter().map(|&c| comps[c].blocks.len()).sum();
    blocks * (scan.se - scan.ss + 1) * if scan.ah > 0 { 2 } else { 1 }
}

/// One scan as it appears in the file: its Huffman tables, SOS, entropy-coded data.
fn code(scan: &Scan, comps: &[front::Component]) -> Vec<u8> {
    let dc = scan.ss == 0;
    let mut out = Vec::new();
    let mut tables: [Option<Table>; 2] = [None, None];
    let blocks: usize = scan.components.iter().map(|&c| comps[c].blocks.len()).sum();
    let mut record = Recorder::new(blocks * 4);
    scans::code(scan, comps, &mut record);
    if !(dc && scan.ah != 0) {
        for &c in scan.components {
            let slot = comps[c].table;
            if tables[slot].is_none() {
                let table = Table::optimal(&record.freq[slot]);
                table.segment(!dc, slot, &mut out);
                tables[slot] = Some(table);
            }
        }
    }
    let n = scan.components.len();
    let len = 6 + 2 * n;
    out.extend_from_slice(&[0xFF, 0xDA, 0, len as u8, n as u8]);
    for &c in scan.components {
        let slot = comps[c].table as u8;
        // Unused selectors are written as 0, as libjpeg writes them.
        let selectors = match (dc, scan.ah) {
            (true, 0) => slot << 4,
            (true, _) => 0,
            (false, _) => slot,
        };
        out.extend_from_slice(&[c as u8 + 1, selectors]);
    }
    out.extend_from_slice(&[scan.ss as u8, scan.se as u8, (scan.ah << 4 | scan.al) as u8]);
    let mut writer = Writer::new(&mut out, [tables[0].as_ref(), tables[1].as_ref()]);
    record.replay(&mut writer);
    writer.finish();
    out
}

/// SOI, JFIF APP0, the quantisation tables (zigzag order) and SOF2, as libjpeg writes them.
fn header(
    width: usize,
    height: usize,
    comps: &[front::Component],
    tables: &[[u16; 64]; 2],
) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&[
        0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
    ]);
    let used = if comps.len() == 3 { 2 } else { 1 };
    for (id, table) in tables.iter().enumerate().take(used) {
        let wide = table.iter().any(|&q| q > 255);
        let len = 3 + 64 * if wide { 2 } else { 1 };
        out.extend_from_slice(&[0xFF, 0xDB, (len >> 8) as u8, len as u8]);
        out.push((u8::from(wide) << 4) | id as u8);
        for &k in &tables::NATURAL {
            if wide {
                out.extend_from_slice(&table[k].to_be_bytes());
            } else {
                out.push(table[k] as u8);
            }
        }
    }
    let len = 8 + 3 * comps.len();
    out.extend_from_slice(&[0xFF, 0xC2, 0, len as u8, 8]);
    out.extend_from_slice(&(height as u16).to_be_bytes());
    out.extend_from_slice(&(width as u16).to_be_bytes());
    out.push(comps.len() as u8);
    for (i, c) in comps.iter().enumerate() {
        out.extend_from_slice(&[i as u8 + 1, (c.h << 4 | c.v) as u8, c.table as u8]);
    }
    out
}

#[cfg(test)]
mod tests;
