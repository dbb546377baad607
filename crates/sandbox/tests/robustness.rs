//! Bad input and load: the right error and never a panic; correct under many clients.

mod common;

use bearer_sandbox::{PlanLimits, SandboxConfig};
use common::*;
use insta::assert_snapshot;
use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Barrier};

fn unlimited() -> SandboxConfig {
    SandboxConfig::default().plan(PlanLimits {
        calls_per_day: 1_000_000,
        queries_per_second: 0,
    })
}

#[test]
fn a_garbage_request_gets_400_and_the_server_stays_up() {
    let sandbox = sandbox();
    let answer = raw(sandbox.addr(), b"THIS IS NOT HTTP\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let answer = raw(sandbox.addr(), b"\x00\xff\xfe\r\n\r\n");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    assert_eq!(client_credentials(&sandbox).status, 200);
}

#[test]
fn odd_headers() {
    let sandbox = sandbox();
    let token = client_credentials(&sandbox).access_token();
    // A non-UTF-8 Authorization value.
    let answer = raw(
        sandbox.addr(),
        b"GET /v1/searchoauth?query=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \xe9t\xe9\r\nConnection: close\r\n\r\n",
    );
    assert_snapshot!("non_utf8_authorization", raw_snapshot(&answer));
    // Two Authorization headers, on the API and on the token endpoint.
    let answer = raw(
        sandbox.addr(),
        format!(
            "GET /v1/searchoauth?query=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let body = "grant_type=client_credentials";
    let answer = raw(
        sandbox.addr(),
        format!(
            "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic eDp5\r\nAuthorization: Basic eDp5\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert_snapshot!("two_authorization_headers_token", raw_snapshot(&answer));
    // No Host header at all: the realm falls back to the sandbox's name.
    let answer = raw(
        sandbox.addr(),
        b"GET /v1/searchoauth?query=x HTTP/1.0\r\n\r\n",
    );
    assert!(
        answer.contains("www-authenticate: Bearer realm=\"bearer-sandbox\""),
        "{answer}"
    );
    // A very large header is refused by the HTTP layer, and the server goes on.
    let big = "a".repeat(600 * 1024);
    let answer = raw(
        sandbox.addr(),
        format!("GET /v1/searchoauth?query=x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {big}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert!(
        !answer.starts_with("HTTP/1.1 2"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    assert_eq!(search(&sandbox, &token, "cyber").status, 200);
}

#[test]
fn oversized_bodies_everywhere() {
    let sandbox = sandbox();
    let big = vec![b'a'; 100_000];
    for (method, path) in [
        ("POST", "/oauth2/token"),
        ("GET", "/v1/searchoauth?query=x"),
        ("POST", "/platform/developers"),
    ] {
        let answer = raw(
            sandbox.addr(),
            &[
                format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n", big.len()).as_bytes(),
                &big,
            ]
            .concat(),
        );
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
    }
    // A declared length far beyond the cap is refused without reading it.
    let answer = raw(
        sandbox.addr(),
        b"POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000000\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(client_credentials(&sandbox).status, 200);
}

#[test]
fn a_body_far_over_the_cap_is_refused_unread_and_the_client_still_reads_the_413() {
    let sandbox = sandbox();
    // 4 MiB with its length declared: answered at once, the rest discarded as it comes, so the
    // client finishes sending and reads the answer rather than a reset.
    let big = vec![b'a'; 4 << 20];
    let head = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        big.len()
    );
    let answer = raw(sandbox.addr(), &[head.as_bytes(), &big].concat());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    // Chunked, so no length is declared: read one byte past the cap at the most, then refused.
    let chunk = "a".repeat(8192);
    let mut request = String::from(
        "POST /platform/developers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for _ in 0..64 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let answer = raw(sandbox.addr(), request.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    assert_eq!(client_credentials(&sandbox).status, 200);
}

#[test]
fn chunked_bodies_and_http_1_0_work() {
    let sandbox = sandbox();
    let body = format!(
        "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=client_credentials"
    );
    let (a, b) = body.split_at(20);
    let answer = raw(
        sandbox.addr(),
        format!(
            "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        )
        .as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = raw(
        sandbox.addr(),
        format!(
            "POST /oauth2/token HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
}

#[test]
fn a_client_that_disconnects_mid_body_does_not_hurt() {
    let sandbox = sandbox();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(sandbox.addr()).unwrap();
        stream
            .write_all(
                b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nclient_id=",
            )
            .unwrap();
        drop(stream);
    }
    assert_eq!(client_credentials(&sandbox).status, 200);
}

#[test]
fn many_concurrent_clients_stay_correct() {
    let sandbox = Arc::new(sandbox_with(unlimited()));
    let threads = 16;
    let rounds = 25;
    let apps: Vec<_> = (0..threads)
        .map(|_| sandbox.create_app().unwrap())
        .collect();
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = apps
        .into_iter()
        .map(|keys| {
            let sandbox = sandbox.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let agent = agent();
                barrier.wait();
                let form = |extra: &str| {
                    http::Request::post(sandbox.token_url())
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .body(
                            format!(
                                "client_id={}&client_secret={}&{extra}",
                                keys.client_id, keys.client_secret
                            )
                            .into_bytes(),
                        )
                        .unwrap()
                };
                let issued = send_with(&agent, form("grant_type=client_credentials")).unwrap();
                assert_eq!(issued.status, 200);
                let mut refresh_token = issued.refresh_token();
                let mut access_token = issued.access_token();
                for round in 0..rounds {
                    let request = http::Request::get(sandbox.search_url("cyber"))
                        .header("Authorization", format!("Bearer {access_token}"))
                        .body(Vec::new())
                        .unwrap();
                    let answer = send_with(&agent, request).unwrap();
                    assert_eq!(answer.status, 200, "{}", answer.text());
                    assert_eq!(answer.json()["count"], 2);
                    if round % 5 == 4 {
                        let renewed = send_with(
                            &agent,
                            form(&format!(
                                "grant_type=refresh_token&refresh_token={refresh_token}"
                            )),
                        )
                        .unwrap();
                        assert_eq!(renewed.status, 200, "{}", renewed.text());
                        refresh_token = renewed.refresh_token();
                        access_token = renewed.access_token();
                    }
                }
                keys.client_id
            })
        })
        .collect();
    let ids: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let counters = sandbox.counters();
    let per_app_tokens = 1 + (rounds as u64) / 5;
    assert_eq!(counters.api_calls, (threads * rounds) as u64);
    assert_eq!(counters.token_requests, threads as u64 * per_app_tokens);
    assert_eq!(
        counters.token_requests_by_grant.client_credentials,
        threads as u64
    );
    assert_eq!(counters.tokens_issued, threads as u64 * per_app_tokens);
    for id in ids {
        let app = &counters.applications[&id];
        assert_eq!(app.api_calls, rounds as u64);
        assert_eq!(app.quota_current, rounds as u64 + per_app_tokens);
    }
}

#[test]
fn concurrent_refreshes_of_one_refresh_token_succeed_once() {
    let sandbox = Arc::new(sandbox_with(unlimited()));
    let refresh_token = client_credentials(&sandbox).refresh_token();
    let threads = 12;
    let barrier = Arc::new(Barrier::new(threads));
    let statuses: Vec<u16> = (0..threads)
        .map(|_| {
            let sandbox = sandbox.clone();
            let barrier = barrier.clone();
            let refresh_token = refresh_token.clone();
            std::thread::spawn(move || {
                barrier.wait();
                refresh(&sandbox, &refresh_token).status
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), threads - 1);
}
