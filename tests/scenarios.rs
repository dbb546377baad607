//! The scenario list (issue 4), written once and run over every transport against the sandbox
//! over real HTTP on 127.0.0.1: `ureq::NAME` runs it on the blocking client, `hyper::NAME` on
//! the async one on hyper, `reqwest::NAME` on the async one on reqwest. Every scenario checks
//! the sandbox's own counters as well as the client's results. Time moves by advancing the sandbox's clock, which the client shares; calls are
//! ordered by held answers, never by sleeps.

#![cfg(all(feature = "ureq", feature = "hyper", feature = "reqwest"))]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bearer_client::blocking::{ClientEvent, StoreOperation, WaitCause};
use bearer_client::protocol::{
    BudgetMode, CertificateProblem, Error as ProtocolError, Grant, Plan, TransportFailureKind,
};
use bearer_sandbox::{Fault, FaultTarget, PlanLimits, SandboxConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::*;

over_every_transport! {
    first_call_gets_a_token_and_later_calls_reuse_it,
    answers_are_readable_as_text_and_json,
    renewal_uses_the_refresh_token_adopts_the_rotation_and_never_resends_the_old_one,
    renews_ahead_of_expiry_within_the_leeway,
    a_refused_refresh_token_falls_back_to_client_credentials_once,
    a_revoked_token_is_renewed_and_the_call_replayed_once,
    a_replay_refused_too_is_a_typed_error,
    sixty_four_callers_at_expiry_cause_one_token_request,
    a_waiter_that_gives_up_does_not_wedge_the_others,
    a_wrong_secret_costs_one_token_request_a_clear_error_and_quiet_afterwards,
    a_token_endpoint_500_is_retried_after_backoff,
    a_token_endpoint_503_page_is_retried_after_backoff,
    a_token_endpoint_502_html_page_is_retried_after_backoff,
    a_token_endpoint_connection_reset_is_retried_after_backoff,
    a_token_endpoint_truncated_body_is_retried_after_backoff,
    token_endpoint_retries_are_bounded,
    over_qps_waits_retry_after_and_succeeds,
    the_gateways_over_rate_is_a_typed_quota_error_with_the_reset_time,
    an_enforced_budget_sends_nothing_once_spent,
    the_store_sees_every_rotation_in_order_before_the_token_is_used,
    a_new_client_starts_from_the_saved_tokens,
    a_failing_store_is_reported_and_the_tokens_still_used,
    bearer_hands_out_the_token_without_counting_a_call,
    another_librarys_401_reported_renews_the_token_once,
    an_invalidated_token_is_renewed_once,
    https_with_the_sandboxs_test_ca,
    https_refuses_a_server_whose_ca_is_not_trusted,
    a_certificate_that_is_not_pem_is_a_settings_error,
    no_token_or_secret_in_any_debug_or_display,
    the_token_never_travels_over_plain_http_off_loopback,
    tokens_saved_for_another_application_are_not_used,
}

/// A setup and a recorded client that has made its first search (one token request, one call).
fn after_first_search(transport: Transport) -> (Setup, Recorder, Client) {
    let setup = Setup::new(transport);
    let (events, client) = setup.recorded();
    setup.search(&client);
    (setup, events, client)
}

fn first_call_gets_a_token_and_later_calls_reuse_it(transport: Transport) {
    let setup = Setup::new(transport);
    let (events, client) = setup.recorded();
    for _ in 0..5 {
        let answer = setup.try_search(&client).unwrap();
        assert_eq!(answer.status(), 200);
        let json: serde_json::Value = answer.body().json().unwrap();
        assert!(json.is_object(), "{json}");
    }
    let clone = client.clone();
    setup.search(&clone);

    assert_eq!(setup.grants(), (1, 0), "one token request for many calls");
    assert_eq!(setup.api_calls(), 6);
    assert_eq!(setup.app().tokens_issued, 1);
    let budget = client.budget();
    assert_eq!(budget.token_requests, 1);
    assert_eq!(budget.calls_used, 7, "six calls and the token request");
    assert_eq!(
        events.count(|e| matches!(
            e,
            ClientEvent::TokenRequested { request } if request.grant() == Grant::ClientCredentials
        )),
        1
    );
    // The first tokens are reported as such, not as a renewal.
    assert_eq!(
        events.count(|e| matches!(e, ClientEvent::TokensChanged { first: true, .. })),
        1
    );
    assert_eq!(
        events.count(|e| matches!(e, ClientEvent::TokensChanged { first: false, .. })),
        0
    );
    // The bearer for another library is the same token, and costs no request.
    let bearer = client.bearer().unwrap();
    assert_eq!(
        bearer.access_token().expose(),
        client.tokens().unwrap().access_token.expose()
    );
    assert_eq!(setup.token_requests(), 1);
}

fn answers_are_readable_as_text_and_json(transport: Transport) {
    let setup = Setup::new(transport);
    let client = setup.client();
    let answer = client
        .call_with(&setup.search_url(), [("query", "privacy policy")])
        .unwrap();
    assert_eq!(answer.status(), 200);
    let json: serde_json::Value = answer.body().json().unwrap();
    assert_eq!(json["query"], "privacy policy");
    assert!(answer.body().text().unwrap().starts_with('{'));
    // Any http::Request goes, with the bearer attached.
    let request = http::Request::get(setup.sandbox.search_url("terms"))
        .body(Vec::new())
        .unwrap();
    assert_eq!(client.send(request).unwrap().status(), 200);
    assert_eq!(setup.token_requests(), 1);
}

fn renewal_uses_the_refresh_token_adopts_the_rotation_and_never_resends_the_old_one(
    transport: Transport,
) {
    let (setup, events, client) = after_first_search(transport);
    for round in 1..=3 {
        setup.search_an_hour_later(&client);
        // One refresh per hour; the sandbox refuses any refresh token but the latest, so
        // successful refreshes in a row prove each rotation was adopted.
        assert_eq!(setup.grants(), (1, round), "round {round}");
        setup.search(&client);
    }

    assert_eq!(
        setup.grants(),
        (1, 3),
        "one client_credentials, then refreshes only"
    );
    assert_eq!(setup.app().tokens_issued, 4);
    assert_eq!(setup.api_calls(), 7, "no call was refused as stale");
    // A reused (rotated-away) refresh token would have been refused with invalid_grant.
    assert_eq!(
        events.count(|e| matches!(e, ClientEvent::RefreshTokenRefused)),
        0
    );
    let renewals = events.adopted_tokens();
    assert_eq!(renewals.len(), 4);
    let refresh: Vec<String> = renewals
        .iter()
        .map(|t| t.refresh_token.as_ref().unwrap().expose().to_owned())
        .collect();
    for (i, token) in refresh.iter().enumerate() {
        assert!(
            !refresh[i + 1..].contains(token),
            "each renewal rotates the refresh token"
        );
    }
    assert_eq!(
        client.tokens().unwrap().refresh_token.unwrap().expose(),
        refresh[3],
        "the latest refresh token is the one held"
    );
}

fn renews_ahead_of_expiry_within_the_leeway(transport: Transport) {
    let setup = Setup::new(transport);
    let client = setup.client();
    setup.search(&client);
    setup.sandbox.advance(HOUR - Duration::from_secs(30));
    setup.search(&client);
    assert_eq!(setup.grants(), (1, 1));
    assert_eq!(
        setup.api_calls(),
        2,
        "the old token was never sent after its renewal time"
    );
}

fn a_refused_refresh_token_falls_back_to_client_credentials_once(transport: Transport) {
    let (setup, events, client) = after_first_search(transport);
    assert!(setup.forget_refresh_token());
    setup.search_an_hour_later(&client);
    setup.search(&client);

    assert_eq!(
        setup.grants(),
        (2, 1),
        "refresh refused once, then client credentials"
    );
    assert_eq!(
        events.count(|e| matches!(e, ClientEvent::RefreshTokenRefused)),
        1
    );
    assert_eq!(setup.api_calls(), 3);
    // The fallback's tokens rotate normally afterwards.
    setup.search_an_hour_later(&client);
    assert_eq!(setup.grants(), (2, 2));
}

fn a_revoked_token_is_renewed_and_the_call_replayed_once(transport: Transport) {
    let (setup, _events, client) = after_first_search(transport);
    assert!(setup.revoke_access_token());
    setup.search(&client);

    assert_eq!(
        setup.api_calls(),
        3,
        "the first call, the refused one, the replay"
    );
    assert_eq!(setup.grants(), (1, 1), "renewed with the refresh token");
    setup.search(&client);
    assert_eq!(setup.api_calls(), 4);
    assert_eq!(setup.token_requests(), 2);
}

fn a_replay_refused_too_is_a_typed_error(transport: Transport) {
    let setup = Setup::new(transport);
    // The event callback runs before a new token is used: it revokes every renewed token (from
    // the second on), so the replay is refused too.
    let sandbox = Arc::clone(&setup.sandbox);
    let client_id = setup.keys.client_id.clone();
    let renewals = AtomicUsize::new(0);
    let client = setup
        .builder(setup.config())
        .on_event(move |event| {
            if matches!(event, ClientEvent::TokensChanged { .. })
                && renewals.fetch_add(1, Ordering::SeqCst) >= 1
            {
                sandbox
                    .revoke_access_token(&client_id)
                    .expect("the application exists");
            }
        })
        .build()
        .unwrap();
    setup.search(&client);
    assert!(setup.revoke_access_token());

    let error = setup.search_error(&client);
    assert!(
        matches!(&error, Error::TokenRefusedAfterRenewal { challenge: Some(c) } if c.contains("invalid_token")),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("refused the access token again"),
        "{error}"
    );
    assert_eq!(
        setup.api_calls(),
        3,
        "the first call, the refused call, one replay only"
    );
    assert_eq!(setup.grants(), (1, 1));
}

fn sixty_four_callers_at_expiry_cause_one_token_request(transport: Transport) {
    let (setup, events, client) = after_first_search(transport);
    setup.sandbox.advance(HOUR);

    let results = client.get_at_once(64, &setup.search_url());
    assert_eq!(results.len(), 64);
    for result in results {
        assert_eq!(result.unwrap(), 200);
    }
    assert_eq!(
        setup.grants(),
        (1, 1),
        "exactly one token request for 64 callers"
    );
    assert_eq!(setup.api_calls(), 65);
    assert_eq!(events.adopted_tokens().len(), 2);
}

fn a_waiter_that_gives_up_does_not_wedge_the_others(transport: Transport) {
    let setup = Setup::new(transport);
    let client = setup
        .builder(setup.config())
        .max_wait(Duration::from_millis(200))
        .build()
        .unwrap();
    // The first token answer is held until the waiter has given up.
    let held = setup.sandbox.hold(FaultTarget::Token, 1);
    let fetcher = client.spawn_get(&setup.search_url());
    held.wait_arrived();
    let waiter = client.get(&setup.search_url());
    assert!(
        matches!(waiter, Err(Error::WaitTimedOut { .. })),
        "the waiter gives up after max_wait: {waiter:?}"
    );
    held.release();
    assert_eq!(fetcher.join().unwrap(), 200);
    setup.search(&client);
    assert_eq!(
        setup.token_requests(),
        1,
        "the waiter sent no token request of its own"
    );
    assert_eq!(setup.api_calls(), 2);
}

fn a_wrong_secret_costs_one_token_request_a_clear_error_and_quiet_afterwards(transport: Transport) {
    let setup = Setup::new(transport);
    let config = setup.config_with_secret("wrongsecr1");
    let client = setup.builder(config).build().unwrap();

    for attempt in 0..3 {
        let error = setup.search_error(&client);
        assert!(
            matches!(error, Error::Token(ProtocolError::CredentialsRejected(_))),
            "attempt {attempt}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("refused the client credentials"),
            "{message}"
        );
        assert!(message.contains("Keys section"), "{message}");
        assert!(!message.contains(&setup.keys.client_id), "{message}");
        assert!(!message.contains("wrongsecr1") && !format!("{error:?}").contains("wrongsecr1"));
        assert!(!error.is_temporary());
    }
    for _ in 0..3 {
        assert!(setup.try_search(&client).is_err());
    }
    assert!(client.bearer().is_err());
    assert_eq!(
        setup.token_requests(),
        1,
        "no more token requests in the quiet period"
    );
    assert_eq!(setup.api_calls(), 0);

    // After the quiet period (60 s by default) it asks once more.
    setup.sandbox.advance(Duration::from_secs(61));
    assert!(setup.try_search(&client).is_err());
    assert_eq!(setup.token_requests(), 2);
}

/// The token endpoint fails twice with `fault`, then the client recovers.
fn backs_off_then_succeeds(transport: Transport, fault: Fault) {
    let setup = Setup::new(transport);
    let (events, client) = setup.recorded();
    setup.sandbox.inject(FaultTarget::Token, fault.clone(), 2);
    setup.search(&client);

    assert_eq!(
        setup.token_requests(),
        3,
        "{fault:?}: two failures, then success"
    );
    assert_eq!(setup.sandbox.counters().faults_injected, 2);
    assert_eq!(setup.api_calls(), 1);
    assert_eq!(
        events.count(|e| matches!(e, ClientEvent::TokenRequestFailed { .. })),
        2,
        "{fault:?}"
    );
    assert_eq!(
        events.waits(WaitCause::Backoff),
        2,
        "{fault:?}: it backed off before each retry"
    );
}

fn a_token_endpoint_500_is_retried_after_backoff(transport: Transport) {
    backs_off_then_succeeds(transport, Fault::ServerError);
}

fn a_token_endpoint_503_page_is_retried_after_backoff(transport: Transport) {
    backs_off_then_succeeds(transport, Fault::ServiceUnavailable);
}

fn a_token_endpoint_502_html_page_is_retried_after_backoff(transport: Transport) {
    backs_off_then_succeeds(transport, Fault::BadGateway);
}

fn a_token_endpoint_connection_reset_is_retried_after_backoff(transport: Transport) {
    backs_off_then_succeeds(transport, Fault::ConnectionReset);
}

fn a_token_endpoint_truncated_body_is_retried_after_backoff(transport: Transport) {
    backs_off_then_succeeds(transport, Fault::TruncatedBody);
}

fn token_endpoint_retries_are_bounded(transport: Transport) {
    for fault in [Fault::ServerError, Fault::ServiceUnavailable] {
        let setup = Setup::new(transport);
        let client = setup.client();
        setup.sandbox.inject(FaultTarget::Token, fault.clone(), 100);
        let error = setup.search_error(&client);
        assert!(
            matches!(
                error,
                Error::Token(ProtocolError::Unavailable { attempts: 4, .. })
            ),
            "{fault:?}: {error:?}"
        );
        assert!(error.is_temporary());
        assert!(error.to_string().contains("asks again after"), "{error}");
        assert_eq!(
            setup.token_requests(),
            4,
            "{fault:?}: the first attempt and three retries"
        );
        // The failure is repeated without asking again until the backoff has passed.
        let again = setup.search_error(&client);
        assert!(
            matches!(again, Error::Token(ProtocolError::Unavailable { .. })),
            "{again:?}"
        );
        assert_eq!(
            setup.token_requests(),
            4,
            "{fault:?}: none while the failure is reported"
        );
        assert_eq!(setup.api_calls(), 0);
    }
}

fn over_qps_waits_retry_after_and_succeeds(transport: Transport) {
    let setup = Setup::with(
        transport,
        SandboxConfig::default().plan(PlanLimits {
            calls_per_day: 1_000_000,
            queries_per_second: 1,
        }),
    );
    // The client does not know the QPS limit: the gateway tells it.
    let (events, client) = setup.recorded();
    for _ in 0..3 {
        setup.search(&client);
    }
    let denied = setup.app().denied_over_qps;
    assert!(denied >= 1, "the gateway refused some calls as over QPS");
    assert_eq!(
        setup.api_calls(),
        3 + denied,
        "each refused call was sent again"
    );
    assert_eq!(
        events.waits(WaitCause::RetryAfter) as u64,
        denied,
        "each refusal was waited out"
    );
    assert_eq!(setup.token_requests(), 1);
}

fn the_gateways_over_rate_is_a_typed_quota_error_with_the_reset_time(transport: Transport) {
    let at = an_hour_before_midnight();
    let plan = PlanLimits {
        calls_per_day: 3,
        queries_per_second: 0,
    };
    let setup = Setup::fixed(transport, plan, at);
    // The client does not know the plan: the gateway tells it.
    let client = setup.client();
    setup.search(&client);
    setup.search(&client);
    let error = setup.search_error(&client);
    let midnight = at + HOUR;
    assert_eq!(error.quota_resets_at(), Some(midnight), "{error:?}");
    assert!(
        error.to_string().contains("daily call quota is spent"),
        "{error}"
    );
    assert_eq!(setup.app().denied_over_rate, 1);
    // Nothing more is sent until the reset.
    let calls = setup.api_calls();
    let again = setup.search_error(&client);
    assert_eq!(again.quota_resets_at(), Some(midnight), "{again:?}");
    assert_eq!(setup.api_calls(), calls);
    setup.search_an_hour_later(&client);
}

fn an_enforced_budget_sends_nothing_once_spent(transport: Transport) {
    let at = an_hour_before_midnight();
    let setup = Setup::fixed(transport, roomy_plan(), at);
    let config = setup
        .config()
        .plan(Plan {
            calls_per_day: Some(8),
            ..Plan::default()
        })
        .budget_mode(BudgetMode::Enforce);
    let client = setup.builder(config).build().unwrap();

    let mut succeeded = 0;
    let error = loop {
        match setup.try_search(&client) {
            Ok(answer) => {
                assert_eq!(answer.status(), 200);
                succeeded += 1;
            }
            Err(error) => break error,
        }
        assert!(succeeded < 8, "the budget must stop the calls");
    };
    assert_eq!(error.quota_resets_at(), Some(at + HOUR), "{error:?}");
    assert!(error.to_string().contains("quota"), "{error}");
    assert!(succeeded >= 1);
    assert_eq!(
        setup.api_calls(),
        succeeded,
        "the refused call was never sent"
    );
    let budget = client.budget();
    assert_eq!(budget.calls_allowed, Some(8));
    assert!(
        budget.calls_used + budget.reserved_for_tokens >= 8,
        "{budget:?}"
    );
    for _ in 0..3 {
        assert!(setup.try_search(&client).is_err());
    }
    assert_eq!(setup.api_calls(), succeeded);
    assert_eq!(setup.token_requests(), 1);
    assert!(setup.token_requests() + setup.api_calls() <= 8);
}

fn the_store_sees_every_rotation_in_order_before_the_token_is_used(transport: Transport) {
    let setup = Setup::new(transport);
    // At each save: how many API calls the sandbox had received.
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = Arc::new(MemoryStore {
        on_save: Some({
            let (sandbox, seen) = (Arc::clone(&setup.sandbox), Arc::clone(&seen));
            Box::new(move |_| seen.lock().unwrap().push(sandbox.counters().api_calls))
        }),
        ..MemoryStore::default()
    });
    let client = setup.store_builder(&store).build().unwrap();
    for round in 0..4 {
        setup.search(&client);
        setup.search(&client);
        let saved = store.saved();
        assert_eq!(saved.len(), round + 1, "one save per rotation");
        // The token the client sends is the latest saved.
        let current = client.tokens().unwrap();
        assert_eq!(
            saved.last().unwrap().access_token.expose(),
            current.access_token.expose()
        );
        setup.sandbox.advance(HOUR);
    }

    // Each save came before any call with the new token: 0, 2, 4 and 6 calls had been made.
    assert_eq!(*seen.lock().unwrap(), [0, 2, 4, 6]);
    assert_eq!(setup.grants(), (1, 3));
    let saved = store.saved();
    assert_eq!(saved.len(), 4);
    for pair in saved.windows(2) {
        assert!(pair[0].expires_at < pair[1].expires_at, "saved in order");
        assert_ne!(
            pair[0].refresh_token.as_ref().unwrap().expose(),
            pair[1].refresh_token.as_ref().unwrap().expose()
        );
    }
    assert_eq!(
        client.tokens().unwrap().refresh_token.unwrap().expose(),
        saved[3].refresh_token.as_ref().unwrap().expose()
    );
}

fn a_new_client_starts_from_the_saved_tokens(transport: Transport) {
    let setup = Setup::new(transport);
    let store = Arc::new(MemoryStore::default());
    let first = setup.store_builder(&store).build().unwrap();
    setup.search(&first);
    drop(first);

    let second = setup.store_builder(&store).build().unwrap();
    setup.search(&second);
    assert_eq!(setup.token_requests(), 1, "the saved token was used as is");
    setup.search_an_hour_later(&second);
    assert_eq!(
        setup.grants(),
        (1, 1),
        "and the saved refresh token renewed it"
    );
    assert_eq!(store.saved().len(), 2);
}

fn a_failing_store_is_reported_and_the_tokens_still_used(transport: Transport) {
    let setup = Setup::new(transport);
    let store = Arc::new(MemoryStore::default());
    store.fail.store(true, Ordering::SeqCst);
    let events = Recorder::default();
    let client = setup
        .store_builder(&store)
        .recorded(&events)
        .build()
        .unwrap();
    setup.search_twice_on_one_token(&client);
    let failures: Vec<String> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::StoreFailed { operation, message } => {
                assert_eq!(operation, StoreOperation::Save);
                Some(message)
            }
            _ => None,
        })
        .collect();
    assert_eq!(failures, ["the disk is full"]);
}

