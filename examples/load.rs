//! Load benchmark (not a test): what the bearer client costs on the hot path, and what an
//! expiry storm costs, against the sandbox in-process on 127.0.0.1.
//!
//! ```sh
//! cargo run --release --example load --features hyper,reqwest -- [CALLERS] [SECONDS] [ROUNDS]
//! ```
//!
//! (or `BEARER_LOAD_CALLERS`, `BEARER_LOAD_SECS`, `BEARER_LOAD_ROUNDS`; defaults 8 callers,
//! 1 s per run, 9 rounds: short runs, many rounds, so that a shared machine's drift cancels;
//! `BEARER_LOAD_ONLY=ureq|hyper|reqwest|rq-mw|storm` runs one part). Traffic goes to the
//! in-process sandbox only, every loop is bounded in time, and the program stops by itself
//! (after about `8 × ROUNDS × SECONDS` plus a few seconds).
//!
//! **Counted mode**, for instruction counts, which stay put on a shared machine where times do
//! not: `BEARER_LOAD_CALLS=N BEARER_LOAD_SIDE=a|b BEARER_LOAD_ONLY=<part>` sends N calls one
//! after another through one side of one part, and nothing else. Run it under callgrind at two
//! counts: the difference divided by the difference of counts is one call's instructions in
//! the whole process (caller, client, sandbox), start-up cancelled (BENCHMARKS.md, section 3).
//!
//! 1. **Throughput overhead.** The sandbox runs with a plan that neither its quota nor its QPS
//!    limit can refuse. For each transport, CALLERS concurrent callers (threads for ureq, tasks
//!    for hyper and reqwest) call `GET /v1/searchoauth?query=privacy` for SECONDS, through
//!    (a) the bare transport sending a fixed `Authorization: Bearer <token>` (a plain
//!    `ureq::Agent` with the bearer client's agent settings; a plain hyper-util client over
//!    TCP with `TCP_NODELAY`, as the bearer client's, each call within the same overall
//!    time-out as the client's, `tokio::time::timeout`), the token got once up front, reading
//!    each whole body into a `Vec` as the client does; a plain `reqwest::Client`); and (b) the
//!    bearer client (`Client::get`), or for reqwest the same `reqwest::Client` through the bearer
//!    middleware. The part `rq-mw` measures reqwest-middleware by itself: (b) is the same client
//!    through a middleware that only inserts the fixed header. Rounds alternate the order (a b,
//!    b a, …) so the machine's drift cancels; each prints requests per second, p50/p99
//!    latency, the CPU time of the whole process (callers, client and sandbox) per call, and
//!    the ratio b/a of the round; the summary gives the median ratio against the target 0.97,
//!    and the ratio of CPU per call a/b over all rounds (steadier than the rates when other
//!    programs share the cores).
//! 2. **Expiry storm.** Each storm runs in a fresh child process (this program again, with
//!    `BEARER_LOAD_STORM=ureq|hyper`), so that its peak memory is its own: a client on the
//!    sandbox's clock holds a token; the clock moves to its expiry; 256 threads (ureq) or
//!    10,000 tasks (hyper) blocked on a barrier are released at once and each asks for the
//!    token (`Client::bearer`, the path of every call before it is sent). It prints the token
//!    requests the sandbox received (must be 1), the slowest caller's wait against one token
//!    round trip measured alone in the same process (median of 5), and the storm's peak
//!    memory: the growth of the peak resident set (`VmHWM` of `/proc/self/status`, reset
//!    through `/proc/self/clear_refs` just before the callers are started) over the resident
//!    set before it, beside the same for the same callers when the token is still valid (a
//!    second child with `BEARER_LOAD_EXPIRE=0`), which is what the callers cost by
//!    themselves.

use bearer_client::Config;
use bearer_sandbox::{PlanLimits, Sandbox, SandboxConfig};
use bytes::Bytes;
use http::HeaderValue;
use http::header::AUTHORIZATION;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::io::Read as _;
use std::pin::Pin;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// What a failed step of the benchmark reports.
type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The search every caller sends.
const QUERY: &str = "privacy";
/// Threads released at once in the ureq storm.
const STORM_THREADS: usize = 256;
/// Tasks released at once in the hyper storm.
const STORM_TASKS: usize = 10_000;
/// Lone token round trips measured before a storm (their median is the reference).
const LONE_ROUND_TRIPS: usize = 5;
/// The sandbox's access-token lifetime (its default).
const TOKEN_TTL: Duration = Duration::from_secs(3600);
/// The ratio b/a the client must reach.
const TARGET: f64 = 0.97;

