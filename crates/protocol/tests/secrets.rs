//! Secrets never show: every public type that can hold a secret or a server's text is formatted
//! with `{:?}`, `{:#?}` and `{}` after answers that echo the secrets (in an error description,
//! in headers, in a 200 body), and the output is searched for each secret in every encoding it
//! can take: as text, form-encoded, percent-encoded, in HTTP Basic's base64 of `id:secret`, and
//! as a list of byte values.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bearer_protocol::wire::challenge::BearerChallenge;
use bearer_protocol::wire::gateway::GatewayDenial;
use bearer_protocol::wire::oauth_error::OAuthError;
use bearer_protocol::wire::token::parse_token_response;
use bearer_protocol::wire::unexpected::UnexpectedResponse;
use bearer_protocol::{
    AccessToken, ClientAuth, ClientSecret, Config, Credential, RefreshToken, Step, StoredTokens,
    TokenManager, TokenRequest,
};
use http::Response;
use std::fmt::{Debug, Display};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TOKEN_URL: &str = "https://api.example.com/oauth2/token";
const CLIENT_ID: &str = "ysszm2yk7gp5r9ernuaurgcc";
/// Letters and digits, as the provider issues them.
const CLIENT_SECRET: &str = "w9t7t48g7H";
/// Letters only.
const ACCESS_TOKEN: &str = "kqzvtwmrxpbnhjdgfcylsaeu";
const REFRESH_TOKEN: &str = "edcv2npr3furqsnscpn795t9";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_699_833_600)
}

/// Every form a secret can take in a formatted value; byte lists are matched with white space
/// removed, so `{:#?}`'s one-per-line lists match too.
fn encodings(secret: &str) -> Vec<String> {
    let bytes: Vec<String> = secret.bytes().map(|b| b.to_string()).collect();
    vec![
        secret.to_owned(),
        form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        secret
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>(),
        STANDARD.encode(format!("{CLIENT_ID}:{secret}")),
        format!("{:?}", secret.as_bytes()).replace(' ', ""),
        bytes.get(..4).unwrap_or_default().join(","),
    ]
}

/// Fails when `shown` holds any secret in any encoding.
fn assert_clean(what: &str, shown: &str) {
    let squeezed: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
    for secret in [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN] {
        for encoded in encodings(secret) {
            assert!(
                !shown.contains(&encoded) && !squeezed.contains(&encoded),
                "{what} shows {secret} as {encoded}: {shown}"
            );
        }
    }
}

fn assert_debug_clean(what: &str, value: &impl Debug) {
    assert_clean(what, &format!("{value:?}"));
    assert_clean(what, &format!("{value:#?}"));
}

fn assert_all_clean(what: &str, value: &(impl Debug + Display)) {
    assert_debug_clean(what, value);
    assert_clean(what, &value.to_string());
}

/// Everything a server can echo the secrets in.
fn echo() -> String {
    let basic = STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    format!(
        "bad secret {CLIENT_SECRET}, client_secret={CLIENT_SECRET}&refresh_token={REFRESH_TOKEN} access_token={ACCESS_TOKEN} token {ACCESS_TOKEN} Basic {basic}"
    )
}

fn json(status: u16, body: String) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .header("X-Error-Detail-Header", echo())
        .header(
            "WWW-Authenticate",
            format!(
                r#"Bearer realm="api", error="invalid_token", error_description="{}""#,
                echo()
            ),
        )
        .body(body.into_bytes())
        .unwrap()
}

fn oauth_error_body(code: &str) -> String {
    serde_json::json!({
        "error": code,
        "error_description": echo(),
        "error_uri": format!("https://example.com/?client_secret={CLIENT_SECRET}"),
        "client_secret": CLIENT_SECRET,
    })
    .to_string()
}

fn token_body() -> String {
    serde_json::json!({
        "access_token": ACCESS_TOKEN,
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": REFRESH_TOKEN,
        "scope": echo(),
        "note": echo(),
        "request": {"client_secret": CLIENT_SECRET, "body": echo()},
    })
    .to_string()
}

