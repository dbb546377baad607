//! What the reqwest client does on its own side of the wire, over real sockets against a raw
//! HTTP/1.1 server: its User-Agent, redirects never followed, the response cap, the time-out,
//! and how failures are named (never with the query). (The scenarios every transport
//! shares are in the root package's `tests/scenarios.rs`.)

mod common;

use bearer_protocol::TransportFailureKind;
use bearer_transport_reqwest::Error;
use common::*;
use std::time::Duration;

#[tokio::test]
async fn token_requests_and_calls_carry_the_reqwest_user_agent() {
    let (base, heads) = raw_server(token_or_ok).await;
    let client = raw_client(&base).build().unwrap();
    let answer = client
        .get(&format!("{base}/v1/search"), [("q", "a")])
        .await
        .unwrap();
    assert_eq!(answer.body().text().unwrap(), "ok");
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2, "{heads:?}");
    let ours = format!("user-agent: bearer/{} (reqwest)", env!("CARGO_PKG_VERSION"));
    assert!(heads[0].starts_with("post /token"), "{heads:?}");
    assert!(heads[0].contains(&ours), "{}", heads[0]);
    assert!(heads[1].starts_with("get /v1/search?q=a"), "{heads:?}");
    assert!(heads[1].contains(&ours), "{}", heads[1]);
    assert!(
        heads[1].contains("authorization: bearer a1b2c3d4e5f6g7h8"),
        "{}",
        heads[1]
    );
}

#[tokio::test]
async fn a_redirect_is_returned_as_it_came_and_never_followed() {
    fn answer(head: &str) -> Option<Vec<u8>> {
        if head.starts_with("get /v1/moved") {
            Some(response("302 Found", "location: /v1/elsewhere\r\n", b""))
        } else {
            token_or_ok(head)
        }
    }
    let (base, heads) = raw_server(answer).await;
    let client = raw_client(&base).build().unwrap();
    let answer = client
        .get(&format!("{base}/v1/moved"), [("q", "a")])
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2, "token request and the one call: {heads:?}");
}

#[tokio::test]
async fn a_body_over_max_response_bytes_is_refused() {
    fn answer(head: &str) -> Option<Vec<u8>> {
        if head.starts_with("get /v1/big") {
            Some(response("200 OK", "", &[b'x'; 2048]))
        } else {
            token_or_ok(head)
        }
    }
    let (base, _) = raw_server(answer).await;
    let client = raw_client(&base).max_response_bytes(1024).build().unwrap();
    let error = client
        .get(&format!("{base}/v1/big"), [("q", "a")])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::ResponseTooLarge { limit: 1024 }),
        "{error:?}"
    );
    let answer = client
        .get(&format!("{base}/v1/small"), [("q", "a")])
        .await
        .unwrap();
    assert_eq!(answer.body().len(), 2);
}

#[tokio::test]
async fn a_call_never_answered_times_out_as_a_typed_transport_error() {
    fn answer(head: &str) -> Option<Vec<u8>> {
        if head.starts_with("get /v1/silent") {
            None
        } else {
            token_or_ok(head)
        }
    }
    let (base, _) = raw_server(answer).await;
    let client = raw_client(&base)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let error = client
        .get(&format!("{base}/v1/silent"), [("secret", "s3cr3t")])
        .await
        .unwrap_err();
    match &error {
        Error::Transport { target, failure } => {
            assert_eq!(target, &format!("{base}/v1/silent"));
            assert_eq!(failure.kind, TransportFailureKind::TimedOut);
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(error.is_temporary());
    assert!(!error.to_string().contains("s3cr3t"), "{error}");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_failure_that_never_names_the_query() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (base, _) = raw_server(token_or_ok).await;
    let client = raw_client(&base).build().unwrap();
    let error = client
        .get(
            &format!("http://{closed}/v1/search"),
            [("secret", "s3cr3t")],
        )
        .await
        .unwrap_err();
    match &error {
        Error::Transport { failure, .. } => {
            assert_eq!(failure.kind, TransportFailureKind::Connect, "{failure:?}");
            assert!(!failure.to_string().contains("s3cr3t"), "{failure}");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(!error.to_string().contains("s3cr3t"), "{error}");
}
