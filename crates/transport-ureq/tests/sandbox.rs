//! The client against the sandbox over real HTTP on 127.0.0.1, one module per scenario of
//! issue 4. Every scenario checks the sandbox's own counters as well as the client's results.
//! Time moves by advancing the sandbox's clock, which the client shares; nothing sleeps to wait
//! for an expiry.

mod common;

use bearer_protocol::{BudgetMode, Grant};
use bearer_transport_ureq::{ClientEvent, Error, WaitCause};
use common::*;
use std::time::Duration;

mod first_call_and_reuse {
    use super::*;

    #[test]
    fn first_call_gets_a_token_and_later_calls_reuse_it() {
        let (setup, events, client) = recorded();
        for _ in 0..5 {
            setup.search(&client);
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
                ClientEvent::TokenRequested {
                    grant: Grant::ClientCredentials
                }
            )),
            1
        );
        // The bearer for another library is the same token, and costs no request.
        let bearer = client.bearer().unwrap();
        assert_eq!(
            bearer.access_token().expose(),
            client.tokens().unwrap().access_token.expose()
        );
        assert_eq!(setup.token_requests(), 1);
    }

    #[test]
    fn answers_are_readable_as_text_and_json() {
        let setup = setup();
        let client = setup.client(&Recorder::default());
        let answer = client
            .get(&setup.search_url(), [("query", "privacy policy")])
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
}

mod renewal_after_expiry {
    use super::*;

