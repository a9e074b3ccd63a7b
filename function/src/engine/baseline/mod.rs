//! Parallel decoding of baseline JPEGs, shrunk in the DCT domain. The entropy-coded data of a JPEG
//! without restart markers is one serial bit stream; libjpeg-turbo decodes it on one core, and on the
//! large corpus photos that decode alone was more than the whole CPU budget. Here the stream is cut into
//! one piece per core: the first piece is decoded for real, each other one speculatively from a guessed
//! state (its cut point, taken as the start of an MCU). Huffman codes resynchronise: after a few
//! blocks a speculative decoder lands on the true MCU boundaries, and from the first MCU start where the
//! true decoder's bit position meets one the speculative decoder recorded, both decode the same symbols,
//! so the speculative coefficients are kept; only the DC predictions differ, by one constant per
//! component, which is added back. A piece that never meets the true stream costs time, never
//! correctness: the true decoder then decodes that stretch itself. Files of any other shape (progressive,
//! restart intervals, grayscale, CMYK, 12-bit) and any entropy data that does not decode cleanly go to
//! libjpeg-turbo, which also words the errors.
mod guess;
mod huffman;
mod idct;
mod parse;
mod records;

use guess::{speculate, Guess, Span, State};
use huffman::{Bits, Invalid, Table};
use parse::{Baseline, Entropy};
use rayon::prelude::*;
use std::ops::Range;

/// Zigzag position of each natural (row-major) coefficient index.
const ZIGZAG_OF: [u8; 64] = [
    0, 1, 5, 6, 14, 15, 27, 28, 2, 4, 7, 13, 16, 26, 29, 42, 3, 8, 12, 17, 25, 30, 41, 43, 9, 11,
    18, 24, 31, 40, 44, 53, 10, 19, 23, 32, 39, 45, 52, 54, 20, 22, 33, 38, 46, 51, 55, 60, 21, 34,
    37, 47, 50, 56, 59, 61, 35, 36, 48, 49, 57, 58, 62, 63,
];

/// Entropy data per piece below which splitting costs more than it saves.
const MIN_PIECE_BYTES: usize = 256 << 10;

/// A decoded picture: RGB8 rows, `width` x `height`.
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// Decodes `input` shrunk to `n`/8 (n = 1, 2 or 4), or `None` when the file is not a baseline JPEG of
/// the supported shape or its entropy data does not decode cleanly.
pub fn decode(input: &[u8], n: usize) -> Option<Rgb> {
    let jpeg = parse::parse(input)?;
    let pieces = rayon::current_num_threads().min(jpeg.entropy.len() / MIN_PIECE_BYTES);
    decode_in(&jpeg, n, pieces.max(1)).map(|(rgb, _)| rgb)
}

/// Decodes in `pieces` pieces; also says how many MCUs came from the speculative decoders.
fn decode_in(jpeg: &Baseline, n: usize, pieces: usize) -> Option<(Rgb, usize)> {
    let plan = Plan::new(jpeg, n)?;
    let (width, height) = ((jpeg.width * n).div_ceil(8), (jpeg.height * n).div_ceil(8));
    let len = width * height * 3;
    let mut data = super::scratch::take(len).ok()?;
    data.resize(len, 0);
    let mut canvas = Canvas {
        plan: &plan,
        bits: &jpeg.entropy,
        width,
        data: &mut data,
    };
    let bits = jpeg.entropy.len() * 8;
    let cuts = cuts(bits, pieces);
    // The true decoder takes the first piece while the others speculate.
    let (head, guesses) = rayon::join(
        || {
            let mut state = State::default();
            canvas.decode_until(&mut state, cuts[1]).map(|_| state)
        },
        || {
            (1..pieces)
                .into_par_iter()
                .map(|p| speculate(&plan, &jpeg.entropy, cuts[p], cuts[p + 1]))
                .collect::<Result<Vec<_>, _>>()
        },
    );
    let guesses = guesses.ok()?;
    let spans = canvas.stitch(head.ok()?, &guesses)?;
    canvas.fill_spans(&spans, &guesses);
    let guessed = spans.iter().map(|s| s.count).sum();
    let rgb = Rgb {
        width: width as u32,
        height: height as u32,
        data,
    };
    Some((rgb, guessed))
}

