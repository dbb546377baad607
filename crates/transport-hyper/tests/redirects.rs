//! Redirects that are never followed, so the bearer stays home. (HTTPS with the sandbox's test
//! CA is a shared scenario, in the root package's `tests/scenarios.rs`.)

mod common;

use bearer_transport_hyper::Client;
use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
