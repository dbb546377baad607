//! Exact wire snapshots: the token requests bearer sends, and the text of every wire error.

use bearer_protocol::wire::gateway::{GatewayCode, GatewayDenial, RetryAfter};
use bearer_protocol::wire::oauth_error::{ErrorCode, OAuthError};
use bearer_protocol::wire::request::{client_credentials_request, refresh_token_request};
use bearer_protocol::wire::token::{TokenEndpointError, parse_token_response};
use bearer_protocol::{ClientAuth, Config, RefreshToken};
use http::{Request, Response, StatusCode};
use std::time::{Duration, UNIX_EPOCH};

const TOKEN_URL: &str = "https://api.compliance.ai/oauth2/token";
const CLIENT_ID: &str = "ysszm2yk7gp5r9ernuaurgcc";
const CLIENT_SECRET: &str = "w9t7t48g7H";
const REFRESH_TOKEN: &str = "6mh3cgqvc6d992fd45zc88ue";

fn config(auth: ClientAuth, scope: Option<&str>) -> Config {
    let mut builder = Config::builder(TOKEN_URL, CLIENT_ID, CLIENT_SECRET).client_auth(auth);
    if let Some(scope) = scope {
        builder = builder.scope(scope);
    }
    builder.build().unwrap()
}

/// The request as it goes on the wire: method, URI, every header (sensitive ones marked), body.
fn render(request: &Request<Vec<u8>>) -> String {
    let mut out = format!("{} {}\n", request.method(), request.uri());
    for (name, value) in request.headers() {
        let sensitive = if value.is_sensitive() {
            "  (sensitive)"
        } else {
            ""
        };
        out.push_str(&format!("{name}: {}{sensitive}\n", value.to_str().unwrap()));
    }
    out.push('\n');
    out.push_str(std::str::from_utf8(request.body()).unwrap());
    out
}

#[test]
fn client_credentials_in_the_body() {
    let request = client_credentials_request(&config(ClientAuth::Body, None));
    insta::assert_snapshot!(render(&request));
}

#[test]
fn refresh_token_in_the_body() {
    let request = refresh_token_request(
        &config(ClientAuth::Body, None),
        &RefreshToken::new(REFRESH_TOKEN),
    );
    insta::assert_snapshot!(render(&request));
}

#[test]
fn client_credentials_with_basic() {
    let request = client_credentials_request(&config(ClientAuth::Basic, None));
    insta::assert_snapshot!(render(&request));
}

#[test]
fn refresh_token_with_basic() {
    let request = refresh_token_request(
        &config(ClientAuth::Basic, None),
        &RefreshToken::new(REFRESH_TOKEN),
    );
    insta::assert_snapshot!(render(&request));
}

#[test]
fn both_grants_with_a_scope() {
    let config = config(ClientAuth::Body, Some("read write:all"));
    let both = format!(
        "{}\n\n----\n\n{}",
        render(&client_credentials_request(&config)),
        render(&refresh_token_request(
            &config,
            &RefreshToken::new(REFRESH_TOKEN)
        ))
    );
    insta::assert_snapshot!(both);
}

#[test]
fn basic_credentials_are_form_encoded_first() {
    let config = Config::builder(TOKEN_URL, "id+with/odd:chars", "p@ss%w=rd&é")
        .client_auth(ClientAuth::Basic)
        .build()
        .unwrap();
    insta::assert_snapshot!(render(&client_credentials_request(&config)));
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response<Vec<u8>> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.as_bytes().to_vec()).unwrap()
}

