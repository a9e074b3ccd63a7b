//! The Lambda's event parser on arbitrary JSON: a list of work or a typed error, never a panic; every
//! key it yields survives the S3 notification encoding round trip; batch events are told apart.
#![no_main]
use imgdeploy_function::handler::batch;
use imgdeploy_function::handler::event::{decode_key, encode_key, parse_event, Work};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(input) {
        if let Ok(key) = decode_key(raw) {
            assert_eq!(decode_key(&encode_key(&key)).as_deref(), Ok(key.as_str()));
        }
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(input) else {
        return;
    };
    let _ = batch::is_batch_event(&event);
    let _ = batch::chunk_tag(&event);
    if let Ok(work) = parse_event(&event) {
        for item in work {
            if let Work::Object(object) = item {
                assert_eq!(
                    decode_key(&encode_key(&object.key)).as_deref(),
                    Ok(object.key.as_str())
                );
            }
        }
    }
});
