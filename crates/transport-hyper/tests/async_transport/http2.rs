// HTTP/2 cases every async transport runs: negotiated by ALPN over TLS with the sandbox (which
// offers `h2`), for the token requests and the API calls alike; plain HTTP stays HTTP/1.1 (no
// prior knowledge). Included by each transport's `tests/http2.rs`, after it names its crate
// `transport` and declares its `common` module.

use bearer_sandbox::{PlanLimits, Sandbox, SandboxConfig};
use common::*;
use transport::Client;

async fn tls_sandbox() -> (Sandbox, bearer_sandbox::AppKeys, String) {
    let config = SandboxConfig::default().tls(true).plan(PlanLimits {
        calls_per_day: 100_000,
        queries_per_second: 0,
    });
    let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
    let keys = sandbox.create_app().expect("an active application");
    let ca = sandbox.ca_pem().expect("a test CA").to_owned();
    (sandbox, keys, ca)
}

#[tokio::test]
async fn the_client_speaks_http2_when_the_server_offers_it() {
    let (sandbox, keys, ca) = tls_sandbox().await;
    let client: Client = builder(&sandbox, &keys)
        .root_certificates_pem(&ca)
        .build()
        .unwrap();
    for _ in 0..3 {
        let answer = client
            .get(
                &sandbox.search_url("privacy"),
                std::iter::empty::<(&str, &str)>(),
            )
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.version(), http::Version::HTTP_2);
    }
    let counters = sandbox.counters();
    assert_eq!(counters.token_requests, 1);
    assert_eq!(counters.api_calls, 3);
    // One connection carries them all: HTTP/2 multiplexes.
    assert_eq!(sandbox.connections().accepted, 1);
}

#[tokio::test]
async fn plain_http_stays_http1() {
    let (sandbox, keys) = sandbox().await;
    let client = builder(&sandbox, &keys).build().unwrap();
    let answer = client
        .get(
            &sandbox.search_url("privacy"),
            std::iter::empty::<(&str, &str)>(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.version(), http::Version::HTTP_11);
}
