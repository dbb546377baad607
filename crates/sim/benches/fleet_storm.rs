//! The fleet storm (BENCHMARKS.md): 8 processes (ureq and hyper alternating) × 32 threads call
//! at the moment their shared token expires. Prints the token requests it cost (one is the
//! target) and the slowest caller's time, beside a storm of the same size on a valid token.
//!
//! ```sh
//! cargo bench -p bearer-sim --bench fleet_storm            # the file store
//! BEARER_STORE=redis://127.0.0.1:6379/0 cargo bench -p bearer-sim --bench fleet_storm
//! ```

use bearer_sandbox::{PlanLimits, Sandbox, SandboxConfig};
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

const PROCESSES: usize = 8;
const THREADS: usize = 32;
const ROUNDS: usize = 5;

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn ask(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").expect("the worker reads");
        self.stdin.flush().expect("the worker reads");
    }

    fn answer(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("the worker answers");
        assert!(!line.is_empty(), "a worker exited");
        line.trim_end().to_owned()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every worker storms at once; the slowest call of all, in microseconds.
fn storm(workers: &mut [Worker]) -> u128 {
    for worker in workers.iter_mut() {
        worker.ask(&format!("storm {THREADS}"));
    }
    let mut slowest = 0;
    for worker in workers.iter_mut() {
        let answer = worker.answer();
        let (failed, us) = answer
            .strip_prefix("failed=")
            .and_then(|rest| rest.split_once(" slowest_us="))
            .expect("a storm's answer");
        assert_eq!(failed, "0", "no call fails: {answer}");
        slowest = slowest.max(us.parse().expect("microseconds"));
    }
    slowest
}

fn median(mut values: Vec<u128>) -> u128 {
    values.sort_unstable();
    values[values.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store =
        std::env::var("BEARER_STORE").unwrap_or_else(|_| format!("file:{}", dir.path().display()));
    let sandbox = Sandbox::start_blocking(SandboxConfig::default().plan(PlanLimits {
        calls_per_day: u64::MAX / 2,
        queries_per_second: 0,
    }))
    .expect("the sandbox starts");
    let keys = sandbox.create_app().expect("an application");
    let mut workers: Vec<Worker> = (0..PROCESSES)
        .map(|i| {
            let offset = sandbox.clock().offset().as_millis().to_string();
            let mut child = Command::new(env!("CARGO_BIN_EXE_fleet-worker"))
                .env("BEARER_TOKEN_URL", sandbox.token_url())
                .env("BEARER_CLIENT_ID", &keys.client_id)
                .env("BEARER_CLIENT_SECRET", &keys.client_secret)
                .env("BEARER_API_URL", sandbox.search_url("privacy"))
                .env("BEARER_STORE", &store)
                .env(
                    "WORKER_TRANSPORT",
                    if i % 2 == 0 { "ureq" } else { "hyper" },
                )
                .env("WORKER_CLOCK_OFFSET_MS", offset)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("the fleet worker starts");
            Worker {
                stdin: child.stdin.take().expect("piped"),
                stdout: BufReader::new(child.stdout.take().expect("piped")),
                child,
            }
        })
        .collect();
    // The first token, and every process adopts it.
    storm(&mut workers);
    let mut valid = Vec::new();
    let mut expired = Vec::new();
    let mut requests = Vec::new();
    for _ in 0..ROUNDS {
        valid.push(storm(&mut workers));
        let before = sandbox.counters().token_requests;
        sandbox.advance(Duration::from_secs(3600));
        for worker in workers.iter_mut() {
            worker.ask("advance 3600");
        }
        for worker in workers.iter_mut() {
            assert_eq!(worker.answer(), "ok");
        }
        expired.push(storm(&mut workers));
        requests.push(sandbox.counters().token_requests - before);
    }
    let kind = store.split(':').next().unwrap_or_default();
    println!(
        "fleet storm, {kind} store: {PROCESSES} processes x {THREADS} threads, {ROUNDS} rounds (median)"
    );
    println!("| storm | token requests per round | slowest caller |");
    println!("|---|---:|---:|");
    println!(
        "| on a valid token | 0 | {:.1} ms |",
        median(valid.clone()) as f64 / 1000.0
    );
    println!(
        "| at the expiry | {} (each round: {:?}) | {:.1} ms |",
        median(requests.iter().map(|&r| u128::from(r)).collect()),
        requests,
        median(expired.clone()) as f64 / 1000.0
    );
    println!(
        "added wait of the slowest caller at the expiry: {:.1} ms",
        (median(expired) as f64 - median(valid) as f64) / 1000.0
    );
}
