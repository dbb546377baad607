//! HTTPS with rustls against the sandbox served over TLS with its test CA, and redirects that
//! are never followed.

mod common;

use bearer_protocol::Error as ProtocolError;
use bearer_sandbox::SandboxConfig;
use bearer_transport_hyper::{Client, Error};
use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[tokio::test]
async fn https_with_the_sandbox_test_ca() {
    let (sandbox, keys) = sandbox_with(SandboxConfig::default().tls(true)).await;
    assert!(sandbox.token_url().starts_with("https://"));
    let ca = sandbox.ca_pem().expect("a test CA").to_owned();
    let client = builder(&sandbox, &keys)
        .root_certificates_pem(&ca)
        .build()
        .unwrap();
    let answer = client
        .get(&search(&sandbox), [("query", "privacy")])
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    sandbox.advance(HOUR);
    client
        .get(&search(&sandbox), [("query", "privacy")])
        .await
        .unwrap();
    let counters = sandbox.counters();
    assert_eq!(token_requests(&counters), (1, 1));
    assert_eq!(counters.api_calls, 2);
}

#[tokio::test]
async fn https_refuses_a_server_whose_ca_is_not_trusted() {
    let (sandbox, keys) = sandbox_with(SandboxConfig::default().tls(true)).await;
    // The Mozilla roots do not include the sandbox's test CA.
    let client = client(&sandbox, &keys);
    let error = client.bearer().await.unwrap_err();
    match &error {
        Error::Token(ProtocolError::Untrusted(failure)) => assert_eq!(
            failure.kind,
            bearer_protocol::TransportFailureKind::Certificate(
                bearer_protocol::CertificateProblem::UnknownIssuer
            )
        ),
        other => panic!("expected Untrusted, got {other:?}"),
    }
    assert!(!error.is_temporary());
    assert!(
        error
            .to_string()
            .contains("authority this client does not trust"),
        "{error}"
    );
    assert_eq!(
        sandbox.counters().token_requests,
        0,
        "no request got through TLS"
    );
}

#[tokio::test]
async fn root_certificates_must_be_pem() {
    let (sandbox, keys) = sandbox().await;
    let error = builder(&sandbox, &keys)
        .root_certificates_pem("not a certificate")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Settings {
                setting: "root_certificates_pem",
                ..
            }
        ),
        "{error:?}"
    );
}

/// Serves `answer` to every request on 127.0.0.1, counting requests and the ones carrying an
/// `Authorization` header.
async fn tiny_server(
    answer: impl Fn() -> http::Response<Full<Bytes>> + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (hits, authorized) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let answer = Arc::new(answer);
    let (h, a) = (Arc::clone(&hits), Arc::clone(&authorized));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (h, a, answer) = (Arc::clone(&h), Arc::clone(&a), Arc::clone(&answer));
            let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                h.fetch_add(1, Ordering::SeqCst);
                if request.headers().contains_key(http::header::AUTHORIZATION) {
                    a.fetch_add(1, Ordering::SeqCst);
                }
                let response = answer();
                async move { Ok::<_, Infallible>(response) }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    (base, hits, authorized)
}

#[tokio::test]
async fn a_redirect_is_returned_not_followed_so_the_bearer_stays_home() {
    let (sandbox, keys) = sandbox().await;
    let client: Client = client(&sandbox, &keys);
    let (elsewhere, elsewhere_hits, _) =
        tiny_server(|| http::Response::new(Full::new(Bytes::from_static(b"stolen")))).await;
    let target = format!("{elsewhere}/collect");
    let (redirector, redirector_hits, authorized) = tiny_server(move || {
        http::Response::builder()
            .status(302)
            .header("location", target.as_str())
            .body(Full::default())
            .unwrap()
    })
    .await;
    let answer = client
        .get(&format!("{redirector}/v1/searchoauth"), [("query", "a")])
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    assert_eq!(redirector_hits.load(Ordering::SeqCst), 1);
    assert_eq!(authorized.load(Ordering::SeqCst), 1);
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
}
