//! Property tests of the wire parsers: no panic on any input, round trips, and no secret-like
//! string in any snippet or error message.

use bearer_protocol::wire::challenge::BearerChallenge;
use bearer_protocol::wire::gateway::{GatewayDenial, RetryAfter};
use bearer_protocol::wire::oauth_error::OAuthError;
use bearer_protocol::wire::quota::{QuotaHeaders, format_reset, next_quota_reset, parse_reset};
use bearer_protocol::wire::token::parse_token_response;
use bearer_protocol::wire::unexpected::UnexpectedResponse;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use proptest::prelude::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whether `text` holds a run of 8+ ASCII letters and digits mixing both.
fn has_secret_like_run(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric()).any(|run| {
        run.len() >= 8
            && run.chars().any(|c| c.is_ascii_alphabetic())
            && run.chars().any(|c| c.is_ascii_digit())
    })
}

const NAMES: &[&str] = &[
    "content-type",
    "x-mashery-error-code",
    "x-error-detail-header",
    "retry-after",
    "www-authenticate",
    "x-plan-quota-allotted",
    "x-plan-quota-current",
    "x-plan-quota-reset",
    "x-plan-qps-allotted",
    "x-plan-qps-current",
];

/// Header values: from the interesting ones to arbitrary bytes.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "application/json",
            "text/xml",
            "text/plain",
            "application/x-www-form-urlencoded",
            "ERR_403_DEVELOPER_OVER_RATE",
            "ERR_502_BAD_GATEWAY",
            "1",
            "Sun, 31 Jul 2016 00:00:00 GMT",
            "Saturday, July 30, 2016 12:00:00 AM GMT",
            "Bearer realm=\"x\", error=\"invalid_token\"",
            "18446744073709551616",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        "[ -~]{0,60}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..60),
    ]
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec((prop::sample::select(NAMES), header_value()), 0..8).prop_map(|pairs| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                headers.append(HeaderName::from_static(name), value);
            }
        }
        headers
    })
}

/// Bodies: arbitrary bytes, and text built from JSON and form fragments with token-like runs.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop::sample::select(vec![
        "{",
        "}",
        "\"",
        ":",
        ",",
        "=",
        "&",
        "\\",
        " ",
        "\n",
        "\r",
        "\t",
        "\u{1b}",
        "\u{0}",
        "<h1>",
        "\"access_token\"",
        "\"refresh_token\":",
        "\"client_secret\":\"",
        "\"error\"",
        "\"invalid_grant\"",
        "\"token_type\"",
        "\"bearer\"",
        "\"expires_in\"",
        "3600",
        "-1",
        "1e999",
        "null",
        "[",
        "]",
        "access_token=",
        "6mh3cgqvc6d992fd45zc88ue",
        "w9t7t48g7H",
        "abc",
        "123",
        "Developer Over Rate",
        "é",
        "\u{202e}",
    ]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat().into_bytes()),
        "[a-zA-Z0-9 ]{0,200}".prop_map(String::into_bytes),
    ]
}

fn status() -> impl Strategy<Value = StatusCode> {
    prop_oneof![
        prop::sample::select(vec![
            200u16, 201, 204, 301, 400, 401, 403, 429, 500, 502, 503, 596
        ]),
        100u16..1000,
    ]
    .prop_map(|code| StatusCode::from_u16(code).unwrap())
}

fn response(status: StatusCode, headers: HeaderMap, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn token_responses_never_panic_nor_leak(status in status(), headers in headers(), body in body()) {
        let response = response(status, headers, body);
        match parse_token_response(&response, Duration::from_secs(3600)) {
            Ok(token) => prop_assert!(!token.access_token.expose().is_empty()),
            Err(error) => {
                let text = error.to_string();
                prop_assert!(!has_secret_like_run(&text), "{}", text);
                prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
            }
        }
    }

    #[test]
    fn oauth_errors_never_panic(status in status(), headers in headers(), body in body()) {
        if let Some(error) = OAuthError::from_response(&response(status, headers, body)) {
            let text = error.to_string();
            prop_assert!(!has_secret_like_run(&text), "{}", text);
            prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
        }
    }

    #[test]
    fn gateway_denials_never_panic(status in status(), headers in headers()) {
        if let Some(denial) = GatewayDenial::from_parts(status, &headers) {
            let text = denial.to_string();
            prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
            if let Some(retry_after) = denial.retry_after {
                let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
                prop_assert!(retry_after.resolve(now) >= now);
            }
        }
    }

    #[test]
    fn retry_after_never_panics(bytes in header_value()) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            let _ = RetryAfter::parse(&value);
        }
    }

    #[test]
    fn challenges_never_panic(text in prop_oneof![
        any::<String>(),
        "[A-Za-z =\",\\\\_]{0,80}",
        "(Bearer|Basic|[a-z]{1,5})( [a-z_]{1,8} ?= ?(\"[^\"]{0,10}\"?|[a-z]{0,5}),?){0,5}",
    ], headers in headers()) {
        let _ = BearerChallenge::parse(&text);
        let _ = BearerChallenge::from_headers(&headers);
    }

    #[test]
    fn quota_headers_never_panic(headers in headers()) {
        let quota = QuotaHeaders::from_headers(&headers);
        let mut written = HeaderMap::new();
        quota.write_to(&mut written);
        prop_assert_eq!(QuotaHeaders::from_headers(&written), quota);
    }

    #[test]
    fn reset_dates_never_panic(text in prop_oneof![
        any::<String>(),
        "[A-Za-z]{0,9}, [A-Za-z]{0,9} [0-9]{0,3}, [0-9]{0,6} [0-9]{0,3}:[0-9]{0,3}:[0-9]{0,3} [AP]M (GMT|UTC)",
    ]) {
        let _ = parse_reset(&text);
    }

    #[test]
    fn reset_dates_round_trip(seconds in -377_705_116_800i64..=253_402_300_799) {
        let at = if seconds >= 0 {
            UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
        };
        let text = format_reset(at);
        prop_assert_eq!(parse_reset(&text), Some(at), "{}", text);
    }

    #[test]
    fn format_reset_never_panics(seconds in any::<i64>(), nanos in 0u32..1_000_000_000) {
        let offset = Duration::new(seconds.unsigned_abs(), nanos);
        let at = if seconds >= 0 { UNIX_EPOCH.checked_add(offset) } else { UNIX_EPOCH.checked_sub(offset) };
        if let Some(at) = at {
            let _ = format_reset(at);
            let next = next_quota_reset(at);
            prop_assert!(next > at);
            prop_assert!(next.duration_since(at).unwrap() <= Duration::from_secs(86_400));
        }
    }

    #[test]
    fn snippets_never_hold_secret_like_runs(status in status(), headers in headers(), body in body()) {
        let unexpected = UnexpectedResponse::from_response(&response(status, headers, body), "test");
        prop_assert!(!has_secret_like_run(&unexpected.snippet), "{}", unexpected.snippet);
        prop_assert!(unexpected.snippet.chars().count() <= 81);
        prop_assert!(!unexpected.snippet.chars().any(char::is_control));
        prop_assert!(!has_secret_like_run(&unexpected.to_string()));
    }
}

#[test]
fn next_quota_reset_at_the_edges_of_time() {
    // Far before the epoch and far after it: no panic, still strictly later.
    for at in [
        UNIX_EPOCH - Duration::from_secs(1 << 40),
        UNIX_EPOCH + Duration::from_secs(1 << 40),
        SystemTime::UNIX_EPOCH,
    ] {
        assert!(next_quota_reset(at) > at);
        let _ = format_reset(at);
    }
}
