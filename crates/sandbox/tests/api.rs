//! The protected API over real HTTP: bearer tokens, expiry, revocation, the gateway's answers.

mod common;

use common::*;
use insta::assert_snapshot;
use std::time::Duration;

fn get(sandbox: &bearer_sandbox::Sandbox, path: &str, authorization: Option<&str>) -> Answer {
    let mut builder = http::Request::get(sandbox.url(path));
    if let Some(value) = authorization {
        builder = builder.header("Authorization", value);
    }
    send(builder.body(Vec::new()).unwrap()).unwrap()
}

#[test]
fn a_bearer_token_gets_the_search_results() {
    let sandbox = sandbox();
    let token = client_credentials(&sandbox).access_token();
    let answer = search(&sandbox, &token, "cyber");
    assert_snapshot!("search_cyber", answer.snapshot());
    let nothing = search(&sandbox, &token, "no such words");
    assert_eq!(
        nothing.text(),
        r#"{"query":"no such words","count":0,"documents":[]}"#
    );
}

#[test]
fn the_guide_request_headers_are_fine() {
    let sandbox = sandbox();
    let token = client_credentials(&sandbox).access_token();
    let request = http::Request::get(sandbox.url("/v1/searchoauth?query=privacy"))
        .header("accept-encoding", "identity")
        .header("Authorization", format!("Bearer {token}"))
        .header("X-Originating-IP", "203.0.113.7")
        .header("cache-control", "no-cache")
        .body(Vec::new())
        .unwrap();
    let answer = send(request).unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["count"], 1);
}

#[test]
fn without_a_token_the_challenge_has_no_error_code() {
    let sandbox = sandbox();
    assert_snapshot!(
        "no_token",
        get(&sandbox, "/v1/searchoauth?query=x", None).snapshot()
    );
}

#[test]
fn the_bearer_scheme_is_case_sensitive() {
    let sandbox = sandbox();
    let token = client_credentials(&sandbox).access_token();
    let answer = get(
        &sandbox,
        "/v1/searchoauth?query=x",
        Some(&format!("bearer {token}")),
    );
    assert_snapshot!("lowercase_bearer", answer.snapshot());
    for odd in ["Bearer", "Bearer ", "Bearer a b", "Basic eDp5", "Token abc"] {
        let answer = get(&sandbox, "/v1/searchoauth?query=x", Some(odd));
        assert_eq!(answer.status, 400, "{odd}");
    }
}

#[test]
fn an_unknown_token_is_invalid_token() {
    let sandbox = sandbox();
    let answer = get(
        &sandbox,
        "/v1/searchoauth?query=x",
        Some("Bearer 66mrpvtv4mvs6bz728nbaqmc"),
    );
    assert_snapshot!("unknown_token", answer.snapshot());
}

#[test]
fn a_token_expires_after_its_ttl_on_the_sandbox_clock() {
    let sandbox = sandbox();
    let token = client_credentials(&sandbox).access_token();
    sandbox.advance(Duration::from_secs(3599));
    assert_eq!(search(&sandbox, &token, "cyber").status, 200);
    sandbox.advance(Duration::from_secs(1));
    let answer = search(&sandbox, &token, "cyber");
    assert_eq!(answer.status, 401);
    assert!(
        answer
            .header("www-authenticate")
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
}

#[test]
fn old_access_tokens_stay_valid_until_they_expire() {
    let sandbox = sandbox();
    let first = client_credentials(&sandbox);
    sandbox.advance(Duration::from_secs(1800));
    let second = refresh(&sandbox, &first.refresh_token());
    assert_eq!(search(&sandbox, &first.access_token(), "cyber").status, 200);
    assert_eq!(
        search(&sandbox, &second.access_token(), "cyber").status,
        200
    );
    sandbox.advance(Duration::from_secs(1800));
    assert_eq!(search(&sandbox, &first.access_token(), "cyber").status, 401);
    assert_eq!(
        search(&sandbox, &second.access_token(), "cyber").status,
        200
    );
}

#[test]
fn a_revoked_token_is_invalid_token() {
    let sandbox = sandbox();
    let token = client_credentials(&sandbox).access_token();
    assert!(sandbox.revoke_access_token(CLIENT_ID).unwrap());
    assert_eq!(search(&sandbox, &token, "cyber").status, 401);
    // Nothing left to revoke.
    assert!(!sandbox.revoke_access_token(CLIENT_ID).unwrap());
}

#[test]
fn a_disabled_application_is_developer_inactive() {
    let sandbox = sandbox();
    let token = client_credentials(&sandbox).access_token();
    sandbox.disable_app(CLIENT_ID).unwrap();
    assert_snapshot!("inactive", search(&sandbox, &token, "cyber").snapshot());
    sandbox.approve_app(CLIENT_ID).unwrap();
    assert_eq!(search(&sandbox, &token, "cyber").status, 200);
}

#[test]
fn the_query_parameter_is_required() {
    let sandbox = sandbox();
    let token = client_credentials(&sandbox).access_token();
    let bearer = format!("Bearer {token}");
    assert_snapshot!(
        "missing_query",
        get(&sandbox, "/v1/searchoauth", Some(&bearer)).snapshot()
    );
    assert_eq!(
        get(&sandbox, "/v1/searchoauth?query=%zz", Some(&bearer)).status,
        400
    );
    assert_eq!(
        get(&sandbox, "/v1/searchoauth?query=+", Some(&bearer)).status,
        400
    );
}

#[test]
fn unknown_paths_get_596_service_not_found() {
    let sandbox = sandbox();
    // `/` is the portal's home page; the gateway maps no service there either way.
    for path in [
        "/v1/search",
        "/v2/searchoauth",
        "/oauth2/token/",
        "/favicon.ico",
        "/v1/searchoauth/x",
    ] {
        let answer = get(&sandbox, path, None);
        assert_eq!(answer.status, 596, "{path}");
        assert_eq!(answer.text(), "<h1>596 Service Not Found</h1>");
    }
    assert_snapshot!(
        "service_not_found",
        get(&sandbox, "/nowhere", None).snapshot()
    );
}

#[test]
fn only_get_is_allowed_on_the_api() {
    let sandbox = sandbox();
    let request = http::Request::post(sandbox.url("/v1/searchoauth?query=x"))
        .body(b"x".to_vec())
        .unwrap();
    assert_snapshot!("post_api", send(request).unwrap().snapshot());
}

#[test]
fn the_date_header_follows_the_sandbox_clock_and_596_has_a_reason() {
    let sandbox = sandbox();
    let answer = raw(
        sandbox.addr(),
        b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert!(
        answer.starts_with("HTTP/1.1 596 Service Not Found\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("date: Thu, 06 Jun 2024 10:00:00 GMT\r\n"),
        "{answer}"
    );
    sandbox.advance(Duration::from_secs(86_400));
    let answer = client_credentials(&sandbox);
    assert_eq!(answer.header("date"), Some("Fri, 07 Jun 2024 10:00:00 GMT"));
}
