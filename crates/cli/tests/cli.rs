//! The `bearer` command against the sandbox, in-process over loopback. Every run has its own
//! configuration and cache directories (HOME, XDG_CONFIG_HOME and XDG_CACHE_HOME in a
//! temporary directory), no `BEARER_*` variable from the test's own environment, and is
//! checked for the secret on stdout and stderr.

use bearer_sandbox::{AppKeys, PlanLimits, SEARCH_PATH, Sandbox, SandboxConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::process::{Output, Stdio};
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

/// Exit codes, as `bearer --help` documents them.
const API_ERROR: i32 = 3;
const USAGE: i32 = 2;
const CREDENTIALS_REFUSED: i32 = 4;
const QUOTA_EXHAUSTED: i32 = 5;
const UNREACHABLE: i32 = 6;

struct World {
    sandbox: Sandbox,
    keys: AppKeys,
    home: tempfile::TempDir,
}

/// What a run printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl World {
    fn new() -> World {
        World::with(SandboxConfig::default().plan(PlanLimits {
            calls_per_day: 100_000,
            queries_per_second: 0,
        }))
    }

    fn with(config: SandboxConfig) -> World {
        let sandbox = Sandbox::start_blocking(config).expect("the sandbox starts");
        let keys = sandbox.create_app().expect("an application");
        World {
            sandbox,
            keys,
            home: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    fn cache_dir(&self) -> PathBuf {
        self.home.path().join("cache")
    }

    fn config_dir(&self) -> PathBuf {
        self.home.path().join("config")
    }

    /// The command, with this world's directories and clock and no credentials.
    fn bare(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bearer"));
        for (name, _) in std::env::vars() {
            if name.starts_with("BEARER_") || name.starts_with("XDG_") {
                command.env_remove(name);
            }
        }
        command
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.config_dir())
            .env("XDG_CACHE_HOME", self.cache_dir())
            .env(
                "BEARER_CLOCK_OFFSET_MS",
                self.sandbox.clock().offset().as_millis().to_string(),
            );
        command
    }

    /// The command with the credentials in `BEARER_*` variables.
    fn cmd(&self) -> Command {
        self.cmd_with_secret(&self.keys.client_secret)
    }

    fn cmd_with_secret(&self, secret: &str) -> Command {
        let mut command = self.bare();
        command
            .env("BEARER_TOKEN_URL", self.sandbox.token_url())
            .env("BEARER_CLIENT_ID", &self.keys.client_id)
            .env("BEARER_CLIENT_SECRET", secret);
        command
    }

    /// Runs `command` with `args`; no secret in what it printed.
    fn run(&self, command: Command, args: &[&str]) -> Run {
        self.run_with_stdin(command, "", args)
    }

    /// Runs `command` with `args` and `stdin`, for at most a minute.
    fn run_with_stdin(&self, mut command: Command, stdin: &str, args: &[&str]) -> Run {
        command.args(args);
        let output = assert_cmd::Command::from_std(command)
            .write_stdin(stdin)
            .timeout(Duration::from_secs(60))
            .output()
            .expect("bearer runs");
        self.check(output, args)
    }

    fn check(&self, output: Output, args: &[&str]) -> Run {
        let run = Run {
            code: output.status.code().expect("an exit code"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        };
        for secret in [self.keys.client_secret.as_str(), WRONG_SECRET] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "the secret was printed by {args:?}:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
        run
    }

    fn token_requests(&self) -> u64 {
        self.sandbox.counters().token_requests
    }
}

/// A wrong secret, of the documented length.
const WRONG_SECRET: &str = "Wr0ngSecrt";

impl Run {
    fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

#[test]
fn five_calls_send_one_token_request() {
    let world = World::new();
    let url = world.sandbox.search_url("privacy");
    for _ in 0..5 {
        let run = world.run(world.cmd(), &["call", &url]).ok();
        let answer: serde_json::Value =
            serde_json::from_str(&run.stdout).expect("the body, as sent (stdout is a pipe)");
        assert!(answer.is_object(), "{}", run.stdout);
        assert!(run.stderr.is_empty(), "{}", run.stderr);
    }
    let counters = world.sandbox.counters();
    assert_eq!(counters.token_requests, 1, "one token serves the five runs");
    assert_eq!(counters.api_calls, 5);
}

#[test]
fn the_printed_token_is_accepted_by_a_plain_http_client() {
    let world = World::new();
    let run = world.run(world.cmd(), &["token"]).ok();
    let token = run.stdout.strip_suffix('\n').expect("one line");
    assert!(!token.is_empty() && !token.contains(char::is_whitespace));
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let answer = agent
        .get(&world.sandbox.search_url("privacy"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("the sandbox answers");
    assert_eq!(answer.status(), 200);

    let header = world
        .run(world.cmd(), &["token", "--format", "header"])
        .ok();
    assert_eq!(header.stdout, format!("Authorization: Bearer {token}\n"));
    let json = world.run(world.cmd(), &["token", "--format", "json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["access_token"], token);
    assert_eq!(json["token_type"], "Bearer");
    let expires_at = json["expires_at"].as_u64().expect("epoch seconds");
    let now = world
        .sandbox
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        expires_at > now + 3500 && expires_at <= now + 3600,
        "{json}"
    );
    assert!(json["expires_in"].as_u64().unwrap() > 3500);
    assert!(
        json.get("refresh_token").is_none(),
        "never the refresh token"
    );
    assert_eq!(world.token_requests(), 1);
}

#[test]
fn eight_concurrent_runs_on_an_empty_cache_send_one_token_request() {
    let world = World::new();
    let url = world.sandbox.search_url("privacy");
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut command = world.cmd();
            let args = if i % 2 == 0 {
                vec!["call", url.as_str()]
            } else {
                vec!["token"]
            };
            command
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("bearer starts")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("bearer ends");
        world.check(output, &["call or token"]).ok();
    }
    assert_eq!(world.token_requests(), 1);
    assert_eq!(world.sandbox.counters().api_calls, 4);
}

/// Starts `n` runs of `args` at once and checks that each succeeds.
fn concurrently(world: &World, n: usize, args: &[&str]) {
    let children: Vec<_> = (0..n)
        .map(|_| {
            world
                .cmd()
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("bearer starts")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("bearer ends");
        world.check(output, args).ok();
    }
}

#[test]
fn concurrent_runs_after_expiry_renew_once() {
    let world = World::new();
    let url = world.sandbox.search_url("privacy");
    world.run(world.cmd(), &["call", &url]).ok();
    world.sandbox.advance(HOUR + Duration::from_secs(1));
    concurrently(&world, 8, &["call", &url]);
    let grants = world.sandbox.counters().token_requests_by_grant;
    assert_eq!((grants.client_credentials, grants.refresh_token), (1, 1));
}

#[test]
fn a_store_directory_keeps_the_cache_and_what_runs_remember() {
    let world = World::new();
    let dir = world.home.path().join("shared-cache");
    let store = format!("file:{}", dir.display());
    for _ in 0..2 {
        let mut command = world.cmd();
        command.env("BEARER_STORE", &store);
        world.run(command, &["token"]).ok();
    }
    assert_eq!(world.token_requests(), 1);
    let mut command = world.cmd_with_secret(WRONG_SECRET);
    command.env("BEARER_STORE", &store);
    world.run(command, &["logout"]).ok();
    for _ in 0..2 {
        let run = world.run(
            world.cmd_with_secret(WRONG_SECRET),
            &["--store", &store, "token"],
        );
        assert_eq!(run.code, CREDENTIALS_REFUSED);
    }
    assert_eq!(world.token_requests(), 2);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with(".hold.json")), "{names:?}");
    assert!(
        !world.cache_dir().join("bearer").exists(),
        "nothing in the default cache"
    );
}

#[test]
fn after_expiry_one_refresh() {
    let world = World::new();
    let url = world.sandbox.search_url("privacy");
    world.run(world.cmd(), &["call", &url]).ok();
    world.sandbox.advance(HOUR + Duration::from_secs(1));
    world.run(world.cmd(), &["call", &url]).ok();
    world.run(world.cmd(), &["call", &url]).ok();
    let grants = world.sandbox.counters().token_requests_by_grant;
    assert_eq!(grants.client_credentials, 1);
    assert_eq!(
        grants.refresh_token, 1,
        "one refresh for the two runs after expiry"
    );
    let status = world.run(world.cmd(), &["status"]).ok();
    assert!(
        status.stdout.contains("refresh token held"),
        "{}",
        status.stdout
    );
}

#[test]
fn min_ttl_renews_a_token_with_less_left() {
    let world = World::new();
    let first = world.run(world.cmd(), &["token"]).ok().stdout;
    let same = world
        .run(world.cmd(), &["token", "--min-ttl", "1800"])
        .ok()
        .stdout;
    assert_eq!(first, same, "an hour left: no renewal");
    world.sandbox.advance(Duration::from_secs(2400));
    let renewed = world
        .run(world.cmd(), &["token", "--min-ttl", "1800"])
        .ok()
        .stdout;
    assert_ne!(first, renewed, "20 minutes left: renewed");
    let grants = world.sandbox.counters().token_requests_by_grant;
    assert_eq!((grants.client_credentials, grants.refresh_token), (1, 1));
    // The renewed token is the cache's now.
    let again = world.run(world.cmd(), &["token"]).ok().stdout;
    assert_eq!(renewed, again);

    let run = world.run(world.cmd(), &["token", "--min-ttl", "7200"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("less than --min-ttl"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn a_wrong_secret_twice_sends_one_token_request() {
    let world = World::new();
    let url = world.sandbox.search_url("privacy");
    for _ in 0..2 {
        let run = world.run(world.cmd_with_secret(WRONG_SECRET), &["call", &url]);
        assert_eq!(run.code, CREDENTIALS_REFUSED, "{}", run.stderr);
        assert!(run.stderr.contains("refused"), "{}", run.stderr);
        assert!(run.stderr.contains("bearer configure"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    assert_eq!(world.token_requests(), 1, "the refusal is remembered");
    // A job run every minute stays quiet for the documented six hours.
    world.sandbox.advance(5 * HOUR);
    let run = world.run(world.cmd_with_secret(WRONG_SECRET), &["call", &url]);
    assert_eq!(run.code, CREDENTIALS_REFUSED, "{}", run.stderr);
    assert_eq!(world.token_requests(), 1, "still quiet after five hours");
    world.sandbox.advance(HOUR);
    let run = world.run(world.cmd_with_secret(WRONG_SECRET), &["call", &url]);
    assert_eq!(run.code, CREDENTIALS_REFUSED, "{}", run.stderr);
    assert_eq!(world.token_requests(), 2, "asked again after six hours");
    let status = world
        .run(world.cmd_with_secret(WRONG_SECRET), &["status"])
        .ok();
    assert!(
        status.stdout.contains("credentials refused"),
        "{}",
        status.stdout
    );
    // The right secret is another secret: the hold does not apply to it.
    world.run(world.cmd(), &["call", &url]).ok();
    assert_eq!(world.token_requests(), 3);
}

#[test]
fn logout_forgets_the_refusal_and_the_tokens() {
    let world = World::new();
    let url = world.sandbox.search_url("privacy");
    world.run(world.cmd(), &["call", &url]).ok();
    world.run(world.cmd(), &["logout"]).ok();
    world.run(world.cmd(), &["call", &url]).ok();
    assert_eq!(world.token_requests(), 2, "logged out: a new token");
    // (While a cached token lives, it serves whatever the secret: the cache is per client id.)
    world.run(world.cmd(), &["logout"]).ok();
    for _ in 0..2 {
        let run = world.run(world.cmd_with_secret(WRONG_SECRET), &["token"]);
        assert_eq!(run.code, CREDENTIALS_REFUSED, "{}", run.stderr);
    }
    assert_eq!(world.token_requests(), 3);
    world
        .run(world.cmd_with_secret(WRONG_SECRET), &["logout"])
        .ok();
    let run = world.run(world.cmd_with_secret(WRONG_SECRET), &["token"]);
    assert_eq!(run.code, CREDENTIALS_REFUSED);
    assert_eq!(world.token_requests(), 4, "logout lets bearer ask again");
}

#[test]
fn a_spent_quota_is_remembered_until_the_reset() {
    let world = World::with(SandboxConfig::default().plan(PlanLimits {
        calls_per_day: 3,
        queries_per_second: 0,
    }));
    let url = world.sandbox.search_url("privacy");
    let mut runs = 0;
    let spent = loop {
        runs += 1;
        assert!(runs <= 5, "the quota of 3 calls is spent within 5 runs");
        let run = world.run(world.cmd(), &["call", &url]);
        if run.code != 0 {
            break run;
        }
    };
    assert_eq!(spent.code, QUOTA_EXHAUSTED, "{}", spent.stderr);
    assert!(spent.stderr.contains("resets at"), "{}", spent.stderr);
    assert!(spent.stderr.contains("00:00:00 UTC"), "{}", spent.stderr);
    let before = world.sandbox.counters();
    let next = world.run(world.cmd(), &["call", &url]);
    assert_eq!(next.code, QUOTA_EXHAUSTED, "{}", next.stderr);
    assert!(next.stderr.contains("00:00:00 UTC"), "{}", next.stderr);
    let token = world.run(world.cmd(), &["token"]);
    assert_eq!(token.code, QUOTA_EXHAUSTED);
    let after = world.sandbox.counters();
    assert_eq!(
        (after.token_requests, after.api_calls),
        (before.token_requests, before.api_calls),
        "nothing sent before the reset"
    );
}

#[test]
fn configure_then_call_with_only_the_profile() {
    let world = World::new();
    let base = world.sandbox.base_url();
    let secret_line = format!("{}\n", world.keys.client_secret);
    let run = world.run_with_stdin(
        world.bare(),
        &secret_line,
        &[
            "configure",
            "--profile",
            "work",
            "--token-url",
            &world.sandbox.token_url(),
            "--client-id",
            &world.keys.client_id,
            "--api-base-url",
            &base,
            "--calls-per-day",
            "5000",
            "--qps",
            "10",
            "--secret-stdin",
        ],
    );
    let run = run.ok();
    assert!(
        run.stderr.contains("profile \"work\" written"),
        "{}",
        run.stderr
    );
    let file = world.config_dir().join("bearer/config.toml");
    let text = std::fs::read_to_string(&file).expect("the profile file");
    assert!(text.contains("[profiles.work]"), "{text}");
    assert!(
        text.contains(&world.keys.client_secret),
        "the secret is kept in the file"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let run = world
        .run(
            world.bare(),
            &[
                "--profile",
                "work",
                "call",
                SEARCH_PATH,
                "-q",
                "query=privacy",
            ],
        )
        .ok();
    assert!(
        run.stdout.contains("privacy") || run.stdout.starts_with('{'),
        "{}",
        run.stdout
    );
    let mut by_env = world.bare();
    by_env.env("BEARER_PROFILE", "work");
    world
        .run(by_env, &["call", SEARCH_PATH, "-q", "query=tokens"])
        .ok();
    assert_eq!(world.token_requests(), 1);

    let status = world
        .run(world.bare(), &["--profile", "work", "status"])
        .ok();
    assert!(
        status.stdout.contains("profile:       work"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains(&world.keys.client_id),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("set (from the profile)"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("token requests: 1 of the 6"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("calls today:   3 of 5000"),
        "{}",
        status.stdout
    );
    let json = world
        .run(world.bare(), &["--profile", "work", "status", "--json"])
        .ok();
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["client_id"], world.keys.client_id.as_str());
    assert_eq!(json["token"]["refresh_token"], true);
    assert_eq!(json["budget"]["queries_per_second"], 10);

    // Flags and variables come before the profile.
    let mut wrong = world.bare();
    wrong.env("BEARER_CLIENT_SECRET", WRONG_SECRET);
    wrong.env(
        "BEARER_STORE",
        format!("file:{}", world.home.path().join("other").display()),
    );
    let run = world.run(wrong, &["--profile", "work", "token"]);
    assert_eq!(run.code, CREDENTIALS_REFUSED, "{}", run.stderr);

    let run = world.run(world.bare(), &["--profile", "nope", "token"]);
    assert_eq!(run.code, USAGE);
    assert!(
        run.stderr.contains("bearer configure --profile nope"),
        "{}",
        run.stderr
    );
}

#[test]
fn configure_never_takes_the_secret_from_a_flag() {
    let world = World::new();
    let run = world.run(
        world.bare(),
        &[
            "configure",
            "--client-secret",
            "abc",
            "--token-url",
            "https://x.example/t",
        ],
    );
    assert_eq!(run.code, USAGE);
    let run = world.run(
        world.bare(),
        &[
            "configure",
            "--token-url",
            &world.sandbox.token_url(),
            "--client-id",
            &world.keys.client_id,
        ],
    );
    assert_eq!(run.code, USAGE, "{}", run.stderr);
    assert!(run.stderr.contains("--secret-stdin"), "{}", run.stderr);
}

#[test]
fn an_api_error_exits_with_its_own_code_and_the_status_on_stderr() {
    let world = World::new();
    let url = world.sandbox.url("/v1/searchoauth");
    let run = world.run(world.cmd(), &["call", "-i", &url]);
    assert_eq!(run.code, API_ERROR, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("HTTP/1.1 400"), "{}", run.stdout);
    assert!(
        run.stderr.contains("the API answered 400"),
        "{}",
        run.stderr
    );
}

#[test]
fn call_sends_methods_headers_bodies_and_shows_the_budget_on_verbose() {
    let world = World::new();
    let url = world.sandbox.search_url("privacy");
    let run = world
        .run(
            world.cmd(),
            &["-v", "call", "GET", &url, "-H", "X-Test: 1", "-i"],
        )
        .ok();
    assert!(
        run.stdout.starts_with("HTTP/1.1 200 OK\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("content-type: application/json"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("token request sent"), "{}", run.stderr);
    assert!(run.stderr.contains("calls used today: 2"), "{}", run.stderr);
    let run = world.run(world.cmd(), &["call", "GET", "not a url"]);
    assert_eq!(run.code, USAGE, "{}", run.stderr);
    let run = world.run(world.cmd(), &["call", "-H", "nocolon", &url]);
    assert_eq!(run.code, USAGE, "{}", run.stderr);
}

#[test]
fn an_unreachable_provider_has_its_own_exit_code() {
    let world = World::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut command = world.cmd();
    command.env(
        "BEARER_TOKEN_URL",
        format!("http://127.0.0.1:{port}/oauth2/token"),
    );
    let run = world.run(command, &["token"]);
    assert_eq!(run.code, UNREACHABLE, "{}", run.stderr);
}

#[test]
fn missing_settings_are_usage_errors_that_say_what_to_do() {
    let world = World::new();
    let run = world.run(world.bare(), &["token"]);
    assert_eq!(run.code, USAGE);
    assert!(run.stderr.contains("BEARER_TOKEN_URL"), "{}", run.stderr);
    assert!(run.stderr.contains("bearer configure"), "{}", run.stderr);
}

#[test]
fn help_documents_the_exit_codes_and_completions_print() {
    let world = World::new();
    let help = world.run(world.bare(), &["--help"]).ok();
    for line in [
        "Exit codes:",
        "3  the API answered",
        "5  the day's call quota",
    ] {
        assert!(help.stdout.contains(line), "{}", help.stdout);
    }
    assert!(
        !help.stdout.contains("CLOCK"),
        "the test clock is not documented"
    );
    for shell in ["bash", "zsh", "fish"] {
        let run = world.run(world.bare(), &["completions", shell]).ok();
        assert!(run.stdout.contains("bearer"), "{shell}");
    }
}

/// The cache stays in the directories given: nothing in the real home.
#[test]
fn the_cache_and_config_follow_xdg() {
    let world = World::new();
    world.run(world.cmd(), &["token"]).ok();
    let cache: Vec<PathBuf> = std::fs::read_dir(world.cache_dir().join("bearer"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(
        cache
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "json")),
        "{cache:?}"
    );
    assert!(
        !Path::new(&world.config_dir())
            .join("bearer/config.toml")
            .exists()
    );
}