fn bearer_hands_out_the_token_without_counting_a_call(transport: Transport) {
    let setup = Setup::new(transport);
    let client = setup.client();
    let bearer = client.bearer().unwrap();
    let again = client.bearer().unwrap();
    assert!(bearer.access_token().same_as(again.access_token()));
    assert!(
        !format!("{bearer:?}").contains(bearer.access_token().expose()),
        "{bearer:?}"
    );
    assert_eq!(client.budget().calls_used, 1, "the token request only");
    assert_eq!(setup.token_requests(), 1);
    assert_eq!(setup.api_calls(), 0);
}

/// A program calls through another HTTP library with `client.bearer()`; the sandbox revokes
/// the token; that library sees the 401 and the program reports it: one renewal, and a report
/// of the same old token again renews nothing.
fn another_librarys_401_reported_renews_the_token_once(transport: Transport) {
    let setup = Setup::new(transport);
    let client = setup.client();
    let other_library = ::ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let call = |bearer: &bearer_client::Bearer| {
        other_library
            .get(setup.sandbox.search_url("privacy"))
            .header("authorization", bearer.header_value().to_str().unwrap())
            .call()
            .unwrap()
    };
    let first = client.bearer().unwrap();
    assert_eq!(call(&first).status(), 200);
    assert!(setup.revoke_access_token());
    let refused = call(&first);
    assert_eq!(refused.status(), 401);
    let verdict = client.report(&first, refused.status(), refused.headers());
    assert!(
        matches!(verdict, bearer_client::protocol::ApiVerdict::Replay),
        "{verdict:?}"
    );
    let renewed = client.bearer().unwrap();
    assert!(!renewed.access_token().same_as(first.access_token()));
    assert_eq!(call(&renewed).status(), 200);
    // The old token reported again (a late answer of that library): nothing more.
    let _ = client.report(&first, refused.status(), refused.headers());
    let again = client.bearer().unwrap();
    assert!(again.access_token().same_as(renewed.access_token()));
    assert_eq!(setup.grants(), (1, 1), "one renewal, by refresh");
}

