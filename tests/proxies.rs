//! Proxies, over every transport: requests go through the proxy the client is given (as a
//! `CONNECT` tunnel, the token request too), loopback never does, and a proxy that cannot be
//! reached is named in the error. The proxy is a real one on 127.0.0.1 that tunnels every
//! `CONNECT` to the sandbox, which the client names `api.sandbox.test` (a name its certificate
//! carries and no resolver knows: only the proxy can reach it). How the environment is read is
//! tested with client-core's `Proxies`.

#![cfg(all(feature = "ureq", feature = "hyper", feature = "reqwest"))]

mod support;

use bearer_client::protocol::Config;
use bearer_sandbox::{Sandbox, SandboxConfig};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use support::*;

/// A `CONNECT` proxy on 127.0.0.1 that tunnels every request to `to`, recording the targets
/// it was asked for.
struct TunnelProxy {
    addr: SocketAddr,
    asked: Arc<Mutex<Vec<String>>>,
}

impl TunnelProxy {
    fn start(to: SocketAddr) -> TunnelProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().expect("an address");
        let asked = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&asked);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let recorded = Arc::clone(&recorded);
                std::thread::spawn(move || tunnel(client, to, &recorded));
            }
        });
        TunnelProxy { addr, asked }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

fn tunnel(mut client: TcpStream, to: SocketAddr, asked: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        if client.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let Some(target) = head
        .strip_prefix("CONNECT ")
        .and_then(|rest| rest.split_whitespace().next())
    else {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    asked.lock().unwrap().push(target.to_owned());
    let Ok(upstream) = TcpStream::connect(to) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let (mut up_read, mut client_read) = (
        upstream.try_clone().expect("a socket"),
        client.try_clone().expect("a socket"),
    );
    let (mut up_write, mut client_write) = (upstream, client);
    let forward = std::thread::spawn(move || std::io::copy(&mut client_read, &mut up_write));
    let _ = std::io::copy(&mut up_read, &mut client_write);
    let _ = forward.join();
}

fn tls_sandbox() -> (Sandbox, bearer_sandbox::AppKeys, String) {
    let sandbox = Sandbox::start_blocking(SandboxConfig::default().plan(roomy_plan()).tls(true))
        .expect("the sandbox starts");
    let keys = sandbox.create_app().expect("an application");
    let ca = sandbox.ca_pem().expect("a test CA").to_owned();
    (sandbox, keys, ca)
}

/// The sandbox's URL for `path`, by the name only the proxy can reach.
fn by_name(sandbox: &Sandbox, path: &str) -> String {
    format!("https://api.sandbox.test:{}{path}", sandbox.addr().port())
}

fn requests_go_through_the_proxy_they_are_given(transport: Transport) {
    let (sandbox, keys, ca) = tls_sandbox();
    let proxy = TunnelProxy::start(sandbox.addr());
    let config = Config::builder(
        by_name(&sandbox, "/oauth2/token"),
        keys.client_id.as_str(),
        keys.client_secret.as_str(),
    )
    .build()
    .unwrap();
    let client = Builder::new(transport, config)
        .root_certificates_pem(&ca)
        .proxy(&proxy.url())
        .build()
        .unwrap();
    for _ in 0..2 {
        let answer = client.call(&by_name(&sandbox, "/v1/searchoauth")).unwrap();
        assert_eq!(answer.status(), 200);
    }
    assert_eq!(sandbox.counters().token_requests, 1);
    let asked = proxy.asked();
    let target = format!("api.sandbox.test:{}", sandbox.addr().port());
    assert!(
        !asked.is_empty() && asked.iter().all(|t| *t == target),
        "{asked:?}"
    );
}

fn loopback_is_never_proxied(transport: Transport) {
    let (sandbox, keys, ca) = tls_sandbox();
    let proxy = TunnelProxy::start(sandbox.addr());
    let config = Config::builder(
        sandbox.token_url(),
        keys.client_id.as_str(),
        keys.client_secret.as_str(),
    )
    .build()
    .unwrap();
    let client = Builder::new(transport, config)
        .root_certificates_pem(&ca)
        .proxy(&proxy.url())
        .build()
        .unwrap();
    let answer = client.call(&sandbox.url("/v1/searchoauth")).unwrap();
    assert_eq!(answer.status(), 200);
    assert!(proxy.asked().is_empty(), "{:?}", proxy.asked());
}

fn a_proxy_that_cannot_be_reached_is_named(transport: Transport) {
    let (sandbox, keys, ca) = tls_sandbox();
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = Config::builder(
        by_name(&sandbox, "/oauth2/token"),
        keys.client_id.as_str(),
        keys.client_secret.as_str(),
    )
    .retry(fast_retry())
    .build()
    .unwrap();
    let client = Builder::new(transport, config)
        .root_certificates_pem(&ca)
        .proxy(&format!("http://{closed}"))
        .build()
        .unwrap();
    let error = client
        .call(&by_name(&sandbox, "/v1/searchoauth"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("the proxy {closed}")) && error.contains("proxy setting"),
        "{error}"
    );
    assert_eq!(sandbox.counters().token_requests, 0);
}

over_every_transport! {
    requests_go_through_the_proxy_they_are_given,
    loopback_is_never_proxied,
    a_proxy_that_cannot_be_reached_is_named,
}
