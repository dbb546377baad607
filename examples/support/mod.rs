//! What the examples share: their configured mode, a provider given by `BEARER_*` environment
//! variables instead of the in-process sandbox, and their logs. Each example includes it with
//! `#[path = "support/mod.rs"] mod support;` (a folder without `main.rs` is not an example).

use bearer_client::store::StoreSpec;
use bearer_client::{ClientAuth, Config};
use std::fmt::Display;
use std::io::Write;
use std::time::Duration;

/// With `RUST_LOG` set (`RUST_LOG=bearer=debug`), the client's `tracing` spans and events on
/// standard error: each span's fields, and its duration when it closes. Without it, nothing
/// more is printed. (The spans need the facade's `tracing` feature, on by default.)
pub fn install_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}

/// A provider to call, from `BEARER_*` environment variables.
#[derive(Debug)]
pub struct Remote {
    /// `BEARER_TOKEN_URL`.
    pub token_url: String,
    /// `BEARER_CLIENT_ID`.
    pub client_id: String,
    /// `BEARER_CLIENT_SECRET`.
    pub client_secret: String,
    /// `BEARER_API_URL`: what each call gets.
    pub api_url: String,
    /// `BEARER_CALLS` (default 3).
    pub calls: u32,
    /// `BEARER_INTERVAL_MS` between two calls (default 0).
    pub interval: Duration,
    /// `BEARER_AUTH=basic`: the client credentials in HTTP Basic, not in the body.
    pub basic: bool,
    /// `BEARER_STORE`: a fleet store to share tokens through.
    pub store: Option<StoreSpec>,
}

impl Remote {
    /// `Ok(None)` when none of the four required variables is set (the tour runs instead).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        const REQUIRED: [&str; 4] = [
            "BEARER_TOKEN_URL",
            "BEARER_CLIENT_ID",
            "BEARER_CLIENT_SECRET",
            "BEARER_API_URL",
        ];
        let values: Vec<Option<String>> = REQUIRED.iter().map(|name| var(name)).collect();
        if values.iter().all(Option::is_none) {
            return Ok(None);
        }
        let missing: Vec<&str> = REQUIRED
            .iter()
            .zip(&values)
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| *name)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "set {} as well (or none of the four, to run the in-process sandbox tour)",
                missing.join(", ")
            ));
        }
        let number = |name: &str, default: u64| -> Result<u64, String> {
            var(name).map_or(Ok(default), |value| {
                value
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number, not {value:?}"))
            })
        };
        let calls = u32::try_from(number("BEARER_CALLS", 3)?)
            .map_err(|_| "BEARER_CALLS is too large".to_owned())?;
        let basic = match var("BEARER_AUTH").as_deref() {
            None | Some("" | "body") => false,
            Some("basic") => true,
            Some(other) => return Err(format!("BEARER_AUTH must be basic or body, not {other:?}")),
        };
        let store = var("BEARER_STORE")
            .filter(|spec| !spec.is_empty())
            .map(|spec| spec.parse::<StoreSpec>())
            .transpose()
            .map_err(|error| format!("BEARER_STORE: {error}"))?;
        let mut values = values.into_iter().flatten();
        let mut next = || values.next().unwrap_or_default();
        Ok(Some(Self {
            token_url: next(),
            client_id: next(),
            client_secret: next(),
            api_url: next(),
            calls,
            interval: Duration::from_millis(number("BEARER_INTERVAL_MS", 0)?),
            basic,
            store,
        }))
    }

    /// The protocol configuration: the credentials, sent in the body or with HTTP Basic.
    pub fn config(&self) -> Result<Config, bearer_client::ConfigError> {
        let auth = if self.basic {
            ClientAuth::Basic
        } else {
            ClientAuth::Body
        };
        Config::builder(
            self.token_url.as_str(),
            self.client_id.as_str(),
            self.client_secret.as_str(),
        )
        .client_auth(auth)
        .build()
    }
}

/// Prints how call `n` of the configured mode went (its status, or why it failed); whether it
/// succeeded.
pub fn report<E: Display>(
    n: u32,
    outcome: Result<http::StatusCode, E>,
    out: &mut impl Write,
) -> std::io::Result<bool> {
    match outcome {
        Ok(status) => {
            writeln!(out, "call {n}: {status}")?;
            Ok(status.is_success())
        }
        Err(error) => {
            writeln!(out, "call {n}: failed: {error}")?;
            Ok(false)
        }
    }
}
