//! The quota budget of a process in a fleet: what the gateway counted for the credential, the
//! other processes' calls and token requests included, against the sandbox over real HTTP.

use bearer_client::Config;
use bearer_client::blocking::Client;
use bearer_client::store::FileStore;
use bearer_sandbox::{AppKeys, Sandbox, SandboxConfig};
use std::path::Path;
use std::time::Duration;

/// A client of `keys` on the sandbox's clock, sharing the fleet store in `dir`.
fn client(sandbox: &Sandbox, keys: &AppKeys, dir: &Path) -> Client {
    let config = Config::builder(
        sandbox.token_url(),
        keys.client_id.as_str(),
        keys.client_secret.as_str(),
    )
    .build()
    .unwrap();
    Client::builder(config)
        .clock(sandbox.clock())
        .fleet_store(FileStore::new(dir).unwrap())
        .build()
        .unwrap()
}

/// A search through `client`: must be a 200.
fn search(client: &Client, sandbox: &Sandbox) {
    let answer = client
        .get(&sandbox.search_url("privacy"), [("", ""); 0])
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// What the gateway counted against the quota: token requests and API calls.
fn gateway_count(sandbox: &Sandbox) -> u64 {
    let counters = sandbox.counters();
    counters.token_requests + counters.api_calls
}

#[test]
fn each_run_s_budget_counts_every_call_and_token_request_the_gateway_counted() {
    let sandbox = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let keys = sandbox.create_app().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for run in 1..=3 {
        let client = client(&sandbox, &keys, dir.path());
        search(&client, &sandbox);
        search(&client, &sandbox);
        let counters = sandbox.counters();
        assert_eq!(
            counters.token_requests, 1,
            "run {run}: the first run's token serves"
        );
        assert_eq!(
            client.budget().calls_used,
            gateway_count(&sandbox),
            "run {run}: the earlier runs' calls and token request are counted"
        );
        // Dropped: its calls are written to the fleet's count of the day.
    }
}

#[test]
fn a_process_that_adopts_another_s_renewal_keeps_its_own_calls_not_yet_written() {
    let sandbox = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let keys = sandbox.create_app().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = client(&sandbox, &keys, dir.path());
    for _ in 0..3 {
        search(&first, &sandbox);
    }
    // Another process renews once the token has expired, and exits (its calls written).
    let second = client(&sandbox, &keys, dir.path());
    search(&second, &sandbox);
    sandbox.advance(Duration::from_secs(3600));
    search(&second, &sandbox);
    drop(second);
    assert_eq!(sandbox.counters().token_requests, 2);
    // The first process's three calls are in no record yet: it adopts the renewed token and
    // the fleet's counts, and adds its own.
    search(&first, &sandbox);
    assert_eq!(
        sandbox.counters().token_requests,
        2,
        "the renewal was adopted"
    );
    assert_eq!(first.budget().calls_used, gateway_count(&sandbox));
}
