//! Shrinking and colour-converting a row of MCUs as a `Plan` says: the kernels, one file per
//! compilation (`portable`; `avx2`, the same source with AVX2 enabled; `neon`, the same with a NEON
//! colour conversion), and the one place that picks among them (`Kernel::detect`). Every kernel gives
//! the same pixels.
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;

use super::idct;
use super::plan::Plan;
use std::ops::Range;

/// The compilations of `put`, one file each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    /// x86-64's baseline (SSE2) or any other architecture's. On arm64 only the tests run it.
    #[cfg_attr(all(target_arch = "aarch64", not(test)), allow(dead_code))]
    Portable,
    /// The same source compiled for AVX2 (`avx2`).
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// arm64, whose baseline includes NEON: the colour conversion's RGB stores as `st3` (`neon`).
    #[cfg(target_arch = "aarch64")]
    Neon,
}

impl Kernel {
    /// The best kernel this CPU runs.
    pub(super) fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Kernel::Avx2;
        }
        #[cfg(target_arch = "aarch64")]
        return Kernel::Neon;
        #[cfg(not(target_arch = "aarch64"))]
        Kernel::Portable
    }
}

thread_local! {
    /// The shrunk blocks of one row of MCUs: one buffer per thread, grown as needed, instead of a
    /// zeroed allocation per call (48 KB per row of MCUs on the 48 MP mosaic: 18 MB of `memset` per
    /// image).
    static PLANES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Shrinks and colour-converts MCUs `mxs` of one row of MCUs into `rows`, that row's output rows, with
/// the best kernel this CPU runs. `record(mx)` gives an MCU's coefficients and the offset to add to its
/// DC values.
pub(super) fn put<'r>(
    plan: &Plan,
    mxs: Range<usize>,
    record: impl Fn(usize) -> (&'r [i16], [i32; 3]),
    rows: &mut [u8],
    width: usize,
) {
    put_with(plan, Kernel::detect(), mxs, record, rows, width)
}

/// `put` with the given kernel (which the CPU must have).
pub(super) fn put_with<'r>(
    plan: &Plan,
    kernel: Kernel,
    mxs: Range<usize>,
    record: impl Fn(usize) -> (&'r [i16], [i32; 3]),
    rows: &mut [u8],
    width: usize,
) {
    PLANES.with_borrow_mut(|planes| {
        let planes = grown(plan, planes, mxs.len());
        match kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                assert!(std::arch::is_x86_feature_detected!("avx2"));
                // SAFETY: this CPU has AVX2, checked just above.
                unsafe { avx2::put(plan, mxs, record, rows, width, planes) }
            }
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => neon::put(plan, mxs, record, rows, width, planes),
            Kernel::Portable => {
                portable::put(plan, mxs, record, rows, width, planes, idct::ycbcr_to_rgb)
            }
        }
    })
}

/// `buffer`, grown to hold the three components of `mcus` MCUs, as `put` fills them.
fn grown<'b>(plan: &Plan, buffer: &'b mut Vec<f32>, mcus: usize) -> &'b mut [f32] {
    let (luma, chroma) = plan.plane_lens(mcus);
    let len = luma + 2 * chroma;
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}
