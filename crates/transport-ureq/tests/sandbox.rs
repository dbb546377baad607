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
}
