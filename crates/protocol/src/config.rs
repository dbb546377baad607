//! Configuration of one credential: where to ask for tokens, how to authenticate, and the plan.
//!
//! Built with [`Config::builder`]; [`ConfigBuilder::build`] checks every field and names the
//! field and the fix when one is wrong.
//!
//! ```
//! use bearer_protocol::{Config, Plan};
//! let config = Config::builder(
//!     "https://api.example.com/oauth2/token",
//!     "ysszm2yk7gp5r9ernuaurgcc",
//!     "w9t7t48g7H",
//! )
//! .plan(Plan { calls_per_day: Some(1_000), ..Plan::default() })
//! .build()
//! .unwrap();
//! assert!(config.hints().is_empty());
//! ```

use crate::secret::{ClientId, ClientSecret};
use http::Uri;
use std::fmt;
use std::time::Duration;

/// Length of a client id at the provider, per its guide.
pub const DOCUMENTED_CLIENT_ID_LEN: usize = 24;
/// Length of a client secret at the provider, per its guide.
pub const DOCUMENTED_CLIENT_SECRET_LEN: usize = 10;

/// How the client authenticates itself to the token endpoint (RFC 6749 2.3.1).
///
/// Exactly one method is used in a request, never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body: the provider's documented way.
    #[default]
    Body,
    /// `Authorization: Basic` with the id and secret form-encoded first (RFC 6749 2.3.1).
    ///
    /// Some servers skip the form-decoding: with them a secret holding `+ / = % :` or other
    /// reserved characters is refused as `invalid_client`. Use [`ClientAuth::Body`] there. (The
    /// provider's secrets are letters and digits, which encoding leaves unchanged.)
    Basic,
}

/// What the budget does when the day's calls are spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BudgetMode {
    /// Refuse to send once the budget is spent, with an error carrying the reset time.
    #[default]
    Enforce,
    /// Count and report, but send anyway and let the gateway decide.
    Observe,
}

/// The API plan the application is subscribed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Calls allowed per quota day, token requests included; `None` when unknown (no budget is
    /// enforced until the gateway's quota headers tell the allotment).
    pub calls_per_day: Option<u64>,
    /// Token requests the plan accounts for per day (6 at the provider); more are reported.
    pub auth_requests_per_day: u32,
    /// Queries per second allowed; `None` when unknown (no pacing until the gateway says).
    pub queries_per_second: Option<u32>,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            calls_per_day: None,
            auth_requests_per_day: 6,
            queries_per_second: None,
        }
    }
}

/// Bounds on retrying transient token-endpoint failures (5xx, time-outs, resets, 429, over QPS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt before the failure is reported.
    pub max_retries: u32,
    /// First backoff delay; each retry doubles it, with jitter.
    pub base_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// A validated configuration. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Config {
    token_url: Uri,
    client_id: ClientId,
    client_secret: ClientSecret,
    options: Options,
    hints: Vec<ConfigHint>,
}

/// Everything but the credential: what [`ConfigBuilder`] sets and [`Config`] keeps, one field
/// each, with the defaults in [`Options::default`].
#[derive(Debug, Clone)]
struct Options {
    client_auth: ClientAuth,
    scope: Option<String>,
    refresh_leeway: Duration,
    default_lifetime: Duration,
    plan: Plan,
    budget_mode: BudgetMode,
    retry: RetryPolicy,
    quiet_period: Duration,
    token_request_timeout: Duration,
    seed: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            client_auth: ClientAuth::default(),
            scope: None,
            refresh_leeway: Duration::from_secs(60),
            default_lifetime: Duration::from_secs(3600),
            plan: Plan::default(),
            budget_mode: BudgetMode::default(),
            retry: RetryPolicy::default(),
            quiet_period: Duration::from_secs(60),
            token_request_timeout: Duration::from_secs(30),
            seed: None,
        }
    }
}

