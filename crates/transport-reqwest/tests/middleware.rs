//! The middleware inside a plain reqwest client, sharing the token state of the client it came
//! from, over real sockets against the sandbox.

mod common;

use bearer_sandbox::{Fault, FaultTarget, Sandbox};
use bearer_transport_reqwest::{Client, Error};
use bytes::Bytes;
use common::*;
use reqwest_middleware::ClientWithMiddleware;
use std::time::Duration;

/// A plain reqwest client behind `client`'s middleware.
fn wrapped(client: &Client) -> ClientWithMiddleware {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    reqwest_middleware::ClientBuilder::new(http)
        .with(client.middleware())
        .build()
}

/// The bearer client's error inside a middleware error.
fn bearer_error(error: &reqwest_middleware::Error) -> &Error {
    match error {
        reqwest_middleware::Error::Middleware(error) => error
            .downcast_ref::<Error>()
            .expect("the middleware's own error"),
        other => panic!("expected the middleware's error, got {other:?}"),
    }
}

/// `GET /v1/searchoauth?query=privacy` through `api`: must be a 200; its JSON body.
async fn search_privacy(api: &ClientWithMiddleware, sandbox: &Sandbox) -> serde_json::Value {
    let answer = api
        .get(search(sandbox))
        .query(&[("query", "privacy")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap()
}

/// A body reqwest cannot clone, so a call with it cannot be sent twice.
fn streaming() -> reqwest::Body {
    reqwest::Body::wrap(http_body_util::Full::new(Bytes::from_static(b"")))
}

#[tokio::test]
async fn the_middleware_adds_the_shared_bearer_and_counts_the_calls() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    client
        .get(&search(&sandbox), [("query", "a")])
        .await
        .unwrap();

    let api = wrapped(&client);
    for _ in 0..3 {
        let body = search_privacy(&api, &sandbox).await;
        assert!(body["count"].is_number(), "{body}");
    }
    let counters = sandbox.counters();
    assert_eq!(
        counters.token_requests, 1,
        "the middleware shares the client's token"
    );
    assert_eq!(counters.api_calls, 4);
    assert_eq!(
        client.budget().calls_used,
        5,
        "calls through the middleware are counted too"
    );
}

#[tokio::test]
async fn sixteen_tasks_through_the_middleware_cause_one_token_request() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let api = wrapped(&client);
    let url = format!("{}?query=a", search(&sandbox));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (api, url) = (api.clone(), url.clone());
        tasks.spawn(async move { api.get(url).send().await.map(|r| r.status()) });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap().unwrap(), 200);
    }
    assert_eq!(sandbox.counters().token_requests, 1);
}

#[tokio::test]
async fn a_stale_token_is_replayed_once_when_the_request_can_be_cloned() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let api = wrapped(&client);
    let url = format!("{}?query=a", search(&sandbox));
    api.get(&url).send().await.unwrap();
    sandbox.revoke_access_token(&keys.client_id).unwrap();
    let answer = api
        .get(&url)
        .body("a body that can be sent twice")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let counters = sandbox.counters();
    assert_eq!(counters.api_calls, 3, "first call, refused call, replay");
    assert_eq!(counters.token_requests, 2);
}

#[tokio::test]
async fn a_stale_token_with_a_streaming_body_is_a_typed_error_and_the_next_call_works() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let api = wrapped(&client);
    let url = format!("{}?query=a", search(&sandbox));
    api.get(&url).body(streaming()).send().await.unwrap();
    sandbox.revoke_access_token(&keys.client_id).unwrap();
    let error = api.get(&url).body(streaming()).send().await.unwrap_err();
    match bearer_error(&error) {
        Error::TokenRefusedNotReplayable { challenge } => {
            assert!(
                challenge.as_deref().unwrap_or("").contains("invalid_token"),
                "{challenge:?}"
            );
        }
        other => panic!("expected TokenRefusedNotReplayable, got {other:?}"),
    }
    assert!(bearer_error(&error).is_temporary());
    assert_eq!(
        sandbox.counters().api_calls,
        2,
        "the refused call was not replayed"
    );
    let answer = api.get(&url).body(streaming()).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(sandbox.counters().token_requests, 2);
}

#[tokio::test]
async fn plain_http_off_loopback_is_refused_before_anything_is_sent() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let error = wrapped(&client)
        .get("http://api.example.com/v1/searchoauth?query=secret")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(bearer_error(&error), Error::PlainHttp { target } if target == "http://api.example.com/v1/searchoauth"),
        "{error:?}"
    );
    assert!(!error.to_string().contains("secret"), "{error}");
    let counters = sandbox.counters();
    assert_eq!((counters.token_requests, counters.api_calls), (0, 0));
}

