//! The configuration parser (`imgdeploy.toml`, provisioner/src/config/) on arbitrary text: a config
//! or an error naming the file, key and fix, never a panic. A config it accepts:
//! - writes back as TOML that parses to the same variants and limits;
//! - has variants the engine accepts too (the CLI must not deploy what every upload would fail on):
//!   rendered against a PNG whose header is valid and whose data is not, the engine gets past its
//!   variant check and fails on the data.
#![no_main]
use imgdeploy_function::engine::{self, EngineError};
use libfuzzer_sys::fuzz_target;

// The parser as the CLI compiles it, with the two leaf modules it names by `crate::` path.
#[allow(dead_code)]
#[path = "../../provisioner/src/artifact/arch.rs"]
mod arch;
#[allow(dead_code)]
#[path = "../../provisioner/src/config/mod.rs"]
mod config;
#[allow(dead_code)]
#[path = "../../provisioner/src/names.rs"]
mod names;
mod artifact {
    pub use super::arch::Arch;
}

/// A 1x1 RGB PNG: a valid header, then an IDAT that does not inflate.
fn header_only_png() -> Vec<u8> {
    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let crc = crc32(&c[4..]);
        c.extend_from_slice(&crc.to_be_bytes());
        c
    }
    fn crc32(b: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &x in b {
            crc ^= x as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]));
    png.extend(chunk(b"IDAT", b"not zlib"));
    png.extend(chunk(b"IEND", b""));
    png
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(parsed) = config::Config::parse(text, "fuzz.toml") else {
        return;
    };
    let written = toml::to_string(&parsed).expect("an accepted config serialises");
    let reread = config::Config::parse(&written, "written.toml")
        .unwrap_or_else(|e| panic!("{e:?}\nwritten:\n{written}\nfrom:\n{text}"));
    assert_eq!(reread.variants, parsed.variants);
    assert_eq!(reread.function.limits(), parsed.function.limits());
    if parsed.variants.is_empty() {
        return;
    }
    match engine::render_with(
        &header_only_png(),
        &parsed.variants,
        &parsed.function.limits(),
        engine::Decoders::Auto,
    ) {
        Err(EngineError::InvalidVariant { .. }) => {
            panic!("the config accepts variants the engine refuses:\n{text}")
        }
        Err(EngineError::Corrupt(_)) => {}
        other => panic!("expected a corrupt-data error, got {other:?}"),
    }
});