impl Config {
    /// Starts a configuration from the three things every application has.
    pub fn builder(
        token_url: impl Into<String>,
        client_id: impl Into<ClientId>,
        client_secret: impl Into<ClientSecret>,
    ) -> ConfigBuilder {
        ConfigBuilder {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            options: Options::default(),
        }
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Uri {
        &self.token_url
    }
    /// The client id.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }
    /// The client secret.
    pub fn client_secret(&self) -> &ClientSecret {
        &self.client_secret
    }
    /// How the client authenticates to the token endpoint.
    pub fn client_auth(&self) -> ClientAuth {
        self.options.client_auth
    }
    /// The scope asked for, if any.
    pub fn scope(&self) -> Option<&str> {
        self.options.scope.as_deref()
    }
    /// How long before expiry a token is renewed.
    pub fn refresh_leeway(&self) -> Duration {
        self.options.refresh_leeway
    }
    /// Lifetime assumed for a token response without `expires_in`.
    pub fn default_lifetime(&self) -> Duration {
        self.options.default_lifetime
    }
    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.options.plan
    }
    /// Whether the budget refuses or only reports.
    pub fn budget_mode(&self) -> BudgetMode {
        self.options.budget_mode
    }
    /// Retry bounds for transient token-endpoint failures.
    pub fn retry(&self) -> &RetryPolicy {
        &self.options.retry
    }
    /// How long a permanent failure is repeated without asking the token endpoint again.
    pub fn quiet_period(&self) -> Duration {
        self.options.quiet_period
    }
    /// After this long without an answer, a token request counts as abandoned.
    pub fn token_request_timeout(&self) -> Duration {
        self.options.token_request_timeout
    }
    /// Seed of the backoff jitter, if one was given. Without one a [`TokenManager`] uses a
    /// fixed seed; the clients draw one per client from the operating system's randomness, so
    /// that processes failing together do not retry in lockstep.
    ///
    /// [`TokenManager`]: crate::TokenManager
    pub fn seed(&self) -> Option<u64> {
        self.options.seed
    }

    /// The same configuration with this jitter seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.options.seed = Some(seed);
        self
    }
    /// Things that are allowed but look unusual for this provider (warning level).
    pub fn hints(&self) -> &[ConfigHint] {
        &self.hints
    }
}

/// Builds a [`Config`]; every setter has a default except the three given to
/// [`Config::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ConfigBuilder {
    token_url: String,
    client_id: ClientId,
    client_secret: ClientSecret,
    options: Options,
}

impl ConfigBuilder {
    /// Client authentication method (default: form body, as the provider documents).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.options.client_auth = auth;
        self
    }
    /// Scope to ask for (default: none).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.options.scope = Some(scope.into());
        self
    }
    /// Renew this long before expiry (default 60 s).
    pub fn refresh_leeway(mut self, leeway: Duration) -> Self {
        self.options.refresh_leeway = leeway;
        self
    }
    /// Lifetime assumed when a token response has no `expires_in` (default 3600 s).
    pub fn default_lifetime(mut self, lifetime: Duration) -> Self {
        self.options.default_lifetime = lifetime;
        self
    }
    /// The application's plan (default: unknown quota, 6 token requests a day, unknown QPS).
    pub fn plan(mut self, plan: Plan) -> Self {
        self.options.plan = plan;
        self
    }
    /// Enforce the budget or only observe it (default: enforce).
    pub fn budget_mode(mut self, mode: BudgetMode) -> Self {
        self.options.budget_mode = mode;
        self
    }
    /// Retry bounds for transient token-endpoint failures.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.options.retry = retry;
        self
    }
    /// How long a permanent failure (wrong secret, inactive application) is repeated without
    /// asking the token endpoint again (default 60 s).
    pub fn quiet_period(mut self, period: Duration) -> Self {
        self.options.quiet_period = period;
        self
    }
    /// After this long without an answer a token request counts as abandoned and another may be
    /// sent (default 30 s; set it at or above the transport's own time-out).
    pub fn token_request_timeout(mut self, timeout: Duration) -> Self {
        self.options.token_request_timeout = timeout;
        self
    }
    /// Seed of the backoff jitter, so a run can be replayed exactly (default: none; see
    /// [`Config::seed`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.options.seed = Some(seed);
        self
    }

    /// Checks every field and returns the configuration, or the first problem found.
    pub fn build(self) -> Result<Config, ConfigError> {
        let token_url = validate_token_url(&self.token_url)?;
        validate_credential("client_id", self.client_id.expose())?;
        validate_credential("client_secret", self.client_secret.expose())?;
        self.options.validate()?;
        let hints = hints(&self.client_id, &self.client_secret, &self.options);
        Ok(Config {
            token_url,
            client_id: self.client_id,
            client_secret: self.client_secret,
            options: self.options,
            hints,
        })
    }
}

