//! The wire formats: building each token request, parsing a token response and an error
//! response, beside the `oauth2` crate (5.x) doing the same, as the reference users would
//! otherwise pick.
//!
//! Run: `cargo bench -p bearer-protocol --bench wire -- --warm-up-time 1 --measurement-time 3`
//!
//! `oauth2` parses a token endpoint's answer in its private `endpoint_response`: status 200,
//! `Content-Type` JSON, non-empty body, then `serde_path_to_error` over `serde_json` into
//! `BasicTokenResponse` (a non-200 status: the same into `BasicErrorResponse`). The `oauth2`
//! lines below do exactly those steps; a third line is plain `serde_json` into
//! `BasicTokenResponse`, the floor of a serde parse. The `exchange` group runs a whole exchange
//! with no network (build the client-credentials request, answer it with a canned response,
//! parse the answer): ours, and `oauth2`'s `exchange_client_credentials().request(..)` with a
//! closure as its HTTP client.

use bearer_protocol::wire::request::{client_credentials_request, refresh_token_request};
use bearer_protocol::wire::token::parse_token_response;
use bearer_protocol::{ClientAuth, Config, RefreshToken};
use criterion::{Criterion, criterion_main};
use http::header::CONTENT_TYPE;
use http::{Response, StatusCode};
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse};
use oauth2::{AuthType, TokenUrl};
use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

const TOKEN_URL: &str = "https://api.example.com/oauth2/token";
const CLIENT_ID: &str = "ysszm2yk7gp5r9ernuaurgcc";
const CLIENT_SECRET: &str = "w9t7t48g7H";

/// The provider's token response, as its guide shows it.
const TOKEN_BODY: &[u8] = br#"{"access_token":"66mrpvtv4mvs6bz728nbaqmc","token_type":"bearer","expires_in":3600,"refresh_token":"edcv2npr3furqsnscpn795t9"}"#;
/// The provider's answer to a refresh token it no longer knows.
const ERROR_BODY: &[u8] =
    br#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#;

fn config(auth: ClientAuth) -> Config {
    Config::builder(TOKEN_URL, CLIENT_ID, CLIENT_SECRET)
        .client_auth(auth)
        .build()
        .expect("valid configuration")
}

fn response(status: StatusCode, body: &[u8]) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json;charset=UTF-8")
        .header("Cache-Control", "no-store")
        .body(body.to_vec())
        .expect("valid response")
}

/// What `oauth2::endpoint_response` checks before it deserialises (it is private to the crate).
fn oauth2_checks(response: &Response<Vec<u8>>) -> bool {
    response.status() == StatusCode::OK
        && response.headers().get(CONTENT_TYPE).is_none_or(|ct| {
            ct.to_str()
                .is_ok_and(|ct| ct.to_lowercase().starts_with("application/json"))
        })
        && !response.body().is_empty()
}

fn oauth2_parse_token(response: &Response<Vec<u8>>) -> Option<BasicTokenResponse> {
    if !oauth2_checks(response) {
        return None;
    }
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(response.body()))
        .ok()
}

fn oauth2_parse_error(response: &Response<Vec<u8>>) -> Option<BasicErrorResponse> {
    if response.status() == StatusCode::OK || response.body().is_empty() {
        return None;
    }
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(response.body()))
        .ok()
}

fn token_requests(c: &mut Criterion) {
    let mut group = c.benchmark_group("token_request");
    let body = config(ClientAuth::Body);
    let basic = config(ClientAuth::Basic);
    let refresh = RefreshToken::new("edcv2npr3furqsnscpn795t9");
    group.bench_function("client_credentials_request (body)", |b| {
        b.iter(|| client_credentials_request(black_box(&body)))
    });
    group.bench_function("client_credentials_request (basic)", |b| {
        b.iter(|| client_credentials_request(black_box(&basic)))
    });
    group.bench_function("refresh_token_request (body)", |b| {
        b.iter(|| refresh_token_request(black_box(&body), black_box(&refresh)))
    });
    group.finish();
}

fn parse_token(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_token_response");
    let ok = response(StatusCode::OK, TOKEN_BODY);
    let lifetime = Duration::from_secs(3600);
    assert!(parse_token_response(&ok, lifetime).is_ok());
    assert!(oauth2_parse_token(&ok).is_some());
    group.bench_function("bearer", |b| {
        b.iter(|| parse_token_response(black_box(&ok), lifetime))
    });
    group.bench_function("oauth2 (as endpoint_response)", |b| {
        b.iter(|| oauth2_parse_token(black_box(&ok)))
    });
    group.bench_function("serde_json -> BasicTokenResponse", |b| {
        b.iter(|| serde_json::from_slice::<BasicTokenResponse>(black_box(ok.body())))
    });
    group.finish();
}

fn parse_error(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_error_response");
    let refused = response(StatusCode::BAD_REQUEST, ERROR_BODY);
    let lifetime = Duration::from_secs(3600);
    assert!(parse_token_response(&refused, lifetime).is_err_and(|e| e.is_refresh_token_refused()));
    assert!(oauth2_parse_error(&refused).is_some());
    group.bench_function("bearer", |b| {
        b.iter(|| parse_token_response(black_box(&refused), lifetime))
    });
    group.bench_function("oauth2 (as endpoint_response)", |b| {
        b.iter(|| oauth2_parse_error(black_box(&refused)))
    });
    group.finish();
}

fn exchange(c: &mut Criterion) {
    let mut group = c.benchmark_group("exchange (no network)");
    let ok = response(StatusCode::OK, TOKEN_BODY);
    let config = config(ClientAuth::Body);
    let lifetime = Duration::from_secs(3600);
    group.bench_function("bearer", |b| {
        b.iter(|| {
            let request = client_credentials_request(black_box(&config));
            black_box(&request);
            parse_token_response(&ok.clone(), lifetime)
        })
    });
    let client = BasicClient::new(oauth2::ClientId::new(CLIENT_ID.to_owned()))
        .set_client_secret(oauth2::ClientSecret::new(CLIENT_SECRET.to_owned()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(TOKEN_URL.to_owned()).expect("valid URL"));
    let http_client = |request: oauth2::HttpRequest| -> Result<oauth2::HttpResponse, Infallible> {
        black_box(&request);
        Ok(ok.clone())
    };
    assert!(
        client
            .exchange_client_credentials()
            .request(&http_client)
            .is_ok()
    );
    group.bench_function("oauth2", |b| {
        b.iter(|| {
            black_box(&client)
                .exchange_client_credentials()
                .request(&http_client)
        })
    });
    group.finish();
}

/// Every benchmark of this file, with criterion's settings from the command line.
pub fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    token_requests(&mut criterion);
    parse_token(&mut criterion);
    parse_error(&mut criterion);
    exchange(&mut criterion);
}
criterion_main!(benches);
