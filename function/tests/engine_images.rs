//! The engine on real pictures: EXIF orientation, CMYK and grayscale, asserted on dimensions and on
//! colours within a tolerance of a reference. Fixtures are synthesised here; the `../shared/corpus`
//! cases run when the corpus exists.
mod engine_common;
use engine_common::*;
use image::DynamicImage;
use imgdeploy_function::engine;

#[test]
fn every_exif_orientation_comes_out_upright() {
    let upright = DynamicImage::ImageRgb8(asymmetric(96, 64));
    for o in 1..=8u8 {
        // Stored pixels = the upright picture under the inverse transform (6 and 8 swap).
        let mut stored = upright.clone();
        let inverse = match o {
            6 => 8,
            8 => 6,
            x => x,
        };
        stored.apply_orientation(image::metadata::Orientation::from_exif(inverse).unwrap());
        let input = with_orientation(&jpeg_bytes(&stored, 95.0), o as u16);
        let r = render_one(
            &input,
            r#"{"name":"o","width":48,"height":48,"fit":"inside","format":"png"}"#,
        );
        assert_eq!((r.width, r.height), (48, 32), "orientation {o}");
        let reference = upright
            .resize_exact(48, 32, image::imageops::FilterType::Lanczos3)
            .to_rgb8();
        let d = mad(&decoded(&r).to_rgb8(), &reference);
        assert!(
            d < 6.0,
            "orientation {o}: mean difference {d:.1} from the upright reference"
        );
    }
}

#[test]
fn cover_gravity_is_applied_in_the_upright_frame() {
    // Upright 96x64: top third red/green, rest blue/yellow. Stored rotated (orientation 6).
    let upright = DynamicImage::ImageRgb8(asymmetric(96, 64));
    let mut stored = upright.clone();
    stored.apply_orientation(image::metadata::Orientation::from_exif(8).unwrap());
    let input = with_orientation(&jpeg_bytes(&stored, 95.0), 6);
    let r = render_one(
        &input,
        r#"{"name":"c","width":96,"height":16,"fit":"cover","gravity":"top","format":"png"}"#,
    );
    let px = decoded(&r).to_rgb8();
    assert_eq!(px.dimensions(), (96, 16));
    // The top strip of the upright picture: red on the left third, green on the right.
    let (l, rt) = (px.get_pixel(5, 8).0, px.get_pixel(90, 8).0);
    assert!(l[0] > 180 && l[1] < 80, "left {l:?}");
    assert!(rt[1] > 160 && rt[0] < 80, "right {rt:?}");
}

/// A CMYK JPEG as Photoshop writes it: Adobe marker, inverted samples.
fn cmyk_jpeg(patches: &[[u8; 4]], size: u32) -> Vec<u8> {
    let (w, h) = (size * patches.len() as u32, size);
    let mut data = Vec::new();
    for _y in 0..h {
        for x in 0..w {
            let ink = patches[(x / size) as usize];
            data.extend(ink.iter().map(|v| 255 - v));
        }
    }
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_CMYK);
    c.set_size(w as usize, h as usize);
    c.set_quality(95.0);
    let mut s = c.start_compress(Vec::new()).unwrap();
    s.write_scanlines(&data).unwrap();
    s.finish().unwrap()
}

#[test]
fn cmyk_jpeg_patches_get_their_colours() {
    // Inks (C, M, Y, K) and the sRGB they must give without a profile.
    let patches = [
        ([0, 0, 0, 0], [255, 255, 255]),
        ([255, 0, 0, 0], [0, 255, 255]),
        ([0, 255, 0, 0], [255, 0, 255]),
        ([0, 0, 255, 0], [255, 255, 0]),
        ([0, 255, 255, 0], [255, 0, 0]),
        ([0, 0, 0, 255], [0, 0, 0]),
        ([0, 0, 0, 128], [127, 127, 127]),
    ];
    let input = cmyk_jpeg(&patches.map(|p| p.0), 32);
    assert_eq!(engine::probe(&input).unwrap().width, 32 * 7);
    let r = render_one(
        &input,
        r#"{"name":"p","width":112,"height":16,"fit":"fill","format":"png"}"#,
    );
    let px = decoded(&r).to_rgb8();
    for (i, (_, want)) in patches.iter().enumerate() {
        let got = px.get_pixel(i as u32 * 16 + 8, 8).0;
        for c in 0..3 {
            assert!(
                (got[c] as i32 - want[c]).abs() <= 12,
                "patch {i}: got {got:?}, want {want:?}"
            );
        }
    }
}

#[test]
fn corpus_exif_files_give_the_same_upright_picture() {
    let Some(dir) = shared("corpus/exif") else {
        return;
    };
    for kind in ["Landscape", "Portrait"] {
        let v = r#"{"name":"e","width":300,"height":300,"fit":"inside","format":"png"}"#;
        let reference = decoded(&render_one(
            &std::fs::read(dir.join(format!("{kind}_1.jpg"))).unwrap(),
            v,
        ))
        .to_rgb8();
        let expect = if kind == "Landscape" {
            (300, 200)
        } else {
            (200, 300)
        };
        assert_eq!(reference.dimensions(), expect);
        for o in 0..=8 {
            let r = render_one(
                &std::fs::read(dir.join(format!("{kind}_{o}.jpg"))).unwrap(),
                v,
            );
            assert_eq!((r.width, r.height), expect, "{kind}_{o}");
            let d = mad(&decoded(&r).to_rgb8(), &reference);
            assert!(d < 4.0, "{kind}_{o}: mean difference {d:.2} from {kind}_1");
        }
    }
}

#[test]
fn corpus_cmyk_with_and_without_profile_is_not_inverted() {
    let (Some(with), Some(without)) = (
        shared("corpus/cmyk_Channel_digital_image_CMYK_color.jpg"),
        shared("corpus/cmyk_Channel_digital_image_CMYK_color_no_profile.jpg"),
    ) else {
        return;
    };
    let v = r#"{"name":"c","width":250,"fit":"inside","format":"png"}"#;
    let a = decoded(&render_one(&std::fs::read(with).unwrap(), v)).to_rgb8();
    let b = decoded(&render_one(&std::fs::read(without).unwrap(), v)).to_rgb8();
    assert_eq!(a.dimensions(), (250, 167));
    let mut inverted = b.clone();
    inverted
        .pixels_mut()
        .for_each(|p| p.0 = p.0.map(|c| 255 - c));
    let (same, inv) = (mad(&a, &b), mad(&a, &inverted));
    assert!(
        same < 30.0 && inv > 3.0 * same,
        "profiled vs naive {same:.1}, vs inverted {inv:.1}"
    );
}

#[test]
fn corpus_grayscale_stays_grayscale() {
    let Some(p) = shared("corpus/gray_plasma_Grey_2560x1600.jpg") else {
        return;
    };
    let r = render_one(
        &std::fs::read(p).unwrap(),
        r#"{"name":"g","width":400,"height":300,"format":"jpeg"}"#,
    );
    assert!(matches!(decoded(&r), DynamicImage::ImageLuma8(_)));
    assert_eq!((r.width, r.height), (400, 300));
}
