//! The `bearer-sandbox` command line: `bearer-sandbox serve [OPTIONS]`.

use crate::keys;
use crate::limits::ConnectionLimits;
use crate::platform::{AppKeys, PlanLimits};
use crate::provider::ProviderConfig;
use crate::server::{Sandbox, SandboxConfig};
use clap::{Args, Parser, Subcommand};
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// A local stand-in for the provider's developer platform: OAuth 2.0 token endpoint, protected
/// API, applications and keys, quotas and fault injection, on your machine.
#[derive(Debug, Parser)]
#[command(name = "bearer-sandbox", version, after_help = crate::ROUTES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the sandbox until Ctrl-C. The first line on stdout is `listening on http://ADDR`.
    #[command(after_help = crate::ROUTES)]
    Serve(ServeArgs),
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Lifetime of access tokens, in seconds (`expires_in`).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub token_ttl: u64,
    /// Lifetime of refresh tokens, in seconds (each is also invalidated by the next grant).
    #[arg(long, value_name = "SECONDS", default_value_t = 14 * 86_400)]
    pub refresh_token_ttl: u64,
    /// Calls per day of the plan (00:00 to 00:00 UTC), token requests included.
    #[arg(long, value_name = "N", default_value_t = PlanLimits::default().calls_per_day)]
    pub calls_per_day: u64,
    /// Queries per second of the plan (0: no limit).
    #[arg(long, value_name = "N", default_value_t = PlanLimits::default().queries_per_second)]
    pub qps: u32,
    /// Send X-Plan-Quota-* and X-Plan-QPS-* headers on every gateway answer.
    #[arg(long)]
    pub quota_headers: bool,
    /// The admin key (X-Admin-Key header); generated and printed when not given.
    #[arg(long, value_name = "KEY", value_parser = parse_admin_key)]
    pub admin_key: Option<String>,
    /// Start with an active application holding these keys (repeatable). Without any, one demo
    /// application is created and its keys printed.
    #[arg(long = "app", value_name = "CLIENT_ID:CLIENT_SECRET", value_parser = parse_app)]
    pub apps: Vec<AppKeys>,
    /// Seed of generated keys and tokens (random when not given).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, value_name = "BYTES", default_value_t = ProviderConfig::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Serve HTTPS with a freshly generated test certificate authority.
    #[arg(long)]
    pub tls: bool,
    /// With --tls: write the test CA's certificate (PEM) to this file.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca_out: Option<PathBuf>,
    /// Close a connection with no request in progress that receives nothing for this long.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..),
        default_value_t = ConnectionLimits::default().idle_timeout.as_secs())]
    pub idle_timeout: u64,
    /// Close a connection whose request head has not all arrived this long after its first bytes.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..),
        default_value_t = ConnectionLimits::default().header_read_timeout.as_secs())]
    pub header_read_timeout: u64,
    /// Close a connection whose request body has not all arrived this long after its head.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..),
        default_value_t = ConnectionLimits::default().body_read_timeout.as_secs())]
    pub body_read_timeout: u64,
    /// Most connections open at once; more are refused (503, Connection: close).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
        default_value_t = ConnectionLimits::default().max_connections as u64)]
    pub max_connections: u64,
}

/// Parses `CLIENT_ID:CLIENT_SECRET`.
pub fn parse_app(value: &str) -> Result<AppKeys, String> {
    let (id, secret) = value
        .split_once(':')
        .ok_or_else(|| format!("`{value}` is not CLIENT_ID:CLIENT_SECRET"))?;
    for (what, part) in [("client id", id), ("client secret", secret)] {
        if !keys::is_valid_key(part) {
            return Err(format!(
                "the {what} must be 1 to 128 characters among A-Z a-z 0-9 - . _ ~"
            ));
        }
    }
    Ok(AppKeys::new(id, secret))
}

fn parse_admin_key(value: &str) -> Result<String, String> {
    if keys::is_valid_key(value) {
        Ok(value.to_owned())
    } else {
        Err("the admin key must be 1 to 128 characters among A-Z a-z 0-9 - . _ ~".into())
    }
}

impl ServeArgs {
    /// The sandbox configuration these options describe.
    pub fn config(&self) -> SandboxConfig {
        let seed = self.seed.unwrap_or_else(|| {
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        });
        SandboxConfig {
            addr: self.addr,
            provider: ProviderConfig {
                token_ttl: Duration::from_secs(self.token_ttl),
                refresh_token_ttl: Duration::from_secs(self.refresh_token_ttl),
                plan: PlanLimits {
                    calls_per_day: self.calls_per_day,
                    queries_per_second: self.qps,
                },
                quota_headers: self.quota_headers,
                admin_key: self.admin_key.clone(),
                seed,
                realm: None,
                max_body_bytes: self.max_body_bytes,
            },
            apps: self.apps.clone(),
            tls: self.tls,
            limits: ConnectionLimits {
                idle_timeout: Duration::from_secs(self.idle_timeout),
                header_read_timeout: Duration::from_secs(self.header_read_timeout),
                body_read_timeout: Duration::from_secs(self.body_read_timeout),
                max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            },
            ..SandboxConfig::default()
        }
    }
}

