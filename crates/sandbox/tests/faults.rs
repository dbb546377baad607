//! Fault injection over real HTTP: error pages, resets, delays, truncated bodies, 200 errors.

mod common;

use bearer_sandbox::{Fault, FaultTarget, Sandbox};
use common::*;
use insta::assert_snapshot;
use serde_json::json;
use std::time::{Duration, Instant};

/// The client's error for the guide's client_credentials request, `fault` injected before it.
fn client_credentials_error(sandbox: &Sandbox, fault: Fault) -> ureq::Error {
    let form = client_credentials_form(CLIENT_ID, CLIENT_SECRET);
    sandbox.inject(FaultTarget::Token, fault.clone(), 1);
    try_token_request(sandbox, &form)
        .expect_err(&format!("{fault:?} leaves the client without an answer"))
}

#[test]
fn replacing_faults_answer_instead_of_the_provider() {
    let sandbox = sandbox();
    let faults = [
        ("fault_server_error", Fault::ServerError),
        ("fault_bad_gateway", Fault::BadGateway),
        ("fault_service_unavailable", Fault::ServiceUnavailable),
        (
            "fault_error_in_200",
            Fault::ErrorIn200("server_error".into()),
        ),
    ];
    for (name, fault) in faults {
        assert_eq!(sandbox.inject(FaultTarget::Token, fault, 1), 1);
        assert_snapshot!(name, client_credentials(&sandbox).snapshot());
    }
    // None is left: the next answer is normal, and no faulted request touched the quota.
    assert_eq!(client_credentials(&sandbox).status, 200);
    let counters = sandbox.counters();
    assert_eq!(counters.token_requests, 5);
    assert_eq!(counters.faults_injected, 4);
    assert_eq!(counters.applications[CLIENT_ID].quota_current, 1);
}

#[test]
fn faults_apply_to_their_target_and_count() {
    let sandbox = sandbox();
    sandbox.inject(FaultTarget::Api, Fault::ServiceUnavailable, 2);
    let issued = client_credentials(&sandbox);
    assert_eq!(
        issued.status, 200,
        "an API fault does not touch the token endpoint"
    );
    let token = issued.access_token();
    assert_eq!(search(&sandbox, &token, "x").status, 503);
    assert_eq!(search(&sandbox, &token, "x").status, 503);
    assert_eq!(search(&sandbox, &token, "cyber").status, 200);
    sandbox.inject(FaultTarget::Any, Fault::ServerError, 1);
    assert_eq!(search(&sandbox, &token, "x").status, 500);
}

#[test]
fn a_connection_reset_is_an_io_error_for_the_client() {
    let sandbox = sandbox();
    let error = client_credentials_error(&sandbox, Fault::ConnectionReset);
    assert!(matches!(error, ureq::Error::Io(_)), "{error:?}");
    // On the wire: no answer at all.
    sandbox.inject(FaultTarget::Api, Fault::ConnectionReset, 1);
    let answer = raw(
        sandbox.addr(),
        b"GET /v1/searchoauth?query=x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(answer, "");
    assert_eq!(client_credentials(&sandbox).status, 200);
}

#[test]
fn a_delay_holds_the_normal_answer() {
    let sandbox = sandbox();
    sandbox.inject(
        FaultTarget::Token,
        Fault::Delay(Duration::from_millis(300)),
        1,
    );
    let started = Instant::now();
    let answer = client_credentials(&sandbox);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer.status, 200);
    assert_eq!(sandbox.counters().applications[CLIENT_ID].tokens_issued, 1);
}

#[test]
fn a_truncated_body_declares_the_full_length_and_sends_half() {
    let sandbox = sandbox();
    let error = client_credentials_error(&sandbox, Fault::TruncatedBody);
    assert!(matches!(error, ureq::Error::Io(_)), "{error:?}");

    sandbox.inject(FaultTarget::Token, Fault::TruncatedBody, 1);
    let body = client_credentials_form(CLIENT_ID, CLIENT_SECRET);
    let answer = raw(
        sandbox.addr(),
        format!(
            "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let (head, received) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("content-length: 126"), "{head}");
    assert_eq!(received.len(), 63);
    assert!(received.starts_with(r#"{"access_token":""#));
}

#[test]
fn faults_through_the_admin_route() {
    let sandbox = sandbox();
    let queued = admin(
        &sandbox,
        "POST",
        "/admin/faults",
        Some(json!({"kind": "delay", "target": "api", "count": 2, "delay_ms": 10})),
    );
    assert_snapshot!("admin_inject", queued.snapshot());
    admin(
        &sandbox,
        "POST",
        "/admin/faults",
        Some(json!({"kind": "error_in_200", "error": "temporarily_unavailable"})),
    );
    let pending = admin(&sandbox, "GET", "/admin/faults", None);
    assert_eq!(pending.json()["pending"].as_array().unwrap().len(), 3);
    let answer = client_credentials(&sandbox);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["error"], "temporarily_unavailable");
    let cleared = admin(&sandbox, "DELETE", "/admin/faults", None);
    assert_eq!(cleared.text(), r#"{"cleared":2}"#);
    for bad in [
        json!({"kind": "meltdown"}),
        json!({"kind": "error_in_200", "error": "Bad Code"}),
        json!({"kind": "server_error", "target": "everything"}),
        json!({"target": "api"}),
    ] {
        let answer = admin(&sandbox, "POST", "/admin/faults", Some(bad.clone()));
        assert_eq!(answer.status, 400, "{bad}");
    }
    for kind in [
        "server_error",
        "bad_gateway",
        "service_unavailable",
        "connection_reset",
        "truncated_body",
    ] {
        let answer = admin(
            &sandbox,
            "POST",
            "/admin/faults",
            Some(json!({"kind": kind})),
        );
        assert_eq!(answer.status, 201, "{kind}");
    }
    assert_eq!(sandbox.clear_faults(), 5);
}
