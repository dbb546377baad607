//! The quickstart's story on reqwest, with the async client (`bearer_client::reqwest_client`)
//! and its reqwest-middleware middleware.
//!
//! ```sh
//! cargo run --example reqwest --features reqwest
//! ```
//!
//! With no configuration it starts the sandbox in-process and goes through the provider's guide:
//! register, have the application approved, read its keys, get a token, call the API, move the
//! sandbox clock past expiry to show the renewal with a rotated refresh token, call through a
//! plain `reqwest::Client` wrapped by the middleware, and show the quota budget. Secrets are
//! masked.
//!
//! With `BEARER_TOKEN_URL`, `BEARER_CLIENT_ID`, `BEARER_CLIENT_SECRET` and `BEARER_API_URL`
//! set, it calls that provider instead: `BEARER_CALLS` calls (default 3), `BEARER_INTERVAL_MS`
//! apart (default 0), printing each status and the budget, and exits non-zero if a call failed.
//! `BEARER_AUTH=basic` switches client authentication to HTTP Basic. `BEARER_STORE=file:DIR`
//! (or `redis://HOST:PORT/DB`) shares tokens and renewals with every process using that store.

#[path = "support/calls.rs"]
mod calls;
#[path = "support/mod.rs"]
mod support;

use bearer_client::Config;
use bearer_client::reqwest_client::Client;
use bearer_sandbox::{Sandbox, SandboxConfig};
use calls::Failure;
use std::process::ExitCode;
use std::time::Duration;
use support::{Remote, install_logs};

#[tokio::main]
async fn main() -> ExitCode {
    install_logs();
    let outcome = match Remote::from_env(|name| std::env::var(name).ok()) {
        Ok(Some(remote)) => real_provider(remote).await,
        Ok(None) => story().await,
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn story() -> Result<ExitCode, Failure> {
    println!("== bearer, async on reqwest (rustls), against the in-process sandbox");
    let sandbox = Sandbox::start(SandboxConfig::default()).await?;
    println!("sandbox listening on {}", sandbox.base_url());

    // The developer platform, as the guide tells it, over plain HTTP with a plain reqwest client.
    let http = reqwest::Client::builder().no_proxy().build()?;
    let (client_id, client_secret) = calls::register(&sandbox, |method, url, key, body| {
        let request = match method {
            "GET" => http.get(url),
            _ => http.post(url),
        };
        platform(request, key, body)
    })
    .await?;

    // The client, on the sandbox's clock so that an hour can pass at once.
    let config = Config::builder(sandbox.token_url(), client_id, client_secret).build()?;
    let client = Client::builder(config)
        .clock(sandbox.clock())
        .on_event(|event| println!("   .. {event}"))
        .build()?;

    println!("4. three searches (one token request for all of them):");
    for query in ["privacy", "financial", "cyber"] {
        let answer = client
            .get(
                &sandbox.url(bearer_sandbox::SEARCH_PATH),
                [("query", query)],
            )
            .await?;
        let results: serde_json::Value = answer.body().json()?;
        println!(
            "   GET /v1/searchoauth?query={query:?}: {} ({} matching document(s))",
            answer.status(),
            results["count"]
        );
    }

    sandbox.advance(Duration::from_secs(3600));
    println!("5. an hour later (sandbox clock moved), the token has expired:");
    let answer = client
        .get(
            &sandbox.url(bearer_sandbox::SEARCH_PATH),
            [("query", "privacy")],
        )
        .await?;
    println!(
        "   GET /v1/searchoauth: {} (renewed with the refresh token, which rotated)",
        answer.status()
    );

    // The middleware: bearer auth for a program's own reqwest client.
    println!("6. the same token through the middleware around a plain reqwest client:");
    let api = reqwest_middleware::ClientBuilder::new(http.clone())
        .with(client.middleware())
        .build();
    let answer = api
        .get(sandbox.url(bearer_sandbox::SEARCH_PATH))
        .query(&[("query", "privacy")])
        .send()
        .await?;
    let status = answer.status();
    let body = answer.bytes().await?;
    println!(
        "   GET /v1/searchoauth via the middleware: {status} ({} bytes)",
        body.len()
    );

    println!("7. budget: {}", client.budget());
    let counters = sandbox.counters();
    println!(
        "   the sandbox saw {} token request(s) (client_credentials {}, refresh_token {}) and {} API calls",
        counters.token_requests,
        counters.token_requests_by_grant.client_credentials,
        counters.token_requests_by_grant.refresh_token,
        counters.api_calls
    );
    Ok(ExitCode::SUCCESS)
}

/// One call to the developer platform; the answer's JSON.
async fn platform(
    request: reqwest::RequestBuilder,
    developer_key: Option<String>,
    body: &'static str,
) -> Result<serde_json::Value, Failure> {
    let mut request = request.header("content-type", "application/json");
    if let Some(key) = developer_key {
        request = request.header("x-developer-key", key);
    }
    if !body.is_empty() {
        request = request.body(body);
    }
    let body = request.send().await?.bytes().await?;
    Ok(serde_json::from_slice(&body)?)
}

/// The configured mode: `remote.calls` calls to `remote.api_url`, printing each status and the
/// budget; a failure exit code if any call failed.
async fn real_provider(remote: Remote) -> Result<ExitCode, Failure> {
    let mut builder = Client::builder(remote.config()?);
    if let Some(store) = &remote.store {
        builder = builder.fleet_store(store.open()?);
    }
    let client = builder.build()?;
    let call = || async {
        let answer = client.get(&remote.api_url, std::iter::empty::<(&str, &str)>());
        answer.await.map(|answer| answer.status())
    };
    let budget = || client.budget().to_string();
    Ok(calls::call_remote(&remote, call, budget).await?)
}
