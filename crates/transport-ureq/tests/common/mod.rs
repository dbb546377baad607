//! What the ureq-only tests need: a sandbox on 127.0.0.1 with one active application and a
//! client sharing the sandbox's clock.

use bearer_protocol::RetryPolicy;
use bearer_sandbox::{AppKeys, PlanLimits, Sandbox, SandboxConfig};
use bearer_transport_ureq::Client;
use std::time::Duration;

/// A running sandbox and the keys of its one active application.
pub struct Setup {
    pub sandbox: Sandbox,
    pub keys: AppKeys,
}

/// A sandbox on the system clock (plus whatever the test advances), with a plan large enough
/// never to get in the way (no QPS limit).
pub fn setup() -> Setup {
    let sandbox = Sandbox::start_blocking(SandboxConfig::default().plan(PlanLimits {
        calls_per_day: 1_000_000,
        queries_per_second: 0,
    }))
    .expect("the sandbox starts");
    let keys = sandbox.create_app().expect("an application is created");
    Setup { sandbox, keys }
}

impl Setup {
    /// A client of the application on the sandbox's clock, with fast retries.
    pub fn client(&self) -> Client {
        let config = bearer_protocol::Config::builder(
            self.sandbox.token_url(),
            self.keys.client_id.as_str(),
            self.keys.client_secret.as_str(),
        )
        .retry(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(80),
        })
        .build()
        .expect("the configuration is valid");
        Client::builder(config)
            .clock(self.sandbox.clock())
            .build()
            .expect("the client builds")
    }

    /// Has the sandbox revoke the application's access token; whether it held one.
    pub fn revoke_access_token(&self) -> bool {
        self.sandbox
            .revoke_access_token(&self.keys.client_id)
            .expect("the application exists")
    }
}

/// The request heads a raw server received, lower-cased, in order.
pub type Heads = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A raw HTTP/1.1 server on 127.0.0.1, for what the sandbox does not show (the request
/// heads): a token to `POST /token`, `200 ok` to `GET /v1/…` but `/v1/silent`, which it holds
/// unanswered until the client gives up. Its base URL and the heads.
pub fn raw_server() -> (String, Heads) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let heads = Heads::default();
    let recorded = std::sync::Arc::clone(&heads);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let recorded = std::sync::Arc::clone(&recorded);
            std::thread::spawn(move || {
                let mut read = Vec::new();
                let mut buffer = [0_u8; 4096];
                while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&read).to_lowercase();
                recorded.lock().expect("not poisoned").push(head.clone());
                let (status, body) = if head.starts_with("post /token") {
                    (
                        "200 OK",
                        r#"{"access_token":"a1b2c3d4e5f6g7h8","token_type":"bearer","expires_in":3600,"refresh_token":"r1r2r3r4r5r6"}"#,
                    )
                } else if head.starts_with("get /v1/silent") {
                    // Held until the client closes the connection.
                    while matches!(stream.read(&mut buffer), Ok(n) if n > 0) {}
                    return;
                } else {
                    ("200 OK", "ok")
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    (base, heads)
}

/// A client of the raw server at `base` (its token endpoint is `/token`), whose own time-out
/// is an hour.
pub fn raw_client(base: &str) -> Client {
    let config = bearer_protocol::Config::builder(
        format!("{base}/token"),
        "ysszm2yk7gp5r9ernuaurgcc",
        "w9t7t48g7H",
    )
    .build()
    .expect("the configuration is valid");
    Client::builder(config)
        .timeout(Duration::from_secs(3600))
        .build()
        .expect("the client builds")
}
