//! AVIF output, read back by an independent decoder (libavif's `avifdec` from Debian's libavif-bin,
//! which CI installs; it decodes with dav1d, not the libaom that encoded):
//! - the file decodes to the variant's dimensions, close to the same variant rendered losslessly;
//! - alpha is kept, gray stays gray;
//! - quality and effort change the file the way their documentation says;
//! - an AVIF variant is rendered from the same decode as its JPEG and WebP siblings;
//! - `format = "auto"` is those three (or PNG for the JPEG, with alpha), byte for byte.
mod engine_common;
use engine_common::fixtures::{jpeg, photo};
use engine_common::*;
use image::{DynamicImage, GenericImageView, RgbaImage};
use imgdeploy_function::engine;
use imgdeploy_function::spec::{Format, Limits, Output};
use std::process::Command;

/// Decodes `avif` with `avifdec` into a PNG and reads it.
fn avifdec(avif: &[u8]) -> DynamicImage {
    let dir = std::env::temp_dir().join(format!("imgdeploy-avif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let stem = dir.join(format!("decoded-{n}"));
    let (input, output) = (stem.with_extension("avif"), stem.with_extension("png"));
    std::fs::write(&input, avif).unwrap();
    let run = Command::new("avifdec")
        .arg(&input)
        .arg(&output)
        .output()
        .expect("avifdec runs (Debian's libavif-bin: scripts/setup.sh installs it)");
    assert!(
        run.status.success(),
        "avifdec refused the file: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let img = image::open(&output).unwrap();
    let _ = std::fs::remove_file(input);
    let _ = std::fs::remove_file(output);
    img
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64.powi(2) / mse.max(1e-9)).log10()
}

fn source() -> Vec<u8> {
    let p = photo(1200, 800);
    jpeg(p.as_raw(), 1200, 800, mozjpeg::ColorSpace::JCS_RGB, false)
}

#[test]
fn avif_decodes_to_the_variant_close_to_its_lossless_twin() {
    let input = source();
    let avif = render_one(
        &input,
        r#"{"name":"v","width":480,"height":320,"fit":"cover","format":"avif"}"#,
    );
    assert_eq!(avif.format, Format::Avif);
    assert_eq!((avif.width, avif.height), (480, 320));
    assert_eq!(&avif.bytes[4..12], b"ftypavif");
    let lossless = render_one(
        &input,
        r#"{"name":"v","width":480,"height":320,"fit":"cover","format":"png"}"#,
    );
    let back = avifdec(&avif.bytes);
    assert_eq!(back.dimensions(), (480, 320));
    let db = psnr(
        back.to_rgb8().as_raw(),
        decoded(&lossless).to_rgb8().as_raw(),
    );
    // Quality 50 on a grainy picture: measured 30.5 dB; 28 dB is still the same picture, a colour swap
    // or a shifted plane is below 15.
    assert!(db > 28.0, "{db:.1} dB against the lossless rendering");
    // Far smaller than the PNG, and than the JPEG at its default quality.
    let jpeg = render_one(
        &input,
        r#"{"name":"v","width":480,"height":320,"fit":"cover","format":"jpeg"}"#,
    );
    assert!(
        avif.bytes.len() < jpeg.bytes.len(),
        "AVIF {} bytes, JPEG {}",
        avif.bytes.len(),
        jpeg.bytes.len()
    );
}

#[test]
fn alpha_is_kept_and_gray_stays_gray() {
    // Left half opaque red, right half transparent blue, with a soft edge between.
    let rgba = RgbaImage::from_fn(200, 100, |x, _| {
        let a = (255 - (x as i32 - 90).clamp(0, 20) * 255 / 20) as u8;
        image::Rgba([200, 40, 40, a])
    });
    let input = fixtures::png(&DynamicImage::ImageRgba8(rgba.clone()));
    let out = render_one(
        &input,
        r#"{"name":"v","width":200,"height":100,"fit":"fill","format":"avif","quality":90}"#,
    );
    let back = avifdec(&out.bytes).to_rgba8();
    for (x, want) in [(10, 255u8), (60, 255), (150, 0), (190, 0)] {
        let got = back.get_pixel(x, 50)[3];
        assert!(
            got.abs_diff(want) <= 4,
            "alpha at x={x}: {got}, want {want}"
        );
    }
    let red = back.get_pixel(20, 50);
    assert!(
        red[0].abs_diff(200) <= 12 && red[1].abs_diff(40) <= 12,
        "{red:?}"
    );

    let gray = DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(photo(160, 120)).to_luma8());
    let out = render_one(
        &fixtures::png(&gray),
        r#"{"name":"v","width":160,"height":120,"fit":"fill","format":"avif"}"#,
    );
    let back = avifdec(&out.bytes).to_rgb8();
    assert!(
        back.pixels().all(|p| p[0] == p[1] && p[1] == p[2]),
        "a gray source decodes with colour in it"
    );
}

#[test]
fn quality_and_effort_do_what_the_readme_says() {
    let input = source();
    let at = |extra: &str| {
        let v = format!(
            r#"{{"name":"v","width":400,"height":300,"fit":"cover","format":"avif"{extra}}}"#
        );
        render_one(&input, &v).bytes
    };
    let (low, default, high) = (at(r#","quality":25"#), at(""), at(r#","quality":80"#));
    assert!(low.len() < default.len() && default.len() < high.len());
    // The default quality is 50, not the JPEG default of 80.
    assert_eq!(default, at(r#","quality":50"#));
    // Effort picks libaom's speed: the default is 3, and another effort is another encoding.
    assert_eq!(default, at(r#","effort":3"#));
    assert_ne!(default, at(r#","effort":0"#));
}

#[test]
fn avif_comes_from_the_same_decode_as_its_siblings() {
    let input = source();
    let variants: Vec<_> = ["jpeg", "webp", "avif"]
        .iter()
        .map(|f| variant(&format!(
            r#"{{"name":"v-{f}","width":300,"height":200,"fit":"cover","format":"{f}","quality":90}}"#
        )))
        .collect();
    let out = engine::render(&input, &variants, &Limits::default()).unwrap();
    assert_eq!(out.len(), 3);
    // One decode: every variant names the same decoder, and the AVIF is the same picture as the
    // others (at quality 90 all three are within a few levels of each other).
    assert!(out.iter().all(|r| r.decoder == out[0].decoder));
    let jpeg = decoded(&out[0]).to_rgb8();
    let avif = avifdec(&out[2].bytes).to_rgb8();
    assert!(mad(&jpeg, &avif) < 4.0, "{}", mad(&jpeg, &avif));
}

#[test]
fn auto_is_avif_webp_and_jpeg_byte_for_byte_from_one_resample() {
    let input = source();
    let box_ = r#""width":300,"height":200,"fit":"cover""#;
    let auto = engine::render(
        &input,
        &[variant(&format!(
            r#"{{"name":"v",{box_},"format":"auto"}}"#
        ))],
        &Limits::default(),
    )
    .unwrap();
    let outputs: Vec<_> = auto.iter().map(|r| (r.output, r.format)).collect();
    assert_eq!(
        outputs,
        [
            (Output::Named(Format::Avif), Format::Avif),
            (Output::Named(Format::Webp), Format::Webp),
            (Output::Fallback, Format::Jpeg),
        ]
    );
    for (r, format) in auto.iter().zip(["avif", "webp", "jpeg"]) {
        assert_eq!((r.name.as_str(), r.width, r.height), ("v", 300, 200));
        // Each format at its own default quality and settings: the same bytes as a variant of it.
        let alone = render_one(
            &input,
            &format!(r#"{{"name":"v",{box_},"format":"{format}"}}"#),
        );
        assert!(
            r.bytes == alone.bytes,
            "{format} differs from a {format} variant"
        );
    }
    assert_eq!(avifdec(&auto[0].bytes).dimensions(), (300, 200));
}

#[test]
fn auto_falls_back_to_png_when_the_picture_keeps_alpha() {
    let rgba = RgbaImage::from_fn(200, 100, |x, _| {
        image::Rgba([200, 40, 40, if x < 100 { 255 } else { 0 }])
    });
    let input = fixtures::png(&DynamicImage::ImageRgba8(rgba));
    let auto = engine::render(
        &input,
        &[variant(
            r#"{"name":"v","width":100,"height":50,"fit":"fill","format":"auto"}"#,
        )],
        &Limits::default(),
    )
    .unwrap();
    let formats: Vec<_> = auto.iter().map(|r| r.format).collect();
    assert_eq!(formats, [Format::Avif, Format::Webp, Format::Png]);
    assert_eq!(auto[2].output, Output::Fallback);
    for r in [&auto[1], &auto[2]] {
        let back = decoded(r).to_rgba8();
        assert_eq!(back.get_pixel(10, 25)[3], 255, "{:?}", r.format);
        assert_eq!(back.get_pixel(90, 25)[3], 0, "{:?}", r.format);
    }
    let back = avifdec(&auto[0].bytes).to_rgba8();
    assert!(back.get_pixel(90, 25)[3] <= 4, "AVIF keeps alpha");

    // An opaque picture letterboxed with a transparent background has alpha too.
    let opaque = source();
    let auto = engine::render(
        &opaque,
        &[variant(
            r##"{"name":"v","width":300,"height":300,"fit":"contain","background":"#00000000","format":"auto"}"##,
        )],
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(auto[2].format, Format::Png);
}
