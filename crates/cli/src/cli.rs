//! The command line, as clap parses it.

use crate::exit::EXIT_CODES_HELP;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Call an OAuth 2.0 API of an API key + secret developer platform: a valid access token, API
/// calls with it attached, the quota budget. Tokens are cached between runs (one token
/// request serves every run while the token lives).
///
/// Settings come from the flags, then the BEARER_TOKEN_URL, BEARER_CLIENT_ID,
/// BEARER_CLIENT_SECRET, BEARER_AUTH and BEARER_STORE variables, then the profile
/// (`--profile`, BEARER_PROFILE, else `default`) that `bearer configure` writes.
#[derive(Debug, Parser)]
#[command(name = "bearer", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Where to find the provider and the credential.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The settings every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The profile to use (`default` when neither this nor BEARER_PROFILE is given).
    #[arg(long, global = true, env = "BEARER_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// The token endpoint, e.g. `https://api.example.com/oauth2/token` [env: BEARER_TOKEN_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub token_url: Option<String>,
    /// The client id (API key) [env: BEARER_CLIENT_ID]
    #[arg(long, global = true, value_name = "ID")]
    pub client_id: Option<String>,
    /// How the client authenticates to the token endpoint [env: BEARER_AUTH]
    #[arg(long, global = true, value_enum, value_name = "HOW")]
    pub auth: Option<AuthArg>,
    /// Where tokens are cached: `file:` (the user's cache directory, the default),
    /// `file:DIR` or `redis://HOST:PORT/DB` [env: BEARER_STORE]
    #[arg(long, global = true, value_name = "SPEC")]
    pub store: Option<String>,
    /// The API's base URL, which a relative URL given to `bearer call` is joined to
    #[arg(long, global = true, value_name = "URL")]
    pub api_base_url: Option<String>,
    /// Calls per day of the plan, token requests included (unknown: the gateway decides)
    #[arg(long, global = true, value_name = "N")]
    pub calls_per_day: Option<u64>,
    /// Queries per second of the plan (unknown: paced when the gateway says)
    #[arg(long, global = true, value_name = "N")]
    pub qps: Option<u32>,
    /// Tell what bearer does on stderr: token requests, waits, the quota budget
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// How the client authenticates itself to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// `client_id` and `client_secret` in the form body (the provider's documented way).
    Body,
    /// HTTP Basic authentication.
    Basic,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a valid access token on stdout, and nothing else.
    Token(TokenArgs),
    /// Call the API with the token attached; the answer's body goes to stdout.
    Call(CallArgs),
    /// Show the profile, the credential (never the secret), the cached token and the budget.
    /// Sends nothing.
    Status(StatusArgs),
    /// Write a profile to the configuration file (mode 0600).
    Configure(ConfigureArgs),
    /// Forget the cached tokens of the credential (and any remembered refusal or spent quota).
    Logout,
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// Options of `bearer token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// What to print.
    #[arg(long, value_enum, default_value_t = TokenFormat::Raw)]
    pub format: TokenFormat,
    /// Renew the token first if it has less than this left.
    #[arg(long, value_name = "SECONDS")]
    pub min_ttl: Option<u64>,
}

/// How `bearer token` prints the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenFormat {
    /// The access token alone.
    Raw,
    /// `Authorization: Bearer <token>`.
    Header,
    /// `{"access_token", "token_type", "expires_at" (epoch seconds, UTC), "expires_in"}`.
    Json,
}

/// Options of `bearer call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// `[METHOD] URL`: the method (default GET, or POST with a body) and the URL, absolute or
    /// relative to the API base URL.
    #[arg(value_name = "[METHOD] URL", num_args = 1..=2, required = true)]
    pub target: Vec<String>,
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The request body (`@FILE` reads a file, `@-` stdin).
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "json"
    )]
    pub data: Option<String>,
    /// A JSON request body (`@FILE`, `@-` as for -d); sets Content-Type and Accept.
    #[arg(long, value_name = "DATA")]
    pub json: Option<String>,
    /// A query parameter, `name=value`, form-encoded and appended (repeatable).
    #[arg(short = 'q', long = "query", value_name = "NAME=VALUE")]
    pub query: Vec<String>,
    /// Print the status line and the headers before the body.
    #[arg(short = 'i', long = "include")]
    pub include: bool,
}

/// Options of `bearer status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// Options of `bearer configure`; the settings themselves are the global flags.
#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// Read the client secret from the first line of stdin instead of a prompt.
    #[arg(long)]
    pub secret_stdin: bool,
}

/// Options of `bearer completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
