//! The commands: `token`, `call`, `status`, `configure`, `logout`, `completions`.

use crate::cli::{
    CallArgs, Cli, CompletionsArgs, ConfigureArgs, GlobalArgs, StatusArgs, TokenArgs, TokenFormat,
};
use crate::clock::CliClock;
use crate::exit::{API_ERROR, Failure, utc};
use crate::hold::{Memory, epoch};
use crate::settings::{
    ConfigFile, DEFAULT_PROFILE, Profile, QUIET_PERIOD, Resolved, config_path, env_var,
    project_dirs,
};
use bearer_store::{FleetStore, StoreSpec};
use bearer_transport_ureq::bearer_protocol::{ClientAuth, Credential};
use bearer_transport_ureq::{Client, ClientEvent, Clock as _};
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// What every command that talks to the provider starts from.
pub struct Run {
    /// The settings.
    pub resolved: Resolved,
    /// The clock.
    pub clock: CliClock,
    /// `-v`.
    pub verbose: bool,
}

/// The store a run caches tokens in, and the directory its holds are kept in.
struct Cache {
    store: Arc<dyn FleetStore>,
    memory_dir: PathBuf,
}

impl Run {
    /// The settings from the command line, the environment and the configuration file.
    pub fn new(global: &GlobalArgs) -> Result<Self, Failure> {
        let path = config_path()?;
        let file = ConfigFile::load(&path)?;
        let resolved = Resolved::resolve(global, &env_var, &file, path)?;
        Ok(Self {
            resolved,
            clock: CliClock::from_env(),
            verbose: global.verbose,
        })
    }

    fn now(&self) -> SystemTime {
        self.clock.now()
    }

    fn say(&self, line: impl std::fmt::Display) {
        if self.verbose {
            eprintln!("bearer: {line}");
        }
    }

    fn cache(&self) -> Result<Cache, Failure> {
        let spec = match &self.resolved.store {
            Some(spec) => spec
                .parse::<StoreSpec>()
                .map_err(|error| Failure::usage(format!("the store: {error}")))?,
            None => StoreSpec::File(None),
        };
        let default_dir =
            || -> Result<PathBuf, Failure> { Ok(project_dirs()?.cache_dir().to_path_buf()) };
        let memory_dir = match &spec {
            StoreSpec::File(Some(dir)) => dir.clone(),
            _ => default_dir()?,
        };
        let store = spec.open().map_err(|error| {
            Failure::usage(format!("the token cache cannot be opened: {error}"))
        })?;
        Ok(Cache { store, memory_dir })
    }

    fn memory(&self, cache: &Cache) -> Result<Memory, Failure> {
        let (url, id) = self.resolved.credential()?;
        Ok(Memory::new(&cache.memory_dir, url, id))
    }

    /// Runs `f` with a client, unless a remembered refusal or spent quota says to send
    /// nothing; remembers what `f` ran into, and counts what it sent.
    /// Runs `f` with a client on the cache; `api_call`: whether `f` makes an API call (for
    /// this host's count of the day's calls).
    fn with_client<T>(
        &self,
        api_call: bool,
        f: impl FnOnce(&Client) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let config = self.resolved.config()?;
        if self.verbose {
            for hint in config.hints() {
                eprintln!("bearer: note: {hint}");
            }
        }
        let cache = self.cache()?;
        let memory = self.memory(&cache)?;
        let secret = self.resolved.secret();
        if let Some(hold) = memory.hold(self.now(), secret) {
            return Err(hold.failure());
        }
        // This run's own token requests (the budget counts the fleet's, from the cache).
        let sent = Arc::new(AtomicU64::new(0));
        let verbose = self.verbose;
        let counted = Arc::clone(&sent);
        let client = Client::builder(config)
            .clock(self.clock)
            .fleet_store(Arc::clone(&cache.store))
            .on_event(move |event| {
                if matches!(event, ClientEvent::TokenRequested { .. }) {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                if verbose {
                    eprintln!("bearer: {event}");
                }
            })
            .build()
            .map_err(|error| Failure::from_client(&error))?;
        let outcome = f(&client);
        let end = client.budget();
        let token_requests = sent.load(Ordering::Relaxed);
        // The API call of this run, if it makes one and got an answer.
        let api_calls = u64::from(api_call && outcome.is_ok());
        let _ = memory.add_usage(end.resets_at, api_calls + token_requests, token_requests);
        self.say(format_args!("{end}"));
        if let Err(failure) = &outcome
            && let Some(cause) = failure.hold
            && let Err(error) =
                memory.remember(cause, self.now(), QUIET_PERIOD, &failure.message, secret)
        {
            eprintln!(
                "bearer: could not remember this in {}: {error}",
                memory.hold_path().display()
            );
        }
        outcome
    }
}

/// Runs the command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    use crate::cli::Command;
    match cli.command {
        Command::Token(args) => token(&Run::new(&cli.global)?, &args),
        Command::Call(args) => call(&Run::new(&cli.global)?, &args),
        Command::Status(args) => status(&Run::new(&cli.global)?, &args),
        Command::Configure(args) => configure(&cli.global, &args),
        Command::Logout => logout(&Run::new(&cli.global)?),
        Command::Completions(args) => {
            completions(&args);
            Ok(())
        }
    }
}

