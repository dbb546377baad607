//! The server's connection limits over real sockets: idle, header and body time-outs close the
//! connection, and connections beyond the cap are refused. Time-outs are short here and each
//! test awaits the close itself; nothing sleeps.

mod common;

use bearer_sandbox::{ConnectionLimits, FaultTarget, SandboxConfig};
use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(3600);

fn limits(idle: Duration, header: Duration, body: Duration) -> SandboxConfig {
    SandboxConfig::default().limits(ConnectionLimits {
        idle_timeout: idle,
        header_read_timeout: header,
        body_read_timeout: body,
        ..ConnectionLimits::default()
    })
}

fn connect(sandbox: &bearer_sandbox::Sandbox) -> TcpStream {
    let stream = TcpStream::connect(sandbox.addr()).unwrap();
    // A safety net so a broken time-out fails the test instead of hanging it.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Blocks until the server closes the connection; what it sent first.
fn await_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        Ok(_) => {}
        // A close with unread data is a reset: closed all the same.
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        Err(error) => panic!("the server did not close the connection: {error}"),
    }
    received
}

/// Reads one whole answer (head and `Content-Length` body) of a keep-alive connection.
fn read_answer(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |n| n.parse::<usize>().unwrap());
            if body.len() >= length {
                return text;
            }
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed mid-answer: {text}");
        received.extend_from_slice(&buf[..n]);
    }
}

fn keep_alive_request() -> String {
    raw_client_credentials().replace("Connection: close\r\n", "")
}

#[test]
fn idle_connections_are_closed() {
    let sandbox = sandbox_with(limits(SHORT, LONG, LONG));
    // One that never sends anything.
    let mut silent = connect(&sandbox);
    assert!(await_close(&mut silent).is_empty());
    // One kept alive after an answer.
    let mut kept = connect(&sandbox);
    kept.write_all(keep_alive_request().as_bytes()).unwrap();
    assert!(read_answer(&mut kept).starts_with("HTTP/1.1 200 OK"));
    assert!(await_close(&mut kept).is_empty());
    let stats = sandbox.connections();
    assert_eq!(stats.closed_idle, 2, "{stats:?}");
    assert_eq!(stats.closed_header_timeout + stats.closed_body_timeout, 0);
}

#[test]
fn a_held_answer_is_not_idle() {
    let sandbox = sandbox_with(limits(SHORT, LONG, LONG));
    let hold = sandbox.hold(FaultTarget::Token, 1);
    let addr = sandbox.addr();
    let client = std::thread::spawn(move || raw(addr, raw_client_credentials().as_bytes()));
    hold.wait_arrived();
    // A connection opened after the held request arrived is closed as idle first.
    let mut later = connect(&sandbox);
    assert!(await_close(&mut later).is_empty());
    assert_eq!(sandbox.connections().closed_idle, 1);
    hold.release();
    let answer = client.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}

/// Sends `partial` (an unfinished request) on a connection of a sandbox with these limits,
/// awaits the close, and returns the connection counters.
fn close_after(config: SandboxConfig, partial: &[u8]) -> bearer_sandbox::ConnectionStats {
    let sandbox = sandbox_with(config);
    let mut stream = connect(&sandbox);
    stream.write_all(partial).unwrap();
    assert!(await_close(&mut stream).is_empty(), "no answer");
    // The provider never saw the request.
    assert_eq!(sandbox.counters().token_requests, 0);
    sandbox.connections()
}

#[test]
fn a_request_head_that_does_not_end_is_closed() {
    let stats = close_after(
        limits(LONG, SHORT, LONG),
        b"POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app",
    );
    assert_eq!(stats.closed_header_timeout, 1, "{stats:?}");
    assert_eq!(stats.closed_idle + stats.closed_body_timeout, 0);
}

#[test]
fn a_body_that_does_not_end_is_closed() {
    let stats = close_after(
        limits(LONG, LONG, SHORT),
        b"POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nclient_id=",
    );
    assert_eq!(stats.closed_body_timeout, 1, "{stats:?}");
    assert_eq!(stats.closed_idle + stats.closed_header_timeout, 0);
}

#[test]
fn connections_beyond_the_cap_are_refused() {
    let sandbox = sandbox_with(SandboxConfig::default().limits(ConnectionLimits {
        max_connections: 1,
        ..ConnectionLimits::default()
    }));
    // The one connection allowed is busy with a held answer.
    let hold = sandbox.hold(FaultTarget::Token, 1);
    let addr = sandbox.addr();
    let first = std::thread::spawn(move || raw(addr, raw_client_credentials().as_bytes()));
    hold.wait_arrived();
    let refused = raw(addr, raw_client_credentials().as_bytes());
    assert_eq!(
        refused,
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 48\r\n\
Retry-After: 1\r\nConnection: close\r\n\r\nbearer-sandbox: too many open connections; retry"
    );
    let stats = sandbox.connections();
    assert_eq!((stats.open, stats.accepted, stats.refused), (1, 1, 1));
    hold.release();
    assert!(first.join().unwrap().starts_with("HTTP/1.1 200 OK"));
    // Its slot was given back before it closed: the next connection is served.
    assert_eq!(client_credentials(&sandbox).status, 200);
    assert_eq!(sandbox.connections().refused, 1);
    assert_eq!(sandbox.counters().token_requests, 2);
}