fn error_text(response: &Response<Vec<u8>>) -> String {
    parse_token_response(response, Duration::from_secs(3600))
        .unwrap_err()
        .to_string()
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

#[test]
fn oauth_error_texts() {
    let cases = [
        // Mashery "OAuth Generated Errors": client_id missing.
        response(
            400,
            &[JSON, ("X-Mashery-Error-Code", "ERR_403_NOT_AUTHORIZED")],
            r#"{"error":"invalid_request"}"#,
        ),
        // Mashery: bad credentials.
        response(
            401,
            &[
                JSON,
                ("X-Mashery-Error-Code", "ERR_403_NOT_AUTHORIZED"),
                ("WWW-Authenticate", "Basic realm=\"api.compliance.ai\""),
            ],
            r#"{"error":"invalid_client"}"#,
        ),
        // Mashery: developer inactive.
        response(
            401,
            &[
                JSON,
                ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_INACTIVE"),
                ("WWW-Authenticate", "Basic realm=\"api.compliance.ai\""),
            ],
            r#"{"error":"invalid_client"}"#,
        ),
        // The guide / Infusionsoft: a refresh token that is not the latest.
        response(
            400,
            &[JSON],
            r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#,
        ),
        response(
            400,
            &[JSON],
            r#"{"error":"unauthorized_client","error_description":"The client is not authorized to use this grant type"}"#,
        ),
        response(400, &[JSON], r#"{"error":"unsupported_grant_type"}"#),
        response(
            400,
            &[JSON],
            r#"{"error":"invalid_scope","error_description":"Unknown scope: admin"}"#,
        ),
        response(
            503,
            &[JSON],
            r#"{"error":"temporarily_unavailable","error_uri":"https://status.example.com"}"#,
        ),
        // RFC 6749 error in a 200 body.
        response(
            200,
            &[JSON],
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        ),
        // Over quota, with an OAuth body.
        response(
            403,
            &[
                JSON,
                ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_OVER_RATE"),
            ],
            r#"{"error":"access_denied"}"#,
        ),
        // Untrusted description: control characters, an echoed token, excessive length.
        response(
            400,
            &[JSON],
            &format!(
                r#"{{"error":"invalid_grant","error_description":"Invalid refresh token\r\n\u001b[31m6mh3cgqvc6d992fd45zc88ue\u001b[0m {}"}}"#,
                "very long ".repeat(40)
            ),
        ),
    ];
    let texts: Vec<String> = cases.iter().map(error_text).collect();
    insta::assert_snapshot!(texts.join("\n\n"));
}

#[test]
fn gateway_denial_texts() {
    let xml = ("Content-Type", "text/xml");
    let cases = [
        response(
            403,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_OVER_QPS"),
                (
                    "X-Error-Detail-Header",
                    "Account Over Queries Per Second Limit",
                ),
                ("Retry-After", "1"),
            ],
            "<h1>Developer Over Qps</h1>",
        ),
        response(
            403,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_403_SERVICE_OVER_QPS"),
                ("X-Error-Detail-Header", "Rate Limit Exceeded"),
            ],
            "<h1>Service Over Qps</h1>",
        ),
        response(
            403,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_OVER_RATE"),
                ("X-Error-Detail-Header", "Account Over Rate Limit"),
            ],
            "<h1>Developer Over Rate</h1>",
        ),
        response(
            429,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_OVER_RATE"),
                ("Retry-After", "Sun, 31 Jul 2016 00:00:00 GMT"),
            ],
            "<h1>Developer Over Rate</h1>",
        ),
        response(
            403,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_INACTIVE"),
                ("X-Error-Detail-Header", "Account Inactive"),
            ],
            "<h1>Developer Inactive</h1>",
        ),
        response(
            401,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_403_NOT_AUTHORIZED"),
                ("X-Error-Detail-Header", "Not Authorized"),
            ],
            "<h1>Not Authorized</h1>",
        ),
        response(
            401,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_401_INVALID_OR_EXPIRED_TOKEN"),
                ("X-Error-Detail-Header", "Invalid Or Expired Token"),
            ],
            "<h1>Invalid Or Expired Token</h1>",
        ),
        response(
            596,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_596_SERVICE_NOT_FOUND"),
                ("Server", "Mashery Proxy"),
            ],
            "<h1>596 Service Not Found</h1>",
        ),
        response(
            502,
            &[xml, ("X-Mashery-Error-Code", "ERR_502_BAD_GATEWAY")],
            "<h1>Bad Gateway</h1>",
        ),
        response(
            503,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_503_SERVICE_UNAVAILABLE"),
                ("X-Error-Detail-Header", "Scheduled Maintenance"),
            ],
            "",
        ),
        response(
            504,
            &[xml, ("X-Mashery-Error-Code", "ERR_504_GATEWAY_TIMEOUT")],
            "",
        ),
        response(
            403,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_403_SERVICE_REQUIRES_SSL"),
                ("X-Error-Detail-Header", "Service Requires SSL"),
            ],
            "",
        ),
        response(
            403,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_403_DEVELOPER_UNKNOWN_REFERER"),
                ("X-Error-Detail-Header", "Invalid Referer"),
            ],
            "",
        ),
        response(
            414,
            &[
                xml,
                ("X-Mashery-Error-Code", "ERR_414_REQUEST_URI_TOO_LONG"),
            ],
            "",
        ),
        response(
            400,
            &[xml, ("X-Mashery-Error-Code", "ERR_400_BAD_REQUEST")],
            "",
        ),
        response(
            418,
            &[xml, ("X-Mashery-Error-Code", "ERR_418_SOMETHING_NEW")],
            "",
        ),
    ];
    let texts: Vec<String> = cases.iter().map(error_text).collect();
    insta::assert_snapshot!(texts.join("\n\n"));
}

