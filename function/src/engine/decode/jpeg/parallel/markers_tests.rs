//! Which markers the parallel decoder leaves to libjpeg-turbo: the two must never disagree about
//! whether a file is valid, wherever a marker is (before the scan or after it).
use super::parse;
use super::tests::jpeg;
use crate::engine::Decoders;

#[test]
fn markers_libjpeg_refuses_or_reads_are_left_to_it() {
    let input = jpeg(64, 48, (2, 2), false);
    assert!(parse::parse(&input).is_some());
    let eoi = input.len() - 2;
    let with = |segment: &[u8], before_sos: bool| {
        let at = if before_sos { 2 } else { eoi };
        [&input[..at], segment, &input[at..]].concat()
    };
    // Arithmetic conditioning, a JPG extension, an unknown marker, a stray RST, a second scan header:
    // libjpeg-turbo refuses or reads each (found by fuzz/fuzz_targets/jpeg_decoders.rs: a DAC after
    // the scan that libjpeg-turbo refused as "Bogus DAC index" while this decoder went on).
    let dac = [0xFF, 0xCC, 0x00, 0x04, 0xB9, 0x10];
    let jpg = [0xFF, 0xC8, 0x00, 0x02];
    let unknown = [0xFF, 0x4F, 0x00, 0x02];
    let rst = [0xFF, 0xD3];
    let sos = [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00];
    for (name, segment) in [
        ("DAC", &dac[..]),
        ("JPG", &jpg[..]),
        ("unknown", &unknown[..]),
        ("RST", &rst[..]),
        ("SOS", &sos[..]),
    ] {
        assert!(
            parse::parse(&with(segment, false)).is_none(),
            "{name} after the scan"
        );
        if name != "SOS" {
            assert!(
                parse::parse(&with(segment, true)).is_none(),
                "{name} in the header"
            );
        }
    }
    // A file that ends before its end-of-image marker, or inside a segment after the scan:
    // libjpeg-turbo refuses both as truncated (found by fuzz/fuzz_targets/jpeg_decoders.rs: a COM
    // whose length ran past the end of the file).
    assert!(parse::parse(&input[..eoi]).is_none(), "no EOI");
    let cut_comment = [&input[..eoi], &[0xFF, 0xFE, 0x07, 0xDB, 0x21][..]].concat();
    assert!(parse::parse(&cut_comment).is_none(), "a comment cut off");
    // Application data and comments are skipped by both, before or after the scan.
    let app = [0xFF, 0xE5, 0x00, 0x04, 0x01, 0x02];
    let com = [0xFF, 0xFE, 0x00, 0x03, 0x21];
    for segment in [&app[..], &com[..]] {
        assert!(parse::parse(&with(segment, false)).is_some());
        assert!(parse::parse(&with(segment, true)).is_some());
    }
}

#[test]
fn a_dc_table_libjpeg_refuses_is_left_to_it() {
    let input = jpeg(64, 48, (2, 2), false);
    // The first DHT segment's first table is DC table 0; its last symbol becomes a magnitude no
    // 8-bit file has. libjpeg-turbo refuses the table (found by fuzz/fuzz_targets/jpeg_decoders.rs).
    let dht = (0..input.len() - 1)
        .find(|&i| input[i] == 0xFF && input[i + 1] == 0xC4)
        .unwrap();
    assert_eq!(input[dht + 4] >> 4, 0, "a DC table first");
    let total: usize = input[dht + 5..dht + 21].iter().map(|&c| c as usize).sum();
    let mut bad = input.clone();
    bad[dht + 21 + total - 1] = 0xCC;
    assert!(parse::parse(&bad).is_none());
    let variant: Vec<crate::spec::VariantSpec> =
        serde_json::from_str(r#"[{"name":"v","width":8,"height":6,"format":"png"}]"#).unwrap();
    let limits = crate::spec::Limits::default();
    let library = crate::engine::render_with(&bad, &variant, &limits, Decoders::Library);
    assert_eq!(library.map(|_| ()).unwrap_err().kind(), "corrupt");
    let auto = crate::engine::render_with(&bad, &variant, &limits, Decoders::Auto);
    assert_eq!(auto.map(|_| ()).unwrap_err().kind(), "corrupt");
}

#[test]
fn progressive_files_libjpeg_would_smooth_are_left_to_it() {
    let input = jpeg(64, 48, (1, 1), true);
    assert!(parse::parse(&input).is_some());
    let sos: Vec<usize> = (0..input.len() - 1)
        .filter(|&i| input[i] == 0xFF && input[i + 1] == 0xDA)
        .collect();
    assert!(sos.len() > 3, "a multi-scan script");
    // The file cut before its k-th scan and ended there: its first scans carry the DC only (libjpeg-
    // turbo then interpolates the DC itself), and every cut but the last leaves some of the first
    // nine AC coefficients unknown or short of their low bits (it estimates those). Found by
    // fuzz/fuzz_targets/jpeg_decoders.rs: a DC-only file one pixel 98 levels apart at 1/8.
    for (k, &at) in sos.iter().enumerate().skip(1) {
        let cut = [&input[..at], &[0xFF, 0xD9][..]].concat();
        assert!(parse::parse(&cut).is_none(), "cut before scan {k}");
    }
}
