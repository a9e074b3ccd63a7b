//! The markers of a JPEG that the parallel decoders need: the frame, quantisation and Huffman tables,
//! and the scans with their entropy-coded data and the places of its 0xFF00 stuffing, so that the bit
//! reader knows where it can use a plain big-endian load. A baseline file has one interleaved scan; a
//! progressive one a list of scans, each with the Huffman tables in force when it starts. Anything outside
//! that shape answers `None`: libjpeg-turbo decodes it instead.

use super::tables;
pub use super::tables::HuffSpec;

/// One colour component of the frame, with the tables its blocks use in the scan.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    pub h: usize,
    pub v: usize,
    pub quant: usize,
    pub dc_table: usize,
    pub ac_table: usize,
}

/// What every scan shares: the picture's size, its components and their quantisation tables.
#[derive(Debug)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    /// In frame order: Y, Cb, Cr. In a progressive file the table choices are the scans' (`Scan`).
    pub components: Vec<Component>,
    /// Quantisation tables in zigzag order.
    pub quant: [[u16; 64]; 4],
}

#[derive(Debug)]
pub struct Baseline<'a> {
    pub frame: Frame,
    pub dc: [Option<HuffSpec>; 4],
    pub ac: [Option<HuffSpec>; 4],
    pub entropy: Entropy<'a>,
}

#[derive(Debug)]
pub struct Progressive<'a> {
    pub frame: Frame,
    pub scans: Vec<Scan<'a>>,
}

/// One scan of a progressive file: its components (indices into the frame's, with the Huffman tables
/// they use), its band of zigzag positions `ss..=se`, and the successive approximation bits: `ah` is
/// the point transform of the scan before (0 in a first scan), `al` this one's.
#[derive(Debug)]
pub struct Scan<'a> {
    pub components: Vec<(usize, Option<HuffSpec>, Option<HuffSpec>)>,
    pub ss: usize,
    pub se: usize,
    pub ah: u32,
    pub al: u32,
    pub entropy: Entropy<'a>,
}

/// Parsed once per image and matched at once: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Jpeg<'a> {
    Baseline(Baseline<'a>),
    Progressive(Progressive<'a>),
}

/// The scan's entropy-coded bytes as stored (with a 0x00 after each 0xFF data byte).
#[derive(Debug)]
pub struct Entropy<'a> {
    /// From the first byte after the scan header to the end of the file.
    pub raw: &'a [u8],
    /// Where the data ends in `raw` (at the marker that follows it).
    pub end: usize,
    /// For each stuffed 0x00, in order: the offset in the unstuffed data of the byte after it.
    pub stuffing: Vec<usize>,
}

impl Entropy<'_> {
    /// Bytes of data once unstuffed.
    pub fn len(&self) -> usize {
        self.end - self.stuffing.len()
    }

    /// Offset in `raw` of unstuffed byte `at`.
    pub fn raw_offset(&self, at: usize) -> usize {
        at + self.stuffing.partition_point(|&s| s <= at)
    }
}

impl Frame {
    pub fn max_h(&self) -> usize {
        self.components.iter().map(|c| c.h).max().unwrap_or(1)
    }
    pub fn max_v(&self) -> usize {
        self.components.iter().map(|c| c.v).max().unwrap_or(1)
    }
    /// MCUs per row and per column of the interleaved scan.
    pub fn mcus(&self) -> (usize, usize) {
        let (mw, mh) = (8 * self.max_h(), 8 * self.max_v());
        (self.width.div_ceil(mw), self.height.div_ceil(mh))
    }
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]) as usize)
}