#[test]
fn constructed_error_texts() {
    // Errors built by hand (the sandbox and the state machine do), with unsanitised fields.
    let denial = GatewayDenial {
        status: StatusCode::FORBIDDEN,
        code: GatewayCode::Other("ERR_\u{1b}[2J_x".to_owned()),
        detail: Some("line one\nline two".to_owned()),
        retry_after: Some(RetryAfter::At(
            UNIX_EPOCH + Duration::from_secs(1_469_836_800),
        )),
    };
    let oauth = OAuthError {
        status: StatusCode::BAD_REQUEST,
        code: ErrorCode::Other("slow_down".to_owned()),
        description: None,
        uri: None,
        gateway_code: Some(GatewayCode::Upstream(StatusCode::INTERNAL_SERVER_ERROR)),
    };
    let texts = [
        denial.to_string(),
        oauth.to_string(),
        TokenEndpointError::UnsupportedTokenType("mac".to_owned()).to_string(),
    ];
    insta::assert_snapshot!(texts.join("\n\n"));
}

#[test]
fn unsupported_token_type_text() {
    let response = response(
        200,
        &[JSON],
        r#"{"access_token":"66mrpvtv4mvs6bz728nbaqmc","token_type":"mac","expires_in":3600,"mac_key":"adijq39jdlaska9asud","mac_algorithm":"hmac-sha-256"}"#,
    );
    insta::assert_snapshot!(error_text(&response));
}

#[test]
fn unexpected_response_texts() {
    let html = ("Content-Type", "text/html; charset=utf-8");
    let cases = [
        response(
            502,
            &[html],
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        ),
        response(500, &[], ""),
        response(
            200,
            &[JSON],
            r#"{"access_token":"6mh3cgqvc6d992fd45zc88ue","token_type":"bearer","expires_"#,
        ),
        response(200, &[JSON], r#"{"token_type":"bearer","expires_in":3600}"#),
        response(
            200,
            &[JSON],
            r#"{"access_token":"6mh3cgqvc6d992fd45zc88ue","token_type":"bearer","expires_in":-5}"#,
        ),
        response(
            200,
            &[JSON],
            r#"{"access_token":"6mh3cgqvc6d992fd45zc88ue","token_type":"bearer","expires_in":"soon"}"#,
        ),
        response(200, &[], ""),
        response(
            200,
            &[html],
            "<html><body>Welcome! Please log in.</body></html>",
        ),
        response(
            500,
            &[JSON],
            r#"{"message":"internal error","request":{"client_secret":"w9t7t48g7H","refresh_token":"6mh3cgqvc6d992fd45zc88ue"}}"#,
        ),
        response(
            301,
            &[("Location", "https://api.compliance.ai/oauth2/token/")],
            "",
        ),
        response(404, &[html], "<h1>Not Found</h1>"),
        response(
            200,
            &[JSON],
            &format!(r#"{{"access_token":"{}"}}"#, "a".repeat(70_000)),
        ),
    ];
    let texts: Vec<String> = cases.iter().map(error_text).collect();
    insta::assert_snapshot!(texts.join("\n\n"));
}