fn configs() -> Vec<Config> {
    [ClientAuth::Body, ClientAuth::Basic]
        .into_iter()
        .map(|auth| {
            let builder = Config::builder(TOKEN_URL, CLIENT_ID, CLIENT_SECRET).client_auth(auth);
            assert_debug_clean("ConfigBuilder", &builder);
            builder.build().unwrap()
        })
        .collect()
}

fn expect_fetch(step: Step) -> TokenRequest {
    assert_debug_clean("Step", &step);
    match step {
        Step::Fetch(request) => {
            assert_debug_clean("TokenRequest", &request);
            request
        }
        other => panic!("expected a token request, got {other:?}"),
    }
}

fn drain_events(machine: &mut TokenManager) {
    while let Some(event) = machine.poll_event() {
        assert_debug_clean("Event", &event);
    }
}

#[test]
fn secrets_and_tokens_never_show() {
    assert_all_clean(
        "ClientSecret",
        &ClientSecret::from(CLIENT_SECRET.to_owned()),
    );
    assert_all_clean("AccessToken", &AccessToken::from(ACCESS_TOKEN.to_owned()));
    assert_all_clean(
        "RefreshToken",
        &RefreshToken::from(REFRESH_TOKEN.to_owned()),
    );
    let stored = StoredTokens {
        access_token: AccessToken::from(ACCESS_TOKEN.to_owned()),
        refresh_token: Some(RefreshToken::from(REFRESH_TOKEN.to_owned())),
        expires_at: now(),
        scope: Some("read".to_owned()),
        issued_to: Credential::of(&configs()[0]),
    };
    assert_debug_clean("StoredTokens", &stored);
    for config in configs() {
        assert_debug_clean("Config", &config);
    }
}

#[test]
fn the_machine_never_shows_a_secret_the_server_echoed() {
    for config in configs() {
        let mut machine = TokenManager::new(config);
        assert_debug_clean("TokenManager", &machine);
        let first = expect_fetch(machine.poll_call(now()));
        machine.handle_token_response(now(), first.into_parts().0, &json(200, token_body()));
        drain_events(&mut machine);
        let step = machine.poll_call(now());
        assert_debug_clean("Step", &step);
        let Step::Authorized(bearer) = step else {
            panic!("expected a token, got {step:?}");
        };
        assert_debug_clean("Bearer", &bearer);
        assert_debug_clean("StoredTokens", &machine.tokens());

        let refused = json(401, echo());
        let verdict =
            machine.handle_api_response(now(), &bearer, refused.status(), refused.headers());
        assert_debug_clean("ApiVerdict", &verdict);
        drain_events(&mut machine);

        // The refresh token is sent, and refused with an answer that echoes everything.
        let later = now() + Duration::from_secs(3600);
        let refresh = expect_fetch(machine.poll_call(later));
        machine.handle_token_response(
            later,
            refresh.into_parts().0,
            &json(400, oauth_error_body("invalid_client")),
        );
        drain_events(&mut machine);
        let mut at = later;
        for _ in 0..4 {
            match machine.poll_call(at) {
                Step::Fetch(request) => {
                    assert_debug_clean("TokenRequest", &request);
                    let answer = json(401, oauth_error_body("invalid_client"));
                    machine.handle_token_response(at, request.into_parts().0, &answer);
                }
                Step::Fail(error) => assert_all_clean("Error", &error),
                Step::Wait(wait) => at = wait.until,
                Step::Authorized(bearer) => assert_debug_clean("Bearer", &bearer),
            }
            drain_events(&mut machine);
        }
        assert_debug_clean("TokenManager", &machine);
    }
}