fn main() -> ExitCode {
    let outcome = match std::env::var("BEARER_LOAD_STORM").as_deref() {
        Ok("ureq") => storm_ureq(expire()),
        Ok("hyper") => storm_hyper(expire()),
        _ => parent(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Whether a storm child moves the clock to the token's expiry (`BEARER_LOAD_EXPIRE`, default
/// yes) or releases its callers with the token still valid (the baseline).
fn expire() -> bool {
    std::env::var("BEARER_LOAD_EXPIRE").map_or(true, |v| v != "0")
}

/// The throughput settings, from the arguments or the environment.
#[derive(Debug, Clone, Copy)]
struct Settings {
    /// Concurrent callers.
    callers: usize,
    /// Length of one run.
    run: Duration,
    /// Rounds of one (a) run and one (b) run.
    rounds: usize,
    /// Instead of the timed runs: this many calls, one after another, through (a) (`false`)
    /// or (b) (`true`) only, for an instruction count (`BEARER_LOAD_CALLS`, `BEARER_LOAD_SIDE`).
    counted: Option<(bool, u64)>,
}

impl Settings {
    /// Reads `[CALLERS] [SECONDS] [ROUNDS]`, else `BEARER_LOAD_*`, else the defaults; bounded.
    fn read() -> Self {
        let mut args = std::env::args().skip(1);
        let mut value = |env: &str| {
            args.next()
                .or_else(|| std::env::var(env).ok())
                .and_then(|v| v.parse::<f64>().ok())
        };
        let callers = value("BEARER_LOAD_CALLERS")
            .unwrap_or(8.0)
            .clamp(1.0, 256.0);
        let secs = value("BEARER_LOAD_SECS").unwrap_or(1.0).clamp(0.2, 60.0);
        let rounds = value("BEARER_LOAD_ROUNDS").unwrap_or(9.0).clamp(1.0, 41.0);
        let counted = std::env::var("BEARER_LOAD_CALLS")
            .ok()
            .and_then(|calls| calls.parse::<u64>().ok())
            .map(|calls| {
                let side = std::env::var("BEARER_LOAD_SIDE").unwrap_or_default();
                (side == "b", calls.min(1_000_000))
            });
        Self {
            callers: callers as usize,
            run: Duration::from_secs_f64(secs),
            rounds: rounds as usize,
            counted,
        }
    }
}

/// A plan neither the sandbox's quota nor its QPS limit refuses.
fn unlimited() -> PlanLimits {
    PlanLimits {
        calls_per_day: u64::MAX,
        queries_per_second: 0,
    }
}

/// The machine, as far as this benchmark is concerned.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("MemTotal:"))
                .map(|line| line.trim_start_matches("MemTotal:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("{cpus} CPUs, {memory} memory, load average {load}")
}

/// A sandbox whose plan refuses nothing, and the configuration of an active application on it.
fn sandbox_and_config() -> Result<(Sandbox, Config), Failure> {
    let sandbox = Sandbox::start_blocking(SandboxConfig::default().plan(unlimited()))?;
    let keys = sandbox.create_app()?;
    let config = Config::builder(
        sandbox.token_url(),
        keys.client_id.as_str(),
        keys.client_secret.as_str(),
    )
    .build()?;
    Ok((sandbox, config))
}

/// The throughput part, then the storms in child processes.
fn parent() -> Result<(), Failure> {
    let settings = Settings::read();
    println!(
        "bearer load: {} callers, {:.1} s per run, {} rounds; {}",
        settings.callers,
        settings.run.as_secs_f64(),
        settings.rounds,
        machine()
    );
    let (sandbox, config) = sandbox_and_config()?;

    let only = std::env::var("BEARER_LOAD_ONLY").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only == name;
    println!("\n== 1. throughput: (a) bare transport with a fixed header, (b) bearer client");
    let ureq_ratio = if part("ureq") {
        Some(throughput_ureq(&sandbox, config.clone(), settings)?)
    } else {
        None
    };
    let hyper_ratio = if part("hyper") {
        Some(throughput_hyper(&sandbox, config.clone(), settings)?)
    } else {
        None
    };
    let through = |m| throughput_reqwest(&sandbox, config.clone(), settings, m);
    let reqwest_ratio = if part("reqwest") {
        Some(through(ThroughMiddleware::Bearer)?)
    } else {
        None
    };
    let floor_ratio = if part("rq-mw") {
        Some(through(ThroughMiddleware::FixedHeader)?)
    } else {
        None
    };
    if settings.counted.is_some() {
        return Ok(());
    }
    let counters = sandbox.counters();
    println!(
        "the sandbox counted {} API calls and {} token request(s) in all",
        counters.api_calls, counters.token_requests
    );
    drop(sandbox);

    println!("\n== 2. expiry storm (each in a fresh process)");
    let exe = std::env::current_exe()?;
    let mut storms_ok = true;
    let storms = if part("storm") {
        ["ureq", "hyper"].as_slice()
    } else {
        &[]
    };
    for transport in storms {
        for expire in ["1", "0"] {
            let status = Command::new(&exe)
                .env("BEARER_LOAD_STORM", transport)
                .env("BEARER_LOAD_EXPIRE", expire)
                .status()?;
            storms_ok &= status.success();
        }
    }

    println!("\n== summary");
    for (name, ratio) in [
        ("ureq", ureq_ratio),
        ("hyper", hyper_ratio),
        ("reqwest", reqwest_ratio),
    ] {
        let Some(ratio) = ratio else { continue };
        let verdict = if ratio >= TARGET { "met" } else { "MISSED" };
        println!("{name:<6} median ratio b/a {ratio:.3} (target >= {TARGET}: {verdict})");
    }
    if let Some(ratio) = floor_ratio {
        println!(
            "rq-mw  median ratio b/a {ratio:.3} (reqwest-middleware by itself, with a middleware \
             that only sets the header: no target)"
        );
    }
    if !storms_ok {
        return Err("a storm failed (see above)".into());
    }
    Ok(())
}

/// One run's outcome.
struct Run {
    /// Calls answered 200 with their whole body read.
    ok: u64,
    /// Calls that failed or were answered otherwise.
    failed: u64,
    /// From the release of the callers to the end of the last call.
    elapsed: Duration,
    /// CPU time the whole process (callers, client and sandbox) used meanwhile.
    cpu: Duration,
    /// Every call's latency in nanoseconds, sorted.
    latencies: Vec<u64>,
}

impl Run {
    /// Gathers the callers' results.
    fn new(elapsed: Duration, cpu: Duration, parts: Vec<(u64, u64, Vec<u64>)>) -> Self {
        let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
        for (o, f, l) in parts {
            ok += o;
            failed += f;
            latencies.extend(l);
        }
        latencies.sort_unstable();
        Self {
            ok,
            failed,
            elapsed,
            cpu,
            latencies,
        }
    }

    /// Successful calls per second.
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0 to 1), in milliseconds.
    fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[index] as f64 / 1e6
    }

    /// CPU time of the whole process per successful call, in microseconds.
    fn cpu_per_call_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.ok as f64
    }

    /// One line: rate, p50, p99, CPU per call, failures.
    fn line(&self) -> String {
        format!(
            "{:>8.0} req/s  p50 {:>6.3} ms  p99 {:>6.3} ms  CPU {:>5.1} us/call  ({} calls, {} failed)",
            self.rate(),
            self.quantile_ms(0.50),
            self.quantile_ms(0.99),
            self.cpu_per_call_us(),
            self.ok,
            self.failed
        )
    }
}

/// The order of the runs: two short warm-ups (a, b), then `rounds` rounds alternating a b,
/// b a, … so that a drift within a round cancels over two; `true` is (b).
fn order(rounds: usize) -> Vec<(bool, bool)> {
    let mut plan = vec![(true, false), (true, true)];
    for round in 0..rounds {
        let first = round % 2 == 1;
        plan.extend([(false, first), (false, !first)]);
    }
    plan
}

/// How long a run in [`order`] lasts: warm-ups half a second.
fn run_length(warm_up: bool, settings: Settings) -> Duration {
    if warm_up {
        Duration::from_millis(500)
    } else {
        settings.run
    }
}

/// Prints the runs made in [`order`] (warm-ups left out) and returns the median ratio b/a.
fn summarize(name: &str, plan: &[(bool, bool)], runs: Vec<Run>) -> Result<f64, Failure> {
    let mut ratios = Vec::new();
    let (mut all_a, mut all_b) = (Vec::new(), Vec::new());
    let measured: Vec<(bool, Run)> = plan
        .iter()
        .zip(runs)
        .filter(|((warm_up, _), _)| !warm_up)
        .map(|((_, bearer), run)| (*bearer, run))
        .collect();
    for result in measured.iter().map(|(_, run)| run) {
        if result.failed > 0 || result.ok == 0 {
            return Err(format!("{name}: a run had failed calls: {}", result.line()).into());
        }
    }
    let mut measured = measured.into_iter();
    let mut round = 0;
    while let (Some(first), Some(second)) = (measured.next(), measured.next()) {
        round += 1;
        let (a, b) = if first.0 {
            (second.1, first.1)
        } else {
            (first.1, second.1)
        };
        let ratio = b.rate() / a.rate();
        println!("{name:<6} round {round} a bare   {}", a.line());
        println!(
            "{name:<6} round {round} b bearer {}  b/a {ratio:.3}",
            b.line()
        );
        ratios.push(ratio);
        all_a.push(a);
        all_b.push(b);
    }
    let median_ratio = median(&mut ratios.clone());
    let pooled = |runs: Vec<Run>| {
        let elapsed = runs.iter().map(|r| r.elapsed).sum();
        let cpu = runs.iter().map(|r| r.cpu).sum();
        Run::new(
            elapsed,
            cpu,
            runs.into_iter()
                .map(|r| (r.ok, r.failed, r.latencies))
                .collect(),
        )
    };
    let (a, b) = (pooled(all_a), pooled(all_b));
    println!("{name:<6} all     a bare   {}", a.line());
    println!("{name:<6} all     b bearer {}", b.line());
    let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
    println!(
        "{name:<6} median ratio b/a {median_ratio:.3} (rounds: {}); p50 b-a {:+.3} ms, p99 b-a {:+.3} ms",
        listed.join(" "),
        b.quantile_ms(0.5) - a.quantile_ms(0.5),
        b.quantile_ms(0.99) - a.quantile_ms(0.99),
    );
    println!(
        "{name:<6} CPU per call a/b {:.3} ({:.1} vs {:.1} us: the client adds {:+.1} us)\n",
        a.cpu_per_call_us() / b.cpu_per_call_us(),
        a.cpu_per_call_us(),
        b.cpu_per_call_us(),
        b.cpu_per_call_us() - a.cpu_per_call_us()
    );
    Ok(median_ratio)
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// `callers` threads call `call` in a loop for `duration`, released together.
fn run_threads(callers: usize, duration: Duration, call: impl Fn() -> bool + Sync) -> Run {
    let stop = AtomicBool::new(false);
    let start = Barrier::new(callers + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..callers)
            .map(|_| {
                scope.spawn(|| {
                    let (mut ok, mut failed) = (0, 0);
                    let mut latencies = Vec::with_capacity(1 << 16);
                    start.wait();
                    while !stop.load(Ordering::Relaxed) {
                        let sent = Instant::now();
                        let answered = call();
                        latencies.push(sent.elapsed().as_nanos() as u64);
                        if answered { ok += 1 } else { failed += 1 }
                    }
                    (ok, failed, latencies)
                })
            })
            .collect();
        start.wait();
        let released = Instant::now();
        let cpu = cpu_time();
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        let parts = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect();
        Run::new(released.elapsed(), cpu_time().saturating_sub(cpu), parts)
    })
}

