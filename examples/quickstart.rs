//! The quickstart: the provider's guide, end to end, with the blocking client.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! With no configuration it starts the sandbox in-process (no account, no network) and goes
//! through the guide's whole story over HTTP: register, create an application, have it
//! approved, read its keys, get a token, call `/v1/searchoauth`, let an hour pass (the sandbox's
//! clock, shared with the client, is moved) and see the token renewed with a rotated refresh
//! token, then read the quota budget. Secrets are masked in the transcript.
//!
//! With `BEARER_TOKEN_URL`, `BEARER_CLIENT_ID`, `BEARER_CLIENT_SECRET` and `BEARER_API_URL` set it
//! calls that provider instead: `BEARER_CALLS` calls (default 3), `BEARER_INTERVAL_MS` apart
//! (default 0), printing each status and the budget, and exits non-zero if any call failed.
//! `BEARER_AUTH=basic` sends the client credentials with HTTP Basic instead of in the body.
//! `BEARER_STORE=file:DIR` (or `file:` for the user's cache directory, or
//! `redis://HOST:PORT/DB`) shares the tokens with every other run and process using that
//! store: ten runs in a row send one token request, and processes at once renew once.
//!
//! `RUST_LOG=bearer=debug cargo run --example quickstart` also shows the story as the client's
//! `tracing` spans and events on standard error (token requests by grant, each call, the
//! renewal), never a token or a secret.

#[path = "support/mod.rs"]
mod support;

use bearer_client::blocking::{Client, ClientEvent};
use bearer_client::{Config, Plan};
use bearer_sandbox::{ADMIN_KEY, DEVELOPER_KEY, Sandbox, SandboxConfig};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};
use support::{Remote, install_logs};

fn main() -> ExitCode {
    install_logs();
    match Remote::from_env(|name| std::env::var(name).ok()) {
        Ok(Some(remote)) => match run_remote(&remote, &mut std::io::stdout()) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => {
                eprintln!("quickstart: {error}");
                ExitCode::FAILURE
            }
        },
        Ok(None) => match tour() {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("quickstart: {error}");
                ExitCode::FAILURE
            }
        },
        Err(problem) => {
            eprintln!("quickstart: {problem}");
            ExitCode::from(2)
        }
    }
}

type Failure = Box<dyn std::error::Error>;

/// The first four characters of a secret, then an ellipsis.
fn mask(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    format!("{shown}…")
}

// ---------------------------------------------------------------------------------------------
// The tour: the guide's story against the sandbox.

fn tour() -> Result<(), Failure> {
    let sandbox = Sandbox::start_blocking(SandboxConfig::default())?;
    let platform = Platform::new(&sandbox);
    println!("bearer quickstart: the provider's guide, end to end, against an in-process sandbox");
    println!(
        "  sandbox on {} (the client shares its clock)",
        sandbox.base_url()
    );

    println!("\n1. Register once");
    let developer = platform.post(
        "/platform/developers",
        None,
        serde_json::json!({"username": "quickstart", "email": "quickstart@example.com"}),
    )?;
    let developer_key = text(&developer, "developer_key")?;
    println!(
        "  POST /platform/developers -> developer key {}",
        mask(&developer_key)
    );
    let app = platform.post(
        "/platform/applications",
        Some(&developer_key),
        serde_json::json!({
            "name": "Quickstart search",
            "web_page": "https://example.com/quickstart",
            "description": "Searches the API from the bearer quickstart",
        }),
    )?;
    let app_id = text(&app, "id")?;
    println!(
        "  POST /platform/applications -> {app_id} \"{}\" is {}",
        text(&app, "name")?,
        text(&app, "status")?
    );
    let approved = platform.admin_post(&format!("/admin/applications/{app_id}/approve"))?;
    println!(
        "  POST /admin/applications/{app_id}/approve (the platform team) -> {}",
        text(&approved, "status")?
    );
    let keys = platform.get(
        &format!("/platform/applications/{app_id}/keys"),
        &developer_key,
    )?;
    let (client_id, client_secret) = (text(&keys, "client_id")?, text(&keys, "client_secret")?);
    let plan = &keys["plan"];
    let calls_per_day = plan["calls_per_day"].as_u64().unwrap_or(0);
    let qps = plan["queries_per_second"].as_u64().unwrap_or(0);
    println!(
        "  GET /platform/applications/{app_id}/keys -> client id {} ({} chars), secret {} ({} chars)",
        mask(&client_id),
        client_id.chars().count(),
        mask(&client_secret),
        client_secret.chars().count()
    );
    println!(
        "  plan: {calls_per_day} calls a day (token requests included, {} accounted), {qps} per second",
        plan["auth_requests_per_day"]
    );

    println!("\n2. Authorize, then authenticate each call");
    let config = Config::builder(
        sandbox.token_url(),
        client_id.as_str(),
        client_secret.as_str(),
    )
    .plan(Plan {
        calls_per_day: Some(calls_per_day),
        queries_per_second: u32::try_from(qps).ok().filter(|q| *q > 0),
        ..Plan::default()
    })
    .build()?;
    let client = Client::builder(config)
        .clock(sandbox.clock())
        .on_event({
            let clock = sandbox.clock();
            let previous = std::sync::Mutex::new(None::<String>);
            move |event: &ClientEvent| narrate(event, clock.now(), &previous)
        })
        .build()?;
    let search = sandbox.url("/v1/searchoauth");
    for query in ["privacy", "cyber", "risk management"] {
        call(&client, &search, query)?;
    }
    let counters = sandbox.counters();
    println!(
        "  the sandbox saw {} token request and {} API calls: the token was reused",
        counters.token_requests, counters.api_calls
    );

    println!("\n3. An hour later (the sandbox's clock moves forward 3600 s)");
    sandbox.advance(Duration::from_secs(3600));
    call(&client, &search, "money laundering")?;
    let counters = sandbox.counters();
    println!(
        "  the sandbox saw {} client_credentials and {} refresh_token requests",
        counters.token_requests_by_grant.client_credentials,
        counters.token_requests_by_grant.refresh_token
    );

    println!("\n4. The quota budget");
    print_budget(&client, &mut std::io::stdout())?;
    Ok(())
}

