//! Fault injection over real HTTP: error pages, resets, delays, truncated bodies, 200 errors.

mod common;

use bearer_sandbox::{Fault, FaultTarget, PlanLimits, Sandbox, SandboxConfig};
use common::*;
use insta::assert_snapshot;
use serde_json::json;
use std::time::Duration;

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
    let answer = client_credentials(&sandbox);
    assert_eq!(answer.status, 200);
    assert!(!answer.access_token().is_empty());
    let counters = sandbox.counters();
    assert_eq!(counters.faults_injected, 1);
    assert_eq!(counters.applications[CLIENT_ID].tokens_issued, 1);
}

#[test]
fn a_truncated_body_declares_the_full_length_and_sends_half() {
    let sandbox = sandbox();
    let error = client_credentials_error(&sandbox, Fault::TruncatedBody);
    assert!(matches!(error, ureq::Error::Io(_)), "{error:?}");

    sandbox.inject(FaultTarget::Token, Fault::TruncatedBody, 1);
    let answer = raw(sandbox.addr(), raw_client_credentials().as_bytes());
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

#[test]
fn gateway_denials_and_refusals_on_demand() {
    let sandbox = sandbox_with(SandboxConfig::default().quota_headers(true));
    let token = client_credentials(&sandbox).access_token();
    // An API that answers every call 401 invalid_token, as for an expired token.
    sandbox.inject(FaultTarget::Api, Fault::InvalidToken, 3);
    for _ in 0..3 {
        let answer = search(&sandbox, &token, "cyber");
        assert_snapshot!("fault_invalid_token", answer.snapshot());
    }
    assert_eq!(search(&sandbox, &token, "cyber").status, 200);

    sandbox.inject(FaultTarget::Token, Fault::InvalidGrant, 1);
    assert_snapshot!(
        "fault_invalid_grant",
        client_credentials(&sandbox).snapshot()
    );

    sandbox.inject(
        FaultTarget::Api,
        Fault::OverQps {
            retry_after: Some(100_000),
        },
        1,
    );
    assert_snapshot!("fault_over_qps", search(&sandbox, &token, "x").snapshot());
    sandbox.inject(FaultTarget::Api, Fault::OverRate, 1);
    assert_snapshot!("fault_over_rate", search(&sandbox, &token, "x").snapshot());
    sandbox.inject(
        FaultTarget::Token,
        Fault::TooManyRequests {
            retry_after: Some(30),
        },
        1,
    );
    assert_snapshot!(
        "fault_too_many_requests",
        client_credentials(&sandbox).snapshot()
    );
    // None of them reached the provider's quota: the two real calls did.
    let counters = sandbox.counters();
    assert_eq!(counters.applications[CLIENT_ID].quota_current, 2);
    assert_eq!(counters.faults_injected, 7);
}

#[test]
fn headers_at_extreme_values_on_the_normal_answer() {
    let sandbox = sandbox_with(SandboxConfig::default().quota_headers(true));
    let token = client_credentials(&sandbox).access_token();
    let extreme = Fault::headers([
        ("X-Plan-QPS-Allotted", "4294967295"),
        ("X-Plan-Quota-Allotted", "18446744073709551615"),
        ("X-Plan-Quota-Current", "18446744073709551615"),
        (
            "X-Plan-Quota-Reset",
            "Friday, December 31, 9999 11:59:59 PM GMT",
        ),
        ("Retry-After", "18446744073709551615"),
    ])
    .unwrap();
    sandbox.inject(FaultTarget::Api, extreme, 1);
    let answer = search(&sandbox, &token, "cyber");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["count"], 2);
    assert_eq!(answer.header("x-plan-qps-allotted"), Some("4294967295"));
    assert_eq!(
        answer.header("x-plan-quota-current"),
        Some("18446744073709551615")
    );
    assert_eq!(
        answer.header("x-plan-quota-reset"),
        Some("Friday, December 31, 9999 11:59:59 PM GMT")
    );
    assert_eq!(answer.header("retry-after"), Some("18446744073709551615"));
    // The provider's own header the fault did not name.
    assert_eq!(answer.header("x-plan-qps-current"), Some("2"));
    assert_eq!(sandbox.counters().applications[CLIENT_ID].quota_current, 2);
}

