//! The encoder's constant tables: the zigzag order and libjpeg's quality-scaled quantisation tables. A
//! leaf: every other part of the encoder may use it, it uses none of them.

/// Natural (row-major) index of each zigzag position.
pub const NATURAL: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Annex K's tables (natural order), which libjpeg scales by quality.
const LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// libjpeg's `jpeg_set_quality(quality, FALSE)` tables: luma, chroma (natural order).
pub fn quant_tables(quality: u8) -> [[u16; 64]; 2] {
    let q = quality.clamp(1, 100) as f32;
    let scale = (if q < 50.0 {
        5000.0 / q
    } else {
        200.0 - q * 2.0
    }) as i64;
    [LUMA, CHROMA].map(|base| base.map(|b| ((b as i64 * scale + 50) / 100).clamp(1, 32767) as u16))
}