fn token(run: &Run, args: &TokenArgs) -> Result<(), Failure> {
    let min_ttl = args.min_ttl.map(Duration::from_secs);
    let bearer = run.with_client(false, |client| {
        let bearer = || {
            client
                .bearer()
                .map_err(|error| Failure::from_client(&error))
        };
        let held = bearer()?;
        let left = held
            .expires_at()
            .duration_since(run.now())
            .unwrap_or_default();
        match min_ttl {
            Some(min_ttl) if left < min_ttl => {
                run.say("the cached token has less than --min-ttl left: renewing it");
                // Renewed once, for every process sharing the cache.
                client.invalidate(&held);
                bearer()
            }
            _ => Ok(held),
        }
    })?;
    let now = run.now();
    let left = bearer.expires_at().duration_since(now).unwrap_or_default();
    if let Some(min_ttl) = min_ttl
        && left < min_ttl
    {
        return Err(Failure::other(format!(
            "the token has {} s left, less than --min-ttl {} s, even just renewed: the provider's tokens do not live that long; ask for a shorter --min-ttl",
            left.as_secs(),
            min_ttl.as_secs()
        )));
    }
    let token = bearer.access_token().expose();
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        TokenFormat::Raw => writeln!(out, "{token}"),
        TokenFormat::Header => writeln!(out, "Authorization: Bearer {token}"),
        TokenFormat::Json => {
            let json = serde_json::json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_at": epoch(bearer.expires_at()),
                "expires_in": left.as_secs(),
            });
            writeln!(out, "{json}")
        }
    };
    written.map_err(|error| Failure::other(format!("cannot write to stdout: {error}")))
}

/// The URL to call: absolute, or relative to the API base URL.
fn target_url(run: &Run, url: &str) -> Result<String, Failure> {
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(url.to_owned());
    }
    let base = run.resolved.api_base_url.as_deref().ok_or_else(|| {
        Failure::usage(format!(
            "{url:?} is not an absolute URL and no API base URL is set: give https://…, or --api-base-url (also `bearer configure --api-base-url`)"
        ))
    })?;
    Ok(format!(
        "{}/{}",
        base.trim_end_matches('/'),
        url.trim_start_matches('/')
    ))
}

/// A body argument: text, `@FILE` or `@-` (stdin).
fn body_arg(value: &str) -> Result<Vec<u8>, Failure> {
    match value.strip_prefix('@') {
        Some("-") => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|error| Failure::other(format!("cannot read stdin: {error}")))?;
            Ok(body)
        }
        Some(path) => std::fs::read(path)
            .map_err(|error| Failure::usage(format!("cannot read {path}: {error}"))),
        None => Ok(value.as_bytes().to_vec()),
    }
}

