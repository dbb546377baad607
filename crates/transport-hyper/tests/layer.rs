//! The tower layer inside a plain hyper-util client, sharing the token state of the client it
//! came from.

mod common;

use bearer_transport_hyper::{BearerService, Client, Error};
use bytes::Bytes;
use common::*;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::convert::Infallible;
use tower::{Service, ServiceBuilder, ServiceExt};

fn get<B>(url: &str, body: B) -> http::Request<B> {
    http::Request::get(url).body(body).unwrap()
}

/// A plain hyper-util client for bodies `B`, behind `client`'s bearer layer.
fn layered<B>(client: &Client) -> BearerService<HyperClient<HttpConnector, B>>
where
    B: hyper::body::Body + Send,
    B::Data: Send,
{
    let http = HyperClient::builder(TokioExecutor::new()).build_http::<B>();
    ServiceBuilder::new().layer(client.layer()).service(http)
}

#[tokio::test]
async fn the_layer_adds_the_shared_bearer_to_a_hyper_util_client() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    search_once(&client, &sandbox).await.unwrap();

    let mut api = layered::<Full<Bytes>>(&client);
    let url = format!("{}?query=privacy", search(&sandbox));
    for _ in 0..3 {
        let answer = api
            .ready()
            .await
            .unwrap()
            .call(get(&url, Full::default()))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let body = answer.into_body().collect().await.unwrap().to_bytes();
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    }
    let counters = sandbox.counters();
    assert_eq!(
        counters.token_requests, 1,
        "the layer shares the client's token"
    );
    assert_eq!(counters.api_calls, 4);
    assert_eq!(
        client.budget().calls_used,
        5,
        "layered calls are counted too"
    );
}

#[tokio::test]
async fn a_layered_client_gets_its_first_token_and_clones_share_it() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let api = layered::<Empty<Bytes>>(&client);
    let url = format!("{}?query=a", search(&sandbox));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (api, url) = (api.clone(), url.clone());
        tasks.spawn(async move {
            api.oneshot(get(&url, Empty::new()))
                .await
                .map(|r| r.status())
        });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap().unwrap(), 200);
    }
    assert_eq!(sandbox.counters().token_requests, 1);
}

#[tokio::test]
async fn a_stale_token_is_replayed_when_the_body_can_be_sent_twice() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let api = layered::<Full<Bytes>>(&client);
    let url = format!("{}?query=a", search(&sandbox));
    api.clone()
        .oneshot(get(&url, Full::default()))
        .await
        .unwrap();
    sandbox.revoke_access_token(&keys.client_id).unwrap();
    let answer = api.oneshot(get(&url, Full::default())).await.unwrap();
    assert_eq!(answer.status(), 200);
    let counters = sandbox.counters();
    assert_eq!(counters.api_calls, 3, "first call, refused call, replay");
    assert_eq!(counters.token_requests, 2);
}

#[tokio::test]
async fn a_stale_token_with_a_streaming_body_is_a_typed_error_and_the_next_call_works() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let api = layered::<BoxBody<Bytes, Infallible>>(&client);
    let url = format!("{}?query=a", search(&sandbox));
    let body = || Empty::<Bytes>::new().boxed();
    api.clone().oneshot(get(&url, body())).await.unwrap();
    sandbox.revoke_access_token(&keys.client_id).unwrap();
    let error = api.clone().oneshot(get(&url, body())).await.unwrap_err();
    match &error {
        Error::TokenRefusedNotReplayable { challenge } => {
            assert!(
                challenge.as_deref().unwrap_or("").contains("invalid_token"),
                "{challenge:?}"
            );
        }
        other => panic!("expected TokenRefusedNotReplayable, got {other:?}"),
    }
    assert!(error.is_temporary());
    let answer = api.oneshot(get(&url, body())).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(sandbox.counters().token_requests, 2);
}

#[tokio::test]
async fn the_inner_service_s_failure_is_a_service_error() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let api = layered::<Full<Bytes>>(&client);
    // A port nobody listens on (bound, then released).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let error = api
        .oneshot(get(
            &format!("http://{closed}/v1/searchoauth"),
            Full::default(),
        ))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Service(_)), "{error:?}");
}

#[tokio::test]
async fn over_qps_is_waited_out_and_the_call_sent_again() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let api = layered::<Full<Bytes>>(&client);
    let over_qps = bearer_sandbox::Fault::OverQps {
        retry_after: Some(0),
    };
    sandbox.inject(bearer_sandbox::FaultTarget::Api, over_qps, 2);
    let url = format!("{}?query=privacy", search(&sandbox));
    let answer = api.oneshot(get(&url, Full::default())).await.unwrap();
    assert_eq!(answer.status(), 200);
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["query"], "privacy",
        "the call sent again is the same: {body}"
    );
    let counters = sandbox.counters();
    assert_eq!(counters.api_calls, 3, "two denials, then the call");
    assert_eq!(counters.token_requests, 1);
}