/// Where the pieces start, and the end. The first piece is shorter: its decoder also shrinks and
/// converts what it decodes, which the others leave for afterwards (done on every core then).
fn cuts(bits: usize, pieces: usize) -> Vec<usize> {
    const FIRST: f64 = 0.8;
    let unit = bits as f64 / (FIRST + (pieces - 1) as f64);
    let mut cuts: Vec<usize> = (0..pieces)
        .map(|p| ((FIRST + p as f64 - 1.0).max(0.0) * unit) as usize)
        .collect();
    cuts.push(bits);
    cuts
}

/// How blocks of this file are decoded and shrunk.
struct Plan {
    dc: Vec<Option<Table>>,
    ac: Vec<Option<Table>>,
    /// The blocks of one MCU in stream order.
    blocks: Vec<BlockPlan>,
    /// Every block shrinks to `n` x `n` pixels (1, 2 or 4).
    n: usize,
    /// Coefficients kept per MCU.
    record: usize,
    mcus_x: usize,
    mcus_y: usize,
    /// Output pixels per MCU, across and down.
    mcu_w: usize,
    mcu_h: usize,
    /// How many luma pixels share one chroma sample, across and down (1 or 2: the file's subsampling).
    chroma_h: usize,
    chroma_v: usize,
    /// Bits of entropy data: a decoder past this has read padding, not data.
    limit: usize,
    /// Where in a record each component's last DC value is (the prediction for the next MCU).
    last_dc: [usize; 3],
}

struct BlockPlan {
    component: usize,
    dc: usize,
    ac: usize,
    /// Where the block's `n` x `n` coefficients start in an MCU's record.
    offset: usize,
    /// Kept coefficient index of each zigzag position (255: not kept).
    slot: [u8; 64],
    /// Dequantisation of each kept coefficient.
    quant: [f32; 64],
    /// The last zigzag position kept.
    needed: usize,
    /// Top-left pixel of the shrunk block inside the MCU, in its component's plane.
    x: usize,
    y: usize,
}

impl Plan {
    fn new(jpeg: &Baseline, n: usize) -> Option<Plan> {
        if !matches!(n, 1 | 2 | 4) {
            return None;
        }
        let (max_h, max_v) = (jpeg.max_h(), jpeg.max_v());
        let mut blocks = Vec::new();
        let mut offset = 0;
        // Every block shrinks to n x n: chroma keeps the file's own subsampling and is widened when
        // converted to RGB (see `put`).
        for (ci, c) in jpeg.components.iter().enumerate() {
            let (mut slot, mut quant) = ([255u8; 64], [0f32; 64]);
            for v in 0..n {
                for u in 0..n {
                    let zigzag = ZIGZAG_OF[v * 8 + u] as usize;
                    slot[zigzag] = (v * n + u) as u8;
                    quant[v * n + u] = jpeg.quant[c.quant][zigzag] as f32;
                }
            }
            for by in 0..c.v {
                for bx in 0..c.h {
                    blocks.push(BlockPlan {
                        component: ci,
                        dc: c.dc_table,
                        ac: c.ac_table,
                        offset,
                        slot,
                        quant,
                        needed: (0..64).rfind(|&k| slot[k] != 255).unwrap_or(0),
                        x: bx * n,
                        y: by * n,
                    });
                    offset += n * n;
                }
            }
        }
        let table = |specs: &[Option<parse::HuffSpec>; 4], ac| -> Option<Vec<Option<Table>>> {
            specs
                .iter()
                .map(|s| match s {
                    Some(s) => Table::new(s, ac).map(Some),
                    None => Some(None),
                })
                .collect()
        };
        let (mcus_x, mcus_y) = jpeg.mcus();
        let mut last_dc = [0; 3];
        for b in &blocks {
            last_dc[b.component] = b.offset;
        }
        Some(Plan {
            dc: table(&jpeg.dc, false)?,
            ac: table(&jpeg.ac, true)?,
            blocks,
            n,
            record: offset,
            mcus_x,
            mcus_y,
            mcu_w: n * max_h,
            mcu_h: n * max_v,
            chroma_h: max_h,
            chroma_v: max_v,
            limit: jpeg.entropy.len() * 8,
            last_dc,
        })
    }