/// `callers` tasks await `call()` in a loop for `duration`, started together.
async fn run_tasks<F, C>(callers: usize, duration: Duration, call: C) -> Run
where
    C: Fn() -> F + Clone + Send + 'static,
    F: Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(tokio::sync::Barrier::new(callers + 1));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let (stop, start, call) = (Arc::clone(&stop), Arc::clone(&start), call.clone());
        tasks.spawn(async move {
            let (mut ok, mut failed) = (0, 0);
            let mut latencies = Vec::with_capacity(1 << 16);
            start.wait().await;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let answered = call().await;
                latencies.push(sent.elapsed().as_nanos() as u64);
                if answered { ok += 1 } else { failed += 1 }
            }
            (ok, failed, latencies)
        });
    }
    start.wait().await;
    let released = Instant::now();
    let cpu = cpu_time();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let parts = tasks.join_all().await;
    Run::new(released.elapsed(), cpu_time().saturating_sub(cpu), parts)
}

/// The runs of [`order`] with async callers, (a) `bare` and (b) `bearer`, summarized; or, in
/// the counted mode, that many calls through one side.
async fn run_plan<A, FA, B, FB>(
    name: &str,
    settings: Settings,
    bare: A,
    bearer: B,
) -> Result<f64, Failure>
where
    A: Fn() -> FA + Clone + Send + 'static,
    FA: Future<Output = bool> + Send,
    B: Fn() -> FB + Clone + Send + 'static,
    FB: Future<Output = bool> + Send,
{
    if let Some((with_bearer, calls)) = settings.counted {
        for sent in 0..calls {
            let answered = if with_bearer {
                bearer().await
            } else {
                bare().await
            };
            if !answered {
                return Err(format!("{name}: call {sent} failed").into());
            }
        }
        return Ok(counted(name, with_bearer, calls));
    }
    let plan = order(settings.rounds);
    let mut runs = Vec::new();
    for &(warm_up, with_bearer) in &plan {
        let duration = run_length(warm_up, settings);
        runs.push(if with_bearer {
            run_tasks(settings.callers, duration, bearer.clone()).await
        } else {
            run_tasks(settings.callers, duration, bare.clone()).await
        });
    }
    summarize(name, &plan, runs)
}