/// Runs the command line; the binary's `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(&args),
    }
}

fn serve(args: &ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bearer-sandbox: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let sandbox = match Sandbox::start(args.config()).await {
            Ok(sandbox) => sandbox,
            Err(error) => {
                eprintln!("bearer-sandbox: {error}");
                return ExitCode::FAILURE;
            }
        };
        // Listen for Ctrl-C before announcing the address: a signal sent right after the first
        // line must stop the server cleanly, not kill it.
        let stop = match Stop::listen() {
            Ok(stop) => stop,
            Err(error) => {
                eprintln!("bearer-sandbox: cannot listen for Ctrl-C: {error}");
                return ExitCode::FAILURE;
            }
        };
        if args.apps.is_empty() {
            if let Err(error) = sandbox.create_app() {
                eprintln!("bearer-sandbox: {error}");
                return ExitCode::FAILURE;
            }
        }
        println!("listening on {}", sandbox.base_url());
        println!("admin key: {}", sandbox.admin_key());
        for app in sandbox.applications() {
            if let Some(keys) = &app.keys {
                let demo = if args.apps.is_empty() { " (demo)" } else { "" };
                println!(
                    "application {}{demo}: client_id={} client_secret={} status={}",
                    app.id, keys.client_id, keys.client_secret, app.status
                );
            }
        }
        let plan = sandbox.with_provider(|p| p.config().plan);
        println!(
            "plan: {} calls per day ({} of them for token requests), {} queries per second",
            plan.calls_per_day,
            PlanLimits::AUTH_REQUESTS_PER_DAY,
            plan.queries_per_second
        );
        println!(
            "portal: {} (I/O Docs: {}, platform team: {})",
            sandbox.url("/"),
            sandbox.url("/io-docs"),
            sandbox.url("/admin")
        );
        println!("token endpoint: {}", sandbox.token_url());
        println!("api: {}", sandbox.search_url("privacy"));
        if let (Some(path), Some(pem)) = (&args.ca_out, sandbox.ca_pem()) {
            if let Err(error) = std::fs::write(path, pem) {
                eprintln!("bearer-sandbox: cannot write {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
            println!("test CA certificate: {}", path.display());
        }
        println!("routes: bearer-sandbox --help; stop with Ctrl-C");
        stop.wait().await;
        eprintln!("bearer-sandbox: stopping");
        sandbox.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Ctrl-C (SIGINT) and, on Unix, SIGTERM, listened for from the moment it is made.
#[cfg(unix)]
struct Stop {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Stop {
    fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Ctrl-C, listened for from the first wait.
#[cfg(not(unix))]
struct Stop;

#[cfg(not(unix))]
impl Stop {
    fn listen() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn app_keys() {
        let keys = parse_app("ysszm2yk7gp5r9ernuaurgcc:w9t7t48g7H").unwrap();
        assert_eq!(keys.client_id, "ysszm2yk7gp5r9ernuaurgcc");
        assert_eq!(keys.client_secret, "w9t7t48g7H");
        assert!(parse_app("nocolon").is_err());
        assert!(parse_app(":secret").is_err());
        assert!(parse_app("id:").is_err());
        assert!(parse_app("id:se cret").is_err());
    }

    #[test]
    fn serve_options() {
        let cli = Cli::try_parse_from([
            "bearer-sandbox",
            "serve",
            "--app",
            "ysszm2yk7gp5r9ernuaurgcc:w9t7t48g7H",
            "--app",
            "a:b",
            "--token-ttl",
            "2",
            "--qps",
            "0",
            "--quota-headers",
            "--seed",
            "7",
            "--idle-timeout",
            "5",
            "--max-connections",
            "3",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command;
        let config = args.config();
        assert_eq!(config.apps.len(), 2);
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.provider.token_ttl, Duration::from_secs(2));
        assert_eq!(config.provider.plan.queries_per_second, 0);
        assert!(config.provider.quota_headers);
        assert_eq!(config.provider.seed, 7);
        assert_eq!(config.limits.idle_timeout, Duration::from_secs(5));
        assert_eq!(config.limits.max_connections, 3);
        assert_eq!(
            config.limits.header_read_timeout,
            ConnectionLimits::default().header_read_timeout
        );
        for zero in ["--idle-timeout", "--body-read-timeout", "--max-connections"] {
            assert!(Cli::try_parse_from(["bearer-sandbox", "serve", zero, "0"]).is_err());
        }
        assert!(Cli::try_parse_from(["bearer-sandbox", "serve", "--ca-out", "x.pem"]).is_err());
    }
}
