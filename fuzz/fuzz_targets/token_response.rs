//! `parse_token_response` over any response: no panic, and what it returns holds together.
#![no_main]

use bearer_protocol::wire::MAX_BODY_BYTES;
use bearer_protocol::wire::oauth_error::OAuthError;
use bearer_protocol::wire::token::{MAX_EXPIRES_IN, TokenEndpointError, parse_token_response};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

fuzz_target!(|data: &[u8]| {
    let response = bearer_fuzz::response(data);
    let parsed = parse_token_response(&response, DEFAULT_LIFETIME);
    match &parsed {
        Ok(token) => {
            assert!(
                response.status().is_success(),
                "a token from a non-2xx answer"
            );
            assert!(response.body().len() <= MAX_BODY_BYTES);
            let access = token.access_token.expose();
            assert!(!access.is_empty() && access.bytes().all(|b| b.is_ascii_graphic()));
            assert!(token.expires_in <= MAX_EXPIRES_IN);
            if !token.expires_in_given {
                assert_eq!(token.expires_in, DEFAULT_LIFETIME);
            }
            assert!(
                token
                    .refresh_token
                    .as_ref()
                    .is_none_or(|t| !t.expose().is_empty())
            );
            assert!(token.scope.as_deref().is_none_or(|s| !s.is_empty()));
            for known in ["access_token", "token_type", "expires_in", "refresh_token"] {
                assert!(!token.extra.contains_key(known), "{known} left in extra");
            }
            // Debug masks the tokens.
            let debug = format!("{token:?}");
            if access.len() >= 8 && !"[redacted]".contains(access) && !debug_names(token, access) {
                assert!(!debug.contains(access), "access token in Debug: {debug}");
            }
        }
        Err(error) => {
            let text = error.to_string();
            assert!(!text.is_empty());
            // An OAuth error body in a non-2xx answer is read the same way on its own.
            if !response.status().is_success() {
                if let Some(alone) = OAuthError::from_response(&response) {
                    assert_eq!(
                        parsed.as_ref().err(),
                        Some(&TokenEndpointError::OAuth(alone))
                    );
                }
            }
            let _ = (
                error.is_permanent(),
                error.is_transient(),
                error.is_quota_exhausted(),
                error.is_refresh_token_refused(),
                error.retry_after(),
                format!("{error:?}"),
            );
            // Secrets in the body never reach the message: a token-looking value of a
            // `*token*` field that appears once in the body must not be shown.
            for secret in secret_values(response.body()) {
                assert!(
                    !text.contains(&secret),
                    "secret {secret:?} shown in: {text}"
                );
            }
        }
    }
});

/// Whether `access` also appears as a field name or a non-secret value in `extra` (then Debug
/// shows it legitimately).
fn debug_names(token: &bearer_protocol::wire::token::TokenResponse, access: &str) -> bool {
    token.scope.as_deref().is_some_and(|s| s.contains(access))
        || token
            .extra
            .iter()
            .any(|(key, value)| key.contains(access) || value.to_string().contains(access))
}

/// Values of JSON string fields named like `*token*` (not `token_type`) that look like
/// secrets (8+ letters and digits, mixed) and occur exactly once in the body.
fn secret_values(body: &[u8]) -> Vec<String> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body.trim_ascii()) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(body);
    fields
        .iter()
        .filter(|(key, _)| key.to_ascii_lowercase().contains("token") && *key != "token_type")
        .filter_map(|(_, value)| value.as_str())
        .filter(|value| {
            value.len() >= 8
                && value.bytes().all(|b| b.is_ascii_alphanumeric())
                && value.bytes().any(|b| b.is_ascii_digit())
                && value.bytes().any(|b| b.is_ascii_alphabetic())
                && text.matches(*value).count() == 1
        })
        .map(str::to_owned)
        .collect()
}