/// The counted mode for blocking callers: `calls` calls through `call`, one after another.
fn count_calls(
    name: &str,
    (with_bearer, calls): (bool, u64),
    call: impl Fn() -> bool,
) -> Result<f64, Failure> {
    match (0..calls).find(|_| !call()) {
        Some(sent) => Err(format!("{name}: call {sent} failed").into()),
        None => Ok(counted(name, with_bearer, calls)),
    }
}

/// Says what the counted mode ran; its "ratio" is not a number.
fn counted(name: &str, with_bearer: bool, calls: u64) -> f64 {
    let side = if with_bearer { "b bearer" } else { "a bare" };
    println!("{name:<6} {calls} calls through {side}, one after another");
    f64::NAN
}

/// The callers' runtime for the async parts: multi-threaded, with `BEARER_LOAD_WORKERS`
/// workers (default: the runtime's own, one per core).
fn callers_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = std::env::var("BEARER_LOAD_WORKERS")
        .ok()
        .and_then(|w| w.parse::<usize>().ok())
    {
        builder.worker_threads(workers.clamp(1, 64));
    }
    builder.enable_all().build()
}

/// CPU time (user and system) of the whole process so far, from `/proc/self/stat` (in
/// 1/100 s); zero where it cannot be read.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15, the 12th and 13th after the name.
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |t| t.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    Duration::from_millis(ticks * 10)
}

