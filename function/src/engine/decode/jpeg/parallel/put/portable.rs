//! The portable compilation of `Plan::put`: each block's scaled IDCT into the planes of one row of
//! MCUs, then the colour conversion into RGB rows. Written once, inlined into every compilation
//! (`avx2` compiles the same body with AVX2 enabled; `neon` passes its own colour conversion).
use super::super::idct;
use super::super::plan::Plan;
use std::ops::Range;

/// `Plan::put`'s body, inlined into each of its compilations. `planes` (from `put`) takes the
/// shrunk blocks before colour conversion; every block writes all of its own pixels, so it is never
/// cleared. `ycbcr_to_rgb` converts one output row (`idct::ycbcr_to_rgb`'s contract and pixels).
#[inline(always)]
pub(super) fn put<'r>(
    plan: &Plan,
    mxs: Range<usize>,
    record: impl Fn(usize) -> (&'r [i16], [i32; 3]),
    rows: &mut [u8],
    width: usize,
    planes: &mut [f32],
    ycbcr_to_rgb: impl Fn(&[f32], &[f32], &[f32], usize, &mut [u8]),
) {
    let (mcu_w, mcu_h) = (plan.mcu_w, plan.mcu_h);
    let stride = mxs.len() * mcu_w;
    let chroma_stride = stride / plan.chroma_h;
    let (plane_len, chroma_len) = plan.plane_lens(mxs.len());
    let (py, chroma) = planes.split_at_mut(plane_len);
    let (pb, pr) = chroma.split_at_mut(chroma_len);
    for (i, mx) in mxs.clone().enumerate() {
        let (rec, offset) = record(mx);
        for b in &plan.blocks {
            let kept = &rec[b.offset..b.offset + plan.n * plan.n];
            let dc = (kept[0] as i32).wrapping_add(offset[b.component]) as i16;
            let (plane, stride, x) = match b.component {
                0 => (&mut *py, stride, i * mcu_w),
                c => (
                    if c == 1 { &mut *pb } else { &mut *pr },
                    chroma_stride,
                    i * mcu_w / plan.chroma_h,
                ),
            };
            let at = b.y * stride + x + b.x;
            idct::shrink(plan.n, kept, dc, &b.quant, &mut plane[at..], stride);
        }
    }
    let x0 = mxs.start * mcu_w;
    let w = (mxs.end * mcu_w).min(width) - x0;
    for (y, line) in rows.chunks_exact_mut(width * 3).take(mcu_h).enumerate() {
        let luma = &py[y * stride..y * stride + w];
        let c = (y / plan.chroma_v) * chroma_stride..(y / plan.chroma_v + 1) * chroma_stride;
        let out = &mut line[x0 * 3..(x0 + w) * 3];
        ycbcr_to_rgb(luma, &pb[c.clone()], &pr[c], plan.chroma_h, out);
    }
}
