//! Parser tests for the wire layer, with the real-world bodies and headers of
//! `reference/provider-facts.md` (Mashery, TIBCO, Infusionsoft captures and docs).

use bearer_protocol::wire::MAX_BODY_BYTES;
use bearer_protocol::wire::challenge::{BearerChallenge, ChallengeError};
use bearer_protocol::wire::gateway::{GatewayCode, GatewayDenial, RetryAfter};
use bearer_protocol::wire::oauth_error::{ErrorCode, OAuthError};
use bearer_protocol::wire::quota::{QuotaHeaders, format_reset, next_quota_reset, parse_reset};
use bearer_protocol::wire::request::{client_credentials_request, refresh_token_request};
use bearer_protocol::wire::token::{
    MAX_EXPIRES_IN, TokenEndpointError, TokenResponse, parse_token_response,
};
use bearer_protocol::wire::unexpected::UnexpectedResponse;
use bearer_protocol::{ClientAuth, Config, RefreshToken};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DEFAULT: Duration = Duration::from_secs(1234);
const JSON: (&str, &str) = ("Content-Type", "application/json");
const XML: (&str, &str) = ("Content-Type", "text/xml");

fn response(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Response<Vec<u8>> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).unwrap()
}

fn token(response: &Response<Vec<u8>>) -> TokenResponse {
    parse_token_response(response, DEFAULT).unwrap()
}

fn error(response: &Response<Vec<u8>>) -> TokenEndpointError {
    parse_token_response(response, DEFAULT).unwrap_err()
}

fn unexpected(response: &Response<Vec<u8>>) -> UnexpectedResponse {
    match error(response) {
        TokenEndpointError::Unexpected(unexpected) => unexpected,
        other => panic!("expected Unexpected, got {other:?}"),
    }
}

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

// ---------------------------------------------------------------- requests

#[test]
fn requests_never_use_both_client_authentication_methods() {
    let refresh = RefreshToken::new("6mh3cgqvc6d992fd45zc88ue");
    for auth in [ClientAuth::Body, ClientAuth::Basic] {
        let config = Config::builder(
            "https://api.compliance.ai/oauth2/token",
            "ysszm2yk7gp5r9ernuaurgcc",
            "w9t7t48g7H",
        )
        .client_auth(auth)
        .build()
        .unwrap();
        for request in [
            client_credentials_request(&config),
            refresh_token_request(&config, &refresh),
        ] {
            let body = std::str::from_utf8(request.body()).unwrap();
            let in_body = body.contains("client_secret=");
            let in_header = request.headers().contains_key(AUTHORIZATION);
            assert!(in_body != in_header, "{auth:?}: {body}");
            assert_eq!(in_header, auth == ClientAuth::Basic);
            if let Some(value) = request.headers().get(AUTHORIZATION) {
                assert!(value.is_sensitive());
            }
            assert_eq!(
                request.headers()[CONTENT_TYPE],
                "application/x-www-form-urlencoded"
            );
            assert_eq!(request.uri(), "https://api.compliance.ai/oauth2/token");
        }
    }
}

// ---------------------------------------------------------------- token responses

#[test]
fn the_guides_token_response() {
    let token = token(&response(
        200,
        &[JSON, ("Cache-Control", "no-store"), ("Pragma", "no-cache")],
        r#"{"access_token":"6mh3cgqvc6d992fd45zc88ue","token_type":"bearer","expires_in":3600,"refresh_token":"edcv2npr3furqsnscpn795t9"}"#,
    ));
    assert_eq!(token.access_token.expose(), "6mh3cgqvc6d992fd45zc88ue");
    assert_eq!(token.expires_in, Duration::from_secs(3600));
    assert!(token.expires_in_given);
    assert_eq!(
        token.refresh_token.unwrap().expose(),
        "edcv2npr3furqsnscpn795t9"
    );
    assert_eq!(token.scope, None);
    assert!(token.extra.is_empty());
}

#[test]
fn tibco_response_with_extra_fields_and_a_25_character_refresh_token() {
    // TIBCO Mashery Local docs and the Mashery Authentication page.
    let token = token(&response(
        200,
        &[JSON],
        r#"{"token_type":"bearer","mapi":"2g6fd4vwe5xmmpd44pq6gbz7","access_token":"5f8f5cv6pcw8fh48y9nhvtmv","expires_in":86400,"refresh_token":"99cg9yrxqazk8nu58xsrqn2pm","scope":"read","state":null,"uri":null,"extended":null}"#,
    ));
    assert_eq!(token.access_token.expose(), "5f8f5cv6pcw8fh48y9nhvtmv");
    assert_eq!(token.expires_in, Duration::from_secs(86_400));
    assert_eq!(token.refresh_token.as_ref().unwrap().char_len(), 25);
    assert_eq!(token.scope.as_deref(), Some("read"));
    assert_eq!(
        token.extra.get("mapi"),
        Some(&json!("2g6fd4vwe5xmmpd44pq6gbz7"))
    );
    assert_eq!(token.extra.get("state"), Some(&json!(null)));
    assert_eq!(token.extra.len(), 4, "{:?}", token.extra);
}

