//! Ingestion bodies: the action event (spec 4.3) and the web event request never panic the
//! parser or the checks that follow it.
#![no_main]
use beckon_core::{ActionEvent, Timestamp};
use beckon_server::ingest::WebEventRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<ActionEvent>(data);
    let _ = serde_json::from_slice::<Vec<ActionEvent>>(data);
    if let Ok(request) = serde_json::from_slice::<WebEventRequest>(data) {
        let _ = request.into_event(Timestamp::from_unix_millis(1_795_902_927_000));
    }
});
