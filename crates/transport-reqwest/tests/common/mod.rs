//! What the reqwest-only tests share: a sandbox started in-process on 127.0.0.1:0, an active
//! application, a client on the sandbox's clock, and a raw HTTP/1.1 server for what the
//! sandbox does not do (record request heads, redirect, never answer, answer too much). The
//! scenario list every transport shares is written once, in the root package's
//! `tests/scenarios.rs`.

#![allow(dead_code)]

use bearer_protocol::{Config, ConfigBuilder, RetryPolicy};
use bearer_sandbox::{AppKeys, Counters, PlanLimits, Sandbox, SandboxConfig};
use bearer_transport_reqwest::{Client, ClientBuilder, Error, Response};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A sandbox with no QPS limit and one active application.
pub async fn sandbox() -> (Sandbox, AppKeys) {
    let config = SandboxConfig::default().plan(PlanLimits {
        calls_per_day: 100_000,
        queries_per_second: 0,
    });
    let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
    let keys = sandbox.create_app().expect("an active application");
    (sandbox, keys)
}

/// Fast, bounded retries.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(80),
    }
}

/// The application's configuration, with fast, bounded retries.
pub fn config(sandbox: &Sandbox, keys: &AppKeys) -> ConfigBuilder {
    Config::builder(
        sandbox.token_url(),
        keys.client_id.as_str(),
        keys.client_secret.as_str(),
    )
    .retry(fast_retry())
    .seed(7)
}

/// A client builder on the sandbox's clock.
pub fn builder(sandbox: &Sandbox, keys: &AppKeys) -> ClientBuilder {
    let config = config(sandbox, keys)
        .build()
        .expect("a valid configuration");
    Client::builder(config).clock(sandbox.clock())
}

pub fn client(sandbox: &Sandbox, keys: &AppKeys) -> Client {
    builder(sandbox, keys).build().expect("the client builds")
}

pub fn search(sandbox: &Sandbox) -> String {
    sandbox.url(bearer_sandbox::SEARCH_PATH)
}

/// One search (`query=a`) through `client`.
pub async fn search_once(client: &Client, sandbox: &Sandbox) -> Result<Response, Error> {
    client.get(&search(sandbox), [("query", "a")]).await
}

pub const HOUR: Duration = Duration::from_secs(3600);

/// `(client_credentials, refresh_token)` token requests the sandbox received.
pub fn token_requests(counters: &Counters) -> (u64, u64) {
    let grants = counters.token_requests_by_grant;
    (grants.client_credentials, grants.refresh_token)
}

/// What the raw server answers a request whose head (request line and headers, lower-cased)
/// it is given: bytes to write (then the connection is closed), or `None` to never answer.
pub type Answer = fn(&str) -> Option<Vec<u8>>;

/// The request heads a raw server received, in order.
pub type Heads = Arc<Mutex<Vec<String>>>;

/// A raw HTTP/1.1 server on 127.0.0.1: reads each request (head and `Content-Length` body),
/// records its head lower-cased, and writes what `answer` says. Its base URL and the heads.
pub async fn raw_server(answer: Answer) -> (String, Heads) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let heads: Heads = Arc::default();
    let recorded = Arc::clone(&heads);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let recorded = Arc::clone(&recorded);
            tokio::spawn(async move {
                let mut read = Vec::new();
                let mut buffer = [0_u8; 4096];
                let head_end = loop {
                    if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
                        break end + 4;
                    }
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read.extend_from_slice(&buffer[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&read[..head_end]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|n| n.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                while read.len() < head_end + length {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read.extend_from_slice(&buffer[..n]),
                    }
                }
                recorded.lock().unwrap().push(head.clone());
                match answer(&head) {
                    Some(bytes) => {
                        let _ = stream.write_all(&bytes).await;
                        let _ = stream.shutdown().await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(3600)).await,
                }
            });
        }
    });
    (base, heads)
}

/// A whole HTTP/1.1 response with `status`, extra header lines and `body`, closing the
/// connection.
pub fn response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A token endpoint's answer to a token request, and `200 ok` to anything else.
pub fn token_or_ok(head: &str) -> Option<Vec<u8>> {
    Some(if head.starts_with("post /token") {
        response(
            "200 OK",
            "content-type: application/json\r\n",
            br#"{"access_token":"a1b2c3d4e5f6g7h8","token_type":"bearer","expires_in":3600,"refresh_token":"r1r2r3r4r5r6"}"#,
        )
    } else {
        response("200 OK", "content-type: text/plain\r\n", b"ok")
    })
}

/// A client of the raw server at `base` (its token endpoint is `/token`).
pub fn raw_client(base: &str) -> ClientBuilder {
    let config = Config::builder(
        format!("{base}/token"),
        "ysszm2yk7gp5r9ernuaurgcc",
        "w9t7t48g7H",
    )
    .retry(fast_retry())
    .seed(7)
    .build()
    .expect("a valid configuration");
    Client::builder(config)
}
