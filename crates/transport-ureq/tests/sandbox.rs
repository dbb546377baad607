//! What only the ureq transport has, against the sandbox over real HTTP on 127.0.0.1: the
//! bearer middleware on a program's own agent. The scenario list both transports share is
//! written once, in the root package's `tests/scenarios.rs`, and runs over this client there.

mod common;

use common::*;

mod middleware {
    use super::*;

    #[test]
    fn a_programs_own_agent_gets_bearer_auth_in_one_line() {
        let setup = setup();
        let client = setup.client();
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
        let counters = setup.sandbox.counters();
        assert_eq!((counters.token_requests, counters.api_calls), (1, 3));
        assert_eq!(
            client.budget().calls_used,
            4,
            "the agent's calls are counted too"
        );

        // A revoked token: the 401 comes back as the agent would give it, and the next call
        // goes with a renewed token.
        assert!(setup.revoke_access_token());
        let refused = agent.get(setup.sandbox.search_url("privacy")).call();
        assert!(
            matches!(refused, Err(ureq::Error::StatusCode(401))),
            "{refused:?}"
        );
        agent
            .get(setup.sandbox.search_url("privacy"))
            .call()
            .unwrap();
        let grants = setup.sandbox.counters().token_requests_by_grant;
        assert_eq!((grants.client_credentials, grants.refresh_token), (1, 1));
    }

    #[test]
    fn the_program_s_agent_keeps_its_own_user_agent_and_time_out() {
        let (base, heads) = raw_server();
        // The bearer client's own time-out is an hour: a call through the middleware that
        // took it instead of the agent's 300 ms would outlast the test's bound.
        let client = raw_client(&base);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .user_agent("mine/1.0")
            .timeout_global(Some(std::time::Duration::from_millis(300)))
            .middleware(client.middleware())
            .build()
            .into();
        agent.get(format!("{base}/v1/a")).call().unwrap();
        let (done, outcome) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(agent.get(format!("{base}/v1/silent")).call().map(|_| ()));
        });
        let silent = outcome
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the agent's time-out held");
        assert!(matches!(silent, Err(ureq::Error::Timeout(_))), "{silent:?}");
        let heads = heads.lock().unwrap().clone();
        assert_eq!(heads.len(), 3, "token, call, held call: {heads:?}");
        for head in &heads[1..] {
            assert!(head.contains("user-agent: mine/1.0"), "{head}");
            assert!(!head.contains("bearer/"), "{head}");
            assert!(
                head.contains("authorization: bearer a1b2c3d4e5f6g7h8"),
                "{head}"
            );
        }
    }
}
