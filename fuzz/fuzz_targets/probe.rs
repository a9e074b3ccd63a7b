//! Sniffing and header probing on arbitrary bytes: an answer or a typed error, and an answer that
//! names a format with nonzero dimensions.
#![no_main]
use imgdeploy_function::engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(info) = engine::probe(input) {
        assert!(!info.format.is_empty());
        assert!(info.width > 0 && info.height > 0, "{info:?}");
    }
});
