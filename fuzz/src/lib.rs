//! What the fuzz targets share: the variant sets they render, the limits they render under, and the
//! pixel comparison the differential targets hold our decoders to. A target panics (a finding) when
//! an invariant breaks; every `Err` the engine returns is an accepted outcome.
use imgdeploy_function::engine::{self, Decoder, Decoders, EngineError, Rendered};
use imgdeploy_function::spec::{Fit, Format, Limits, VariantSpec};

/// The limits every target renders under: the production defaults but for the pixel count, which is
/// cut to 4 MP so that one input stays inside the 2 s per-input timeout under the sanitizer (a
/// 250x22204 arithmetic-coded JPEG, 5.5 MP, took 3.7 s in jpeg_decoders' six renders under
/// AddressSanitizer and 0.6 s without it). The defaults' 100 MP is exercised by the bad-input tests
/// (function/tests/engine_badinputs.rs).
pub fn limits() -> Limits {
    Limits {
        max_input_pixels: 4_000_000,
        ..Limits::default()
    }
}

/// One lossless variant inside a square of `side`.
pub fn inside_png(side: u32) -> VariantSpec {
    VariantSpec {
        name: "v".into(),
        width: Some(side.max(1)),
        height: Some(side.max(1)),
        fit: Fit::Inside,
        format: Format::Png,
        quality: None,
        effort: None,
        gravity: Default::default(),
        background: None,
        lossless: false,
        progressive: true,
    }
}

/// The square box that makes the JPEG decoder shrink by `1/denominator` (2, 4 or 8) in the DCT
/// domain (`decode/jpeg/mod.rs::scale_for`: the smallest M/8 at least 1.3 times the scale needed).
pub fn side_for_shrink(width: u32, height: u32, denominator: u32) -> u32 {
    let fraction = match denominator {
        8 => 0.09,
        4 => 0.18,
        _ => 0.36,
    };
    ((width.max(height) as f64 * fraction).floor() as u32).max(1)
}

/// Whether a JPEG's components are sampled differently (4:2:0, 4:2:2, ...), from its first frame
/// header; `None` when there is none to read.
pub fn subsampled(jpeg: &[u8]) -> Option<bool> {
    let mut at = 2;
    loop {
        while jpeg.get(at) == Some(&0xFF) && jpeg.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if jpeg.get(at) != Some(&0xFF) {
            return None;
        }
        let marker = *jpeg.get(at + 1)?;
        let len = u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]) as usize;
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            let count = *jpeg.get(at + 9)? as usize;
            let sampling: Vec<u8> = (0..count)
                .map(|c| jpeg.get(at + 11 + 3 * c).copied())
                .collect::<Option<_>>()?;
            return Some(sampling.iter().any(|&s| s != sampling[0]));
        }
        at += 2 + len;
    }
}

/// Renders `input` with both decoder choices.
pub fn both(
    input: &[u8],
    variant: &VariantSpec,
) -> (
    Result<Vec<Rendered>, EngineError>,
    Result<Vec<Rendered>, EngineError>,
) {
    let variants = std::slice::from_ref(variant);
    (
        engine::render_with(input, variants, &limits(), Decoders::Auto),
        engine::render_with(input, variants, &limits(), Decoders::Library),
    )
}

/// The RGBA samples of a PNG variant.
pub fn samples(r: &Rendered) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(&r.bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().expect("our own PNG output reads back");
    let mut buf = vec![0; reader.output_buffer_size().expect("small")];
    let info = reader
        .next_frame(&mut buf)
        .expect("our own PNG output decodes");
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => panic!("{other:?} after EXPAND | ALPHA"),
    };
    (info.width, info.height, rgba)
}

/// Mean and largest absolute difference per sample.
pub fn difference(a: &[u8], b: &[u8]) -> (f64, u8) {
    assert_eq!(a.len(), b.len());
    let mut sum = 0u64;
    let mut max = 0u8;
    for (x, y) in a.iter().zip(b) {
        let d = x.abs_diff(*y);
        sum += d as u64;
        max = max.max(d);
    }
    (sum as f64 / a.len().max(1) as f64, max)
}

