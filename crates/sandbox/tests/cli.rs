//! The binary: first line, demo application, --app keys, Ctrl-C.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

fn serve(args: &[&str]) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bearer-sandbox"))
        .arg("serve")
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let done = line.starts_with("routes:");
        lines.push(line.trim_end().to_owned());
        if done {
            break;
        }
    }
    (child, lines)
}

fn interrupt(mut child: std::process::Child) -> (bool, String) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.success(), stderr)
}

#[test]
fn serve_with_app_keys_prints_the_address_first_and_stops_on_ctrl_c() {
    let (child, lines) = serve(&[
        "--app",
        "ysszm2yk7gp5r9ernuaurgcc:w9t7t48g7H",
        "--token-ttl",
        "2",
        "--admin-key",
        "k",
    ]);
    let addr = lines[0]
        .strip_prefix("listening on http://")
        .expect(&lines[0]);
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    assert_eq!(lines[1], "admin key: k");
    assert_eq!(
        lines[2],
        "application app-1: client_id=ysszm2yk7gp5r9ernuaurgcc client_secret=w9t7t48g7H status=active"
    );
    let body =
        "client_id=ysszm2yk7gp5r9ernuaurgcc&client_secret=w9t7t48g7H&grant_type=client_credentials";
    let answer = common::raw(
        addr,
        format!(
            "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert!(answer.contains("\"expires_in\":2"), "{answer}");
    let (ok, stderr) = interrupt(child);
    assert!(ok, "{stderr}");
}

#[test]
fn serve_without_app_creates_a_demo_application() {
    let (child, lines) = serve(&["--seed", "1"]);
    assert!(lines[0].starts_with("listening on http://127.0.0.1:"));
    assert!(lines[1].starts_with("admin key: "));
    let demo = &lines[2];
    assert!(
        demo.starts_with("application app-1 (demo): client_id="),
        "{demo}"
    );
    let id = demo
        .split("client_id=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(id.len(), 24);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("plan: 5000 calls per day"))
    );
    let (ok, stderr) = interrupt(child);
    assert!(ok, "{stderr}");
}

#[test]
fn help_lists_the_routes_and_bad_flags_fail() {
    let output = Command::new(env!("CARGO_BIN_EXE_bearer-sandbox"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--addr",
        "--token-ttl",
        "--calls-per-day",
        "--qps",
        "--quota-headers",
        "--admin-key",
        "--app",
        "/oauth2/token",
        "/admin/faults",
        "/platform/applications/{id}/keys",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_bearer-sandbox"))
        .args(["serve", "--app", "nocolon"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("CLIENT_ID:CLIENT_SECRET"));
}

#[test]
fn a_taken_address_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_bearer-sandbox"))
        .args(["serve", "--addr", &addr])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("could not listen on"), "{stderr}");
}