#[test]
fn odd_expires_in_values_on_issued_tokens() {
    let sandbox = sandbox_with(SandboxConfig::default().plan(PlanLimits {
        calls_per_day: 1000,
        queries_per_second: 0,
    }));
    for text in ["0", "\"0\"", "0.5", "-1", "1e300", "3600,\"expires_in\":0"] {
        sandbox.inject(FaultTarget::Token, Fault::expires_in(text).unwrap(), 1);
        let answer = client_credentials(&sandbox);
        assert_eq!(answer.status, 200);
        assert!(
            answer
                .text()
                .contains(&format!(",\"expires_in\":{text},\"refresh_token\":")),
            "{}",
            answer.text()
        );
        // The token was issued and stored as usual.
        assert_eq!(search(&sandbox, &answer.access_token(), "x").status, 200);
        assert_eq!(refresh(&sandbox, &answer.refresh_token()).status, 200);
    }
    // Duplicate key: the last value wins for a lenient JSON reader.
    sandbox.inject(
        FaultTarget::Token,
        Fault::expires_in("3600,\"expires_in\":0").unwrap(),
        1,
    );
    assert_eq!(client_credentials(&sandbox).json()["expires_in"], 0);
}

#[test]
fn the_new_faults_through_the_admin_route() {
    let sandbox = sandbox();
    let token = client_credentials(&sandbox).access_token();
    for (fault, status) in [
        (json!({"kind": "invalid_token", "target": "api"}), 401),
        (
            json!({"kind": "over_qps", "target": "api", "retry_after": 5}),
            403,
        ),
        (json!({"kind": "over_rate", "target": "api"}), 403),
        (json!({"kind": "too_many_requests", "target": "api"}), 429),
        (
            json!({"kind": "headers", "target": "api", "headers": {"X-Plan-QPS-Allotted": "4294967295"}}),
            200,
        ),
    ] {
        assert_eq!(
            admin(&sandbox, "POST", "/admin/faults", Some(fault.clone())).status,
            201
        );
        let answer = search(&sandbox, &token, "x");
        assert_eq!(answer.status, status, "{fault}");
    }
    let answer = search(&sandbox, &token, "x");
    assert_eq!(answer.header("x-plan-qps-allotted"), None);

    let queued = admin(
        &sandbox,
        "POST",
        "/admin/faults",
        Some(
            json!({"kind": "headers", "target": "token", "headers": [["Retry-After", "1"], ["Retry-After", "2"]]}),
        ),
    );
    assert_snapshot!("admin_inject_headers", queued.snapshot());
    sandbox.clear_faults();
    admin(
        &sandbox,
        "POST",
        "/admin/faults",
        Some(json!({"kind": "invalid_grant", "target": "token"})),
    );
    assert_eq!(
        client_credentials(&sandbox).json()["error"],
        "invalid_grant"
    );
    admin(
        &sandbox,
        "POST",
        "/admin/faults",
        Some(json!({"kind": "expires_in", "expires_in": "\"0\""})),
    );
    assert_eq!(client_credentials(&sandbox).json()["expires_in"], "0");
    for bad in [
        json!({"kind": "headers"}),
        json!({"kind": "headers", "headers": {"Content-Length": "1"}}),
        json!({"kind": "headers", "headers": {"X-Ok": 5}}),
        json!({"kind": "expires_in"}),
        json!({"kind": "expires_in", "expires_in": "abc"}),
        json!({"kind": "over_qps", "retry_after": -1}),
    ] {
        let answer = admin(&sandbox, "POST", "/admin/faults", Some(bad.clone()));
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text());
        assert_eq!(answer.json()["error"], "invalid_request", "{bad}");
    }
    assert_eq!(sandbox.clear_faults(), 0);
}

