//! `Plan::put` compiled for AVX2. x86-64's baseline (SSE2) has no byte shuffle, so the colour
//! conversion's 3-byte RGB stores come out as scalar code there; with AVX2 they vectorise. Same source
//! (`portable::put`, inlined here), same IEEE float operations (Rust never fuses them), so the same
//! pixels, which a test checks on every CPU that has AVX2.
use super::super::idct;
use super::super::plan::Plan;
use super::portable;
use std::ops::Range;

/// `portable::put` with AVX2 enabled.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn put<'r>(
    plan: &Plan,
    mxs: Range<usize>,
    record: impl Fn(usize) -> (&'r [i16], [i32; 3]),
    rows: &mut [u8],
    width: usize,
    planes: &mut [f32],
) {
    portable::put(plan, mxs, record, rows, width, planes, idct::ycbcr_to_rgb)
}
