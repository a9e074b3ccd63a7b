//! The reader and tables on hand-made codes: whole coefficients and differences, and skipping.
#![allow(clippy::unusual_byte_groupings)] // the bit patterns are grouped by code, not by nibble
use super::super::parse::HuffSpec;
use super::table::*;

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
