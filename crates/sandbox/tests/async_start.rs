//! The async start on the caller's tokio runtime, and the clock shared with a client.

mod common;

use bearer_sandbox::{Sandbox, SandboxClock, SandboxConfig};
use common::*;
use std::time::Duration;

#[tokio::test]
async fn start_serves_on_the_current_runtime_and_shuts_down() {
    let sandbox = Sandbox::start(SandboxConfig::default().app(CLIENT_ID, CLIENT_SECRET))
        .await
        .unwrap();
    let answer = raw_async(sandbox.addr(), raw_client_credentials()).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let addr = sandbox.addr();
    sandbox.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_client_on_the_async_sandbox() {
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .app(CLIENT_ID, CLIENT_SECRET)
            .clock(SandboxClock::fixed(start_time())),
    )
    .await
    .unwrap();
    let token_url = sandbox.token_url();
    let search_url = sandbox.search_url("cyber");
    let clock = sandbox.clock();
    tokio::task::spawn_blocking(move || {
        let request = http::Request::post(token_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=client_credentials").into_bytes())
            .unwrap();
        let token = send(request).unwrap().access_token();
        let get = || {
            send(
                http::Request::get(&search_url)
                    .header("Authorization", format!("Bearer {token}"))
                    .body(Vec::new())
                    .unwrap(),
            )
            .unwrap()
            .status
        };
        assert_eq!(get(), 200);
        // The client's clone of the clock moves the sandbox's time.
        clock.advance(Duration::from_secs(3600));
        assert_eq!(get(), 401);
    })
    .await
    .unwrap();
    let clock: Box<dyn bearer_client_core::Clock> = Box::new(sandbox.clock());
    assert_eq!(clock.now(), start_time() + Duration::from_secs(3600));
}

#[test]
fn start_fails_cleanly_on_a_taken_address() {
    let first = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let error = Sandbox::start_blocking(SandboxConfig::default().addr(first.addr())).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the sandbox could not listen on"),
        "{error}"
    );
    let error = Sandbox::start_blocking(SandboxConfig::default().app("bad:id", "x")).unwrap_err();
    assert!(error.to_string().contains("client_id"), "{error}");
}