/// Prints what the client reports about its tokens, as it happens.
fn narrate(event: &ClientEvent, now: SystemTime, previous: &std::sync::Mutex<Option<String>>) {
    match event {
        ClientEvent::TokenRequested { request } => {
            println!("  POST /oauth2/token grant_type={}", request.grant());
        }
        ClientEvent::TokensChanged { tokens, .. } => {
            let refresh = tokens
                .refresh_token
                .as_ref()
                .map_or_else(|| "none".to_owned(), |t| mask(t.expose()));
            let left = tokens
                .expires_at
                .duration_since(now)
                .map_or(0.0, |d| d.as_secs_f64().round());
            let mut previous = previous.lock().unwrap_or_else(|e| e.into_inner());
            let rotation = match previous.replace(refresh.clone()) {
                Some(old) => {
                    format!("refresh token rotated {old} -> {refresh} (the old one is now void)")
                }
                None => format!("refresh token {refresh}"),
            };
            println!(
                "    -> access token {}, expires in {left} s; {rotation}",
                mask(tokens.access_token.expose()),
            );
        }
        ClientEvent::RefreshTokenRefused => {
            println!("    -> refresh token refused; falling back to client credentials")
        }
        ClientEvent::TokenRequestFailed { failure, .. } => println!("    -> failed: {failure}"),
        ClientEvent::StoreFailed { message, .. } => println!("  token store failed: {message}"),
        _ => {}
    }
}

fn call(client: &Client, url: &str, query: &str) -> Result<(), Failure> {
    let answer = client.get(url, [("query", query)])?;
    let json = answer
        .body()
        .json::<serde_json::Value>()
        .unwrap_or_default();
    let first = json["documents"][0]["title"].as_str().unwrap_or("-");
    println!(
        "  GET /v1/searchoauth?query={query} + Authorization: Bearer … -> {}, {} found: \"{first}\"",
        answer.status(),
        json["count"].as_u64().unwrap_or(0),
    );
    Ok(())
}

fn print_budget(client: &Client, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "  {}", client.budget())
}

/// The developer platform's JSON routes, over HTTP.
struct Platform {
    agent: ureq::Agent,
    base: String,
    admin_key: String,
}

impl Platform {
    fn new(sandbox: &Sandbox) -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            base: sandbox.base_url(),
            admin_key: sandbox.admin_key().to_owned(),
        }
    }

    fn post(
        &self,
        path: &str,
        developer_key: Option<&str>,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, Failure> {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(key) = developer_key {
            request = request.header(DEVELOPER_KEY, key);
        }
        read(request.send(body.to_string())?, path)
    }

    fn admin_post(&self, path: &str) -> Result<serde_json::Value, Failure> {
        let request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header(ADMIN_KEY, &self.admin_key);
        read(request.send_empty()?, path)
    }

    fn get(&self, path: &str, developer_key: &str) -> Result<serde_json::Value, Failure> {
        let request = self
            .agent
            .get(format!("{}{path}", self.base))
            .header(DEVELOPER_KEY, developer_key);
        read(request.call()?, path)
    }
}

fn read(
    mut response: http::Response<ureq::Body>,
    path: &str,
) -> Result<serde_json::Value, Failure> {
    let status = response.status();
    let body = response.body_mut().read_to_string()?;
    if !status.is_success() {
        return Err(format!("{path} answered {status}: {body}").into());
    }
    Ok(serde_json::from_str(&body)?)
}