/// A plain ureq agent with the settings the bearer client gives its API agent.
fn bare_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(bearer_client::blocking::DEFAULT_USER_AGENT)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// Part 1 for the blocking transport; the median ratio.
fn throughput_ureq(sandbox: &Sandbox, config: Config, settings: Settings) -> Result<f64, Failure> {
    let client = bearer_client::blocking::Client::new(config)?;
    // The token of (a), got once up front (the client holds the same one).
    let header = client
        .bearer()?
        .header_value()
        .to_str()
        .map(str::to_owned)?;
    let agent = bare_agent();
    let url = sandbox.search_url(QUERY);
    let api = sandbox.url(bearer_sandbox::SEARCH_PATH);
    let bare = || -> bool {
        let Ok(response) = agent.get(&url).header(AUTHORIZATION, &header).call() else {
            return false;
        };
        let ok = response.status() == 200;
        let mut body = Vec::new();
        let read = response.into_body().into_reader().read_to_end(&mut body);
        ok && read.is_ok()
    };
    let bearer = || -> bool {
        client
            .get(&api, [("query", QUERY)])
            .is_ok_and(|answer| answer.status() == 200)
    };
    if let Some(counted) = settings.counted {
        return count_calls(
            "ureq",
            counted,
            || if counted.0 { bearer() } else { bare() },
        );
    }
    let plan = order(settings.rounds);
    let runs = plan
        .iter()
        .map(|&(warm_up, with_bearer)| {
            let duration = run_length(warm_up, settings);
            if with_bearer {
                run_threads(settings.callers, duration, bearer)
            } else {
                run_threads(settings.callers, duration, bare)
            }
        })
        .collect();
    summarize("ureq", &plan, runs)
}

