//! `QuotaHeaders::from_headers` and `quota::parse_reset` over any headers and text; what is
//! read writes back and reads back the same.
#![no_main]

use bearer_protocol::wire::quota::{
    QuotaHeaders, X_PLAN_QUOTA_RESET, format_reset, next_quota_reset, parse_reset,
};
use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use std::time::{SystemTime, UNIX_EPOCH};

fuzz_target!(|data: &[u8]| {
    let response = bearer_fuzz::response(data);
    let quota = QuotaHeaders::from_headers(response.headers());
    let _ = (quota.is_empty(), quota.quota_remaining());
    let mut written = HeaderMap::new();
    quota.write_to(&mut written);
    assert_eq!(
        QuotaHeaders::from_headers(&written),
        quota,
        "write_to does not read back"
    );
    if let Some(reset) = quota.quota_reset {
        check_reset(reset);
    }
    for value in response.headers().get_all(X_PLAN_QUOTA_RESET) {
        if let Some(reset) = parse_reset(&String::from_utf8_lossy(value.as_bytes())) {
            check_reset(reset);
        }
    }
    // The whole input as one date.
    if let Some(reset) = parse_reset(&String::from_utf8_lossy(data)) {
        check_reset(reset);
    }
});

fn check_reset(reset: SystemTime) {
    // Whole seconds, so the gateway's format holds it exactly.
    let subsec = match reset.duration_since(UNIX_EPOCH) {
        Ok(after) => after.subsec_nanos(),
        Err(before) => before.duration().subsec_nanos(),
    };
    assert_eq!(subsec, 0);
    let text = format_reset(reset);
    assert_eq!(
        parse_reset(&text),
        Some(reset),
        "{text:?} does not read back"
    );
    let next = next_quota_reset(reset);
    assert!(next > reset || next == reset);
}