fn text(json: &serde_json::Value, field: &str) -> Result<String, Failure> {
    json[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the platform's answer has no `{field}`").into())
}

// ---------------------------------------------------------------------------------------------
// The configured mode: a real provider (or any sandbox) given by environment variables.

/// Makes the calls, printing each status and the budget; `Ok(false)` if any call failed.
fn run_remote(remote: &Remote, out: &mut impl Write) -> Result<bool, Failure> {
    let config = remote.config()?;
    for hint in config.hints() {
        writeln!(out, "note: {hint}")?;
    }
    let mut builder = Client::builder(config);
    if let Some(store) = &remote.store {
        builder = builder.fleet_store(store.open().map_err(|error| error.to_string())?);
    }
    let client = builder.build()?;
    writeln!(
        out,
        "calling {} {} time(s) with client id {}",
        remote.api_url.split('?').next().unwrap_or_default(),
        remote.calls,
        mask(&remote.client_id)
    )?;
    let mut all_ok = true;
    for n in 1..=remote.calls {
        if n > 1 && !remote.interval.is_zero() {
            std::thread::sleep(remote.interval);
        }
        let outcome = client.get(&remote.api_url, std::iter::empty::<(&str, &str)>());
        all_ok &= support::report(n, outcome.map(|answer| answer.status()), out)?;
    }
    print_budget(&client, out)?;
    Ok(all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn remote_for(
        sandbox: &Sandbox,
        secret: &str,
        basic: bool,
        store: Option<&std::path::Path>,
    ) -> Remote {
        let keys = sandbox.applications()[0].keys.clone().unwrap();
        let mut env = HashMap::from([
            ("BEARER_TOKEN_URL", sandbox.token_url()),
            ("BEARER_CLIENT_ID", keys.client_id),
            ("BEARER_CLIENT_SECRET", secret.to_owned()),
            ("BEARER_API_URL", sandbox.search_url("privacy")),
            ("BEARER_CALLS", "4".to_owned()),
            ("BEARER_INTERVAL_MS", "5".to_owned()),
        ]);
        if basic {
            env.insert("BEARER_AUTH", "basic".to_owned());
        }
        if let Some(dir) = store {
            env.insert("BEARER_STORE", format!("file:{}", dir.display()));
        }
        Remote::from_env(|name| env.get(name).cloned())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn the_configured_mode_calls_the_provider_it_is_given() {
        for basic in [false, true] {
            let sandbox = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
            let keys = sandbox.create_app().unwrap();
            let remote = remote_for(&sandbox, &keys.client_secret, basic, None);
            let mut out = Vec::new();
            assert!(run_remote(&remote, &mut out).unwrap());
            let out = String::from_utf8(out).unwrap();
            assert_eq!(out.matches(": 200 OK").count(), 4, "{out}");
            assert!(out.contains("calls used today: 5"), "{out}");
            assert!(!out.contains(&keys.client_secret), "{out}");
            let counters = sandbox.counters();
            assert_eq!(counters.token_requests, 1);
            assert_eq!(counters.api_calls, 4);
        }
    }

    #[test]
    fn the_configured_mode_reports_failure() {
        let sandbox = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
        sandbox.create_app().unwrap();
        let remote = remote_for(&sandbox, "wrongsecr1", false, None);
        let mut out = Vec::new();
        assert!(!run_remote(&remote, &mut out).unwrap());
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("call 1: failed: the token endpoint refused the client credentials"),
            "{out}"
        );
        assert_eq!(
            sandbox.counters().token_requests,
            1,
            "one token request, then quiet"
        );
    }

    #[test]
    fn runs_sharing_a_store_send_one_token_request() {
        let sandbox = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
        let keys = sandbox.create_app().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let remote = remote_for(&sandbox, &keys.client_secret, false, Some(dir.path()));
        let mut out = Vec::new();
        for _ in 0..10 {
            out.clear();
            assert!(run_remote(&remote, &mut out).unwrap());
        }
        // The last run sent none, and its budget counts the fleet's.
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("token requests 1 of the 6 accounted"), "{out}");
        // (Calls sent again after an over-QPS denial count too: a new run learns the QPS anew.)
        assert_eq!(
            sandbox.counters().token_requests,
            1,
            "one token serves the ten runs"
        );
    }

    #[test]
    fn the_environment_is_all_or_nothing() {
        assert!(Remote::from_env(|_| None).unwrap().is_none());
        let error = Remote::from_env(|name| (name == "BEARER_API_URL").then(|| "x".to_owned()))
            .unwrap_err();
        assert!(error.contains("BEARER_TOKEN_URL"), "{error}");
    }
}
