//! The sandbox's pure `Provider` over any sequence of requests (form and Basic decoding, the
//! platform and admin routes, the token endpoint, the API): no panic, token answers shaped as
//! the provider's guide says, and a refresh token accepted at most once.
//!
//! Input: requests in the seed format, separated by lines holding `===`; the clock moves one
//! second before each.
#![no_main]

use bearer_sandbox::{AppKeys, Provider, ProviderConfig};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fuzz_target!(|data: &[u8]| {
    let mut provider = Provider::new(ProviderConfig {
        admin_key: Some("k".into()),
        ..ProviderConfig::default()
    });
    let keys = AppKeys::new("ysszm2yk7gp5r9ernuaurgcc", "w9t7t48g7H");
    provider
        .create_app(Some(keys))
        .expect("the guide's keys are valid");
    let mut now: SystemTime = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut spent_refresh_tokens = HashSet::new();

    for chunk in split_requests(data) {
        now += Duration::from_secs(1);
        let request = bearer_fuzz::request(chunk);
        let refresh_token = presented_refresh_token(&request);
        let is_token_request = request.uri().path() == "/oauth2/token";
        let response = provider.handle(now, request);
        if !is_token_request || response.status() != 200 {
            continue;
        }
        let body: serde_json::Value =
            serde_json::from_slice(response.body()).expect("a token answer is JSON");
        if body.get("error").is_some() {
            continue; // an injected "200 carrying an error" fault
        }
        for field in ["access_token", "refresh_token"] {
            let token = body[field].as_str().expect("tokens are strings");
            assert_eq!(token.len(), 24, "{field}");
        }
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(response.headers()["cache-control"], "no-store");
        if let Some(token) = refresh_token {
            assert!(
                spent_refresh_tokens.insert(token),
                "a refresh token was accepted twice"
            );
        }
    }
});

/// The chunks between lines holding `===`.
fn split_requests(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.windows(5).position(|w| w == b"\n===\n");
        let (chunk, next) = match end {
            Some(at) => (&rest[..at], &rest[at + 5..]),
            None => (rest, &[][..]),
        };
        rest = next;
        Some(chunk)
    })
}

/// The `refresh_token` of a refresh grant's form body, when there is exactly one.
fn presented_refresh_token(request: &http::Request<Vec<u8>>) -> Option<String> {
    let fields: Vec<(String, String)> = form_urlencoded::parse(request.body())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let grant = fields.iter().filter(|(k, _)| k == "grant_type").count() == 1
        && fields
            .iter()
            .any(|(k, v)| k == "grant_type" && v == "refresh_token");
    let mut tokens = fields.into_iter().filter(|(k, _)| k == "refresh_token");
    match (grant, tokens.next(), tokens.next()) {
        (true, Some((_, token)), None) => Some(token),
        _ => None,
    }
}