fn request(run: &Run, args: &CallArgs) -> Result<http::Request<Vec<u8>>, Failure> {
    let (method, url) = match args.target.as_slice() {
        [method, url] => (
            http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                .map_err(|_| Failure::usage(format!("{method:?} is not an HTTP method")))?,
            url,
        ),
        [url] if args.data.is_some() || args.json.is_some() => (http::Method::POST, url),
        [url] => (http::Method::GET, url),
        _ => return Err(Failure::usage("give `[METHOD] URL`")),
    };
    let mut url = target_url(run, url)?;
    if !args.query.is_empty() {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for pair in &args.query {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| Failure::usage(format!("-q takes name=value, not {pair:?}")))?;
            pairs.append_pair(name, value);
        }
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&pairs.finish());
    }
    let mut builder = http::Request::builder().method(method).uri(&url);
    let mut named = Vec::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| Failure::usage(format!("-H takes 'Name: value', not {header:?}")))?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| Failure::usage(format!("{:?} is not a header name", name.trim())))?;
        let value = http::HeaderValue::from_str(value.trim())
            .map_err(|_| Failure::usage(format!("the value of {name} is not a header value")))?;
        named.push(name.clone());
        builder = builder.header(name, value);
    }
    let mut default_header = |name: http::HeaderName, value: &'static str| {
        if !named.contains(&name) {
            builder = std::mem::take(&mut builder).header(name, value);
        }
    };
    let body = match (&args.data, &args.json) {
        (Some(data), _) => {
            default_header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
            body_arg(data)?
        }
        (None, Some(json)) => {
            default_header(http::header::CONTENT_TYPE, "application/json");
            default_header(http::header::ACCEPT, "application/json");
            body_arg(json)?
        }
        (None, None) => Vec::new(),
    };
    builder.body(body).map_err(|error| {
        Failure::usage(format!(
            "the request cannot be built: {error} (is {:?} a valid URL?)",
            url.split('?').next().unwrap_or_default()
        ))
    })
}

