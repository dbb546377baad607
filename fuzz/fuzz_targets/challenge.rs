//! `BearerChallenge::parse` over any `WWW-Authenticate` value, and `from_headers`.
#![no_main]

use bearer_protocol::wire::challenge::{BearerChallenge, ChallengeError};
use http::HeaderValue;
use http::header::{HeaderMap, WWW_AUTHENTICATE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = BearerChallenge::parse(&text);
    if let Some(challenge) = &parsed {
        if let Some(error) = &challenge.error {
            assert!(!error.as_str().trim().is_empty());
            assert_eq!(&ChallengeError::parse(error.as_str()), error);
            let _ = error.to_string();
        }
        let _ = (challenge.is_invalid_token(), format!("{challenge:?}"));
    }
    // The same value as a header reads the same (when it can be a header at all).
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.append(WWW_AUTHENTICATE, value);
        assert_eq!(BearerChallenge::from_headers(&headers), parsed);
    }
    // Several lines, several headers: whatever `from_headers` finds, it finds in one of them.
    let headers = bearer_fuzz::headers(data);
    if let Some(found) = BearerChallenge::from_headers(&headers) {
        assert!(
            headers
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .any(
                    |v| BearerChallenge::parse(&String::from_utf8_lossy(v.as_bytes()))
                        == Some(found.clone())
                )
        );
    }
});