    fn mcus(&self) -> usize {
        self.mcus_x * self.mcus_y
    }

    /// Decodes the next MCU into `record`.
    #[inline(always)]
    fn mcu(
        &self,
        bits: &mut Bits,
        preds: &mut [i32; 3],
        record: &mut [i16],
    ) -> Result<(), Invalid> {
        for b in &self.blocks {
            let (dc, ac) = (self.dc[b.dc].as_ref(), self.ac[b.ac].as_ref());
            let (Some(dc), Some(ac)) = (dc, ac) else {
                return Err(Invalid);
            };
            let out = &mut record[b.offset..b.offset + self.n * self.n];
            bits.block(dc, ac, &mut preds[b.component], out, &b.slot, b.needed)?;
        }
        Ok(())
    }

    /// Shrinks and colour-converts MCUs `mxs` of one row of MCUs into `rows`, that row's output rows.
    /// `record(mx)` gives an MCU's coefficients and the offset to add to its DC values.
    fn put<'r>(
        &self,
        mxs: Range<usize>,
        record: impl Fn(usize) -> (&'r [i16], [i32; 3]),
        rows: &mut [u8],
        width: usize,
    ) {
        let (mcu_w, mcu_h) = (self.mcu_w, self.mcu_h);
        let stride = mxs.len() * mcu_w;
        let plane_len = stride * mcu_h;
        let (chroma_stride, chroma_len) = (
            stride / self.chroma_h,
            plane_len / self.chroma_h / self.chroma_v,
        );
        let mut planes = vec![0f32; plane_len + 2 * chroma_len];
        let (py, chroma) = planes.split_at_mut(plane_len);
        let (pb, pr) = chroma.split_at_mut(chroma_len);
        for (i, mx) in mxs.clone().enumerate() {
            let (rec, offset) = record(mx);
            for b in &self.blocks {
                let kept = &rec[b.offset..b.offset + self.n * self.n];
                let dc = (kept[0] as i32).wrapping_add(offset[b.component]) as i16;
                let (plane, stride, x) = match b.component {
                    0 => (&mut *py, stride, i * mcu_w),
                    c => (
                        if c == 1 { &mut *pb } else { &mut *pr },
                        chroma_stride,
                        i * mcu_w / self.chroma_h,
                    ),
                };
                let at = b.y * stride + x + b.x;
                idct::shrink(self.n, kept, dc, &b.quant, &mut plane[at..], stride);
            }
        }
        let x0 = mxs.start * mcu_w;
        let w = (mxs.end * mcu_w).min(width) - x0;
        for (y, line) in rows.chunks_exact_mut(width * 3).take(mcu_h).enumerate() {
            let luma = &py[y * stride..y * stride + w];
            let c = (y / self.chroma_v) * chroma_stride..(y / self.chroma_v + 1) * chroma_stride;
            let out = &mut line[x0 * 3..(x0 + w) * 3];
            idct::ycbcr_to_rgb(luma, &pb[c.clone()], &pr[c], self.chroma_h, out);
        }
    }
}

/// The output picture, written MCU by MCU.
struct Canvas<'a> {
    plan: &'a Plan,
    bits: &'a Entropy<'a>,
    width: usize,
    data: &'a mut [u8],
}