/// `invalidate` without an answer at hand: renewed once, and an invalidated older token
/// changes nothing.
fn an_invalidated_token_is_renewed_once(transport: Transport) {
    let setup = Setup::new(transport);
    let client = setup.client();
    let first = client.bearer().unwrap();
    client.invalidate(&first);
    client.invalidate(&first);
    let second = client.bearer().unwrap();
    assert!(!second.access_token().same_as(first.access_token()));
    client.invalidate(&first);
    let third = client.bearer().unwrap();
    assert!(third.access_token().same_as(second.access_token()));
    assert_eq!(setup.token_requests(), 2);
}

fn https_with_the_sandboxs_test_ca(transport: Transport) {
    let setup = Setup::with(
        transport,
        SandboxConfig::default().plan(roomy_plan()).tls(true),
    );
    assert!(setup.sandbox.token_url().starts_with("https://"));
    let ca = setup.sandbox.ca_pem().expect("a test CA").to_owned();
    let client = setup
        .builder(setup.config())
        .root_certificates_pem(&ca)
        .build()
        .unwrap();
    setup.search_twice_on_one_token(&client);
    // Renewal over HTTPS too.
    setup.search_an_hour_later(&client);
    assert_eq!(setup.grants(), (1, 1));
    assert_eq!(setup.api_calls(), 3);
}

