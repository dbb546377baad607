//! The ureq transport's scenario list (issue 4), run against the sandbox over real HTTP on
//! 127.0.0.1, each asserting on the sandbox's own counters as well as on the client's results.

mod common;

use bearer_protocol::{BudgetMode, Error as ProtocolError, Plan as ClientPlan};
use bearer_sandbox::{Fault, FaultTarget};
use bearer_transport_hyper::{ClientEvent, Error};
use common::*;
use std::sync::Arc;

#[tokio::test]
async fn first_call_gets_a_token_and_later_calls_reuse_it() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    for _ in 0..5 {
        let answer = client
            .get(&search(&sandbox), [("query", "privacy")])
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let json: serde_json::Value = answer.body().json().unwrap();
        assert!(json.is_object(), "{json}");
    }
    let counters = sandbox.counters();
    assert_eq!(counters.token_requests, 1);
    assert_eq!(token_requests(&counters), (1, 0));
    assert_eq!(counters.api_calls, 5);
    let budget = client.budget();
    assert_eq!(
        budget.calls_used, 6,
        "5 calls and 1 token request: {budget:?}"
    );
}

#[tokio::test]
async fn renewal_after_expiry_uses_the_rotated_refresh_token() {
    let (sandbox, keys) = sandbox().await;
    let recorder = Recorder::default();
    let client = recorder.client(&sandbox, &keys);
    search_once(&client, &sandbox).await.unwrap();
    let first = client.tokens().unwrap();

    for round in 1..=3 {
        sandbox.advance(HOUR);
        let answer = search_once(&client, &sandbox).await.unwrap();
        assert_eq!(answer.status(), 200);
        // One refresh per hour; the sandbox refuses any refresh token but the latest, so three
        // successful refreshes in a row prove each rotation was adopted.
        assert_eq!(token_requests(&sandbox.counters()), (1, round));
    }
    let last = client.tokens().unwrap();
    assert!(
        !last
            .refresh_token
            .as_ref()
            .unwrap()
            .same_as(first.refresh_token.as_ref().unwrap())
    );
    assert_eq!(
        recorder.count(|e| matches!(e, ClientEvent::RefreshTokenRefused)),
        0
    );
    assert_eq!(
        recorder.count(|e| matches!(e, ClientEvent::TokensRenewed { .. })),
        4
    );
}

#[tokio::test]
async fn a_refused_refresh_token_falls_back_to_client_credentials_once() {
    let (sandbox, keys) = sandbox().await;
    let recorder = Recorder::default();
    let client = recorder.client(&sandbox, &keys);
    search_once(&client, &sandbox).await.unwrap();
    assert!(sandbox.forget_refresh_token(&keys.client_id).unwrap());
    sandbox.advance(HOUR);
    let answer = search_once(&client, &sandbox).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(token_requests(&sandbox.counters()), (2, 1));
    assert!(recorder.count(|e| matches!(e, ClientEvent::RefreshTokenRefused)) > 0);
}

#[tokio::test]
async fn a_revoked_access_token_is_renewed_and_the_call_replayed_once() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    search_once(&client, &sandbox).await.unwrap();
    assert!(sandbox.revoke_access_token(&keys.client_id).unwrap());
    let answer = search_once(&client, &sandbox).await.unwrap();
    assert_eq!(answer.status(), 200);
    let counters = sandbox.counters();
    assert_eq!(counters.api_calls, 3, "first call, refused call, replay");
    assert_eq!(counters.token_requests, 2);
}

#[tokio::test]
async fn a_wrong_secret_costs_one_token_request_and_a_clear_error() {
    let (sandbox, keys) = sandbox().await;
    let config = config_with_secret(&sandbox, &keys, "wr0ngSecr3");
    let client = builder_with(&sandbox, config).build().unwrap();
    for _ in 0..3 {
        let error = search_once(&client, &sandbox).await.unwrap_err();
        assert!(
            matches!(error, Error::Token(ProtocolError::CredentialsRejected(_))),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            !text.contains("wr0ngSecr3") && !text.contains(&keys.client_id),
            "{text}"
        );
        assert!(!error.is_temporary());
    }
    let counters = sandbox.counters();
    assert_eq!(
        counters.token_requests, 1,
        "quiet period: no second token request"
    );
    assert_eq!(counters.api_calls, 0);
}