impl Canvas<'_> {
    /// Bytes of one row of MCUs in the output.
    fn band(&self) -> usize {
        self.plan.mcu_h * self.width * 3
    }

    /// Decodes for real from `state` until the bit position reaches `to` (or the last MCU), a row of
    /// MCUs at a time.
    fn decode_until(&mut self, state: &mut State, to: usize) -> Result<(), Invalid> {
        let plan = self.plan;
        let mut bits = Bits::new(self.bits, state.bit);
        let mut row: Vec<i16> = Vec::with_capacity(plan.mcus_x * plan.record);
        let mut first = state.mcu;
        while state.bit < to && state.mcu < plan.mcus() {
            let at = row.len();
            row.resize(at + plan.record, 0);
            plan.mcu(&mut bits, &mut state.preds, &mut row[at..])?;
            state.bit = bits.position();
            if state.bit > plan.limit {
                return Err(Invalid); // the data ends early
            }
            state.mcu += 1;
            if state.mcu.is_multiple_of(plan.mcus_x) {
                self.put_decoded(first..state.mcu, &row);
                row.clear();
                first = state.mcu;
            }
        }
        if !row.is_empty() {
            self.put_decoded(first..state.mcu, &row);
        }
        Ok(())
    }

    /// Writes MCUs `mcus` (within one row of MCUs), decoded here into `row`.
    fn put_decoded(&mut self, mcus: Range<usize>, row: &[i16]) {
        let plan = self.plan;
        let (my, first) = (mcus.start / plan.mcus_x, mcus.start % plan.mcus_x);
        let band = self.band();
        let end = ((my + 1) * band).min(self.data.len());
        let record = |mx: usize| (&row[(mx - first) * plan.record..], [0; 3]);
        let mxs = first..first + mcus.len();
        plan.put(mxs, record, &mut self.data[my * band..end], self.width);
    }

    /// Follows the true stream from the end of the first piece: wherever it meets a recorded MCU start
    /// of the next guess, that guess's records are taken; elsewhere MCUs are decoded here, one by one.
    fn stitch(&mut self, mut state: State, guesses: &[Guess]) -> Option<Vec<Span>> {
        let total = self.plan.mcus();
        let mut spans = Vec::new();
        let mut next = 0;
        while state.mcu < total {
            while guesses.get(next).is_some_and(|g| g.end.bit <= state.bit) {
                next += 1;
            }
            if let Some(g) = guesses.get(next) {
                if let Ok(first) = g.starts.binary_search(&state.bit) {
                    let count = (g.starts.len() - first).min(total - state.mcu);
                    let guessed = g.preds(self.plan, first);
                    let offset = [0, 1, 2].map(|c| state.preds[c].wrapping_sub(guessed[c]));
                    spans.push(Span {
                        mcu: state.mcu,
                        guess: next,
                        first,
                        count,
                        offset,
                    });
                    let (bit, preds) = match g.starts.get(first + count) {
                        Some(&bit) => (bit, g.preds(self.plan, first + count)),
                        None => (g.end.bit, g.end.preds),
                    };
                    state = State {
                        bit,
                        mcu: state.mcu + count,
                        preds: [0, 1, 2].map(|c| preds[c].wrapping_add(offset[c])),
                    };
                    next += 1;
                    continue;
                }
            }
            let one_mcu = state.bit + 1;
            self.decode_until(&mut state, one_mcu).ok()?;
        }
        Some(spans)
    }

    /// Writes the MCUs that the guesses decoded, a row of MCUs per task.
    fn fill_spans(&mut self, spans: &[Span], guesses: &[Guess]) {
        let (plan, width, band) = (self.plan, self.width, self.band());
        let per_row = plan.mcus_x;
        self.data
            .par_chunks_mut(band)
            .enumerate()
            .for_each(|(my, rows)| {
                let row = my * per_row..(my + 1) * per_row;
                for s in spans
                    .iter()
                    .filter(|s| s.mcu < row.end && s.mcu + s.count > row.start)
                {
                    let mcus = s.mcu.max(row.start)..(s.mcu + s.count).min(row.end);
                    let coefs = &guesses[s.guess].coefs;
                    let record = |mx: usize| {
                        let local = s.first + (my * per_row + mx - s.mcu);
                        (&coefs[local * plan.record..], s.offset)
                    };
                    plan.put(
                        mcus.start - row.start..mcus.end - row.start,
                        record,
                        rows,
                        width,
                    );
                }
            });
    }
}

#[cfg(test)]
mod tests;