fn https_refuses_a_server_whose_ca_is_not_trusted(transport: Transport) {
    let setup = Setup::with(
        transport,
        SandboxConfig::default().plan(roomy_plan()).tls(true),
    );
    // The Mozilla roots do not include the sandbox's test CA: no token, a clear error that says
    // so, not retried.
    let client = setup.client();
    let error = setup.search_error(&client);
    assert!(
        matches!(
            &error,
            Error::Token(ProtocolError::Untrusted(failure))
                if failure.kind == TransportFailureKind::Certificate(
                    CertificateProblem::UnknownIssuer
                )
        ),
        "{error:?}"
    );
    assert!(!error.is_temporary());
    assert!(
        error
            .to_string()
            .contains("authority this client does not trust"),
        "{error}"
    );
    assert!(client.bearer().is_err());
    assert_eq!(setup.token_requests(), 0, "no request got through TLS");
    assert_eq!(setup.api_calls(), 0);
}

fn a_certificate_that_is_not_pem_is_a_settings_error(transport: Transport) {
    let setup = Setup::new(transport);
    let error = match setup
        .builder(setup.config())
        .root_certificates_pem("not a certificate")
        .build()
    {
        Err(error) => error,
        Ok(_) => panic!("a certificate that is not PEM is refused"),
    };
    assert!(
        matches!(
            error,
            Error::Settings {
                setting: "root_certificates_pem",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("root_certificates_pem"),
        "{error}"
    );
}

fn no_token_or_secret_in_any_debug_or_display(transport: Transport) {
    let (setup, events, client) = after_first_search(transport);
    setup.search_an_hour_later(&client);
    let renewals = events.adopted_tokens();
    assert_eq!(renewals.len(), 2);
    let secrets = secrets(&setup.keys, &renewals);

    let mut texts = vec![
        client.debug(),
        client.attachment_debug(),
        format!("{:?}", client.tokens()),
        format!("{:#?}", client.tokens()),
        format!("{:?}", client.bearer().unwrap()),
        format!("{:#?}", client.bearer().unwrap()),
        format!("{:?}", client.budget()),
        format!("{:?}", events.all()),
        format!("{:#?}", events.all()),
    ];
    texts.extend(events.all().iter().map(ToString::to_string));
    // A gateway that echoes every secret in its denial: the error still shows none.
    let basic = STANDARD.encode(format!(
        "{}:{}",
        setup.keys.client_id, setup.keys.client_secret
    ));
    let echo = format!("{} basic {basic}", secrets.join(" and "));
    let echoing = Fault::headers([
        ("X-Mashery-Error-Code", "ERR_403_NOT_AUTHORIZED"),
        ("X-Error-Detail-Header", echo.as_str()),
    ])
    .unwrap();
    setup.sandbox.inject(FaultTarget::Api, echoing, 1);
    let denied = setup.search_error(&client);
    assert!(
        matches!(
            denied,
            Error::Token(bearer_client::protocol::Error::Denied(_))
        ),
        "{denied:?}"
    );
    assert!(denied.to_string().contains("[redacted]"), "{denied}");
    texts.extend([
        denied.to_string(),
        format!("{denied:?}"),
        format!("{denied:#?}"),
    ]);
    let mut secrets = secrets;
    secrets.push(basic);
    let wrong = setup
        .builder(setup.config_with_secret("wrongsecr1"))
        .build()
        .unwrap();
    let error = setup.search_error(&wrong);
    texts.push(error.to_string());
    texts.push(format!("{error:?}"));
    texts.push(format!("{error:#?}"));
    for text in &texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into {text}"
            );
        }
        assert!(!text.contains("wrongsecr1"), "{text}");
    }
}