async fn recovers_from(fault: Fault) {
    let (sandbox, keys) = sandbox().await;
    let recorder = Recorder::default();
    let client = recorder.client(&sandbox, &keys);
    sandbox.inject(FaultTarget::Token, fault.clone(), 2);
    let answer = search_once(&client, &sandbox).await.unwrap();
    assert_eq!(answer.status(), 200, "{fault:?}");
    let counters = sandbox.counters();
    assert_eq!(
        counters.token_requests, 3,
        "{fault:?}: two failures, then success"
    );
    assert_eq!(counters.api_calls, 1);
    assert_eq!(
        recorder.count(|e| matches!(e, ClientEvent::TokenRequestFailed { .. })),
        2,
        "{fault:?}"
    );
}

/// One test a fault: the token endpoint fails twice that way, then the client recovers.
macro_rules! recovers_from {
    ($($name:ident: $fault:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            recovers_from($fault).await;
        }
    )*};
}

recovers_from! {
    token_endpoint_500_is_retried_with_backoff: Fault::ServerError;
    token_endpoint_503_page_is_retried_with_backoff: Fault::ServiceUnavailable;
    token_endpoint_502_html_is_retried_with_backoff: Fault::BadGateway;
    token_endpoint_connection_reset_is_retried_with_backoff: Fault::ConnectionReset;
    token_endpoint_truncated_body_is_retried_with_backoff: Fault::TruncatedBody;
}

#[tokio::test]
async fn token_endpoint_retries_are_bounded() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    sandbox.inject(FaultTarget::Token, Fault::ServerError, 100);
    let error = search_once(&client, &sandbox).await.unwrap_err();
    match &error {
        Error::Token(ProtocolError::Unavailable { attempts, .. }) => assert_eq!(*attempts, 4),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(error.is_temporary());
    // The failure is repeated without asking again until the longest backoff has passed.
    let again = search_once(&client, &sandbox).await.unwrap_err();
    assert!(matches!(
        again,
        Error::Token(ProtocolError::Unavailable { .. })
    ));
    let counters = sandbox.counters();
    assert_eq!(counters.token_requests, 4, "first attempt and 3 retries");
    assert_eq!(counters.api_calls, 0);
}

#[tokio::test]
async fn over_qps_waits_for_retry_after_and_succeeds() {
    let (sandbox, keys) = sandbox_with_plan(100_000, 2).await;
    let client = client(&sandbox, &keys);
    // Second 1: the token request and one call fill the second; the next call is over QPS.
    for _ in 0..3 {
        let answer = search_once(&client, &sandbox).await.unwrap();
        assert_eq!(answer.status(), 200);
    }
    let counters = sandbox.counters();
    let app = &counters.applications[&keys.client_id];
    assert!(app.denied_over_qps >= 1, "{app:?}");
    assert_eq!(counters.token_requests, 1);
}

#[tokio::test]
async fn the_gateway_s_over_rate_is_a_quota_error_with_the_reset_time() {
    let (sandbox, keys) = sandbox_with_plan(3, 0).await;
    // The client does not know the plan: the gateway tells it.
    let client = client(&sandbox, &keys);
    search_once(&client, &sandbox).await.unwrap();
    search_once(&client, &sandbox).await.unwrap();
    let error = search_once(&client, &sandbox).await.unwrap_err();
    let resets_at = error.quota_resets_at().expect("a quota error");
    assert!(resets_at > sandbox.now());
    let sent = sandbox.counters().api_calls;
    // Spent until the reset: nothing more is sent.
    let again = search_once(&client, &sandbox).await.unwrap_err();
    assert!(again.quota_resets_at().is_some());
    assert_eq!(sandbox.counters().api_calls, sent);
}