/// RGBA samples as planes of BT.601 luma and the two chroma differences (8-bit, rounded), alpha
/// dropped: the JPEG decoders differ by design in chroma (libjpeg-turbo keeps subsampled chroma at
/// twice the scale our DCT-domain shrink does), not in luma.
pub fn luma_chroma(rgba: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut luma = Vec::with_capacity(rgba.len() / 4);
    let mut chroma = Vec::with_capacity(rgba.len() / 2);
    for p in rgba.chunks_exact(4) {
        let (r, g, b) = (p[0] as f64, p[1] as f64, p[2] as f64);
        let y = 0.299 * r + 0.587 * g + 0.114 * b;
        luma.push(y.round() as u8);
        chroma.push((128.0 + (b - y) * 0.564).round().clamp(0.0, 255.0) as u8);
        chroma.push((128.0 + (r - y) * 0.713).round().clamp(0.0, 255.0) as u8);
    }
    (luma, chroma)
}

/// How far apart two decoders' pixels may be: mean and largest difference per sample, for luma and
/// for chroma separately (`luma_chroma`); for decoders that must agree exactly, the same bound on both.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    pub luma_mean: f64,
    pub luma_max: u8,
    pub chroma_mean: f64,
    pub chroma_max: u8,
    /// Largest difference at any R, G, B or alpha sample.
    pub sample_max: u8,
}

/// Holds the two renderings of one input to each other: the same outcome (both an image or both an
/// error of the same kind), the same size, and, given a tolerance, pixels within it when `ours` ran (the same bytes
/// when the library ran both times).
pub fn agree(
    what: &str,
    auto: &Result<Vec<Rendered>, EngineError>,
    library: &Result<Vec<Rendered>, EngineError>,
    ours: Decoder,
    tolerance: Option<Tolerance>,
) {
    match (auto, library) {
        (Ok(a), Ok(b)) => {
            let (a, b) = (&a[0], &b[0]);
            let (sa, sb) = (samples(a), samples(b));
            assert_eq!(
                (sa.0, sa.1),
                (sb.0, sb.1),
                "{what}: {} and {} give different sizes",
                a.decoder,
                b.decoder
            );
            if a.decoder != ours {
                assert!(a.bytes == b.bytes, "{what}: the same decoder, other bytes");
                return;
            }
            if let Some(t) = tolerance {
                let ((ya, ca), (yb, cb)) = (luma_chroma(&sa.2), luma_chroma(&sb.2));
                let (alpha_a, alpha_b): (Vec<u8>, Vec<u8>) = (
                    sa.2.iter().skip(3).step_by(4).copied().collect(),
                    sb.2.iter().skip(3).step_by(4).copied().collect(),
                );
                let (ym, yx) = difference(&ya, &yb);
                let (cm, cx) = difference(&ca, &cb);
                let (am, ax) = difference(&alpha_a, &alpha_b);
                let (_, sx) = difference(&sa.2, &sb.2);
                if std::env::var_os("FUZZ_DEBUG").is_some() {
                    for y in 0..sa.1 as usize {
                        let row: Vec<String> = (0..sa.0 as usize)
                            .map(|x| {
                                let i = (y * sa.0 as usize + x) * 4;
                                format!("{:?}/{:?}", &sa.2[i..i + 3], &sb.2[i..i + 3])
                            })
                            .collect();
                        eprintln!("{}", row.join(" "));
                    }
                }
                assert!(
                    ym <= t.luma_mean
                        && yx <= t.luma_max
                        && cm <= t.chroma_mean
                        && cx <= t.chroma_max
                        && am <= t.luma_mean
                        && ax <= t.luma_max
                        && sx <= t.sample_max,
                    "{what}: {} differs from {} in luma by {ym:.2} on average and {yx} at most, \
                     in chroma by {cm:.2} and {cx}, in alpha by {am:.2} and {ax}, {sx} at one sample ({t:?})",
                    a.decoder,
                    b.decoder
                );
            }
        }
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{what}: {a} against {b}"),
        (Ok(a), Err(e)) => panic!(
            "{what}: {} decoded what the library refused: {e}",
            a[0].decoder
        ),
        (Err(e), Ok(b)) => panic!("{what}: refused ({e}) what {} decoded", b[0].decoder),
    }
}