impl Options {
    /// The first option that is wrong, named with its fix.
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(scope) = &self.scope {
            if scope.is_empty()
                || scope
                    .chars()
                    .any(|c| c.is_control() || c == '"' || c == '\\')
            {
                return Err(ConfigError::new(
                    "scope",
                    "must be space-separated scope tokens without quotes, backslashes or control characters; leave it unset to ask for the default scope",
                ));
            }
        }
        let problems: [(bool, &'static str, &'static str); 5] = [
            (
                self.default_lifetime.is_zero(),
                "default_lifetime",
                "must be longer than zero; the provider's tokens last 3600 s",
            ),
            (
                self.plan.calls_per_day == Some(0),
                "plan.calls_per_day",
                "must be at least 1, or None when the quota is unknown",
            ),
            (
                self.plan.queries_per_second == Some(0),
                "plan.queries_per_second",
                "must be at least 1, or None when the limit is unknown",
            ),
            (
                self.token_request_timeout.is_zero(),
                "token_request_timeout",
                "must be longer than zero; 30 s is a good value",
            ),
            (
                self.retry.base_delay > self.retry.max_delay,
                "retry.base_delay",
                "must not exceed retry.max_delay",
            ),
        ];
        match problems.into_iter().find(|(wrong, _, _)| *wrong) {
            Some((_, field, fix)) => Err(ConfigError::new(field, fix)),
            None => Ok(()),
        }
    }
}

/// What is allowed but unusual for this provider.
fn hints(client_id: &ClientId, client_secret: &ClientSecret, options: &Options) -> Vec<ConfigHint> {
    let mut hints = Vec::new();
    for (field, found, documented) in [
        ("client_id", client_id.char_len(), DOCUMENTED_CLIENT_ID_LEN),
        (
            "client_secret",
            client_secret.char_len(),
            DOCUMENTED_CLIENT_SECRET_LEN,
        ),
    ] {
        if found != documented {
            hints.push(ConfigHint::UnusualLength {
                field,
                found,
                documented,
            });
        }
    }
    if options.refresh_leeway >= options.default_lifetime {
        hints.push(ConfigHint::LeewayNotShorterThanLifetime);
    }
    hints
}

fn validate_token_url(raw: &str) -> Result<Uri, ConfigError> {
    let uri: Uri = raw.parse().map_err(|_| {
        ConfigError::new(
            "token_url",
            "is not a valid absolute URL; give it as https://host/oauth2/token",
        )
    })?;
    let host = uri.host().ok_or_else(|| {
        ConfigError::new(
            "token_url",
            "has no host; give it as https://host/oauth2/token",
        )
    })?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        Some("http") => Err(ConfigError::new(
            "token_url",
            "uses http to a host that is not loopback; credentials must travel over https",
        )),
        _ => Err(ConfigError::new(
            "token_url",
            "must start with https:// (http:// only for 127.0.0.1, [::1] or localhost)",
        )),
    }
}

/// Whether `host` (a URI's host: a name, an IPv4 address or a bracketed IPv6 one) is this
/// machine: `localhost`, `127.0.0.0/8` or `[::1]`. Only such hosts may be called over plain
/// `http`.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn validate_credential(field: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::new(
            field,
            "is empty; copy it from the Keys section of My Account on the developer platform",
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::new(
            field,
            "contains whitespace or control characters; copy it again without spaces or line breaks",
        ));
    }
    Ok(())
}

/// A configuration field that is wrong, and how to fix it. Never shows a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: `{field}` {fix}")]
pub struct ConfigError {
    /// The field's name.
    pub field: &'static str,
    /// What is wrong and what to do.
    pub fix: &'static str,
}

impl ConfigError {
    fn new(field: &'static str, fix: &'static str) -> Self {
        Self { field, fix }
    }
}

/// Something allowed but unusual for this provider; worth a warning in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigHint {
    /// A credential's length differs from the provider's documented one (other providers differ).
    UnusualLength {
        /// The field's name.
        field: &'static str,
        /// Characters found.
        found: usize,
        /// Characters the provider documents.
        documented: usize,
    },
    /// The refresh leeway is as long as the token lifetime: every call would renew.
    LeewayNotShorterThanLifetime,
}

impl fmt::Display for ConfigHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnusualLength {
                field,
                found,
                documented,
            } => write!(
                f,
                "`{field}` has {found} characters where the provider documents {documented}; check it was copied whole (other providers differ)"
            ),
            Self::LeewayNotShorterThanLifetime => f.write_str(
                "`refresh_leeway` is not shorter than `default_lifetime`; tokens would be renewed on every call",
            ),
        }
    }
}