#[test]
fn parsed_server_text_never_shows_a_secret() {
    let lifetime = Duration::from_secs(3600);
    for code in ["invalid_client", "invalid_grant", "server_error", &echo()] {
        for status in [200, 400, 401, 503] {
            let answer = json(status, oauth_error_body(code));
            let error = OAuthError::from_response(&answer).expect("an OAuth error");
            assert_all_clean("OAuthError", &error);
            assert_all_clean("ErrorCode", &error.code);
            let failure = parse_token_response(&answer, lifetime).unwrap_err();
            assert_all_clean("TokenEndpointError", &failure);
        }
    }
    let answer = json(200, token_body());
    let token = parse_token_response(&answer, lifetime).unwrap();
    assert_debug_clean("TokenResponse", &token);

    let mut denied = json(403, echo());
    denied.headers_mut().insert(
        "X-Mashery-Error-Code",
        format!("ERR_{ACCESS_TOKEN}").parse().unwrap(),
    );
    let denial = GatewayDenial::from_response(&denied).expect("a denial");
    assert_all_clean("GatewayDenial", &denial);
    assert_all_clean(
        "TokenEndpointError",
        &parse_token_response(&denied, lifetime).unwrap_err(),
    );

    let challenge = BearerChallenge::from_headers(denied.headers()).expect("a challenge");
    assert_all_clean("BearerChallenge", &challenge);

    for body in [
        echo(),
        token_body(),
        oauth_error_body("x"),
        format!("<pre>{}</pre>", echo()),
    ] {
        let answer = Response::builder()
            .status(502)
            .header("Content-Type", format!("text/html; {}", echo()))
            .body(body.into_bytes())
            .unwrap();
        let unexpected = UnexpectedResponse::from_response(&answer, "not a token response");
        assert_all_clean("UnexpectedResponse", &unexpected);
        assert_all_clean(
            "TokenEndpointError",
            &parse_token_response(&answer, lifetime).unwrap_err(),
        );
    }
}

#[test]
fn the_encodings_searched_for_are_the_ones_a_leak_shows() {
    // The search itself finds what the old `Debug` of a token request printed.
    let body = format!("client_secret={CLIENT_SECRET}&grant_type=client_credentials");
    let leaked = format!("{:?}", body.as_bytes());
    let pretty = format!("{:#?}", body.as_bytes());
    for shown in [leaked, pretty] {
        let squeezed: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
        let secret_bytes = encodings(CLIENT_SECRET);
        assert!(
            secret_bytes
                .iter()
                .skip(4)
                .any(|encoded| squeezed.contains(encoded))
        );
    }
}

/// A secret of letters only, which no pattern can tell from a word, is still never shown: the
/// machine knows its own secrets and removes them from what the server said, in every form.
#[test]
fn a_letters_only_secret_echoed_by_the_server_never_shows() {
    const LETTERS: &str = "qwertzuiop";
    let basic = STANDARD.encode(format!("{CLIENT_ID}:{LETTERS}"));
    let echo =
        format!("bad secret {LETTERS} (sent as {basic}) in a request for client {CLIENT_ID}");
    let config = Config::builder(TOKEN_URL, CLIENT_ID, LETTERS)
        .build()
        .unwrap();
    let mut machine = TokenManager::new(config);
    let request = expect_fetch(machine.poll_call(now()));
    let body = serde_json::json!({"error": "invalid_client", "error_description": echo});
    let answer = Response::builder()
        .status(401)
        .header("Content-Type", "application/json")
        .header("X-Error-Detail-Header", echo.as_str())
        .body(body.to_string().into_bytes())
        .unwrap();
    machine.handle_token_response(now(), request.into_parts().0, &answer);
    let mut shown = Vec::new();
    while let Some(event) = machine.poll_event() {
        shown.push(format!("{event:?} {event:#?}"));
    }
    let Step::Fail(error) = machine.poll_call(now()) else {
        panic!("the credentials were refused");
    };
    shown.push(format!("{error} {error:?} {error:#?}"));
    for text in shown {
        for form in encodings(LETTERS).iter().take(4).chain([&basic]) {
            assert!(!text.contains(form.as_str()), "{form} in {text}");
        }
        assert!(text.contains("bad secret [redacted]"), "{text}");
    }
}
