//! Our decoders against the libraries they stand in for, on the fixtures (`engine_common::fixtures`):
//! `Decoders::Auto` and `Decoders::Library` (`IMGDEPLOY_DECODER=library`) render the same variants,
//! `Rendered::decoder` names the decoder each time, and the pixels agree:
//! - the PNG pipeline and the `png` crate: exactly where the variant is resampled after the decode
//!   (RGBA), within 1 per sample where it may be resampled in bands while the picture decodes
//!   (`resize/streamed.rs`: a band rounds the last bit of a weight differently from the whole);
//! - the parallel JPEG decoder and libjpeg-turbo, at 1/2, 1/4 and 1/8: within `MEAN_TOLERANCE` of
//!   each other on average per sample and `MAX_TOLERANCE` at any one sample (8-bit). They shrink
//!   differently (libjpeg-turbo averages the full IDCT and shrinks chroma less; see
//!   `decode/jpeg/parallel/idct.rs`), so close, not equal.
mod engine_common;
use engine_common::fixtures::fixtures;
use imgdeploy_function::engine::{self, Decoder, Decoders, Rendered};
use imgdeploy_function::spec::{Limits, VariantSpec};

/// Mean absolute difference per 8-bit sample allowed between the JPEG decoders' outputs (measured:
/// 1.39 at 1/2, 1.68 at 1/4, 2.44 at 1/8 on these grainy fixtures; largest single sample 42).
const MEAN_TOLERANCE: f64 = 3.0;
/// Largest difference allowed at one sample.
const MAX_TOLERANCE: u8 = 64;

/// One lossless variant per DCT scale the parallel decoder runs at (from 640x480 fixtures).
const JOBS: [(&str, &str); 3] = [
    (
        "1/2",
        r#"[{"name":"v","width":200,"height":150,"fit":"cover","format":"png"}]"#,
    ),
    (
        "1/4",
        r#"[{"name":"v","width":100,"height":75,"fit":"cover","format":"png"}]"#,
    ),
    (
        "1/8",
        r#"[{"name":"v","width":48,"height":36,"fit":"cover","format":"png"}]"#,
    ),
];

/// The decoders each fixture goes to at `scale`: with `Decoders::Auto`, and with `Decoders::Library`.
fn expected(name: &str, scale: &str) -> (Decoder, Decoder) {
    match name {
        // Upright it is 480x640: the 200x150 cover needs more than 1/2, so libjpeg-turbo decodes it.
        "rotated.jpg" if scale == "1/2" => (Decoder::Libjpeg, Decoder::Libjpeg),
        "baseline.jpg" | "progressive.jpg" | "rotated.jpg" => {
            (Decoder::DctParallel, Decoder::Libjpeg)
        }
        "gray.jpg" | "cmyk.jpg" => (Decoder::Libjpeg, Decoder::Libjpeg),
        "rgb.png" | "rgba.png" | "gray.png" => (Decoder::PngPipe, Decoder::PngCrate),
        "rgb16.png" => (Decoder::PngCrate, Decoder::PngCrate),
        _ => (Decoder::Image, Decoder::Image),
    }
}

fn render(input: &[u8], job: &str, decoders: Decoders) -> Rendered {
    let variants: Vec<VariantSpec> = serde_json::from_str(job).unwrap();
    let mut out = engine::render_with(input, &variants, &Limits::default(), decoders).unwrap();
    out.remove(0)
}

fn samples(r: &Rendered) -> (u32, u32, Vec<u8>) {
    let img = image::load_from_memory(&r.bytes).unwrap();
    (img.width(), img.height(), img.into_rgba8().into_raw())
}

#[test]
fn our_decoders_and_the_libraries_give_close_pixels_and_say_which_ran() {
    let mut worst = (0.0f64, 0u8);
    for (name, input) in fixtures() {
        for (scale, job) in JOBS {
            let (auto_decoder, library_decoder) = expected(name, scale);
            let ours = render(&input, job, Decoders::Auto);
            let theirs = render(&input, job, Decoders::Library);
            assert_eq!(ours.decoder, auto_decoder, "{name} at {scale}");
            assert_eq!(theirs.decoder, library_decoder, "{name} at {scale}");
            let (a, b) = (samples(&ours), samples(&theirs));
            assert_eq!((a.0, a.1), (b.0, b.1), "{name} at {scale}: sizes");
            if auto_decoder == library_decoder {
                assert!(
                    ours.bytes == theirs.bytes,
                    "{name}: the same decoder, other bytes"
                );
                continue;
            }
            if name.ends_with(".png") {
                let max = a.2.iter().zip(&b.2).map(|(x, y)| x.abs_diff(*y)).max();
                let allowed = if name == "rgba.png" { 0 } else { 1 };
                assert!(
                    max.unwrap_or(0) <= allowed,
                    "{name} at {scale}: the PNG decoders differ by {max:?}"
                );
                continue;
            }
            let diffs = a.2.iter().zip(&b.2).map(|(x, y)| x.abs_diff(*y));
            let max = diffs.clone().max().unwrap_or(0);
            let mean = diffs.map(f64::from).sum::<f64>() / a.2.len() as f64;
            eprintln!("{name} at {scale}: mean {mean:.3}, max {max}");
            assert!(
                mean <= MEAN_TOLERANCE && max <= MAX_TOLERANCE,
                "{name} at {scale}: mean difference {mean:.3} (at most {MEAN_TOLERANCE}), \
                 largest {max} (at most {MAX_TOLERANCE})"
            );
            worst = (worst.0.max(mean), worst.1.max(max));
        }
    }
    eprintln!("worst: mean {:.3}, max {}", worst.0, worst.1);
}

/// The switch itself: `IMGDEPLOY_DECODER` as `engine::render` reads it. (The only test in this
/// binary that sets it; the other calls `render_with`.)
#[test]
fn imgdeploy_decoder_library_forces_the_libraries_and_a_typo_is_an_error() {
    let (_, input) = fixtures()
        .into_iter()
        .find(|(n, _)| *n == "baseline.jpg")
        .unwrap();
    let variants: Vec<VariantSpec> = serde_json::from_str(JOBS[1].1).unwrap();
    let run = || engine::render(&input, &variants, &Limits::default());
    std::env::remove_var(Decoders::ENV);
    assert_eq!(run().unwrap()[0].decoder, Decoder::DctParallel);
    std::env::set_var(Decoders::ENV, "library");
    assert_eq!(run().unwrap()[0].decoder, Decoder::Libjpeg);
    std::env::set_var(Decoders::ENV, "libary");
    let err = run().unwrap_err();
    assert!(err.to_string().contains("IMGDEPLOY_DECODER"), "{err}");
    std::env::set_var(Decoders::ENV, "auto");
    assert_eq!(run().unwrap()[0].decoder, Decoder::DctParallel);
    std::env::remove_var(Decoders::ENV);
    assert_eq!(Decoder::DctParallel.to_string(), "dct-parallel");
    assert_eq!(
        serde_json::to_value(Decoder::Libjpeg).unwrap(),
        serde_json::json!("libjpeg-turbo")
    );
}
