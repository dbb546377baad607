//! `GatewayDenial::from_parts` / `from_response` over any status, headers and body.
#![no_main]

use bearer_protocol::wire::gateway::{
    GatewayCode, GatewayDenial, MAX_RETRY_AFTER, RetryAfter, X_MASHERY_ERROR_CODE,
};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fuzz_target!(|data: &[u8]| {
    let response = bearer_fuzz::response(data);
    let denial = GatewayDenial::from_response(&response);
    assert_eq!(
        denial,
        GatewayDenial::from_parts(response.status(), response.headers())
    );
    // Recognised exactly when the error-code header is there and not blank.
    let has_code = response
        .headers()
        .get_all(X_MASHERY_ERROR_CODE)
        .iter()
        .any(|v| !String::from_utf8_lossy(v.as_bytes()).trim().is_empty());
    assert_eq!(denial.is_some(), has_code);
    for value in response.headers().get_all(http::header::RETRY_AFTER) {
        check_retry_after(RetryAfter::parse(value));
    }
    let Some(denial) = denial else { return };
    assert_eq!(denial.status, response.status());
    let code = denial.code.as_str().to_owned();
    assert!(!code.trim().is_empty());
    assert_eq!(
        GatewayCode::parse(&code),
        denial.code,
        "code does not read back"
    );
    assert!(denial.detail.as_deref().is_none_or(|d| !d.is_empty()));
    check_retry_after(denial.retry_after);
    let text = denial.to_string();
    assert!(
        !text.chars().any(|c| c.is_control()),
        "control character in: {text:?}"
    );
    let _ = (
        denial.is_transient(),
        denial.is_quota_exhausted(),
        denial.is_permanent(),
        denial.is_token_rejected(),
        denial.code.default_status(),
        denial.code.default_detail(),
        format!("{denial:?}"),
    );
});

fn check_retry_after(retry_after: Option<RetryAfter>) {
    let Some(retry_after) = retry_after else {
        return;
    };
    if let RetryAfter::Delay(delay) = retry_after {
        assert!(delay <= MAX_RETRY_AFTER);
    }
    let _ = retry_after.to_string();
    for now in [
        UNIX_EPOCH,
        UNIX_EPOCH + Duration::from_secs(1_699_833_600),
        UNIX_EPOCH - Duration::from_secs(1_000_000_000),
        SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799),
    ] {
        assert!(retry_after.resolve(now) >= now);
    }
}