/// Parses `input` if it is an 8-bit JPEG of three components without restart intervals, with chroma
/// not subsampled more than luma: baseline (or extended sequential Huffman) in one interleaved scan, or
/// progressive Huffman.
pub fn parse(input: &[u8]) -> Option<Jpeg<'_>> {
    if !input.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut quant = [[0u16; 64]; 4];
    let mut defined = [false; 4];
    let (mut dc, mut ac): ([Option<HuffSpec>; 4], [Option<HuffSpec>; 4]) = Default::default();
    let mut frame: Option<(usize, usize, FrameComps)> = None;
    let mut progressive = false;
    let mut scans = Vec::new();
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes (0xFF).
        while input.get(at) == Some(&0xFF) && input.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if input.get(at) != Some(&0xFF) {
            return None;
        }
        let marker = *input.get(at + 1)?;
        if marker == 0xD9 {
            let (width, height, comps) = frame?;
            let components = comps.iter().map(|c| component(c, 0, 0)).collect();
            let frame = Frame {
                width,
                height,
                components,
                quant,
            };
            let ours = !scans.is_empty() && !smoothed(&scans, frame.components.len());
            return ours.then_some(Jpeg::Progressive(Progressive { frame, scans }));
        }
        let len = be16(input, at + 2)?;
        let seg = input.get(at + 4..at + 2 + len)?;
        match marker {
            0xC0..=0xC2 if frame.is_none() => {
                frame = Some(parse_frame(seg)?);
                progressive = marker == 0xC2;
            }
            // A second frame, lossless, arithmetic or hierarchical: not ours.
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            // Tables that change after the first scan (legal, never seen in practice) are left to libjpeg.
            0xDB if scans.is_empty() => tables::quant(seg, &mut quant, &mut defined)?,
            // libjpeg-turbo refuses a scan whose components name a quantisation table never defined
            // (found by fuzz/fuzz_targets/jpeg_decoders.rs); undefined tables here are zeros.
            0xDA if frame.as_ref().is_some_and(|f| {
                f.2.iter()
                    .any(|c| !defined.get(c.3).copied().unwrap_or(false))
            }) =>
            {
                return None
            }
            0xDB => return None,
            0xC4 => tables::huffman(seg, &mut dc, &mut ac)?,
            0xDD if be16(seg, 0)? != 0 => return None,
            0xDA if !progressive => {
                let (width, height, comps) = frame?;
                let components = parse_scan(seg, &comps)?;
                for c in &components {
                    if dc[c.dc_table].is_none() || ac[c.ac_table].is_none() {
                        return None;
                    }
                }
                let frame = Frame {
                    width,
                    height,
                    components,
                    quant,
                };
                let entropy = entropy(&input[at + 2 + len..]);
                // libjpeg-turbo reads on to the end of the image, and refuses a second scan or a
                // bad table there: what follows the one scan must be markers it skips.
                if !skippable_to_end(&entropy.raw[entropy.end..]) {
                    return None;
                }
                return Some(Jpeg::Baseline(Baseline {
                    frame,
                    dc,
                    ac,
                    entropy,
                }));
            }
            0xDA => {
                let (_, _, comps) = frame.as_ref()?;
                let scan = parse_progressive_scan(seg, comps, &dc, &ac, &input[at + 2 + len..])?;
                // The next marker follows the scan's data.
                at += 2 + len + scan.entropy.end;
                scans.push(scan);
                continue;
            }
            0xDD => {}
            m if skipped(m) => {}
            // Anything else (arithmetic conditioning, JPG extensions, a stray RST or TEM, unknown
            // markers) goes to libjpeg-turbo, which refuses or reads it: the two decoders must never
            // disagree about whether a file is valid (found by fuzz/fuzz_targets/jpeg_decoders.rs).
            _ => return None,
        }
        at += 2 + len;
    }
}

/// Whether libjpeg-turbo would smooth this progressive file's blocks: when, after its last scan, some
/// component still lacks bits of one of the first nine AC coefficients (zigzag 1..=9), it estimates
/// them from the neighbouring blocks' DC values; and when a component has none of them at all (a file
/// of DC scans only), it replaces each DC by a 5x5 weighted average of the DCs around it as well
/// (`decompress_smooth_data`, libjpeg-turbo 2.1 and later). Our decoders use the coefficients as
/// decoded, so such files (cut short, or crafted) go to libjpeg-turbo (found by
/// fuzz/fuzz_targets/jpeg_decoders.rs: a DC-only file, one pixel 98 levels apart at 1/8).
fn smoothed(scans: &[Scan], components: usize) -> bool {
    // Per component and zigzag position: the lowest bit still missing (libjpeg's coef_bits); -1 when
    // no scan has carried the coefficient, 0 when it is complete.
    let mut bits = vec![[-1i32; 10]; components];
    for scan in scans {
        for (c, _, _) in &scan.components {
            let Some(known) = bits.get_mut(*c) else {
                return true;
            };
            let band = scan.ss.max(1)..=scan.se.min(9);
            if let Some(carried) = known.get_mut(band) {
                carried.fill(scan.al as i32);
            }
        }
    }
    bits.iter().any(|known| known[1..].iter().any(|&b| b != 0))
}

/// Markers both decoders skip wherever they are: application data, comments and DNL.
fn skipped(marker: u8) -> bool {
    matches!(marker, 0xE0..=0xEF | 0xFE | 0xDC)
}

/// Whether `rest` (what follows a baseline file's one scan) holds only whole segments of skipped
/// markers, then the end of the image. libjpeg-turbo reads that far and refuses a file that ends
/// first (`corrupt`: "JPEG data ends early"), in a segment or before the end-of-image marker.
fn skippable_to_end(rest: &[u8]) -> bool {
    let mut at = 0;
    loop {
        while rest.get(at) == Some(&0xFF) && rest.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        match (rest.get(at), rest.get(at + 1)) {
            (Some(&0xFF), Some(&0xD9)) => return true,
            (Some(&0xFF), Some(&m)) if skipped(m) => match be16(rest, at + 2) {
                Some(len) if len >= 2 && at + 2 + len <= rest.len() => at += 2 + len,
                _ => return false,
            },
            _ => return false,
        }
    }
}

