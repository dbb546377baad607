//! The client's metrics in the Prometheus text format: a short story against the in-process
//! sandbox (a first token, calls, an hour later a renewal, a revoked token replayed), then the
//! `bearer_*` metrics as a Prometheus scrape would read them.
//!
//! ```sh
//! cargo run --example metrics --features metrics
//! ```
//!
//! The client records through the `metrics` facade; this example installs
//! `metrics-exporter-prometheus`'s recorder (any other recorder works the same) before it
//! builds the client, and prints the rendered text at the end.

use bearer_client::blocking::Client;
use bearer_client::{Config, Plan};
use bearer_sandbox::{SEARCH_PATH, Sandbox, SandboxConfig};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use std::process::ExitCode;
use std::time::Duration;

type Failure = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    match story() {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("metrics: {error}");
            ExitCode::FAILURE
        }
    }
}

fn story() -> Result<String, Failure> {
    // Token requests take milliseconds on loopback, seconds at worst.
    let prometheus = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("bearer_token_request_duration_seconds".to_owned()),
            &[
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ],
        )?
        .install_recorder()?;

    let sandbox = Sandbox::start_blocking(SandboxConfig::default())?;
    let keys = sandbox.create_app()?;
    let config = Config::builder(
        sandbox.token_url(),
        keys.client_id.as_str(),
        keys.client_secret.as_str(),
    )
    .plan(Plan {
        calls_per_day: Some(5000),
        ..Plan::default()
    })
    .build()?;
    let client = Client::builder(config).clock(sandbox.clock()).build()?;
    let search = sandbox.url(SEARCH_PATH);

    eprintln!("three calls on the first token");
    for query in ["privacy", "terms", "cookies"] {
        client.get(&search, [("query", query)])?;
    }
    eprintln!("an hour later: renewed with the refresh token");
    sandbox.advance(Duration::from_secs(3600));
    client.get(&search, [("query", "privacy")])?;
    eprintln!("the token revoked: the call is refused, renewed and replayed once");
    sandbox.revoke_access_token(&keys.client_id)?;
    client.get(&search, [("query", "privacy")])?;

    eprintln!("\nthe metrics, in the Prometheus text format:\n");
    Ok(prometheus.render())
}
