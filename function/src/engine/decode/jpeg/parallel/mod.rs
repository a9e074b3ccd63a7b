//! Our own JPEG decoder, for the files where libjpeg-turbo leaves cores idle: 8-bit YCbCr, baseline or
//! progressive, without restart intervals, shrunk in the DCT domain to 1/8, 1/4 or 1/2. Both kinds
//! decode on every core; everything else (grayscale, CMYK, 12-bit, restart intervals, other scales) and
//! any entropy data that does not decode cleanly go to libjpeg-turbo, which also words the errors.
//! Progressive files run their scans at once (`progressive`). Baseline files are one serial bit stream;
//! it is cut into one piece per core: the first piece is decoded for real, each other one speculatively
//! from a guessed state (its cut point, taken as the start of an MCU). Huffman codes resynchronise:
//! after a few blocks a speculative decoder lands on the true MCU boundaries, and from the first MCU
//! start where the true decoder's bit position meets one the speculative decoder recorded, both decode
//! the same symbols, so the speculative coefficients are kept; only the DC predictions differ, by one
//! constant per component, which is added back. A piece that never meets the true stream costs time,
//! never correctness: the true decoder then decodes that stretch itself.
mod guess;
mod huffman;
mod idct;
mod parse;
mod plan;
mod progressive;
mod put;
mod records;
mod scans;
mod schedule;
mod tables;

use guess::{speculate, Guess, Span, State};
use huffman::{Bits, Invalid};
use parse::{Baseline, Entropy, Jpeg};
use plan::Plan;
pub use plan::Rgb;
use rayon::prelude::*;
use std::ops::Range;

/// Entropy data per piece below which splitting costs more than it saves.
const MIN_PIECE_BYTES: usize = 256 << 10;

/// Decodes `input` shrunk to `n`/8 (n = 1, 2 or 4), or `None` when the file is not a baseline JPEG of
/// the supported shape or its entropy data does not decode cleanly.
pub fn decode(input: &[u8], n: usize) -> Option<Rgb> {
    let threads = rayon::current_num_threads();
    match parse::parse(input)? {
        Jpeg::Baseline(jpeg) => {
            let pieces = threads.min(jpeg.entropy.len() / MIN_PIECE_BYTES);
            decode_in(&jpeg, n, pieces.max(1)).map(|(rgb, _)| rgb)
        }
        Jpeg::Progressive(jpeg) => progressive::decode(&jpeg, n, threads),
    }
}

/// Decodes in `pieces` pieces; also says how many MCUs came from the speculative decoders.
fn decode_in(jpeg: &Baseline, n: usize, pieces: usize) -> Option<(Rgb, usize)> {
    let plan = Plan::new(jpeg, n)?;
    let (width, height) = (
        (jpeg.frame.width * n).div_ceil(8),
        (jpeg.frame.height * n).div_ceil(8),
    );
    let len = width * height * 3;
    let mut data = crate::engine::scratch::take(len).ok()?;
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
        // One row of MCUs' records. Every block writes all of its own, so the row is only grown (while
        // the first row fills it), never cleared: zeroing it per MCU was a `memset` call each.
        let mut row: Vec<i16> = Vec::with_capacity(plan.mcus_x * plan.record);
        let mut first = state.mcu;
        while state.bit < to && state.mcu < plan.mcus() {
            let at = (state.mcu - first) * plan.record;
            if row.len() < at + plan.record {
                row.resize(at + plan.record, 0);
            }
            plan.mcu(&mut bits, &mut state.preds, &mut row[at..at + plan.record])?;
            state.bit = bits.position();
            if state.bit > plan.limit {
                return Err(Invalid); // the data ends early
            }
            state.mcu += 1;
            if state.mcu.is_multiple_of(plan.mcus_x) {
                self.put_decoded(first..state.mcu, &row);
                first = state.mcu;
            }
        }
        if state.mcu > first {
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
        put::put(
            plan,
            mxs,
            record,
            &mut self.data[my * band..end],
            self.width,
        );
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
                    put::put(
                        plan,
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
mod markers_tests;
#[cfg(test)]
mod tests;
