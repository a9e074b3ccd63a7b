//! The whole render on arbitrary bytes, with a fixed variant set that takes every fit and every
//! output format but AVIF (whose encoder is libaom, fuzzed upstream): variants or a typed error, and
//! every variant the size it asked for.
#![no_main]
use imgdeploy_function::engine;
use imgdeploy_function::spec::VariantSpec;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const VARIANTS: &str = r##"[
  {"name":"thumb","width":64,"height":64,"fit":"cover","format":"jpeg"},
  {"name":"smart","width":48,"height":32,"fit":"cover","gravity":"attention","format":"webp"},
  {"name":"web","width":320,"fit":"inside","format":"webp","quality":70},
  {"name":"box","width":100,"height":60,"fit":"contain","format":"png","background":"#336699"},
  {"name":"lossless","width":40,"height":40,"fit":"fill","format":"webp","lossless":true},
  {"name":"baseline","width":90,"height":90,"fit":"outside","format":"jpeg","progressive":false}
]"##;

fn variants() -> &'static [VariantSpec] {
    static V: OnceLock<Vec<VariantSpec>> = OnceLock::new();
    V.get_or_init(|| serde_json::from_str(VARIANTS).expect("the fixed variant set parses"))
}

fuzz_target!(|input: &[u8]| {
    let Ok(out) = engine::render_with(
        input,
        variants(),
        &imgdeploy_fuzz::limits(),
        engine::Decoders::Auto,
    ) else {
        return;
    };
    assert_eq!(out.len(), variants().len());
    for (r, v) in out.iter().zip(variants()) {
        assert_eq!(r.name, v.name);
        assert!(!r.bytes.is_empty(), "{}: empty", r.name);
        let (w, h) = (r.width, r.height);
        assert!(w >= 1 && h >= 1, "{}: {w}x{h}", r.name);
        match v.fit {
            // The box exactly.
            imgdeploy_function::spec::Fit::Cover
            | imgdeploy_function::spec::Fit::Contain
            | imgdeploy_function::spec::Fit::Fill => {
                assert_eq!((Some(w), Some(h)), (v.width, v.height), "{}", r.name)
            }
            // Inside the box (never upscaled).
            imgdeploy_function::spec::Fit::Inside => {
                assert!(v.width.is_none_or(|bw| w <= bw), "{}: {w}x{h}", r.name);
                assert!(v.height.is_none_or(|bh| h <= bh), "{}: {w}x{h}", r.name);
            }
            imgdeploy_function::spec::Fit::Outside => {}
        }
    }
});
