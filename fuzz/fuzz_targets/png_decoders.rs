//! The PNG pipeline, with variants resampled while it decodes (`resize/streamed.rs`), against the
//! `png` crate: the same outcome, the same size, and the same pixels (within 1 per sample, the
//! rounding a resampled band may differ by; function/tests/engine_decoders.rs). A file only one of
//! them accepts must end in the library path or an error.
#![no_main]
use imgdeploy_function::engine::{self, Decoder};
use imgdeploy_fuzz::{agree, both, inside_png, Tolerance};
use libfuzzer_sys::fuzz_target;

/// Within 1 per sample everywhere (a resampled band's rounding).
const EXACT: Tolerance = Tolerance {
    luma_mean: 1.0,
    luma_max: 1,
    chroma_mean: 1.0,
    chroma_max: 1,
    sample_max: 1,
};

fuzz_target!(|input: &[u8]| {
    let Ok(info) = engine::probe(input) else {
        return;
    };
    if info.format != "png" {
        return;
    }
    let longest = info.width.max(info.height);
    // Unscaled, and two downscales that the pipeline resamples in bands.
    for side in [longest, longest / 2, longest / 7] {
        let (auto, library) = both(input, &inside_png(side));
        agree(
            &format!("inside {side}"),
            &auto,
            &library,
            Decoder::PngPipe,
            Some(EXACT),
        );
    }
});
