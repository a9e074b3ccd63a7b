//! Valid but unusual JPEGs decode, or are refused with the word that tells the uploader the truth, and a
//! hostile one ends in a typed error after work bounded by its picture:
//! - arithmetic-coded files (made with libjpeg-turbo's `jpegtran -arithmetic`, which CI installs) decode
//!   to exactly the pixels of the same coefficients Huffman-coded;
//! - 12-bit, lossless and hierarchical files are `unsupported_format`, never `corrupt` (a user reads
//!   `corrupt` as "your upload is broken");
//! - a progressive file with thousands of scans (each one a pass over every block) is a
//!   `decompression_bomb` within a bounded CPU time, where libjpeg-turbo alone spends tens of seconds.
mod engine_common;
use engine_common::fixtures::{jpeg, photo};
use imgdeploy_function::engine::{self, Decoder, Decoders, Rendered};
use imgdeploy_function::spec::{Limits, VariantSpec};
use std::process::Command;

/// One lossless variant, so that the comparison sees the decoder's pixels.
const JOB: &str = r#"[{"name":"v","width":300,"height":200,"fit":"cover","format":"png"}]"#;

fn render(input: &[u8], decoders: Decoders) -> Result<Rendered, engine::EngineError> {
    let variants: Vec<VariantSpec> = serde_json::from_str(JOB).unwrap();
    engine::render_with(input, &variants, &Limits::default(), decoders).map(|mut v| v.remove(0))
}

fn pixels(r: &Rendered) -> Vec<u8> {
    image::load_from_memory(&r.bytes)
        .unwrap()
        .into_rgba8()
        .into_raw()
}

fn sample(progressive: bool) -> Vec<u8> {
    let img = photo(640, 480);
    jpeg(
        img.as_raw(),
        640,
        480,
        mozjpeg::ColorSpace::JCS_RGB,
        progressive,
    )
}

/// `jpegtran` with `args` over `input` (libjpeg-turbo-progs; scripts/setup.sh installs it).
fn jpegtran(args: &[&str], input: &[u8]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("imgdeploy-unusual-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("in-{}.jpg", args.join("_")));
    std::fs::write(&path, input).unwrap();
    let out = Command::new("jpegtran")
        .args(args)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!("jpegtran: {e}: install libjpeg-turbo-progs (scripts/setup.sh does)")
        });
    assert!(
        out.status.success(),
        "jpegtran {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The offset of the first marker `code` (after its 0xFF) in `jpeg`'s header segments.
fn marker(jpeg: &[u8], code: u8) -> usize {
    let mut at = 2;
    loop {
        assert_eq!(jpeg[at], 0xFF, "not a marker at {at}");
        if jpeg[at + 1] == code {
            return at + 1;
        }
        assert_ne!(
            jpeg[at + 1],
            0xDA,
            "no marker {code:#x} before the first scan"
        );
        at += 2 + u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]) as usize;
    }
}

#[test]
fn arithmetic_coded_jpegs_decode_to_the_pixels_of_their_huffman_twins() {
    for progressive in [false, true] {
        let huffman = sample(progressive);
        // jpegtran writes sequential scans unless told otherwise.
        let args: &[&str] = if progressive {
            &["-arithmetic", "-progressive"]
        } else {
            &["-arithmetic"]
        };
        let arithmetic = jpegtran(args, &huffman);
        let sof = arithmetic[marker(&arithmetic, if progressive { 0xCA } else { 0xC9 })];
        assert!(
            sof == 0xC9 || sof == 0xCA,
            "jpegtran wrote no arithmetic SOF"
        );
        let want = render(&huffman, Decoders::Library).unwrap();
        let got = render(&arithmetic, Decoders::Auto)
            .unwrap_or_else(|e| panic!("arithmetic (progressive {progressive}): {e}"));
        // The parallel decoder takes Huffman files only; libjpeg-turbo decodes these.
        assert_eq!(got.decoder, Decoder::Libjpeg);
        assert!(
            pixels(&got) == pixels(&want),
            "arithmetic (progressive {progressive}) decodes to other pixels"
        );
    }
}