/// Part 1 for the async transport, on a multi-threaded runtime; the median ratio.
fn throughput_hyper(sandbox: &Sandbox, config: Config, settings: Settings) -> Result<f64, Failure> {
    let runtime = callers_runtime()?;
    let url = sandbox.search_url(QUERY);
    let api = sandbox.url(bearer_sandbox::SEARCH_PATH);
    runtime.block_on(async move {
        let client = bearer_client::asynchronous::Client::new(config)?;
        let header: HeaderValue = client.bearer().await?.header_value().clone();
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        let http = HyperClient::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(tcp);
        let bare = move || {
            let (http, url, header) = (http.clone(), url.clone(), header.clone());
            // Within the same overall time-out as the client's calls (as the bare ureq agent
            // has the client's `timeout_global`): a bare client in production has one too.
            let exchange = async move {
                let Ok(request) = http::Request::get(url.as_str())
                    .header(AUTHORIZATION, header)
                    .body(Full::new(Bytes::new()))
                else {
                    return false;
                };
                let Ok(response) = http.request(request).await else {
                    return false;
                };
                let ok = response.status() == 200;
                // Read into a Vec frame by frame, as the client does.
                let mut body = response.into_body();
                let mut bytes = Vec::new();
                while let Some(frame) = body.frame().await {
                    match frame {
                        Ok(frame) => {
                            if let Ok(data) = frame.into_data() {
                                bytes.extend_from_slice(&data);
                            }
                        }
                        Err(_) => return false,
                    }
                }
                ok
            };
            async move {
                tokio::time::timeout(bearer_client::asynchronous::DEFAULT_TIMEOUT, exchange)
                    .await
                    .unwrap_or(false)
            }
        };
        let bearer = move || {
            let (client, api) = (client.clone(), api.clone());
            async move {
                client
                    .get(&api, [("query", QUERY)])
                    .await
                    .is_ok_and(|answer| answer.status() == 200)
            }
        };
        run_plan("hyper", settings, bare, bearer).await
    })
}

/// What (b) is in the reqwest part.
#[derive(Debug, Clone, Copy)]
enum ThroughMiddleware {
    /// The bearer middleware.
    Bearer,
    /// A middleware that only inserts the fixed header: what reqwest-middleware costs by
    /// itself, whatever the middleware does.
    FixedHeader,
}

/// Part 1 for reqwest: (a) a bare `reqwest::Client` sending a fixed header, (b) the same
/// client through `reqwest_middleware`, with the bearer middleware or (for the framework's
/// own cost) one that only inserts the fixed header; the median ratio.
fn throughput_reqwest(
    sandbox: &Sandbox,
    config: Config,
    settings: Settings,
    through: ThroughMiddleware,
) -> Result<f64, Failure> {
    let runtime = callers_runtime()?;
    let url = sandbox.search_url(QUERY);
    runtime.block_on(async move {
        let client = bearer_client::reqwest_client::Client::new(config)?;
        let header: HeaderValue = client.bearer().await?.header_value().clone();
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .timeout(bearer_client::reqwest_client::DEFAULT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let (name, with_middleware) = match through {
            ThroughMiddleware::Bearer => (
                "reqwest",
                reqwest_middleware::ClientBuilder::new(http.clone())
                    .with(client.middleware())
                    .build(),
            ),
            ThroughMiddleware::FixedHeader => (
                "rq-mw",
                reqwest_middleware::ClientBuilder::new(http.clone())
                    .with(FixedHeader(header.clone()))
                    .build(),
            ),
        };
        let bare = {
            let url = url.clone();
            move || {
                let (http, url, header) = (http.clone(), url.clone(), header.clone());
                async move {
                    let sent = http.get(url.as_str()).header(AUTHORIZATION, header).send();
                    match sent.await {
                        Ok(response) => {
                            let ok = response.status() == 200;
                            ok && response.bytes().await.is_ok()
                        }
                        Err(_) => false,
                    }
                }
            }
        };
        let bearer = move || {
            let (http, url) = (with_middleware.clone(), url.clone());
            async move {
                match http.get(url.as_str()).send().await {
                    Ok(response) => {
                        let ok = response.status() == 200;
                        ok && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                }
            }
        };
        run_plan(name, settings, bare, bearer).await
    })
}

/// A reqwest middleware that inserts a fixed `Authorization` header and does nothing else.
struct FixedHeader(HeaderValue);

impl reqwest_middleware::Middleware for FixedHeader {
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        mut request: reqwest::Request,
        extensions: &'life1 mut http::Extensions,
        next: reqwest_middleware::Next<'life2>,
    ) -> Pin<
        Box<
            dyn Future<Output = reqwest_middleware::Result<reqwest::Response>>
                + Send
                + 'async_trait,
        >,
    >
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        request.headers_mut().insert(AUTHORIZATION, self.0.clone());
        next.run(request, extensions)
    }
}

