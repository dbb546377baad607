//! Load benchmark (not a test): how many token and API requests per second the sandbox serves
//! on this machine, over loopback, so load tests of the clients measure the clients.
//!
//! ```text
//! cargo run --release -p bearer-sandbox --example sandbox_load -- [SECONDS_PER_PHASE] [THREADS]
//! ```
//!
//! Starts the sandbox in-process (no quota or QPS limit), then for each phase runs THREADS
//! client threads (ureq, keep-alive) for a bounded time and prints the rate.

use bearer_sandbox::{AppKeys, PlanLimits, Sandbox, SandboxConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent()
}

fn token(agent: &ureq::Agent, url: &str, keys: &AppKeys) -> Option<String> {
    let body = format!(
        "client_id={}&client_secret={}&grant_type=client_credentials",
        keys.client_id, keys.client_secret
    );
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(body)
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    let text = response.body_mut().read_to_string().ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["access_token"].as_str().map(str::to_owned)
}

/// Runs `threads` workers for `duration`; each calls `work` in a loop; returns (ok, failed).
fn phase(
    threads: usize,
    duration: Duration,
    work: impl Fn(usize, &ureq::Agent) -> bool + Send + Sync + 'static,
) -> (u64, u64, Duration) {
    let work = Arc::new(work);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (work, stop, ok, failed) = (work.clone(), stop.clone(), ok.clone(), failed.clone());
            std::thread::spawn(move || {
                let agent = agent();
                while !stop.load(Ordering::Relaxed) {
                    if work(i, &agent) {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for handle in handles {
        let _ = handle.join();
    }
    (
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        started.elapsed(),
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let duration = Duration::from_secs_f64(seconds.clamp(0.1, 60.0));
    let threads = threads.clamp(1, 64);

    let sandbox = Sandbox::start_blocking(SandboxConfig::default().plan(PlanLimits {
        calls_per_day: u64::MAX,
        queries_per_second: 0,
    }))
    .expect("the sandbox starts");
    let apps: Arc<Vec<AppKeys>> = Arc::new(
        (0..threads)
            .map(|_| sandbox.create_app().expect("an application"))
            .collect(),
    );
    println!(
        "bearer-sandbox load: {threads} client threads, {:.1} s per phase, {} CPUs",
        duration.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let token_url = sandbox.token_url();
    let (ok, failed, elapsed) = phase(threads, duration, {
        let apps = apps.clone();
        move |i, agent| token(agent, &token_url, &apps[i]).is_some()
    });
    report("token requests (client_credentials)", ok, failed, elapsed);

    let token_url = sandbox.token_url();
    let tokens: Arc<Vec<String>> = Arc::new(
        apps.iter()
            .map(|keys| token(&agent(), &token_url, keys).expect("a token"))
            .collect(),
    );
    let search_url = sandbox.search_url("cyber");
    let (ok, failed, elapsed) = phase(threads, duration, move |i, agent| {
        agent
            .get(&search_url)
            .header("Authorization", format!("Bearer {}", tokens[i]))
            .call()
            .ok()
            .and_then(|mut r| (r.status() == 200).then(|| r.body_mut().read_to_vec().ok()))
            .flatten()
            .is_some()
    });
    report("API calls (GET /v1/searchoauth)", ok, failed, elapsed);
    let counters = sandbox.counters();
    println!(
        "sandbox counted {} token requests and {} API calls",
        counters.token_requests, counters.api_calls
    );
}

fn report(what: &str, ok: u64, failed: u64, elapsed: Duration) {
    println!(
        "{what:<40} {:>9.0} requests/s ({ok} ok, {failed} failed, {:.2} s)",
        ok as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
}