#[test]
fn a_held_answer_is_sent_when_the_test_releases_it() {
    let sandbox = sandbox();
    let hold = sandbox.hold(FaultTarget::Token, 1);
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| sent.send(client_credentials(&sandbox)).unwrap());
        hold.wait_arrived();
        // Computed and counted on arrival, but not sent.
        assert_eq!(hold.arrivals(), 1);
        assert_eq!(sandbox.held_count(), 1);
        assert_eq!(sandbox.counters().tokens_issued, 1);
        // Other answers go on meanwhile; the held one is still not sent.
        assert_eq!(client_credentials(&sandbox).status, 200);
        assert!(received.try_recv().is_err(), "the held answer was sent");
        hold.release();
        let answer = received.recv().unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(search(&sandbox, &answer.access_token(), "x").status, 200);
    });
    assert_eq!(sandbox.held_count(), 0);
    // Dropping a hold releases too, and a released hold holds nothing more.
    let hold = sandbox.hold(FaultTarget::Api, 2);
    let id = hold.id();
    drop(hold);
    assert!(!sandbox.release(id));
    let token = client_credentials(&sandbox).access_token();
    assert_eq!(search(&sandbox, &token, "x").status, 200);
    assert_eq!(search(&sandbox, &token, "x").status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_answers_in_an_async_test() {
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .app(CLIENT_ID, CLIENT_SECRET)
            .clock(bearer_sandbox::SandboxClock::fixed(start_time())),
    )
    .await
    .unwrap();
    let hold = sandbox.hold(FaultTarget::Token, 2);
    let first = tokio::spawn(raw_async(sandbox.addr(), raw_client_credentials()));
    let second = tokio::spawn(raw_async(sandbox.addr(), raw_client_credentials()));
    hold.arrivals_reach(2).await;
    assert_eq!(sandbox.held_count(), 2);
    assert_eq!(sandbox.counters().tokens_issued, 2);
    assert!(!first.is_finished() && !second.is_finished());
    hold.release();
    for answer in [first.await.unwrap(), second.await.unwrap()] {
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    }
    assert_eq!(sandbox.held_count(), 0);
    sandbox.shutdown().await;
}

#[test]
fn holds_through_the_admin_routes() {
    let sandbox = sandbox();
    let queued = admin(
        &sandbox,
        "POST",
        "/admin/faults",
        Some(json!({"kind": "hold", "target": "token"})),
    );
    assert_eq!(queued.status, 201);
    let id = queued.json()["hold"].as_u64().unwrap();
    assert_eq!(queued.json()["pending"][0]["hold"], id);
    std::thread::scope(|scope| {
        let client = scope.spawn(|| client_credentials(&sandbox));
        sandbox.wait_held(1);
        let holds = admin(&sandbox, "GET", "/admin/holds", None);
        assert_eq!(
            holds.json(),
            json!({"held": 1, "holds": [{"id": id, "arrived": 1, "held": 1}]})
        );
        let released = admin(
            &sandbox,
            "POST",
            &format!("/admin/holds/{id}/release"),
            None,
        );
        assert_eq!(released.text(), r#"{"released":true}"#);
        assert_eq!(client.join().unwrap().status, 200);
    });
    let again = admin(
        &sandbox,
        "POST",
        &format!("/admin/holds/{id}/release"),
        None,
    );
    assert_eq!(again.text(), r#"{"released":false}"#);
    assert_eq!(
        admin(&sandbox, "POST", "/admin/holds/x/release", None).status,
        400
    );
    // DELETE releases every open hold.
    admin(
        &sandbox,
        "POST",
        "/admin/faults",
        Some(json!({"kind": "hold", "target": "token"})),
    );
    assert_eq!(
        admin(&sandbox, "DELETE", "/admin/holds", None).text(),
        r#"{"released":1}"#
    );
    assert_eq!(client_credentials(&sandbox).status, 200);
}

#[test]
fn dropping_the_sandbox_sends_what_it_holds() {
    let sandbox = sandbox();
    let _hold = sandbox.hold(FaultTarget::Token, 1);
    let addr = sandbox.addr();
    let client = std::thread::spawn(move || raw(addr, raw_client_credentials().as_bytes()));
    sandbox.wait_held(1);
    drop(sandbox);
    let answer = client.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}