#[tokio::test]
async fn an_enforced_budget_sends_nothing_once_spent() {
    let (sandbox, keys) = sandbox().await;
    let config = config(&sandbox, &keys)
        .plan(ClientPlan {
            calls_per_day: Some(4),
            ..ClientPlan::default()
        })
        .budget_mode(BudgetMode::Enforce);
    let client = builder_with(&sandbox, config).build().unwrap();
    let mut ok = 0;
    let mut error = None;
    for _ in 0..6 {
        match search_once(&client, &sandbox).await {
            Ok(_) => ok += 1,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let error = error.expect("the budget runs out");
    assert!(error.quota_resets_at().is_some(), "{error:?}");
    assert!(error.to_string().contains("quota"), "{error}");
    let counters = sandbox.counters();
    assert_eq!(counters.api_calls, ok);
    assert!(
        counters.token_requests + counters.api_calls <= 4,
        "{counters:?}"
    );
}

#[tokio::test]
async fn the_store_sees_every_rotation_in_order_before_the_token_is_used() {
    let (sandbox, keys) = sandbox().await;
    let sandbox = Arc::new(sandbox);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = MemoryStore {
        on_save: Some({
            let sandbox = Arc::clone(&sandbox);
            let seen = Arc::clone(&seen);
            Arc::new(move |_| seen.lock().unwrap().push(sandbox.counters().api_calls))
        }),
        ..MemoryStore::default()
    };
    let saved = Arc::clone(&store.saved);
    let client = builder(&sandbox, &keys).store(store).build().unwrap();
    for round in 0..3u64 {
        search_once(&client, &sandbox).await.unwrap();
        search_once(&client, &sandbox).await.unwrap();
        let saved = saved.lock().unwrap();
        assert_eq!(saved.len() as u64, round + 1);
        let current = client.tokens().unwrap();
        assert!(
            saved
                .last()
                .unwrap()
                .access_token
                .same_as(&current.access_token)
        );
        drop(saved);
        sandbox.advance(HOUR);
    }
    // Each save happened before any call used the new token: 0, 2 and 4 calls had been made.
    assert_eq!(*seen.lock().unwrap(), vec![0, 2, 4]);
    let saved = saved.lock().unwrap();
    for pair in saved.windows(2) {
        assert!(
            !pair[0]
                .refresh_token
                .as_ref()
                .unwrap()
                .same_as(pair[1].refresh_token.as_ref().unwrap())
        );
        assert!(pair[0].expires_at < pair[1].expires_at);
    }
}

#[tokio::test]
async fn a_client_starts_from_saved_tokens() {
    let (sandbox, keys) = sandbox().await;
    let first = client(&sandbox, &keys);
    search_once(&first, &sandbox).await.unwrap();
    let store = MemoryStore {
        initial: first.tokens(),
        ..MemoryStore::default()
    };
    drop(first);
    let second = builder(&sandbox, &keys).store(store).build().unwrap();
    search_once(&second, &sandbox).await.unwrap();
    assert_eq!(sandbox.counters().token_requests, 1);
    // And renews with the saved refresh token.
    sandbox.advance(HOUR);
    search_once(&second, &sandbox).await.unwrap();
    assert_eq!(token_requests(&sandbox.counters()), (1, 1));
}

#[tokio::test]
async fn a_failing_store_is_reported_and_the_tokens_are_used_anyway() {
    let (sandbox, keys) = sandbox().await;
    let recorder = Recorder::default();
    let store = MemoryStore {
        fail_saves: true,
        ..MemoryStore::default()
    };
    let client = recorder
        .attach(builder(&sandbox, &keys).store(store))
        .build()
        .unwrap();
    let answer = search_once(&client, &sandbox).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(recorder.count(|e| matches!(
        e,
        ClientEvent::StoreFailed { operation: bearer_transport_hyper::StoreOperation::Save, message }
            if message.contains("disk is full")
    )) > 0);
    assert_eq!(sandbox.counters().token_requests, 1);
}

#[tokio::test]
async fn bearer_hands_out_the_token_without_counting_a_call() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    let bearer = client.bearer().await.unwrap();
    let again = client.bearer().await.unwrap();
    assert!(bearer.access_token().same_as(again.access_token()));
    assert_eq!(
        format!("{bearer:?}")
            .matches(bearer.access_token().expose())
            .count(),
        0
    );
    assert_eq!(client.budget().calls_used, 1, "the token request only");
    assert_eq!(sandbox.counters().token_requests, 1);
}
