//! Which markers the parallel decoder leaves to libjpeg-turbo: the two must never disagree about
//! whether a file is valid, wherever a marker is (before the scan or after it).
use super::parse;
use super::tests::jpeg;

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
    // Application data and comments are skipped by both, before or after the scan.
    let app = [0xFF, 0xE5, 0x00, 0x04, 0x01, 0x02];
    let com = [0xFF, 0xFE, 0x00, 0x03, 0x21];
    for segment in [&app[..], &com[..]] {
        assert!(parse::parse(&with(segment, false)).is_some());
        assert!(parse::parse(&with(segment, true)).is_some());
    }
}
