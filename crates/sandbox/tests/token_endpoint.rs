//! The token endpoint over real HTTP: the guide's exchanges, rotation, and every error answer.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use insta::assert_snapshot;
use std::time::Duration;

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn token_request_with(
    sandbox: &bearer_sandbox::Sandbox,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut builder = http::Request::post(sandbox.token_url());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(builder.body(body.as_bytes().to_vec()).unwrap()).unwrap()
}

/// A case: its name, its headers, its body.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, String);

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

#[test]
fn client_credentials_issues_a_bearer_token_and_a_refresh_token() {
    let sandbox = sandbox();
    let answer = client_credentials(&sandbox);
    assert_snapshot!("client_credentials", answer.snapshot());
    let json = answer.json();
    assert_eq!(json["token_type"], "bearer");
    assert_eq!(json["expires_in"], 3600);
    assert_ne!(answer.access_token(), answer.refresh_token());
}

#[test]
fn http_basic_authentication_is_accepted() {
    let sandbox = sandbox();
    let answer = token_request_with(
        &sandbox,
        &[FORM, ("Authorization", &basic(CLIENT_ID, CLIENT_SECRET))],
        "grant_type=client_credentials",
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    // Lower-case scheme and a client_id in the body that matches are fine too.
    let answer = token_request_with(
        &sandbox,
        &[
            FORM,
            (
                "Authorization",
                &basic(CLIENT_ID, CLIENT_SECRET).replace("Basic", "basic"),
            ),
        ],
        &format!("grant_type=client_credentials&client_id={CLIENT_ID}"),
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[test]
fn refresh_rotates_and_the_previous_refresh_token_is_refused() {
    let sandbox = sandbox();
    let first = client_credentials(&sandbox);
    let second = refresh(&sandbox, &first.refresh_token());
    assert_snapshot!("refresh_success", second.snapshot());
    assert_ne!(second.refresh_token(), first.refresh_token());
    assert_ne!(second.access_token(), first.access_token());

    let stale = refresh(&sandbox, &first.refresh_token());
    assert_snapshot!("refresh_stale", stale.snapshot());

    // The newest one still works, once.
    let third = refresh(&sandbox, &second.refresh_token());
    assert_eq!(third.status, 200);
    assert_eq!(refresh(&sandbox, &second.refresh_token()).status, 400);
}

#[test]
fn a_client_credentials_grant_also_invalidates_the_previous_refresh_token() {
    let sandbox = sandbox();
    let first = client_credentials(&sandbox);
    let _second = client_credentials(&sandbox);
    let answer = refresh(&sandbox, &first.refresh_token());
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"], "invalid_grant");
}

#[test]
fn unknown_and_expired_and_forgotten_refresh_tokens_are_invalid_grant() {
    let sandbox = sandbox();
    let unknown = refresh(&sandbox, "6mh3cgqvc6d992fd45zc88ue");
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.text(),
        r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#
    );

    let issued = client_credentials(&sandbox);
    sandbox.advance(Duration::from_secs(14 * 86_400));
    let expired = refresh(&sandbox, &issued.refresh_token());
    assert_eq!(expired.text(), unknown.text());

    let issued = client_credentials(&sandbox);
    assert!(sandbox.forget_refresh_token(CLIENT_ID).unwrap());
    let forgotten = refresh(&sandbox, &issued.refresh_token());
    assert_eq!(forgotten.text(), unknown.text());
}

#[test]
fn a_refresh_token_of_another_application_is_invalid_grant() {
    let sandbox = sandbox();
    let other = sandbox.create_app().unwrap();
    let theirs = token_request(
        &sandbox,
        &format!(
            "client_id={}&client_secret={}&grant_type=client_credentials",
            other.client_id, other.client_secret
        ),
    );
    let answer = refresh(&sandbox, &theirs.refresh_token());
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"], "invalid_grant");
}

#[test]
fn the_guide_body_with_its_postman_leftover_is_accepted() {
    let sandbox = sandbox();
    let issued = client_credentials(&sandbox);
    let answer = token_request(
        &sandbox,
        &format!(
            "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=refresh_token&refresh_token={}&undefined=undefined",
            issued.refresh_token()
        ),
    );
    assert_eq!(answer.status, 200);
}

#[test]
fn the_token_ttl_is_configurable() {
    let sandbox =
        sandbox_with(bearer_sandbox::SandboxConfig::default().token_ttl(Duration::from_secs(2)));
    assert_eq!(client_credentials(&sandbox).json()["expires_in"], 2);
}

/// Every error answer of the token endpoint, as sent.
#[test]
fn error_answers() {
    let sandbox = sandbox();
    let disabled = sandbox
        .create_app_with_keys("disabledapp0000000000000", "Secret0000")
        .unwrap();
    sandbox.disable_app(&disabled.client_id).unwrap();
    let good_basic = basic(CLIENT_ID, CLIENT_SECRET);
    let cases: Vec<Case> = vec![
        ("missing_client_id", vec![FORM], "grant_type=client_credentials".into()),
        (
            "empty_client_id_is_missing",
            vec![FORM],
            "client_id=&grant_type=client_credentials".into(),
        ),
        (
            "unknown_client",
            vec![FORM],
            "client_id=nosuchclient000000000000&client_secret=x&grant_type=client_credentials".into(),
        ),
        (
            "bad_secret",
            vec![FORM],
            format!("client_id={CLIENT_ID}&client_secret=wrong&grant_type=client_credentials"),
        ),
        (
            "missing_secret",
            vec![FORM],
            format!("client_id={CLIENT_ID}&grant_type=client_credentials"),
        ),
        (
            "inactive_application",
            vec![FORM],
            "client_id=disabledapp0000000000000&client_secret=Secret0000&grant_type=client_credentials".into(),
        ),
        (
            "basic_and_body_credentials",
            vec![FORM, ("Authorization", good_basic.as_str())],
            format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=client_credentials"),
        ),
        (
            "basic_and_other_body_client_id",
            vec![FORM, ("Authorization", good_basic.as_str())],
            "client_id=someoneelse&grant_type=client_credentials".into(),
        ),
        (
            "non_basic_authorization",
            vec![FORM, ("Authorization", "Bearer 66mrpvtv4mvs6bz728nbaqmc")],
            "grant_type=client_credentials".into(),
        ),
        (
            "malformed_basic",
            vec![FORM, ("Authorization", "Basic not-base64!")],
            "grant_type=client_credentials".into(),
        ),
        (
            "missing_grant_type",
            vec![FORM],
            format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"),
        ),
        (
            "unsupported_grant_type",
            vec![FORM],
            format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=password"),
        ),
        (
            "missing_refresh_token",
            vec![FORM],
            format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=refresh_token"),
        ),
        (
            "duplicated_parameter",
            vec![FORM],
            format!(
                "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=client_credentials&grant_type=refresh_token"
            ),
        ),
        (
            "wrong_content_type",
            vec![("Content-Type", "application/json")],
            r#"{"grant_type":"client_credentials"}"#.into(),
        ),
        ("no_content_type", vec![], "grant_type=client_credentials".into()),
        (
            "malformed_form_encoding",
            vec![FORM],
            format!("client_id={CLIENT_ID}%zz&grant_type=client_credentials"),
        ),
        (
            "non_utf8_escape",
            vec![FORM],
            format!("client_id={CLIENT_ID}&client_secret=%FF&grant_type=client_credentials"),
        ),
    ];
    for (name, headers, body) in cases {
        let answer = token_request_with(&sandbox, &headers, &body);
        assert_snapshot!(name, answer.snapshot());
    }
}

#[test]
fn content_type_parameters_and_case_are_accepted() {
    let sandbox = sandbox();
    let answer = token_request_with(
        &sandbox,
        &[(
            "Content-Type",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        )],
        &format!(
            "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=client_credentials"
        ),
    );
    assert_eq!(answer.status, 200);
}

#[test]
fn only_post_is_allowed() {
    let sandbox = sandbox();
    let answer = send(
        http::Request::get(sandbox.token_url())
            .body(Vec::new())
            .unwrap(),
    )
    .unwrap();
    assert_snapshot!("get_token_endpoint", answer.snapshot());
}

#[test]
fn non_utf8_raw_body_is_invalid_request() {
    let sandbox = sandbox();
    let request = http::Request::post(sandbox.token_url())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(b"client_id=\xff\xfe&grant_type=client_credentials".to_vec())
        .unwrap();
    let answer = send(request).unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.text(),
        r#"{"error":"invalid_request","error_description":"The request body is not valid UTF-8"}"#
    );
}

#[test]
fn an_oversized_body_gets_413() {
    let sandbox = sandbox();
    let body = format!("grant_type=client_credentials&pad={}", "a".repeat(20_000));
    let answer = token_request(&sandbox, &body);
    assert_snapshot!("oversized_body", answer.snapshot());
    // The server is still fine.
    assert_eq!(client_credentials(&sandbox).status, 200);
}
