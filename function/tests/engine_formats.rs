//! The engine's inputs and outputs: every input format with alpha, every fit mode, every output
//! format (and no metadata in them), and the limits checked from the header.
mod engine_common;
use engine_common::*;
use image::{DynamicImage, GenericImageView};
use imgdeploy_function::engine;
use imgdeploy_function::spec::{Format, Limits, VariantSpec};

/// Every input format decodes to the same colours: a 40x30 picture with a known pixel pattern.
#[test]
fn png_webp_gif_inputs_keep_their_colours_and_alpha() {
    let rgba = image::RgbaImage::from_fn(40, 30, |x, _| {
        if x < 20 {
            image::Rgba([200, 40, 40, 255])
        } else {
            image::Rgba([20, 60, 220, 0])
        }
    });
    let img = DynamicImage::ImageRgba8(rgba.clone());
    let mut inputs: Vec<(&str, Vec<u8>)> = Vec::new();
    for (name, fmt) in [
        ("png", image::ImageFormat::Png),
        ("webp-lossless", image::ImageFormat::WebP),
    ] {
        let mut b = std::io::Cursor::new(Vec::new());
        img.write_to(&mut b, fmt).unwrap();
        inputs.push((name, b.into_inner()));
    }
    let mut b = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgba16(img.to_rgba16())
        .write_to(&mut b, image::ImageFormat::Png)
        .unwrap();
    inputs.push(("png16", b.into_inner()));
    inputs.push((
        "webp-lossy",
        webp::Encoder::from_rgba(rgba.as_raw(), 40, 30)
            .encode(90.0)
            .to_vec(),
    ));
    let mut b = std::io::Cursor::new(Vec::new());
    image::codecs::gif::GifEncoder::new(&mut b)
        .encode_frame(image::Frame::new(rgba.clone()))
        .unwrap();
    inputs.push(("gif", b.into_inner()));
    for (name, bytes) in inputs {
        let r = render_one(
            &bytes,
            r#"{"name":"x","width":40,"height":30,"fit":"fill","format":"png"}"#,
        );
        let px = decoded(&r).to_rgba8();
        let (l, rt) = (px.get_pixel(5, 15).0, px.get_pixel(35, 15).0);
        assert!(
            (l[0] as i32 - 200).abs() < 12 && l[3] == 255,
            "{name}: left {l:?}"
        );
        assert!(
            rt[3] < 10,
            "{name}: right should stay transparent, got {rt:?}"
        );
        // Flattened onto the (white) background for JPEG.
        let j = render_one(
            &bytes,
            r##"{"name":"x","width":40,"height":30,"fit":"fill","format":"jpeg","background":"#ffffff"}"##,
        );
        let p = decoded(&j).to_rgb8().get_pixel(35, 15).0;
        assert!(
            p.iter().all(|&c| c > 230),
            "{name}: transparent area flattened to {p:?}"
        );
    }
}

#[test]
fn fit_modes_give_their_sizes_and_letterbox_colour() {
    let input = jpeg_bytes(&DynamicImage::ImageRgb8(asymmetric(400, 200)), 90.0);
    let cases = [
        (
            r#"{"name":"a","width":100,"height":100,"fit":"cover"}"#,
            (100, 100),
        ),
        (
            r#"{"name":"a","width":100,"height":100,"fit":"fill"}"#,
            (100, 100),
        ),
        (
            r#"{"name":"a","width":100,"height":100,"fit":"inside"}"#,
            (100, 50),
        ),
        (
            r#"{"name":"a","width":100,"height":100,"fit":"outside"}"#,
            (200, 100),
        ),
        (
            r#"{"name":"a","width":1000,"height":1000,"fit":"inside"}"#,
            (400, 200),
        ),
        (r#"{"name":"a","width":100,"fit":"cover"}"#, (100, 50)),
        (r#"{"name":"a","height":50}"#, (100, 50)),
        (
            r#"{"name":"a","width":100,"height":100,"fit":"cover","gravity":"entropy"}"#,
            (100, 100),
        ),
        (
            r#"{"name":"a","width":100,"height":100,"fit":"cover","gravity":"attention"}"#,
            (100, 100),
        ),
    ];
    for (v, dims) in cases {
        let r = render_one(&input, v);
        assert_eq!((r.width, r.height), dims, "{v}");
        assert_eq!(decoded(&r).dimensions(), dims, "{v}");
    }
    let r = render_one(
        &input,
        r##"{"name":"a","width":100,"height":100,"fit":"contain","background":"#00ff00","format":"png"}"##,
    );
    let px = decoded(&r).to_rgb8();
    assert_eq!(px.dimensions(), (100, 100));
    assert_eq!(px.get_pixel(50, 5).0, [0, 255, 0], "letterbox band");
    assert!(
        px.get_pixel(80, 60).0[2] < 120,
        "picture in the middle: {:?}",
        px.get_pixel(80, 60)
    );
}

#[test]
fn outputs_are_what_was_asked_and_carry_no_metadata() {
    let input = with_orientation(
        &jpeg_bytes(&DynamicImage::ImageRgb8(asymmetric(300, 200)), 90.0),
        1,
    );
    let vs: Vec<VariantSpec> = serde_json::from_str(
        r#"[{"name":"j","width":150,"format":"jpeg","quality":80},
            {"name":"b","width":150,"format":"jpeg","progressive":false},
            {"name":"p","width":150,"format":"png"},
            {"name":"w","width":150,"format":"webp","quality":70},
            {"name":"l","width":150,"format":"webp","lossless":true}]"#,
    )
    .unwrap();
    let out = engine::render(&input, &vs, &Limits::default()).unwrap();
    let names: Vec<&str> = out.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["j", "b", "p", "w", "l"]);
    let has = |b: &[u8], m: &[u8]| b.windows(m.len()).any(|w| w == m);
    assert!(
        has(&out[0].bytes, &[0xFF, 0xC2]),
        "progressive JPEG has SOF2"
    );
    assert!(has(&out[1].bytes, &[0xFF, 0xC0]), "baseline JPEG has SOF0");
    for r in &out[..2] {
        assert!(!has(&r.bytes, b"Exif"), "{}: EXIF stripped", r.name);
    }
    assert_eq!(
        image::guess_format(&out[2].bytes).unwrap(),
        image::ImageFormat::Png
    );
    assert!(has(&out[3].bytes, b"VP8 "), "lossy WebP");
    assert!(has(&out[4].bytes, b"VP8L"), "lossless WebP");
    for r in &out {
        assert_eq!(decoded(r).dimensions(), (150, 100), "{}", r.name);
        assert_eq!(
            r.format,
            vs.iter().find(|v| v.name == r.name).unwrap().format
        );
    }
    assert_eq!(out[4].format, Format::Webp);
}

#[test]
fn limits_are_checked_from_the_header() {
    let input = jpeg_bytes(&DynamicImage::ImageRgb8(asymmetric(300, 200)), 90.0);
    let v = [variant(r#"{"name":"a","width":10}"#)];
    let e = engine::render(
        &input,
        &v,
        &Limits {
            max_input_pixels: 50_000,
            max_input_bytes: 1 << 20,
        },
    )
    .unwrap_err();
    assert_eq!(e.kind(), "too_many_pixels");
    let e = engine::render(
        &input,
        &v,
        &Limits {
            max_input_pixels: 1 << 30,
            max_input_bytes: 100,
        },
    )
    .unwrap_err();
    assert_eq!(e.kind(), "too_many_bytes");
    let e = engine::render(&input[..input.len() / 3], &v, &Limits::default()).unwrap_err();
    assert_eq!(e.kind(), "corrupt", "{e}");
}
