//! The speculative decoders: each decodes its piece of the entropy data from a guessed state and records
//! where every MCU started, so that the true decoder can tell where it meets them (see the parent).
use super::huffman::{Bits, Invalid};
use super::parse::Entropy;
use super::plan::Plan;
use super::records::Mapped;

/// Where a decoder stands at the start of an MCU.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct State {
    pub(super) bit: usize,
    pub(super) mcu: usize,
    pub(super) preds: [i32; 3],
}

/// What a speculative decoder recorded: the bit position of each MCU it decoded, the MCUs'
/// coefficients, and where it stopped. After corrupt-looking data it starts over, so everything it keeps
/// leads to the end of its piece without an error.
pub(super) struct Guess {
    pub(super) starts: Mapped<usize>,
    pub(super) coefs: Mapped<i16>,
    pub(super) end: State,
}

impl Guess {
    /// The DC predictions at the start of recorded MCU `i`: what the MCU before it left.
    pub(super) fn preds(&self, plan: &Plan, i: usize) -> [i32; 3] {
        match i.checked_sub(1) {
            None => [0; 3],
            Some(before) => plan
                .last_dc
                .map(|at| self.coefs[before * plan.record + at] as i32),
        }
    }
}

/// Decodes bits `from..to` from a guessed state; fails only when there is no memory for the records.
pub(super) fn speculate(
    plan: &Plan,
    data: &Entropy,
    from: usize,
    to: usize,
) -> std::io::Result<Guess> {
    // A piece may hold more than its share of MCUs (the picture's simple parts take fewer bits), but
    // never more than the picture has.
    let most = plan.mcus();
    let mut g = Guess {
        starts: Mapped::with_room(most)?,
        coefs: Mapped::with_room(most * plan.record)?,
        end: State {
            bit: from,
            ..State::default()
        },
    };
    let mut bits = Bits::new(data, from);
    let state = &mut g.end;
    while state.bit < to && g.starts.len() < plan.mcus() {
        // Decoded in place, and kept only if it is a whole MCU.
        let record = g.coefs.next_mut(plan.record);
        match plan.mcu(&mut bits, &mut state.preds, record) {
            Ok(()) if bits.position() > plan.limit => break,
            Ok(()) => {
                g.starts.push(state.bit);
                g.coefs.commit(plan.record);
                state.bit = bits.position();
            }
            Err(Invalid) => {
                // Not an MCU start after all: what led here is useless; try from the next bit.
                g.starts.clear();
                g.coefs.clear();
                *state = State {
                    bit: state.bit + 1,
                    ..State::default()
                };
                bits = Bits::new(data, state.bit);
            }
        }
    }
    Ok(g)
}

/// MCUs `mcu..mcu + count` are a guess's records from `first` on, with `offset` added to the DC.
pub(super) struct Span {
    pub(super) mcu: usize,
    pub(super) guess: usize,
    pub(super) first: usize,
    pub(super) count: usize,
    pub(super) offset: [i32; 3],
}