fn call(run: &Run, args: &CallArgs) -> Result<(), Failure> {
    let request = request(run, args)?;
    let response = run.with_client(true, |client| {
        client
            .send(request)
            .map_err(|error| Failure::from_client(&error))
    })?;
    let mut out = std::io::stdout().lock();
    let terminal = std::io::stdout().is_terminal();
    let status = response.status();
    let write = |out: &mut std::io::StdoutLock<'_>| -> std::io::Result<()> {
        if args.include {
            writeln!(
                out,
                "{:?} {} {}",
                response.version(),
                status.as_u16(),
                status.canonical_reason().unwrap_or_default()
            )?;
            for (name, value) in response.headers() {
                writeln!(out, "{name}: {}", String::from_utf8_lossy(value.as_bytes()))?;
            }
            writeln!(out)?;
        }
        let body = response.body().as_bytes();
        let pretty = terminal
            .then(|| serde_json::from_slice::<serde_json::Value>(body).ok())
            .flatten()
            .and_then(|json| serde_json::to_string_pretty(&json).ok());
        match pretty {
            Some(pretty) => writeln!(out, "{pretty}"),
            None => {
                out.write_all(body)?;
                if terminal && !body.ends_with(b"\n") && !body.is_empty() {
                    writeln!(out)?;
                }
                Ok(())
            }
        }
    };
    write(&mut out).map_err(|error| Failure::other(format!("cannot write to stdout: {error}")))?;
    out.flush().ok();
    if status.is_client_error() || status.is_server_error() {
        return Err(Failure::new(
            API_ERROR,
            format!(
                "the API answered {} {} (the body is on stdout)",
                status.as_u16(),
                status.canonical_reason().unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

fn status(run: &Run, args: &StatusArgs) -> Result<(), Failure> {
    let resolved = &run.resolved;
    let (url, id) = resolved.credential()?;
    let cache = run.cache()?;
    let memory = run.memory(&cache)?;
    let now = run.now();
    let credential = Credential {
        token_url: url
            .parse::<http::Uri>()
            .map_or(url.to_owned(), |uri| uri.to_string()),
        client_id: id.into(),
    };
    let record = cache
        .store
        .read(&credential)
        .map_err(|error| Failure::other(format!("the token cache cannot be read: {error}")))?;
    let tokens = record.as_ref().and_then(|record| record.tokens.as_ref());
    let left = tokens.map(|t| t.expires_at.duration_since(now).unwrap_or_default());
    let has_refresh = tokens.is_some_and(|t| t.refresh_token.is_some());
    let usage = memory.usage(now);
    let day = record.as_ref().map(|record| record.day.current(now));
    let token_requests = usage
        .token_requests
        .max(day.map_or(0, |day| u64::from(day.token_requests)));
    let resets_at = day.map_or_else(
        || bearer_transport_ureq::bearer_protocol::fleet::QuotaDay::starting(now).resets_at,
        |day| day.resets_at,
    );
    let hold = memory.hold(now, resolved.secret());
    let profile = if resolved.profile_found {
        resolved.profile.clone()
    } else if resolved.profile == DEFAULT_PROFILE {
        "(none: flags and environment)".to_owned()
    } else {
        resolved.profile.clone()
    };
    let auth = match resolved.auth {
        ClientAuth::Body => "body",
        ClientAuth::Basic => "basic",
    };
    let secret = resolved
        .secret_source()
        .map_or("not set".to_owned(), |source| {
            format!("set (from the {})", source.describe())
        });
    let store = resolved.store.clone().unwrap_or_else(|| "file:".to_owned());
    let accounted = resolved.plan.auth_requests_per_day;
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        let json = serde_json::json!({
            "profile": resolved.profile_found.then_some(&resolved.profile),
            "config_file": resolved.config_path.display().to_string(),
            "token_url": url,
            "client_id": id,
            "client_secret": resolved.secret_source().map(|s| s.describe()),
            "client_auth": auth,
            "api_base_url": resolved.api_base_url,
            "store": store,
            "token": tokens.map(|t| serde_json::json!({
                "expires_at": epoch(t.expires_at),
                "expires_in": left.unwrap_or_default().as_secs(),
                "refresh_token": has_refresh,
            })),
            "budget": {
                "calls_used": usage.calls,
                "calls_allowed": resolved.plan.calls_per_day,
                "token_requests": token_requests,
                "token_requests_accounted": accounted,
                "resets_at": epoch(resets_at),
                "queries_per_second": resolved.plan.queries_per_second,
            },
            "hold": hold.as_ref().map(|h| serde_json::json!({
                "kind": h.kind, "until": h.until,
            })),
        });
        writeln!(out, "{json:#}")
    } else {
        let token_line = match (tokens, left) {
            (Some(t), Some(left)) if !left.is_zero() => format!(
                "{} s left (expires {}), {}",
                left.as_secs(),
                utc(t.expires_at),
                if has_refresh {
                    "refresh token held"
                } else {
                    "no refresh token"
                }
            ),
            (Some(_), _) => format!(
                "expired; {}",
                if has_refresh {
                    "a refresh token is held for the renewal"
                } else {
                    "no refresh token: the next run asks with client credentials"
                }
            ),
            _ => "none cached: the next run asks for one".to_owned(),
        };
        let allowed = resolved
            .plan
            .calls_per_day
            .map_or(String::new(), |n| format!(" of {n}"));
        let qps = resolved
            .plan
            .queries_per_second
            .map_or("unknown (paced when the gateway says)".to_owned(), |n| {
                n.to_string()
            });
        let hold_line = hold.as_ref().map(|h| {
            format!(
                "\nheld:          {} until {} (nothing is sent before then)",
                match h.kind {
                    crate::hold::HoldKind::CredentialsRefused => "credentials refused",
                    crate::hold::HoldKind::QuotaExhausted => "quota spent",
                },
                utc(crate::hold::instant(h.until))
            )
        });
        writeln!(
            out,
            "profile:       {profile}\nconfig file:   {}\ntoken URL:     {url}\nclient id:     {id}\nclient secret: {secret}\nclient auth:   {auth}\nstore:         {store}\ntoken:         {token_line}\ncalls today:   {}{allowed} (this host's runs, token requests included)\ntoken requests: {token_requests} of the {accounted} accounted\nquota resets:  {}\nQPS:           {qps}{}",
            resolved.config_path.display(),
            usage.calls,
            utc(resets_at),
            hold_line.unwrap_or_default()
        )
    };
    written.map_err(|error| Failure::other(format!("cannot write to stdout: {error}")))
}

/// A value for `configure`: the flag, the variable, what the profile had, or a prompt.
fn ask(
    flag: Option<String>,
    var: &str,
    stored: Option<String>,
    prompt: &str,
    interactive: bool,
) -> Result<Option<String>, Failure> {
    if let Some(value) = flag.or_else(|| env_var(var)) {
        return Ok(Some(value));
    }
    if !interactive {
        return Ok(stored);
    }
    let shown = stored
        .as_deref()
        .map_or(String::new(), |value| format!(" [{value}]"));
    eprint!("{prompt}{shown}: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|error| Failure::other(format!("cannot read stdin: {error}")))?;
    let line = line.trim();
    Ok(if line.is_empty() {
        stored
    } else {
        Some(line.to_owned())
    })
}

fn configure(global: &GlobalArgs, args: &ConfigureArgs) -> Result<(), Failure> {
    let path = config_path()?;
    let mut file = ConfigFile::load(&path)?;
    let name = global
        .profile
        .clone()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
    let old = file.profiles.get(&name).cloned().unwrap_or_default();
    let interactive = !args.secret_stdin && std::io::stdin().is_terminal();
    let token_url = ask(
        global.token_url.clone(),
        "BEARER_TOKEN_URL",
        old.token_url.clone(),
        "token URL",
        interactive,
    )?
    .ok_or_else(|| Failure::usage("give the token URL with --token-url"))?;
    let client_id = ask(
        global.client_id.clone(),
        "BEARER_CLIENT_ID",
        old.client_id.clone(),
        "client id",
        interactive,
    )?
    .ok_or_else(|| Failure::usage("give the client id with --client-id"))?;
    let secret = if args.secret_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|error| Failure::other(format!("cannot read stdin: {error}")))?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else if std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password(if old.client_secret.is_some() {
            "client secret (not shown; empty keeps the stored one): "
        } else {
            "client secret (not shown): "
        })
        .map_err(|error| Failure::other(format!("cannot read the secret: {error}")))?;
        (!typed.is_empty()).then_some(typed)
    } else {
        None
    }
    .filter(|secret| !secret.is_empty())
    .or(old.client_secret.clone())
    .ok_or_else(|| {
        Failure::usage("no client secret: type it at the prompt, or pipe it in with --secret-stdin")
    })?;
    let auth = match global.auth {
        Some(crate::cli::AuthArg::Basic) => Some("basic".to_owned()),
        Some(crate::cli::AuthArg::Body) => Some("body".to_owned()),
        None => env_var("BEARER_AUTH").or(old.client_auth.clone()),
    };
    let profile = Profile {
        token_url: Some(token_url),
        client_id: Some(client_id),
        client_secret: Some(secret),
        client_auth: auth,
        api_base_url: global.api_base_url.clone().or(old.api_base_url.clone()),
        calls_per_day: global.calls_per_day.or(old.calls_per_day),
        queries_per_second: global.qps.or(old.queries_per_second),
        store: global
            .store
            .clone()
            .or_else(|| env_var("BEARER_STORE"))
            .or(old.store.clone()),
    };
    // Check it as a run would, so that a wrong URL is told now.
    let check = Resolved::resolve(
        &GlobalArgs {
            profile: Some(name.clone()),
            ..empty_flags()
        },
        &|_| None,
        &ConfigFile {
            profiles: [(name.clone(), profile.clone())].into(),
        },
        path.clone(),
    )?;
    check.config()?;
    if let Some(store) = &profile.store {
        store
            .parse::<StoreSpec>()
            .map_err(|error| Failure::usage(format!("the store: {error}")))?;
    }
    file.profiles.insert(name.clone(), profile);
    file.save(&path)?;
    eprintln!(
        "bearer: profile {name:?} written to {} (mode 0600)",
        path.display()
    );
    Ok(())
}

fn empty_flags() -> GlobalArgs {
    GlobalArgs {
        profile: None,
        token_url: None,
        client_id: None,
        auth: None,
        store: None,
        api_base_url: None,
        calls_per_day: None,
        qps: None,
        verbose: false,
    }
}

fn logout(run: &Run) -> Result<(), Failure> {
    let (url, id) = run.resolved.credential()?;
    let cache = run.cache()?;
    let memory = run.memory(&cache)?;
    memory.clear_hold();
    let credential = Credential {
        token_url: url
            .parse::<http::Uri>()
            .map_or(url.to_owned(), |uri| uri.to_string()),
        client_id: id.into(),
    };
    let fail =
        |error: bearer_store::StoreError| Failure::other(format!("the token cache: {error}"));
    for _ in 0..8 {
        let Some(record) = cache.store.read(&credential).map_err(fail)? else {
            break;
        };
        if record.tokens.is_none() {
            break;
        }
        let mut forgotten = record.clone();
        forgotten.tokens = None;
        forgotten.generation = record.generation + 1;
        match cache
            .store
            .write(&credential, record.generation, None, &forgotten)
            .map_err(fail)?
        {
            bearer_store::WriteOutcome::Written => {
                eprintln!("bearer: forgot the cached tokens of client id {id}");
                return Ok(());
            }
            bearer_store::WriteOutcome::Conflict(_) => {}
        }
    }
    eprintln!("bearer: no cached tokens for client id {id}");
    Ok(())
}

fn completions(args: &CompletionsArgs) {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(args.shell, &mut command, "bearer", &mut std::io::stdout());
}
