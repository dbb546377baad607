//! `OAuthError::from_response` over any response: no panic, a non-blank code, a message.
#![no_main]

use bearer_protocol::wire::MAX_BODY_BYTES;
use bearer_protocol::wire::oauth_error::{ErrorCode, OAuthError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let response = bearer_fuzz::response(data);
    let Some(error) = OAuthError::from_response(&response) else {
        return;
    };
    assert!(response.body().len() <= MAX_BODY_BYTES);
    assert_eq!(error.status, response.status());
    let code = error.code.as_str();
    assert!(!code.trim().is_empty(), "blank error code");
    // A code reads back as itself.
    assert_eq!(ErrorCode::parse(code), error.code);
    assert!(
        error
            .description
            .as_deref()
            .is_none_or(|d| !d.trim().is_empty())
    );
    assert!(error.uri.as_deref().is_none_or(|u| !u.trim().is_empty()));
    let text = error.to_string();
    assert!(!text.is_empty());
    assert!(
        !text.chars().any(|c| c.is_control()),
        "control character in: {text:?}"
    );
    let _ = (
        error.is_permanent(),
        error.is_transient(),
        error.is_refresh_token_refused(),
        format!("{error:?}"),
    );
});
