//! Every input the fuzzers found a bug with (`fixtures/fuzz/`, one file per finding, named for what
//! it broke; docs/fuzzing.md lists them) stays fixed: rendered with our decoders and with the
//! libraries (`Decoders::Auto` and `Decoders::Library`) at each JPEG shrink, both give the same
//! outcome (the same error kind, or variants of the same size), no error is `internal` (a caught
//! panic), and at 1/8, where both JPEG decoders compute the same function of the DC coefficients,
//! pixels within the tolerances of engine_decoders.rs (fuzz/src/lib.rs says why not at 1/4 and 1/2).
use imgdeploy_function::engine::{self, Decoders};
use imgdeploy_function::spec::{Limits, VariantSpec};
use std::path::Path;

fn variant(side: u32) -> Vec<VariantSpec> {
    serde_json::from_str(&format!(
        r#"[{{"name":"v","width":{side},"height":{side},"fit":"inside","format":"png"}}]"#
    ))
    .unwrap()
}

/// engine_decoders.rs's MEAN_TOLERANCE: mean difference per 8-bit sample between the decoders.
const MEAN_TOLERANCE: f64 = 3.0;

/// engine_decoders.rs's MAX_TOLERANCE: the largest difference at one sample.
const MAX_TOLERANCE: u8 = 64;

/// The outcome in words, and the variant's RGBA samples when there is one.
fn verdict(input: &[u8], side: u32, decoders: Decoders) -> (String, Vec<u8>) {
    match engine::render_with(input, &variant(side), &Limits::default(), decoders) {
        Ok(v) => (
            format!("ok {}x{}", v[0].width, v[0].height),
            image::load_from_memory(&v[0].bytes)
                .unwrap()
                .into_rgba8()
                .into_raw(),
        ),
        Err(e) => (format!("err {}", e.kind()), Vec::new()),
    }
}

/// The verdict each finding must get, where it is certain.
fn expected(name: &str) -> Option<&'static str> {
    Some(match name {
        "jpeg-bogus-dac-in-huffman-file.jpg" => "err corrupt",
        "png-palette-ends-in-a-partial-entry.png" => "err corrupt",
        "jpeg-coefficients-far-out-of-range.jpg" => "ok",
        "jpeg-dc-table-symbol-past-15.jpg" => "err corrupt",
        "jpeg-comment-runs-past-the-end-of-the-file.jpg" => "err corrupt",
        "jpeg-quantisation-table-never-defined.jpg" => "err corrupt",
        "png-ends-inside-a-chunk-after-the-image-data.png" => "err corrupt",
        "jpeg-dc-only-progressive-smoothed-by-libjpeg.jpg" => "ok",
        _ => return None,
    })
}

#[test]
fn every_fuzz_finding_gets_one_verdict_from_both_decoders() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no findings in {}", dir.display());
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&f).unwrap();
        let longest = engine::probe(&input)
            .map(|i| i.width.max(i.height))
            .unwrap_or(64);
        // The boxes that make a JPEG shrink by 1/8, 1/4 and 1/2, and the full size.
        let eighth = (longest * 9 / 100).max(1);
        for side in [eighth, longest * 18 / 100, longest * 36 / 100, longest] {
            let side = side.max(1);
            let (ours, our_pixels) = verdict(&input, side, Decoders::Auto);
            let (theirs, their_pixels) = verdict(&input, side, Decoders::Library);
            assert_eq!(ours, theirs, "{name} inside {side}");
            let luma = |p: &[u8]| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64;
            let total: f64 = our_pixels
                .chunks_exact(4)
                .zip(their_pixels.chunks_exact(4))
                .map(|(a, b)| (luma(a) - luma(b)).abs())
                .sum();
            let mean = total / (our_pixels.len() / 4).max(1) as f64;
            let max = our_pixels
                .iter()
                .zip(&their_pixels)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap_or(0);
            if side == eighth {
                assert!(
                    mean <= MEAN_TOLERANCE && max <= MAX_TOLERANCE,
                    "{name} inside {side}: luma {mean:.2} apart on average, {max} at one sample"
                );
            }
            assert_ne!(ours, "err internal", "{name} inside {side}");
            if let Some(verdict) = expected(&name) {
                assert!(ours.starts_with(verdict), "{name} inside {side}: {ours}");
            }
        }
    }
}
