//! The parallel JPEG decoder (baseline and progressive) against libjpeg-turbo at 1/8, 1/4 and 1/2:
//! the same outcome and the same size at each, and at 1/8 pixels within the tolerance of
//! function/tests/engine_decoders.rs. A file that only one of them accepts must end in the library
//! path or an error, never in different pixels.
//!
//! Pixels are compared at 1/8, in files whose components are sampled alike (4:4:4). There both
//! decoders compute the same function of each block's DC coefficient (range limit included,
//! `decode/jpeg/parallel/idct.rs::sample`). Elsewhere they are different filters by design: at 1/4
//! and 1/2 our shrink keeps the top-left coefficients where libjpeg-turbo's reduced IDCTs weigh others
//! too, and libjpeg-turbo shrinks subsampled chroma half as much as we do. On pictures they agree
//! within the tolerance (the unit tests and engine_decoders.rs check every scale and sampling on
//! photos), but coefficients a fuzzer makes up drive two different filters arbitrarily far apart
//! (measured: chroma 39 apart on average at 1/8 in a 4:2:0 file), so there only the verdicts are
//! held. Entropy decoding, block layout and colour conversion are shared by every path, and compared
//! in the 4:4:4 files.
#![no_main]
use imgdeploy_function::engine::{self, Decoder};
use imgdeploy_fuzz::{agree, both, inside_png, side_for_shrink, subsampled, Tolerance};
use libfuzzer_sys::fuzz_target;

/// engine_decoders.rs's tolerances: MEAN_TOLERANCE on average, MAX_TOLERANCE at any one sample.
const TOLERANCE: Tolerance = Tolerance {
    luma_mean: 3.0,
    luma_max: 64,
    chroma_mean: 3.0,
    chroma_max: 64,
    sample_max: 64,
};

fuzz_target!(|input: &[u8]| {
    let Ok(info) = engine::probe(input) else {
        return;
    };
    if info.format != "jpeg" {
        return;
    }
    for shrink in [8, 4, 2] {
        let side = side_for_shrink(info.width, info.height, shrink);
        let (auto, library) = both(input, &inside_png(side));
        let tolerance = (shrink == 8 && subsampled(input) == Some(false)).then_some(TOLERANCE);
        agree(
            &format!("1/{shrink}"),
            &auto,
            &library,
            Decoder::DctParallel,
            tolerance,
        );
    }
});