fn component(f: &(u8, usize, usize, usize), dc_table: usize, ac_table: usize) -> Component {
    Component {
        h: f.1,
        v: f.2,
        quant: f.3,
        dc_table,
        ac_table,
    }
}

/// A progressive scan header and its data: one component or (DC only) several, a band that is the DC
/// alone or inside the AC positions, and successive approximation one bit at a time.
fn parse_progressive_scan<'a>(
    seg: &[u8],
    frame: &FrameComps,
    dc: &[Option<HuffSpec>; 4],
    ac: &[Option<HuffSpec>; 4],
    data: &'a [u8],
) -> Option<Scan<'a>> {
    let n = *seg.first()? as usize;
    let tail = seg.get(1 + 2 * n..4 + 2 * n)?;
    let (ss, se, ah, al) = (
        tail[0] as usize,
        tail[1] as usize,
        (tail[2] >> 4) as u32,
        (tail[2] & 15) as u32,
    );
    let band_ok = if ss == 0 {
        se == 0
    } else {
        n == 1 && ss <= se && se <= 63
    };
    if n == 0 || !band_ok || al > 13 || (ah != 0 && ah != al + 1) {
        return None;
    }
    let mut components = Vec::with_capacity(n);
    for i in 0..n {
        let s = seg.get(1 + 2 * i..3 + 2 * i)?;
        let index = frame.iter().position(|f| f.0 == s[0])?;
        if components.iter().any(|c: &(usize, _, _)| c.0 >= index) {
            return None; // components out of frame order, or twice
        }
        let (dc_table, ac_table) = ((s[1] >> 4) as usize, (s[1] & 15) as usize);
        // Each scan reads only the table it decodes with: DC first scans the DC table, AC scans the AC.
        let dc = if ss == 0 && ah == 0 {
            Some(dc.get(dc_table)?.clone()?)
        } else {
            None
        };
        let ac = if ss > 0 {
            Some(ac.get(ac_table)?.clone()?)
        } else {
            None
        };
        components.push((index, dc, ac));
    }
    Some(Scan {
        components,
        ss,
        se,
        ah,
        al,
        entropy: entropy(data),
    })
}

type FrameComps = Vec<(u8, usize, usize, usize)>;

fn parse_frame(seg: &[u8]) -> Option<(usize, usize, FrameComps)> {
    let (precision, height, width) = (*seg.first()?, be16(seg, 1)?, be16(seg, 3)?);
    let n = *seg.get(5)? as usize;
    if precision != 8 || n != 3 || width == 0 || height == 0 {
        return None;
    }
    let comps: FrameComps = (0..n)
        .map(|i| {
            let s = seg.get(6 + 3 * i..9 + 3 * i)?;
            Some((
                s[0],
                (s[1] >> 4) as usize,
                (s[1] & 15) as usize,
                s[2] as usize,
            ))
        })
        .collect::<Option<_>>()?;
    let luma_ok = matches!(comps[0].1, 1 | 2) && matches!(comps[0].2, 1 | 2);
    let chroma_ok = comps[1..].iter().all(|c| c.1 == 1 && c.2 == 1 && c.3 < 4);
    (luma_ok && chroma_ok && comps[0].3 < 4).then_some((width, height, comps))
}

fn parse_scan(seg: &[u8], frame: &FrameComps) -> Option<Vec<Component>> {
    let n = *seg.first()? as usize;
    if n != frame.len() {
        return None; // non-interleaved (one scan per component)
    }
    let mut comps = Vec::with_capacity(n);
    for (i, f) in frame.iter().enumerate() {
        let s = seg.get(1 + 2 * i..3 + 2 * i)?;
        if s[0] != f.0 {
            return None;
        }
        comps.push(component(f, (s[1] >> 4) as usize, (s[1] & 15) as usize));
    }
    let tail = seg.get(1 + 2 * n..4 + 2 * n)?;
    (tail == [0, 63, 0] && comps.iter().all(|c| c.dc_table < 4 && c.ac_table < 4)).then_some(comps)
}

/// Finds where the entropy-coded data ends (the first marker: EOI, or a RST that makes this file not
/// ours) and where its stuffed bytes are.
fn entropy(raw: &[u8]) -> Entropy<'_> {
    let mut stuffing = Vec::new();
    let mut at = 0;
    let end = loop {
        let Some(i) = memchr::memchr(0xFF, &raw[at..]) else {
            break raw.len();
        };
        let ff = at + i;
        if raw.get(ff + 1) != Some(&0) {
            break ff;
        }
        stuffing.push(ff + 1 - stuffing.len());
        at = ff + 2;
    };
    Entropy { raw, end, stuffing }
}