    #[test]
    fn renewal_uses_the_refresh_token_adopts_the_rotation_and_never_resends_the_old_one() {
        let (setup, events, client) = after_first_search();
        for _ in 0..3 {
            setup.search_an_hour_later(&client);
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
        let renewals = events.renewals();
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

    #[test]
    fn renews_ahead_of_expiry_within_the_leeway() {
        let setup = setup();
        let client = setup.client(&Recorder::default());
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
}

mod refused_refresh_token {
    use super::*;

    #[test]
    fn a_forgotten_refresh_token_falls_back_to_client_credentials_once() {
        let (setup, events, client) = after_first_search();
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
}

mod revoked_access_token {
    use super::*;

    #[test]
    fn a_revoked_token_is_renewed_and_the_call_replayed_once() {
        let (setup, _events, client) = after_first_search();
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

    #[test]
    fn a_replay_refused_too_is_a_typed_error() {
        let setup = setup();
        // The event callback runs before a new token is used: it revokes every renewed token
        // (from the second on) through the sandbox's admin route, so the replay is refused too.
        let revoke_url = setup.sandbox.url(&format!(
            "/admin/applications/{}/revoke-access-token",
            setup.keys.client_id
        ));
        let admin_key = setup.sandbox.admin_key().to_owned();
        let renewals = std::sync::atomic::AtomicUsize::new(0);
        let client = setup
            .client_builder(setup.config())
            .on_event(move |event| {
                if matches!(event, ClientEvent::TokensRenewed { .. })
                    && renewals.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1
                {
                    ureq::post(&revoke_url)
                        .header("x-admin-key", &admin_key)
                        .send_empty()
                        .expect("the admin route answers");
                }
            })
            .build()
            .unwrap();
        setup.search(&client);
        setup.revoke_access_token();

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
}

mod single_flight {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn sixty_four_threads_at_the_moment_of_expiry_cause_one_token_request() {
        let (setup, events, client) = after_first_search();
        setup.sandbox.advance(HOUR);

        let barrier = Barrier::new(64);
        std::thread::scope(|scope| {
            for _ in 0..64 {
                let client = client.clone();
                let (setup, barrier) = (&setup, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    setup.search(&client);
                });
            }
        });

        assert_eq!(
            setup.grants(),
            (1, 1),
            "exactly one token request for 64 threads"
        );
        assert_eq!(setup.api_calls(), 65);
        assert_eq!(events.renewals().len(), 2);
    }

    #[test]
    fn a_waiter_that_gives_up_does_not_wedge_the_others() {
        let setup = setup();
        let client = setup
            .client_builder(setup.config())
            .max_wait(Duration::from_millis(200))
            .build()
            .unwrap();
        // The first token answer is held until the waiter has given up.
        let held = setup.sandbox.hold(bearer_sandbox::FaultTarget::Token, 1);
        std::thread::scope(|scope| {
            let fetcher = scope.spawn(|| client.get(&setup.search_url(), [("query", "a")]));
            held.wait_arrived();
            let waiter = client.get(&setup.search_url(), [("query", "b")]);
            assert!(
                matches!(waiter, Err(Error::WaitTimedOut { .. })),
                "the waiter gives up after max_wait: {waiter:?}"
            );
            held.release();
            assert_eq!(fetcher.join().unwrap().unwrap().status(), 200);
        });
        setup.search(&client);
        assert_eq!(
            setup.token_requests(),
            1,
            "the waiter sent no token request of its own"
        );
        assert_eq!(setup.api_calls(), 2);
    }
}

mod wrong_secret {
    use super::*;

    #[test]
    fn one_token_request_a_clear_error_and_quiet_afterwards() {
        let setup = setup();
        let config = setup.config_with_secret("wrongsecr1");
        let client = setup.client_builder(config).build().unwrap();

        let error = setup.search_error(&client);
        assert!(
            matches!(
                error,
                Error::Token(bearer_protocol::Error::CredentialsRejected(_))
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("refused the client credentials"),
            "{message}"
        );
        assert!(message.contains("Keys section"), "{message}");
        assert!(!message.contains("wrongsecr1") && !format!("{error:?}").contains("wrongsecr1"));
        assert!(!error.is_temporary());

        for _ in 0..5 {
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
}

mod token_endpoint_faults {
    use super::*;
    use bearer_sandbox::{Fault, FaultTarget};

    fn backs_off_then_succeeds(fault: Fault) {
        let (setup, events, client) = recorded();
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

    /// One test a fault: the token endpoint fails twice that way, then the client recovers.
    macro_rules! backs_off_then_succeeds {
        ($($name:ident: $fault:expr;)*) => {$(
            #[test]
            fn $name() {
                backs_off_then_succeeds($fault);
            }
        )*};
    }

    backs_off_then_succeeds! {
        a_500_is_retried_after_backoff: Fault::ServerError;
        a_503_gateway_page_is_retried_after_backoff: Fault::ServiceUnavailable;
        a_502_html_page_is_retried_after_backoff: Fault::BadGateway;
        a_connection_reset_is_retried_after_backoff: Fault::ConnectionReset;
        a_truncated_body_is_retried_after_backoff: Fault::TruncatedBody;
    }

    #[test]
    fn retries_are_bounded() {
        let setup = setup();
        let client = setup.client(&Recorder::default());
        setup
            .sandbox
            .inject(FaultTarget::Token, Fault::ServiceUnavailable, 100);
        let error = setup.search_error(&client);
        assert!(
            matches!(
                error,
                Error::Token(bearer_protocol::Error::Unavailable { attempts: 4, .. })
            ),
            "{error:?}"
        );
        assert!(error.is_temporary());
        assert!(error.to_string().contains("asks again after"), "{error}");
        assert_eq!(
            setup.token_requests(),
            4,
            "the first attempt and three retries"
        );
        assert!(setup.try_search(&client).is_err());
        assert_eq!(
            setup.token_requests(),
            4,
            "none while the failure is reported"
        );
        assert_eq!(setup.api_calls(), 0);
    }
}

mod over_qps {
    use super::*;

    #[test]
    fn waits_retry_after_and_succeeds() {
        let setup = setup_with(bearer_sandbox::SandboxConfig::default().plan(
            bearer_sandbox::Plan {
                calls_per_day: 1_000_000,
                queries_per_second: 1,
            },
        ));
        let events = Recorder::default();
        // The client does not know the QPS limit: the gateway tells it.
        let client = setup.client(&events);
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
}

mod daily_quota {
    use super::*;

    #[test]
    fn the_gateway_saying_over_rate_is_a_typed_error_with_the_reset_time() {
        let at = an_hour_before_midnight();
        let setup = setup_fixed(
            bearer_sandbox::Plan {
                calls_per_day: 3,
                queries_per_second: 0,
            },
            at,
        );
        let client = setup.client(&Recorder::default());
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
        assert!(setup.try_search(&client).is_err());
        assert_eq!(setup.api_calls(), calls);
        setup.search_an_hour_later(&client);
    }

    #[test]
    fn in_enforcing_mode_nothing_is_sent_once_the_budget_is_spent() {
        let at = an_hour_before_midnight();
        let setup = setup_fixed(roomy_plan(), at);
        let config = setup
            .config()
            .plan(bearer_protocol::Plan {
                calls_per_day: Some(8),
                ..bearer_protocol::Plan::default()
            })
            .budget_mode(BudgetMode::Enforce);
        let client = setup.client_builder(config).build().unwrap();

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
    }
}

mod persistence {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    #[test]
    fn the_store_sees_every_rotation_in_order_before_the_token_is_used() {
        let setup = setup();
        let store = Arc::new(MemoryStore::default());
        let client = setup.store_builder(&store).build().unwrap();
        // A program's own agent: the bearer middleware, then a check that every token sent was
        // saved already, and was the latest saved.
        let checked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (seen_store, seen) = (store.clone(), checked.clone());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .middleware(client.middleware())
            .middleware(
                move |request: http::Request<ureq::SendBody>,
                      next: ureq::middleware::MiddlewareNext| {
                    let sent = request.headers()["authorization"]
                        .to_str()
                        .unwrap()
                        .to_owned();
                    let saved = seen_store.saved.lock().unwrap();
                    let latest = saved.last().expect("a token was saved before any was sent");
                    assert_eq!(sent, format!("Bearer {}", latest.access_token.expose()));
                    drop(saved);
                    seen.fetch_add(1, Ordering::SeqCst);
                    next.handle(request)
                },
            )
            .build()
            .into();
        let search = setup.sandbox.search_url("privacy");
        for _ in 0..4 {
            agent.get(&search).call().unwrap();
            setup.search(&client);
            setup.sandbox.advance(HOUR);
        }

        assert_eq!(checked.load(Ordering::SeqCst), 4);
        assert_eq!(setup.grants(), (1, 3));
        let saved = store.saved.lock().unwrap().clone();
        assert_eq!(saved.len(), 4, "one save per rotation");
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

    #[test]
    fn a_new_client_starts_from_the_saved_tokens() {
        let setup = setup();
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
        assert_eq!(store.saved.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_failing_store_is_reported_and_the_tokens_still_used() {
        let setup = setup();
        let store = Arc::new(MemoryStore::default());
        store.fail.store(true, Ordering::SeqCst);
        let events = Recorder::default();
        let client = setup
            .store_builder(&store)
            .on_event(events.callback())
            .build()
            .unwrap();
        setup.search(&client);
        setup.search(&client);
        assert_eq!(setup.token_requests(), 1);
        assert_eq!(setup.api_calls(), 2);
        let failures: Vec<String> = events
            .all()
            .into_iter()
            .filter_map(|e| match e {
                ClientEvent::StoreFailed { operation, message } => {
                    assert_eq!(operation, bearer_transport_ureq::StoreOperation::Save);
                    Some(message)
                }
                _ => None,
            })
            .collect();
        assert_eq!(failures, ["the disk is full"]);
    }
}

mod middleware {
    use super::*;

    #[test]
    fn a_programs_own_agent_gets_bearer_auth_in_one_line() {
        let setup = setup();
        let client = setup.client(&Recorder::default());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .middleware(client.middleware())
            .build()
            .into();
        for _ in 0..3 {
            let text = agent
                .get(setup.sandbox.search_url("privacy"))
                .call()
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap();
            assert!(text.contains("\"query\":\"privacy\""), "{text}");
        }
        assert_eq!(setup.token_requests(), 1);
        assert_eq!(setup.api_calls(), 3);
        assert_eq!(
            client.budget().calls_used,
            4,
            "the agent's calls are counted too"
        );

        // A revoked token: the 401 comes back as the agent would give it, and the next call
        // goes with a renewed token.
        setup.revoke_access_token();
        let refused = agent.get(setup.sandbox.search_url("privacy")).call();
        assert!(
            matches!(refused, Err(ureq::Error::StatusCode(401))),
            "{refused:?}"
        );
        agent
            .get(setup.sandbox.search_url("privacy"))
            .call()
            .unwrap();
        assert_eq!(setup.grants(), (1, 1));
    }
}

mod tls {
    use super::*;

    #[test]
    fn https_with_the_sandboxs_test_ca() {
        let setup = setup_with(
            bearer_sandbox::SandboxConfig::default()
                .plan(roomy_plan())
                .tls(true),
        );
        assert!(setup.sandbox.token_url().starts_with("https://"));
        let ca = setup.sandbox.ca_pem().expect("a test CA").to_owned();
        let client = setup
            .client_builder(setup.config())
            .root_certificates_pem(&ca)
            .build()
            .unwrap();
        setup.search(&client);
        setup.search(&client);
        assert_eq!(setup.token_requests(), 1);
        assert_eq!(setup.api_calls(), 2);

        // Without the test CA the certificate is not trusted: no token, a clear error that
        // says so, not retried.
        let untrusting = setup.client_builder(setup.config()).build().unwrap();
        let error = setup.search_error(&untrusting);
        assert!(
            matches!(
                &error,
                Error::Token(bearer_protocol::Error::Untrusted(failure))
                    if failure.kind == bearer_protocol::TransportFailureKind::Certificate(
                        bearer_protocol::CertificateProblem::UnknownIssuer
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
        assert_eq!(
            setup.token_requests(),
            1,
            "no TLS handshake succeeded, nothing reached it"
        );
    }

    #[test]
    fn a_certificate_that_is_not_pem_is_a_settings_error() {
        let setup = setup();
        let error = setup
            .client_builder(setup.config())
            .root_certificates_pem("not a certificate")
            .build()
            .unwrap_err();
        assert!(
            error.to_string().contains("root_certificates_pem"),
            "{error}"
        );
    }
}

mod secrets_stay_secret {
    use super::*;

    #[test]
    fn no_token_or_secret_in_any_debug_or_display() {
        let (setup, events, client) = after_first_search();
        setup.search_an_hour_later(&client);
        let renewals = events.renewals();
        let secrets = secrets(&setup.keys, &renewals);

        let mut texts = vec![
            format!("{client:?}"),
            format!("{:?}", client.tokens()),
            format!("{:?}", client.bearer().unwrap()),
            format!("{:?}", client.budget()),
            format!("{:?}", client.middleware()),
            format!("{:?}", events.all()),
        ];
        let wrong = setup
            .client_builder(setup.config_with_secret("wrongsecr1"))
            .build()
            .unwrap();
        let error = setup.search_error(&wrong);
        texts.push(error.to_string());
        texts.push(format!("{error:?}"));
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
}