#[test]
fn expires_in_in_every_shape() {
    let with = |value: &str| {
        response(
            200,
            &[JSON],
            format!(r#"{{"access_token":"a","token_type":"bearer","expires_in":{value}}}"#),
        )
    };
    for (value, seconds) in [
        ("3600", 3600),
        ("\"3600\"", 3600),
        ("\" 3600 \"", 3600),
        ("3599.9", 3599),
        ("\"86400.5\"", 86_400),
        ("0", 0),
        ("1e3", 1000),
    ] {
        let token = token(&with(value));
        assert_eq!(token.expires_in, Duration::from_secs(seconds), "{value}");
        assert!(token.expires_in_given, "{value}");
    }
    for absurd in [
        "99999999999999999999999",
        "1e300",
        "\"99999999999999999999999\"",
        "18446744073709551615",
    ] {
        assert_eq!(token(&with(absurd)).expires_in, MAX_EXPIRES_IN, "{absurd}");
    }
    for absent in ["null", "\"\"", "\"  \""] {
        let token = token(&with(absent));
        assert_eq!(token.expires_in, DEFAULT, "{absent}");
        assert!(!token.expires_in_given);
    }
    let missing = token(&response(
        200,
        &[JSON],
        r#"{"access_token":"a","token_type":"bearer"}"#,
    ));
    assert_eq!(missing.expires_in, DEFAULT);
    assert!(!missing.expires_in_given);
    for bad in [
        "-1",
        "-0.5",
        "\"-3600\"",
        "\"soon\"",
        "true",
        "[3600]",
        "{}",
        "\"NaN\"",
        "\"inf\"",
    ] {
        let unexpected = unexpected(&with(bad));
        assert!(
            unexpected.reason.contains("expires_in"),
            "{bad}: {}",
            unexpected.reason
        );
    }
}

#[test]
fn token_type_is_case_insensitive_and_may_be_missing() {
    for token_type in [
        "\"bearer\"",
        "\"Bearer\"",
        "\"BEARER\"",
        "\" bearer \"",
        "null",
    ] {
        let body = format!(r#"{{"access_token":"a","token_type":{token_type}}}"#);
        token(&response(200, &[JSON], body));
    }
    token(&response(
        200,
        &[JSON],
        r#"{"access_token":"a","expires_in":3600}"#,
    ));
    let mac = error(&response(
        200,
        &[JSON],
        r#"{"access_token":"a","token_type":"mac","mac_key":"k","mac_algorithm":"hmac-sha-256"}"#,
    ));
    assert_eq!(
        mac,
        TokenEndpointError::UnsupportedTokenType("mac".to_owned())
    );
    assert!(mac.is_permanent());
    assert!(matches!(
        error(&response(200, &[JSON], r#"{"access_token":"a","token_type":7}"#)),
        TokenEndpointError::UnsupportedTokenType(t) if t == "7"
    ));
}

#[test]
fn json_is_sniffed_whatever_the_content_type() {
    let body =
        r#"{"access_token":"66mrpvtv4mvs6bz728nbaqmc","token_type":"bearer","expires_in":3600}"#;
    for content_type in [
        Some("application/json"),
        Some("application/json; charset=UTF-8"),
        Some("text/plain"),
        Some("text/html; charset=iso-8859-1"),
        Some("application/octet-stream"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|ct| ("Content-Type", ct))
            .into_iter()
            .collect();
        let token = token(&response(200, &headers, body));
        assert_eq!(
            token.access_token.expose(),
            "66mrpvtv4mvs6bz728nbaqmc",
            "{content_type:?}"
        );
    }
    // With a byte-order mark and whitespace around.
    let mut bom = b"\xEF\xBB\xBF \n".to_vec();
    bom.extend_from_slice(body.as_bytes());
    token(&response(200, &[JSON], bom));
}

#[test]
fn form_encoded_token_responses() {
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let token = token(&response(
        200,
        &[form],
        "access_token=66mrpvtv4mvs6bz728nbaqmc&token_type=bearer&expires_in=3600&refresh_token=99cg9yrxqazk8nu58xsrqn2pm&scope=read+write&mapi=x%20y",
    ));
    assert_eq!(token.expires_in, Duration::from_secs(3600));
    assert_eq!(token.scope.as_deref(), Some("read write"));
    assert_eq!(token.extra.get("mapi"), Some(&json!("x y")));
    // Unlabelled, but clearly a form.
    let token = self::token(&response(200, &[], "access_token=abc&token_type=bearer"));
    assert_eq!(token.access_token.expose(), "abc");
    let error = error(&response(
        200,
        &[form],
        "error=invalid_grant&error_description=Invalid+refresh+token",
    ));
    assert!(error.is_refresh_token_refused());
}

#[test]
fn refresh_token_and_scope_edge_cases() {
    let token = token(&response(
        200,
        &[JSON],
        r#"{"access_token":"a","refresh_token":"","scope":["read","write"]}"#,
    ));
    assert!(token.refresh_token.is_none());
    assert_eq!(token.scope.as_deref(), Some("read write"));
    let token = self::token(&response(
        200,
        &[JSON],
        r#"{"access_token":"a","refresh_token":null,"scope":""}"#,
    ));
    assert!(token.refresh_token.is_none());
    assert!(token.scope.is_none());
    let token = self::token(&response(
        200,
        &[JSON],
        r#"{"access_token":"a","scope":{"odd":true}}"#,
    ));
    assert!(token.scope.is_none());
    assert_eq!(token.extra.get("scope"), Some(&json!({"odd": true})));
}

#[test]
fn missing_or_unusable_access_tokens_are_unexpected() {
    for (body, reason) in [
        (
            r#"{"token_type":"bearer","expires_in":3600}"#,
            "no access_token",
        ),
        (r#"{"access_token":null}"#, "no access_token"),
        (r#"{"access_token":""}"#, "empty"),
        (r#"{"access_token":42}"#, "not a string"),
        (r#"{"access_token":"a b"}"#, "header"),
        (r#"{"access_token":"a\nb"}"#, "header"),
        ("[1,2]", "not an object"),
        ("\"token\"", "not an object"),
        ("", "empty"),
        ("   ", "empty"),
        ("<html>ok</html>", "not a token response"),
    ] {
        let unexpected = unexpected(&response(200, &[JSON], body));
        assert!(
            unexpected.reason.contains(reason),
            "{body}: {}",
            unexpected.reason
        );
        assert_eq!(unexpected.status, StatusCode::OK);
    }
}

#[test]
fn an_rfc_error_in_a_200_is_an_oauth_error() {
    let error = error(&response(
        200,
        &[JSON],
        r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
    ));
    let TokenEndpointError::OAuth(oauth) = error else {
        panic!("{error:?}")
    };
    assert_eq!(oauth.status, StatusCode::OK);
    assert_eq!(oauth.code, ErrorCode::InvalidClient);
    assert!(oauth.is_permanent());
    // A null error next to a token is no error.
    token(&response(
        200,
        &[JSON],
        r#"{"access_token":"a","error":null}"#,
    ));
}

#[test]
fn truncated_json_is_unexpected() {
    let unexpected = unexpected(&response(
        200,
        &[JSON],
        r#"{"access_token":"6mh3cgqvc6d992fd45zc88ue","token_type":"bea"#,
    ));
    assert!(unexpected.reason.contains("truncated"));
    assert!(!unexpected.snippet.contains("6mh3cgqvc6d992fd45zc88ue"));
    assert!(unexpected.to_string().contains("[redacted]"));
}

#[test]
fn oversized_bodies_are_unexpected() {
    let mut body = br#"{"access_token":"a","padding":""#.to_vec();
    body.resize(MAX_BODY_BYTES + 1, b'x');
    let unexpected = unexpected(&response(200, &[JSON], body));
    assert!(
        unexpected.reason.contains("too large"),
        "{}",
        unexpected.reason
    );
    // Exactly at the cap is still read.
    let mut body = br#"{"access_token":"a","padding":""#.to_vec();
    body.resize(MAX_BODY_BYTES - 2, b'x');
    body.extend_from_slice(b"\"}");
    assert_eq!(body.len(), MAX_BODY_BYTES);
    token(&response(200, &[JSON], body));
    // The cap applies to error bodies too.
    let mut huge = br#"{"error":"invalid_grant","x":""#.to_vec();
    huge.resize(MAX_BODY_BYTES * 2, b'x');
    assert!(OAuthError::from_response(&response(400, &[JSON], huge.clone())).is_none());
    assert!(matches!(
        error(&response(400, &[JSON], huge)),
        TokenEndpointError::Unexpected(_)
    ));
}

#[test]
fn html_502_and_empty_500_are_unexpected_and_transient() {
    let html = unexpected(&response(
        502,
        &[("Content-Type", "text/html")],
        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    ));
    assert_eq!(html.status, StatusCode::BAD_GATEWAY);
    assert_eq!(html.content_type.as_deref(), Some("text/html"));
    assert!(html.is_transient());
    assert!(
        html.snippet
            .starts_with("<html><head><title>502 Bad Gateway")
    );
    let empty = error(&response(500, &[], ""));
    assert!(empty.is_transient());
    assert!(empty.to_string().contains("the body is empty"), "{empty}");
    let TokenEndpointError::Unexpected(empty) = empty else {
        panic!()
    };
    assert_eq!(empty.content_type, None);
    assert_eq!(empty.snippet, "");
}

#[test]
fn debug_of_a_token_response_hides_secrets() {
    let token = token(&response(
        200,
        &[JSON],
        r#"{"access_token":"6mh3cgqvc6d992fd45zc88ue","refresh_token":"edcv2npr3furqsnscpn795t9","id_token":"eyJhbGciOiJIUzI1NiJ9","mapi":"visible"}"#,
    ));
    let debug = format!("{token:?}");
    assert!(!debug.contains("6mh3cgqvc6d992fd45zc88ue"), "{debug}");
    assert!(!debug.contains("edcv2npr3furqsnscpn795t9"), "{debug}");
    assert!(!debug.contains("eyJhbGciOiJIUzI1NiJ9"), "{debug}");
    assert!(debug.contains("visible"), "{debug}");
}

// ---------------------------------------------------------------- OAuth errors

#[test]
fn mashery_oauth_generated_errors() {
    let no_store = ("Cache-Control", "no-store");
    // client_id missing.
    let TokenEndpointError::OAuth(missing) = error(&response(
        400,
        &[
            JSON,
            no_store,
            ("X-Mashery-Error-Code", "ERR_403_NOT_AUTHORIZED"),
        ],
        r#"{"error":"invalid_request"}"#,
    )) else {
        panic!()
    };
    assert_eq!(missing.code, ErrorCode::InvalidRequest);
    assert_eq!(missing.gateway_code, Some(GatewayCode::NotAuthorized));
    assert!(!missing.is_permanent());
    // Bad credentials.
    let TokenEndpointError::OAuth(bad) = error(&response(
        401,
        &[
            JSON,
            no_store,
            ("X-Mashery-Error-Code", "ERR_403_NOT_AUTHORIZED"),
            ("WWW-Authenticate", "Basic realm=\"api.compliance.ai\""),
        ],
        r#"{"error":"invalid_client"}"#,
    )) else {
        panic!()
    };
    assert_eq!(bad.code, ErrorCode::InvalidClient);
    assert!(bad.is_permanent());
    assert!(bad.to_string().contains("Keys section of My Account"));
    // Developer inactive.
    let inactive = error(&response(
        401,
        &[
            JSON,
            no_store,
            ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_INACTIVE"),
            ("WWW-Authenticate", "Basic realm=\"api.compliance.ai\""),
        ],
        r#"{"error":"invalid_client"}"#,
    ));
    assert!(inactive.is_permanent());
    assert!(inactive.to_string().contains("not active"), "{inactive}");
    // Invalid referer: no gateway code.
    let TokenEndpointError::OAuth(referer) =
        error(&response(401, &[JSON], r#"{"error":"invalid_client"}"#))
    else {
        panic!()
    };
    assert_eq!(referer.gateway_code, None);
}

#[test]
fn infusionsoft_invalid_grant() {
    for status in [400, 401] {
        let TokenEndpointError::OAuth(oauth) = error(&response(
            status,
            &[JSON],
            r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#,
        )) else {
            panic!()
        };
        assert_eq!(oauth.status.as_u16(), status);
        assert_eq!(oauth.description.as_deref(), Some("Invalid refresh token"));
        assert!(oauth.is_refresh_token_refused());
        assert!(!oauth.is_permanent());
    }
    let other = OAuthError::from_response(&response(
        400,
        &[JSON],
        r#"{"error":"invalid_request","error_description":"Invalid redirect_uri","error_uri":"https://x"}"#,
    ))
    .unwrap();
    assert_eq!(other.uri.as_deref(), Some("https://x"));
}

#[test]
fn oauth_error_bodies_whatever_the_content_type() {
    for content_type in ["text/plain", "text/html", "application/problem+json"] {
        let oauth = OAuthError::from_response(&response(
            400,
            &[("Content-Type", content_type)],
            r#"{"error":"invalid_grant"}"#,
        ));
        assert_eq!(oauth.unwrap().code, ErrorCode::InvalidGrant);
    }
    let form = OAuthError::from_response(&response(
        400,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "error=unsupported_grant_type",
    ));
    assert_eq!(form.unwrap().code, ErrorCode::UnsupportedGrantType);
    for not_one in [
        r#"{"error":""}"#,
        r#"{"error":{"code":5}}"#,
        r#"{"message":"nope"}"#,
        "<h1>error=invalid_grant</h1>",
        "",
    ] {
        assert!(
            OAuthError::from_response(&response(400, &[JSON], not_one)).is_none(),
            "{not_one}"
        );
    }
}

#[test]
fn error_codes_round_trip() {
    for code in [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "server_error",
    ] {
        assert_eq!(ErrorCode::parse(code).as_str(), code);
        assert_eq!(ErrorCode::parse(code).to_string(), code);
    }
    assert_eq!(ErrorCode::parse(" INVALID_GRANT "), ErrorCode::InvalidGrant);
    assert_eq!(
        ErrorCode::parse("slow_down"),
        ErrorCode::Other("slow_down".to_owned())
    );
}

// ---------------------------------------------------------------- gateway denials

#[test]
fn developer_over_rate_as_text_xml_whatever_the_status() {
    // The 2014 capture: a 28-byte <h1> page sent as text/xml.
    let body = "<h1>Developer Over Rate</h1>";
    assert_eq!(body.len(), 28);
    for status in [403, 429, 401] {
        let error = error(&response(
            status,
            &[
                XML,
                ("Server", "Mashery Proxy"),
                (
                    "X-Mashery-Responder",
                    "prod-j-worker-us-east-1e-75.mashery.com",
                ),
                ("x-mashery-error-code", "ERR_403_DEVELOPER_OVER_RATE"),
                ("X-Error-Detail-Header", "Account Over Rate Limit"),
            ],
            body,
        ));
        let TokenEndpointError::Gateway(denial) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(denial.code, GatewayCode::DeveloperOverRate);
        assert_eq!(denial.status.as_u16(), status);
        assert_eq!(denial.detail.as_deref(), Some("Account Over Rate Limit"));
        assert!(error.is_quota_exhausted());
        assert!(!error.is_transient());
    }
}

#[test]
fn over_qps_with_retry_after() {
    let response = response(
        403,
        &[
            XML,
            ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_OVER_QPS"),
            (
                "X-Error-Detail-Header",
                "Account Over Queries Per Second Limit",
            ),
            ("Retry-After", "1"),
        ],
        "<h1>Developer Over Qps</h1>",
    );
    let denial = GatewayDenial::from_response(&response).unwrap();
    assert!(denial.is_transient());
    assert_eq!(
        denial.retry_after,
        Some(RetryAfter::Delay(Duration::from_secs(1)))
    );
    assert_eq!(denial.retry_at(at(100)), Some(at(101)));
    assert_eq!(
        error(&response).retry_after(),
        Some(RetryAfter::Delay(Duration::from_secs(1)))
    );
}

#[test]
fn service_not_found_596_and_inactive() {
    let not_found = GatewayDenial::from_response(&response(
        596,
        &[
            XML,
            ("Server", "Mashery Proxy"),
            ("X-Mashery-Error-Code", "ERR_596_SERVICE_NOT_FOUND"),
        ],
        "<h1>596 Service Not Found</h1>",
    ))
    .unwrap();
    assert_eq!(not_found.status.as_u16(), 596);
    assert_eq!(not_found.code, GatewayCode::ServiceNotFound);
    assert!(not_found.is_permanent());
    assert!(not_found.to_string().contains("check the API URL and path"));
    let inactive = GatewayDenial::from_response(&response(
        403,
        &[
            XML,
            ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_INACTIVE"),
            ("X-Error-Detail-Header", "Account Inactive"),
            ("X-Mashery-Responder", "8abfe284898c"),
        ],
        "<h1>Developer Inactive</h1>",
    ))
    .unwrap();
    assert!(inactive.is_permanent());
}

#[test]
fn denials_are_keyed_only_on_the_header() {
    // A problem+json body (adidas) is still a gateway denial.
    let denial = error(&response(
        429,
        &[
            ("Content-Type", "application/problem+json"),
            ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_OVER_QPS"),
        ],
        r#"{"title":"Too Many Requests","status":429}"#,
    ));
    assert!(matches!(denial, TokenEndpointError::Gateway(_)));
    // The same page without the header is merely unexpected.
    let plain = error(&response(403, &[XML], "<h1>Developer Over Rate</h1>"));
    assert!(matches!(plain, TokenEndpointError::Unexpected(_)));
    assert!(GatewayDenial::from_parts(StatusCode::FORBIDDEN, &HeaderMap::new()).is_none());
    // A blank header is no code.
    let mut headers = HeaderMap::new();
    headers.insert("x-mashery-error-code", HeaderValue::from_static("  "));
    assert!(GatewayDenial::from_parts(StatusCode::FORBIDDEN, &headers).is_none());
    // A 2xx that is not a token but carries the header is a denial too.
    assert!(matches!(
        error(&response(
            200,
            &[XML, ("X-Mashery-Error-Code", "ERR_403_SERVICE_OVER_QPS")],
            "<h1>Service Over Qps</h1>"
        )),
        TokenEndpointError::Gateway(_)
    ));
}

#[test]
fn gateway_codes_parse_and_print() {
    let all = [
        ("ERR_403_DEVELOPER_OVER_QPS", GatewayCode::DeveloperOverQps),
        ("ERR_403_SERVICE_OVER_QPS", GatewayCode::ServiceOverQps),
        (
            "ERR_403_DEVELOPER_OVER_RATE",
            GatewayCode::DeveloperOverRate,
        ),
        ("ERR_403_DEVELOPER_INACTIVE", GatewayCode::DeveloperInactive),
        ("ERR_403_NOT_AUTHORIZED", GatewayCode::NotAuthorized),
        (
            "ERR_401_INVALID_OR_EXPIRED_TOKEN",
            GatewayCode::InvalidOrExpiredToken,
        ),
        ("ERR_596_SERVICE_NOT_FOUND", GatewayCode::ServiceNotFound),
        (
            "ERR_502_BAD_GATEWAY",
            GatewayCode::Upstream(StatusCode::BAD_GATEWAY),
        ),
        (
            "ERR_503_SERVICE_UNAVAILABLE",
            GatewayCode::Upstream(StatusCode::SERVICE_UNAVAILABLE),
        ),
        (
            "ERR_504_GATEWAY_TIMEOUT",
            GatewayCode::Upstream(StatusCode::GATEWAY_TIMEOUT),
        ),
    ];
    for (id, code) in all {
        assert_eq!(GatewayCode::parse(id), code);
        assert_eq!(
            GatewayCode::parse(&format!("  {}\t", id.to_lowercase())),
            code
        );
        assert_eq!(code.as_str(), id);
        assert_eq!(code.to_string(), id);
    }
    for other in [
        "ERR_403_SERVICE_REQUIRES_SSL",
        "ERR_400_BAD_REQUEST",
        "ERR_401_INVALID_SIGNATURE",
    ] {
        assert_eq!(
            GatewayCode::parse(other),
            GatewayCode::Other(other.to_owned())
        );
    }
    assert_eq!(
        GatewayCode::DeveloperOverQps.default_status(),
        Some(StatusCode::FORBIDDEN)
    );
    assert_eq!(
        GatewayCode::ServiceNotFound
            .default_status()
            .map(|s| s.as_u16()),
        Some(596)
    );
    assert_eq!(
        GatewayCode::DeveloperInactive.default_detail(),
        Some("Account Inactive")
    );
}

#[test]
fn retry_after_values() {
    let parse = |text: &'static str| RetryAfter::parse(&HeaderValue::from_static(text));
    assert_eq!(
        parse(" 30 "),
        Some(RetryAfter::Delay(Duration::from_secs(30)))
    );
    assert_eq!(parse("0"), Some(RetryAfter::Delay(Duration::ZERO)));
    assert_eq!(
        parse("99999999999999999999999"),
        Some(RetryAfter::Delay(
            bearer_protocol::wire::gateway::MAX_RETRY_AFTER
        ))
    );
    assert_eq!(
        parse("Sun, 31 Jul 2016 00:00:00 GMT"),
        Some(RetryAfter::At(at(1_469_923_200)))
    );
    for bad in [
        "",
        "-1",
        "1.5",
        "soon",
        "Sunday, July 31, 2016 12:00:00 AM GMT",
    ] {
        assert_eq!(parse(bad), None, "{bad}");
    }
    assert_eq!(
        RetryAfter::Delay(Duration::from_secs(5)).resolve(at(10)),
        at(15)
    );
    assert_eq!(RetryAfter::At(at(50)).resolve(at(10)), at(50));
    assert_eq!(
        RetryAfter::At(at(5)).resolve(at(10)),
        at(10),
        "a past date means now"
    );
}

// ---------------------------------------------------------------- challenges

#[test]
fn mashery_bearer_challenges() {
    let mut headers = HeaderMap::new();
    headers.append(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"api.compliance.ai\""),
    );
    assert_eq!(BearerChallenge::from_headers(&headers), None);
    headers.append(
        "www-authenticate",
        HeaderValue::from_static("Bearer realm=\"api.compliance.ai\""),
    );
    let challenge = BearerChallenge::from_headers(&headers).unwrap();
    assert_eq!(challenge.realm.as_deref(), Some("api.compliance.ai"));
    assert_eq!(challenge.error, None);
    let wrong_type =
        BearerChallenge::parse("Bearer realm=\"api.compliance.ai\", error=\"invalid_request\"")
            .unwrap();
    assert_eq!(wrong_type.error, Some(ChallengeError::InvalidRequest));
}

#[test]
fn challenges_per_rfc_7235() {
    let challenge = BearerChallenge::parse(
        r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", bEaReR REALM = "exa\\mple" , error=invalid_token, error_description="The access token expired", scope="read write", error_uri="https://e/x""#,
    )
    .unwrap();
    assert_eq!(
        challenge,
        BearerChallenge {
            realm: Some("exa\\mple".to_owned()),
            error: Some(ChallengeError::InvalidToken),
            description: Some("The access token expired".to_owned()),
            uri: Some("https://e/x".to_owned()),
            scope: Some("read write".to_owned()),
        }
    );
    assert!(challenge.is_invalid_token());
    assert_eq!(
        BearerChallenge::parse("Bearer"),
        Some(BearerChallenge::default())
    );
    assert_eq!(
        BearerChallenge::parse("Bearer error=\"insufficient_scope\"")
            .unwrap()
            .error,
        Some(ChallengeError::InsufficientScope)
    );
    assert_eq!(
        BearerChallenge::parse("Bearer error=\"slow\"")
            .unwrap()
            .error,
        Some(ChallengeError::Other("slow".to_owned()))
    );
    for none in [
        "",
        "Basic realm=\"x\"",
        "Bearerx realm=y",
        "realm=\"Bearer\"",
        ",,, =",
    ] {
        assert_eq!(BearerChallenge::parse(none), None, "{none:?}");
    }
    // Garbage around a challenge does not hide it.
    assert!(BearerChallenge::parse("=== , \"quoted, text\", ; , Bearer realm=\"x\"").is_some());
    // An unterminated quoted-string runs to the end: what follows it is inside it.
    assert_eq!(
        BearerChallenge::parse("Basic realm=\"x, Bearer realm=\"y"),
        None
    );
    assert_eq!(
        ChallengeError::parse("invalid_token").as_str(),
        "invalid_token"
    );
}

// ---------------------------------------------------------------- quota

#[test]
fn the_three_documented_reset_dates() {
    for (text, seconds) in [
        ("Saturday, July 30, 2016 12:00:00 AM GMT", 1_469_836_800),
        (
            "Thursday, September 20, 2018 12:00:00 AM GMT",
            1_537_401_600,
        ),
        ("Tuesday, June 6, 2017 12:00:00 AM GMT", 1_496_707_200),
    ] {
        assert_eq!(parse_reset(text), Some(at(seconds)), "{text}");
        assert_eq!(format_reset(at(seconds)), text);
    }
}

#[test]
fn reset_dates_are_parsed_tolerantly() {
    let june_6 = Some(at(1_496_707_200));
    for text in [
        "Tuesday, June 06, 2017 12:00:00 AM GMT",
        "  Tuesday,  June 6,   2017 12:00:00 AM  GMT ",
        "Tuesday, June 6, 2017 12:00:00 AM UTC",
        "tuesday, june 6, 2017 12:00:00 am gmt",
        "Tue, Jun 6, 2017 12:00:00 AM GMT",
        "June 6, 2017 12:00:00 AM GMT",
        "Tuesday, June 6, 2017 00:00:00 GMT",
        "Tuesday,June 6,2017 12:00:00 AM GMT",
    ] {
        assert_eq!(parse_reset(text), june_6, "{text}");
    }
    assert_eq!(
        parse_reset("Tuesday, June 6, 2017 1:05:09 PM GMT"),
        Some(at(1_496_707_200 + 13 * 3600 + 5 * 60 + 9))
    );
    assert_eq!(
        format_reset(at(1_496_707_200 + 13 * 3600 + 5 * 60 + 9)),
        "Tuesday, June 6, 2017 1:05:09 PM GMT"
    );
    for nonsense in [
        "",
        "GMT",
        "tomorrow",
        "Tuesday, June 6, 2017 12:00:00 AM",
        "Tuesday, June 6, 2017 12:00:00 AM PST",
        "Tuesday, June 31, 2017 12:00:00 AM GMT",
        "Tuesday, June 6, 2017 13:00:00 AM GMT",
        "Tuesday, Juneteenth 6, 2017 12:00:00 AM GMT",
        "Tue, 06 Jun 2017 00:00:00 GMT",
        "2017-06-06T00:00:00Z",
    ] {
        assert_eq!(parse_reset(nonsense), None, "{nonsense}");
    }
}

#[test]
fn quota_headers_read_write_and_ignore_garbage() {
    let response = response(
        200,
        &[
            ("X-Plan-QPS-Allotted", "10"),
            ("X-Plan-QPS-Current", "1"),
            ("X-Plan-Quota-Allotted", "5000"),
            ("X-Plan-Quota-Current", " 4999 "),
            (
                "X-Plan-Quota-Reset",
                "Saturday, July 30, 2016 12:00:00 AM GMT",
            ),
        ],
        "",
    );
    let quota = QuotaHeaders::from_headers(response.headers());
    assert_eq!(
        quota,
        QuotaHeaders {
            quota_allotted: Some(5000),
            quota_current: Some(4999),
            quota_reset: Some(at(1_469_836_800)),
            qps_allotted: Some(10),
            qps_current: Some(1),
        }
    );
    assert_eq!(quota.quota_remaining(), Some(1));
    let mut written = HeaderMap::new();
    quota.write_to(&mut written);
    assert_eq!(
        written["x-plan-quota-reset"],
        "Saturday, July 30, 2016 12:00:00 AM GMT"
    );
    assert_eq!(QuotaHeaders::from_headers(&written), quota);

    let garbage = self::response(
        200,
        &[
            ("X-Plan-Quota-Allotted", "lots"),
            ("X-Plan-Quota-Current", "-1"),
            ("X-Plan-Quota-Reset", "soon"),
            ("X-Plan-QPS-Allotted", "2"),
        ],
        "",
    );
    let quota = QuotaHeaders::from_headers(garbage.headers());
    assert_eq!(
        quota,
        QuotaHeaders {
            qps_allotted: Some(2),
            ..QuotaHeaders::default()
        }
    );
    assert!(!quota.is_empty());
    assert!(QuotaHeaders::from_headers(&HeaderMap::new()).is_empty());
    let mut untouched = HeaderMap::new();
    QuotaHeaders::default().write_to(&mut untouched);
    assert!(untouched.is_empty());
}

#[test]
fn next_quota_reset_is_the_next_utc_midnight() {
    let day = 86_400;
    let july_30 = 1_469_836_800;
    assert_eq!(
        next_quota_reset(at(july_30)),
        at(july_30 + day),
        "strictly after"
    );
    assert_eq!(next_quota_reset(at(july_30 - 1)), at(july_30));
    assert_eq!(
        next_quota_reset(at(july_30) + Duration::from_nanos(1)),
        at(july_30 + day)
    );
    assert_eq!(
        next_quota_reset(at(july_30) - Duration::from_nanos(1)),
        at(july_30)
    );
    assert_eq!(
        next_quota_reset(UNIX_EPOCH - Duration::from_secs(1)),
        UNIX_EPOCH
    );
    assert_eq!(
        next_quota_reset(UNIX_EPOCH - Duration::from_secs(day)),
        UNIX_EPOCH
    );
    assert_eq!(
        next_quota_reset(UNIX_EPOCH - Duration::from_secs(day) - Duration::from_nanos(1)),
        UNIX_EPOCH - Duration::from_secs(day)
    );
}

/// Found by fuzz/oauth_error: an `error` of control characters only was kept raw before; once
/// cleaned it is blank, and a blank code is no OAuth error.
#[test]
fn an_error_code_blank_once_cleaned_is_not_an_oauth_error() {
    let response = http::Response::builder()
        .status(400)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"error=%00%00%00%00+".to_vec())
        .unwrap();
    assert_eq!(
        bearer_protocol::wire::oauth_error::OAuthError::from_response(&response),
        None
    );
}

/// Found by fuzz/oauth_error: `error=%00%00invalid_client` was kept as an unknown code whose
/// cleaned text read back as the known `invalid_client`. Codes are matched once cleaned.
#[test]
fn a_known_error_code_with_control_characters_is_known() {
    let response = http::Response::builder()
        .status(400)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"error=%00%00invalid_client".to_vec())
        .unwrap();
    let error = bearer_protocol::wire::oauth_error::OAuthError::from_response(&response).unwrap();
    assert_eq!(
        error.code,
        bearer_protocol::wire::oauth_error::ErrorCode::InvalidClient
    );
}