#[tokio::test]
async fn a_refused_connection_comes_back_as_reqwest_s_connect_error() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    // A port nobody listens on (bound, then released).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = wrapped(&client)
        .get(format!("http://{closed}/v1/searchoauth"))
        .send()
        .await
        .unwrap_err();
    match &error {
        reqwest_middleware::Error::Reqwest(error) => assert!(error.is_connect(), "{error:?}"),
        other => panic!("expected reqwest's error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_program_s_reqwest_client_keeps_its_own_user_agent_and_time_out() {
    let (base, heads) = raw_server(token_or_ok_or_silent).await;
    // The bearer client's own time-out is an hour: a call through the middleware that took
    // it instead of the reqwest client's 300 ms would outlast the test's bound.
    let client = raw_client(&base)
        .timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .no_proxy()
        .user_agent("mine/1.0")
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let api = reqwest_middleware::ClientBuilder::new(http)
        .with(client.middleware())
        .build();
    api.get(format!("{base}/v1/a")).send().await.unwrap();
    api.get(format!("{base}/v1/b"))
        .header("user-agent", "request/2.0")
        .send()
        .await
        .unwrap();
    let silent = api.get(format!("{base}/v1/silent")).send();
    let error = tokio::time::timeout(Duration::from_secs(20), silent)
        .await
        .expect("the reqwest client's time-out held")
        .unwrap_err();
    match &error {
        reqwest_middleware::Error::Reqwest(error) => assert!(error.is_timeout(), "{error:?}"),
        other => panic!("expected reqwest's time-out, got {other:?}"),
    }
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 4, "{heads:?}");
    assert!(heads[1].starts_with("get /v1/a"), "{heads:?}");
    assert!(heads[1].contains("user-agent: mine/1.0"), "{}", heads[1]);
    assert!(heads[2].contains("user-agent: request/2.0"), "{}", heads[2]);
    for head in &heads[1..] {
        assert!(!head.contains("bearer/"), "{head}");
        assert!(
            head.contains("authorization: bearer a1b2c3d4e5f6g7h8"),
            "{head}"
        );
    }
}

/// As [`token_or_ok`], but never answers `GET /v1/silent`.
fn token_or_ok_or_silent(head: &str) -> Option<Vec<u8>> {
    if head.starts_with("get /v1/silent") {
        return None;
    }
    token_or_ok(head)
}

/// Answers the raw server's first API call 401 `invalid_token`, as the gateway answers a
/// revoked token, and every later one 200; a token to a token request.
fn stale_once(head: &str) -> Option<Vec<u8>> {
    static API_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    if head.starts_with("post /token") {
        return token_or_ok(head);
    }
    if API_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
        return Some(invalid_token());
    }
    token_or_ok(head)
}

/// The gateway's 401 for a revoked or expired token.
fn invalid_token() -> Vec<u8> {
    response(
        "401 Unauthorized",
        "www-authenticate: Bearer error=\"invalid_token\"\r\nx-mashery-error-code: ERR_401_INVALID_OR_EXPIRED_TOKEN\r\n",
        b"",
    )
}

#[tokio::test]
async fn a_stale_token_on_a_call_without_a_body_is_replayed_as_the_same_request() {
    let (base, heads) = raw_server(stale_once).await;
    let client = raw_client(&base).build().unwrap();
    let answer = wrapped(&client)
        .get(format!("{base}/v1/a"))
        .query(&[("query", "privacy policy")])
        .header("x-trace", "7")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let heads = heads.lock().unwrap().clone();
    // token, refused call, renewal, replay
    assert_eq!(heads.len(), 4, "{heads:?}");
    let (refused, replay) = (&heads[1], &heads[3]);
    assert!(heads[2].starts_with("post /token"), "{heads:?}");
    for head in [refused, replay] {
        assert!(
            head.starts_with("get /v1/a?query=privacy+policy http/1.1"),
            "{head}"
        );
        assert!(head.contains("x-trace: 7"), "{head}");
        assert!(head.contains("accept: application/json"), "{head}");
        assert!(
            head.contains("authorization: bearer a1b2c3d4e5f6g7h8"),
            "{head}"
        );
        assert_eq!(head.matches("authorization:").count(), 1, "{head}");
    }
}

/// Answers the raw server's first API call 401 `invalid_token`, and never answers the next.
fn stale_then_silent(head: &str) -> Option<Vec<u8>> {
    static API_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    if head.starts_with("post /token") {
        return token_or_ok(head);
    }
    if API_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
        return Some(invalid_token());
    }
    None
}

#[tokio::test]
async fn the_replay_keeps_the_request_s_own_time_out() {
    let (base, heads) = raw_server(stale_then_silent).await;
    let client = raw_client(&base).build().unwrap();
    let sent = wrapped(&client)
        .get(format!("{base}/v1/a"))
        .timeout(Duration::from_millis(300))
        .send();
    // Neither client has a time-out of its own: the replay must end at the request's 300 ms.
    let error = tokio::time::timeout(Duration::from_secs(20), sent)
        .await
        .expect("the replay kept the request's time-out")
        .unwrap_err();
    match &error {
        reqwest_middleware::Error::Reqwest(error) => assert!(error.is_timeout(), "{error:?}"),
        other => panic!("expected reqwest's time-out, got {other:?}"),
    }
    assert_eq!(
        heads.lock().unwrap().len(),
        4,
        "token, refused call, renewal, replay"
    );
}

#[tokio::test]
async fn over_qps_is_waited_out_and_the_call_sent_again() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let api = wrapped(&client);
    let over_qps = Fault::OverQps {
        retry_after: Some(0),
    };
    sandbox.inject(FaultTarget::Api, over_qps, 2);
    let body = search_privacy(&api, &sandbox).await;
    assert_eq!(
        body["query"], "privacy",
        "the call sent again is the same: {body}"
    );
    let counters = sandbox.counters();
    assert_eq!(counters.api_calls, 3, "two denials, then the call");
    assert_eq!(counters.token_requests, 1);
}