#[test]
fn twelve_bit_lossless_and_hierarchical_jpegs_are_unsupported_not_corrupt() {
    let baseline = sample(false);
    let sof = marker(&baseline, 0xC0);
    // A 12-bit frame: libjpeg-turbo built for 8 bits refuses it from the header, as it would a real one.
    let mut twelve = baseline.clone();
    twelve[sof + 3] = 12;
    // Lossless (SOF3) and hierarchical (DHP, SOF5): processes libjpeg-turbo 2 does not implement.
    let mut lossless = baseline.clone();
    lossless[sof] = 0xC3;
    let mut hierarchical = baseline.clone();
    hierarchical[sof] = 0xC5;
    for (name, file, word) in [
        ("12-bit", twelve, "8-bit"),
        ("lossless", lossless, "SOF type 0xc3"),
        ("hierarchical", hierarchical, "SOF type 0xc5"),
    ] {
        for decoders in [Decoders::Auto, Decoders::Library] {
            let e = render(&file, decoders)
                .err()
                .unwrap_or_else(|| panic!("{name}: decoded"));
            assert_eq!(e.kind(), "unsupported_format", "{name}: {e}");
            assert!(e.to_string().contains(word), "{name}: {e}");
        }
    }
    // A damaged file is still corrupt: a Huffman table cut short.
    let mut damaged = baseline.clone();
    let dht = marker(&damaged, 0xC4);
    damaged[dht + 1..dht + 3].copy_from_slice(&3u16.to_be_bytes());
    let e = render(&damaged, Decoders::Library).err().unwrap();
    assert_eq!(e.kind(), "corrupt", "{e}");
}

/// `progressive` with its smallest scan repeated at the end until it has `scans` scans.
fn with_scans(progressive: &[u8], scans: usize) -> Vec<u8> {
    let eoi = progressive.len() - 2;
    assert_eq!(&progressive[eoi..], [0xFF, 0xD9]);
    let mut starts: Vec<usize> = (0..eoi)
        .filter(|&i| progressive[i] == 0xFF && progressive[i + 1] == 0xDA)
        .collect();
    starts.push(eoi);
    // Each scan runs from its SOS to the next one (tables between scans included), the last to EOI.
    let smallest = starts
        .windows(2)
        .map(|w| w[0]..w[1])
        .min_by_key(|r| r.len())
        .unwrap();
    let mut out = progressive[..eoi].to_vec();
    for _ in starts.len() - 1..scans {
        out.extend_from_slice(&progressive[smallest.clone()]);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into a local.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

#[test]
fn a_progressive_jpeg_with_thousands_of_scans_is_a_bomb_within_bounded_work() {
    let img = photo(2048, 1536);
    let progressive = jpeg(img.as_raw(), 2048, 1536, mozjpeg::ColorSpace::JCS_RGB, true);
    // 60 scans is more than encoders write, and within what this picture may hold (455): it decodes.
    let many = with_scans(&progressive, 60);
    render(&many, Decoders::Auto).unwrap_or_else(|e| panic!("60 scans: {e}"));
    // 47 MB: 5000 copies of its smallest scan. Without the scan limit libjpeg-turbo decodes it in 3.1 s
    // of CPU (measured), over the 2 s every hostile file must end within.
    let flood = with_scans(&progressive, 5000);
    for decoders in [Decoders::Auto, Decoders::Library] {
        let before = cpu_seconds();
        let Err(e) = render(&flood, decoders) else {
            panic!("{decoders:?}: 5000 scans decoded");
        };
        let spent = cpu_seconds() - before;
        assert_eq!(e.kind(), "decompression_bomb", "{e}");
        assert!(e.to_string().contains("scans"), "{e}");
        assert!(
            spent < 2.0,
            "{decoders:?}: {spent:.2} s of CPU before refusing"
        );
    }
}