/// The resident set now and its peak, in kB, from `/proc/self/status`.
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kb| kb.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak resident set to the current one (Linux: `5` to `/proc/self/clear_refs`).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// What a storm child notes just before its callers are started.
struct Before {
    /// Token requests the sandbox had received.
    token_requests: u64,
    /// Resident set, kB.
    rss: u64,
    /// Whether the peak resident set was reset.
    reset: bool,
}

impl Before {
    /// Notes the sandbox's token requests and the resident set, then resets the peak.
    fn note(sandbox: &Sandbox) -> Self {
        let token_requests = token_requests(sandbox);
        let (rss, _) = memory_kb();
        let reset = reset_peak();
        Self {
            token_requests,
            rss,
            reset,
        }
    }

    /// The storm, once over: the callers' waits and span (from [`span_and_waits`]), and what
    /// it cost since `self`.
    fn storm(self, sandbox: &Sandbox, (waits, span): (Vec<u64>, Duration)) -> Storm {
        let (_, peak) = memory_kb();
        Storm {
            waits,
            span,
            rss_before: self.rss,
            peak,
            reset: self.reset,
            token_requests: token_requests(sandbox) - self.token_requests,
        }
    }
}

/// What a storm child measured.
struct Storm {
    /// Each caller's wait for its token, from its release, in nanoseconds.
    waits: Vec<u64>,
    /// From the first caller's release to the last caller's token.
    span: Duration,
    /// Resident set before the callers were started, kB.
    rss_before: u64,
    /// Peak resident set during the storm, kB.
    peak: u64,
    /// Whether the peak was reset before the storm.
    reset: bool,
    /// Token requests the sandbox received during the storm.
    token_requests: u64,
}

/// Prints a storm child's findings; fails when more than one token request went out.
fn report_storm(
    name: &str,
    callers: usize,
    expire: bool,
    lone: &mut [f64],
    storm: &Storm,
) -> Result<(), Failure> {
    let token_requests = storm.token_requests;
    let mut waits = storm.waits.clone();
    waits.sort_unstable();
    let slowest = waits.last().copied().unwrap_or(0) as f64 / 1e6;
    let p50 = waits.get(waits.len() / 2).copied().unwrap_or(0) as f64 / 1e6;
    let growth = storm.peak.saturating_sub(storm.rss_before);
    let peak_note = if storm.reset {
        "peak reset before the storm"
    } else {
        "peak since the process started: clear_refs unavailable"
    };
    if expire {
        let round_trip = median(lone);
        println!(
            "{name:<6} storm: {callers} callers at expiry -> {token_requests} token request(s) (must be 1)"
        );
        println!(
            "{name:<6}   one token round trip alone {round_trip:.3} ms (median of {LONE_ROUND_TRIPS}); \
             slowest caller {slowest:.3} ms (added {:+.3} ms); median caller {p50:.3} ms; \
             release to last token {:.3} ms",
            slowest - round_trip,
            storm.span.as_secs_f64() * 1e3
        );
    } else {
        println!(
            "{name:<6} baseline: the same {callers} callers, token still valid -> {token_requests} token request(s); \
             slowest caller {slowest:.3} ms; release to last {:.3} ms",
            storm.span.as_secs_f64() * 1e3
        );
    }
    println!(
        "{name:<6}   peak memory: VmHWM {} kB over VmRSS {} kB before = +{growth} kB ({:.1} kB per caller; {peak_note})",
        storm.peak,
        storm.rss_before,
        growth as f64 / callers as f64
    );
    if expire && token_requests != 1 {
        return Err(format!("{name}: {token_requests} token requests in the storm, not 1").into());
    }
    Ok(())
}

