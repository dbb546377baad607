//! One process of a fleet, for the multi-process tests (`tests/fleet_processes.rs`): a client of
//! either transport sharing a fleet store, driven line by line on stdin so that the test orders
//! every step without sleeping.
//!
//! Configured by `BEARER_TOKEN_URL`, `BEARER_CLIENT_ID`, `BEARER_CLIENT_SECRET`,
//! `BEARER_API_URL`, `BEARER_STORE` (`file:DIR` or `redis://…`), `WORKER_TRANSPORT` (`ureq` or
//! `hyper`), `WORKER_CLOCK_OFFSET_MS` (how far the sandbox's clock runs ahead of the system
//! clock) and optionally `WORKER_TOKEN_TIMEOUT_MS` (the token request time-out). Commands, one per line, each answered by one line on stdout:
//!
//! - `call`: one API call; answers `200`, another status, or `error: …`;
//! - `storm THREADS`: that many calls at once, one per thread; answers
//!   `failed=F slowest_us=T`;
//! - `advance SECONDS`: moves this process's clock, as the test moves the sandbox's; `ok`;
//! - `quit`.
//!
//! Every client event goes to stderr, one per line.

use bearer_client_core::ClientEvent;
use bearer_protocol::Config;
use bearer_sandbox::SandboxClock;
use bearer_store::StoreSpec;
use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

type Failure = Box<dyn std::error::Error + Send + Sync>;

enum Client {
    Ureq(bearer_transport_ureq::Client),
    Hyper(bearer_transport_hyper::Client, tokio::runtime::Runtime),
}

fn var(name: &str) -> Result<String, Failure> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

fn on_event(event: &ClientEvent) {
    eprintln!("event: {event}");
}

fn client(clock: SandboxClock) -> Result<Client, Failure> {
    let mut config = Config::builder(
        var("BEARER_TOKEN_URL")?,
        var("BEARER_CLIENT_ID")?,
        var("BEARER_CLIENT_SECRET")?,
    );
    if let Ok(ms) = var("WORKER_TOKEN_TIMEOUT_MS") {
        // The fleet's lease outlasts a token request by 2 s: a short one bounds how long the
        // others wait for a process that died holding it (Redis expires the lease).
        config = config.token_request_timeout(Duration::from_millis(ms.parse()?));
    }
    let config = config.build()?;
    let store = var("BEARER_STORE")?.parse::<StoreSpec>()?.open()?;
    Ok(match var("WORKER_TRANSPORT")?.as_str() {
        "ureq" => Client::Ureq(
            bearer_transport_ureq::Client::builder(config)
                .clock(clock)
                .fleet_store(store)
                .on_event(on_event)
                .build()?,
        ),
        "hyper" => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let client = runtime.block_on(async {
                bearer_transport_hyper::Client::builder(config)
                    .clock(clock)
                    .fleet_store(store)
                    .on_event(on_event)
                    .build()
            })?;
            Client::Hyper(client, runtime)
        }
        other => return Err(format!("WORKER_TRANSPORT is ureq or hyper, not {other:?}").into()),
    })
}

fn call(client: &Client, url: &str) -> String {
    let no_query = std::iter::empty::<(&str, &str)>();
    let outcome = match client {
        Client::Ureq(client) => client.get(url, no_query).map(|r| r.status()),
        Client::Hyper(client, runtime) => {
            runtime.block_on(async { client.get(url, no_query).await.map(|r| r.status()) })
        }
    };
    match outcome {
        Ok(status) => status.as_u16().to_string(),
        Err(error) => format!("error: {error}"),
    }
}

/// `threads` calls at the same moment, one per thread; answers `failed=F slowest_us=T`, the
/// calls that did not get a 200 and the longest any of them took.
fn storm(client: &Client, url: &str, threads: usize) -> String {
    let start = std::sync::Barrier::new(threads);
    let outcomes: Vec<(bool, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let began = std::time::Instant::now();
                    let ok = call(client, url) == "200";
                    (ok, began.elapsed())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or((false, Duration::ZERO)))
            .collect()
    });
    let failed = outcomes.iter().filter(|(ok, _)| !ok).count();
    let slowest = outcomes
        .iter()
        .map(|(_, took)| *took)
        .max()
        .unwrap_or_default();
    format!("failed={failed} slowest_us={}", slowest.as_micros())
}

fn run() -> Result<(), Failure> {
    let clock = SandboxClock::system();
    clock.advance(Duration::from_millis(
        var("WORKER_CLOCK_OFFSET_MS")?.parse()?,
    ));
    let client = client(clock.clone())?;
    let api_url = var("BEARER_API_URL")?;
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let answer = match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["call"] => call(&client, &api_url),
            ["storm", threads] => storm(&client, &api_url, threads.parse()?),
            ["advance", seconds] => {
                clock.advance(Duration::from_secs(seconds.parse()?));
                "ok".to_owned()
            }
            ["quit"] => break,
            _ => format!("error: unknown command {line:?}"),
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fleet-worker: {error}");
            ExitCode::FAILURE
        }
    }
}