fn the_token_never_travels_over_plain_http_off_loopback(transport: Transport) {
    let (setup, _events, client) = after_first_search(transport);
    let used = client.budget().calls_used;
    match client.get("http://api.example.com/v1/searchoauth") {
        Err(Error::PlainHttp { target }) => {
            assert_eq!(target, "http://api.example.com/v1/searchoauth");
        }
        other => panic!("expected a refusal of plain http, got {other:?}"),
    }
    // Refused before anything was asked or counted.
    assert_eq!(client.budget().calls_used, used);
    assert_eq!((setup.token_requests(), setup.api_calls()), (1, 1));
    // Plain http to this machine is fine: the sandbox is on 127.0.0.1.
    setup.search(&client);
}

fn tokens_saved_for_another_application_are_not_used(transport: Transport) {
    let setup = Setup::new(transport);
    let store = Arc::new(MemoryStore::default());
    let first = setup.store_builder(&store).build().unwrap();
    setup.search(&first);
    // Another application of the same developer, sharing the store by mistake.
    let other = setup.sandbox.create_app().unwrap();
    let config = bearer_client::Config::builder(
        setup.sandbox.token_url(),
        other.client_id.as_str(),
        other.client_secret.as_str(),
    );
    let events = Recorder::default();
    let second = setup
        .builder(config)
        .shared_store(Arc::clone(&store) as Arc<dyn bearer_client::TokenStore>)
        .recorded(&events)
        .build()
        .unwrap();
    let refusals = events.count(|event| {
        matches!(
            event,
            ClientEvent::StoreFailed { operation: StoreOperation::Load, message }
                if message.contains(&format!("issued to client id {}", setup.keys.client_id))
        )
    });
    assert_eq!(refusals, 1, "{:?}", events.all());
    // It gets a token of its own rather than the other application's.
    setup.search(&second);
    let tokens = second.tokens().expect("its own tokens");
    assert_eq!(tokens.issued_to.client_id.expose(), other.client_id);
    assert_eq!(setup.token_requests(), 2);
}