/// Token requests the sandbox has received.
fn token_requests(sandbox: &Sandbox) -> u64 {
    sandbox.counters().token_requests
}

/// The ureq storm child: 256 threads.
fn storm_ureq(expire: bool) -> Result<(), Failure> {
    let (sandbox, config) = sandbox_and_config()?;
    let client = bearer_client::blocking::Client::builder(config)
        .clock(sandbox.clock())
        .build()?;
    client.bearer()?;
    // One renewal at a time, alone: the reference round trip.
    let mut lone = Vec::new();
    for _ in 0..LONE_ROUND_TRIPS {
        sandbox.advance(TOKEN_TTL);
        let sent = Instant::now();
        client.bearer()?;
        lone.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    let before = Before::note(&sandbox);
    let start = Barrier::new(STORM_THREADS + 1);
    let waits_and_span = std::thread::scope(|scope| -> Result<_, Failure> {
        let handles: Vec<_> = (0..STORM_THREADS)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let released = Instant::now();
                    let got = client.bearer().is_ok();
                    (got, released, Instant::now())
                })
            })
            .collect();
        // Every thread is started and waiting: move the clock, then release them all.
        std::thread::sleep(Duration::from_millis(200));
        if expire {
            sandbox.advance(TOKEN_TTL);
        }
        start.wait();
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.join().map_err(|_| "a storm thread panicked")?);
        }
        span_and_waits(&results)
    })?;
    let storm = before.storm(&sandbox, waits_and_span);
    report_storm("ureq", STORM_THREADS, expire, &mut lone, &storm)
}

/// Each caller's wait and the span from the first release to the last token; fails if a
/// caller did not get its token.
fn span_and_waits(results: &[(bool, Instant, Instant)]) -> Result<(Vec<u64>, Duration), Failure> {
    if results.iter().any(|(got, _, _)| !got) {
        return Err("a caller did not get a token".into());
    }
    let first = results.iter().map(|r| r.1).min().ok_or("no caller")?;
    let last = results.iter().map(|r| r.2).max().ok_or("no caller")?;
    let waits = results
        .iter()
        .map(|(_, released, got)| got.duration_since(*released).as_nanos() as u64)
        .collect();
    Ok((waits, last.duration_since(first)))
}

/// The hyper storm child: 10,000 tasks on a multi-threaded runtime.
fn storm_hyper(expire: bool) -> Result<(), Failure> {
    let (sandbox, config) = sandbox_and_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = bearer_client::asynchronous::Client::builder(config)
            .clock(sandbox.clock())
            .build()?;
        client.bearer().await?;
        let mut lone = Vec::new();
        for _ in 0..LONE_ROUND_TRIPS {
            sandbox.advance(TOKEN_TTL);
            let sent = Instant::now();
            client.bearer().await?;
            lone.push(sent.elapsed().as_secs_f64() * 1e3);
        }
        let before = Before::note(&sandbox);
        let start = Arc::new(tokio::sync::Barrier::new(STORM_TASKS + 1));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..STORM_TASKS {
            let (client, start) = (client.clone(), Arc::clone(&start));
            tasks.spawn(async move {
                start.wait().await;
                let released = Instant::now();
                let got = client.bearer().await.is_ok();
                (got, released, Instant::now())
            });
        }
        // Every task is spawned and waiting: move the clock, then release them all.
        tokio::time::sleep(Duration::from_millis(200)).await;
        if expire {
            sandbox.advance(TOKEN_TTL);
        }
        start.wait().await;
        let results = tasks.join_all().await;
        let storm = before.storm(&sandbox, span_and_waits(&results)?);
        report_storm("hyper", STORM_TASKS, expire, &mut lone, &storm)
    })
}
