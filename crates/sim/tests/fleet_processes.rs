//! Real processes sharing one credential through a fleet store, against the sandbox over
//! loopback: each is a `fleet-worker` (src/bin/fleet-worker.rs), ureq and hyper mixed, driven
//! line by line so that the test orders every step (no sleeps: the sandbox's clock and the
//! workers' clocks are moved together; a held answer pins a process mid-request).
//!
//! The file store's tests always run. The Redis store's start a throwaway `redis-server` (a
//! free loopback port, no persistence) and are ignored without one: run them with
//! `cargo test -p bearer-sim --test fleet_processes -- --include-ignored` after
//! `apt-get install redis-server`; run so without the program, they fail saying so.

use bearer_sandbox::{AppKeys, FaultTarget, PlanLimits, Sandbox, SandboxConfig};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

const HOUR: u64 = 3600;

#[path = "../../store/tests/redis_server/mod.rs"]
mod redis_server;

use redis_server::RedisServer;

/// The sandbox and an application, on the system clock plus what the test advances.
struct Fleet {
    sandbox: Sandbox,
    keys: AppKeys,
    store: String,
    /// Keeps the file store's directory alive.
    _dir: Option<tempfile::TempDir>,
}

impl Fleet {
    fn with_redis(server: &RedisServer) -> Fleet {
        Fleet::new(server.url(), None)
    }

    fn with_file_store() -> Fleet {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = format!("file:{}", dir.path().display());
        Fleet::new(store, Some(dir))
    }

    fn new(store: String, dir: Option<tempfile::TempDir>) -> Fleet {
        let plan = PlanLimits {
            calls_per_day: 1_000_000,
            queries_per_second: 0,
        };
        let sandbox = Sandbox::start_blocking(SandboxConfig::default().plan(plan))
            .expect("the sandbox starts");
        let keys = sandbox.create_app().expect("an application");
        Fleet {
            sandbox,
            keys,
            store,
            _dir: dir,
        }
    }

    /// The shared record, as the store holds it.
    fn record(&self) -> Option<bearer_protocol::fleet::Record> {
        let credential = bearer_protocol::Credential {
            token_url: self.sandbox.token_url(),
            client_id: self.keys.client_id.as_str().into(),
        };
        let store = self
            .store
            .parse::<bearer_store::StoreSpec>()
            .ok()?
            .open()
            .ok()?;
        store.read(&credential).ok()?
    }

    fn dir(&self) -> &Path {
        Path::new(self.store.trim_start_matches("file:"))
    }

    /// A worker process on `transport`.
    fn worker(&self, transport: &str) -> Worker {
        let offset = self.sandbox.clock().offset().as_millis().to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleet-worker"))
            .env("BEARER_TOKEN_URL", self.sandbox.token_url())
            .env("BEARER_CLIENT_ID", &self.keys.client_id)
            .env("BEARER_CLIENT_SECRET", &self.keys.client_secret)
            .env("BEARER_API_URL", self.sandbox.search_url("privacy"))
            .env("BEARER_STORE", &self.store)
            .env("WORKER_TRANSPORT", transport)
            .env("WORKER_CLOCK_OFFSET_MS", offset)
            // A lease of 3 s: how long the others wait for a holder that died (Redis expires
            // it; a file lock is dropped at once).
            .env("WORKER_TOKEN_TIMEOUT_MS", "1000")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the fleet worker starts");
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Worker {
            child,
            stdin,
            stdout,
            transport: transport.to_owned(),
        }
    }

    /// `n` workers, ureq and hyper alternating.
    fn workers(&self, n: usize) -> Vec<Worker> {
        (0..n)
            .map(|i| self.worker(if i % 2 == 0 { "ureq" } else { "hyper" }))
            .collect()
    }

    /// Moves the sandbox's clock and every worker's by `seconds`.
    fn advance(&self, workers: &mut [Worker], seconds: u64) {
        self.sandbox.advance(Duration::from_secs(seconds));
        for worker in workers.iter_mut() {
            worker.send(&format!("advance {seconds}"));
        }
        for worker in workers.iter_mut() {
            assert_eq!(worker.answer(), "ok");
        }
    }
}

/// One worker process and its pipes.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    transport: String,
}

impl Worker {
    fn send(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").expect("the worker reads its commands");
        self.stdin.flush().expect("the worker reads its commands");
    }

    fn answer(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("the worker answers");
        if line.is_empty() {
            let status = self.child.wait().expect("the worker exited");
            let mut events = String::new();
            if let Some(mut stderr) = self.child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut stderr, &mut events);
            }
            panic!("the {} worker exited ({status}): {events}", self.transport);
        }
        line.trim_end().to_owned()
    }

    /// Ends the worker and returns what it reported on stderr (its events).
    fn finish(mut self) -> String {
        self.send("quit");
        let _ = self.child.wait();
        let mut events = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut events);
        }
        events
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every worker makes one call at the same moment; all must succeed.
fn all_call(workers: &mut [Worker]) {
    for worker in workers.iter_mut() {
        worker.send("call");
    }
    for worker in workers.iter_mut() {
        let answer = worker.answer();
        assert_eq!(answer, "200", "a {} worker's call", worker.transport);
    }
}

fn corrupt_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("the store's directory")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().contains("corrupt"))
        .collect()
}

fn ten_runs_in_a_row_send_one_token_request(fleet: &Fleet) {
    for run in 0..10 {
        let mut worker = fleet.worker(if run % 2 == 0 { "ureq" } else { "hyper" });
        worker.send("call");
        assert_eq!(worker.answer(), "200");
        worker.finish();
    }
    let counters = fleet.sandbox.counters();
    assert_eq!(
        counters.token_requests, 1,
        "the first run's token serves all ten"
    );
    assert_eq!(counters.api_calls, 10);
    // Each run wrote its call to the fleet's count of the day as it exited.
    let day = fleet.record().expect("the shared record").day;
    assert_eq!((day.calls, day.token_requests), (10, 1));
}

fn six_processes_renew_once_per_lifetime_and_fetch_once_in_all(fleet: &Fleet) {
    let mut workers = fleet.workers(6);
    let lifetimes = 4;
    for lifetime in 0..lifetimes {
        if lifetime > 0 {
            // Past the expiry: every process wants a renewal at the same moment.
            fleet.advance(&mut workers, HOUR);
        }
        all_call(&mut workers);
        all_call(&mut workers);
    }
    let counters = fleet.sandbox.counters();
    assert_eq!(
        counters.token_requests_by_grant.client_credentials, 1,
        "one client_credentials for the whole fleet"
    );
    assert_eq!(
        counters.token_requests_by_grant.refresh_token,
        lifetimes - 1,
        "one refresh per renewal"
    );
    assert_eq!(counters.api_calls, 6 * 2 * lifetimes);
    for worker in workers {
        let events = worker.finish();
        assert!(
            !events.contains("refused"),
            "no refresh token was refused: {events}"
        );
    }
}

fn the_fleet_takes_over_from_a_process_killed_during_its_renewal(fleet: &Fleet) {
    let mut workers = fleet.workers(4);
    all_call(&mut workers);
    fleet.advance(&mut workers, HOUR);
    // The first worker renews; its answer is held at the sandbox, and it is killed holding
    // the lease.
    let hold = fleet.sandbox.hold(FaultTarget::Token, 1);
    let mut doomed = workers.remove(0);
    doomed.send("call");
    hold.wait_arrived();
    doomed.child.kill().expect("kill -9");
    doomed.child.wait().expect("reaped");
    drop(hold);
    // The others take over: at once from a file lock (the operating system drops a dead
    // holder's), after the lease's time to live from Redis.
    all_call(&mut workers);
    all_call(&mut workers);
    let counters = fleet.sandbox.counters();
    // The dead process's renewal rotated the refresh token and died with it: the first
    // refresh after it is refused, and one client_credentials recovers the fleet.
    assert_eq!(counters.token_requests_by_grant.client_credentials, 2);
    assert_eq!(
        counters.token_requests_by_grant.refresh_token, 2,
        "the dead process's and one refused: {counters:?}"
    );
    // And the fleet goes on renewing by refresh.
    fleet.advance(&mut workers, HOUR);
    all_call(&mut workers);
    let after = fleet.sandbox.counters();
    assert_eq!(after.token_requests_by_grant.client_credentials, 2);
    assert_eq!(
        after.token_requests_by_grant.refresh_token,
        counters.token_requests_by_grant.refresh_token + 1
    );
}

#[test]
fn a_corrupt_record_is_set_aside_and_the_fleet_goes_on() {
    let fleet = Fleet::with_file_store();
    let mut workers = fleet.workers(3);
    all_call(&mut workers);
    let record = std::fs::read_dir(fleet.dir())
        .expect("the store's directory")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|e| e == "json"))
        .expect("the record was written");
    std::fs::write(&record, b"{\"generation\": \"no\"").expect("the record is overwritten");
    fleet.advance(&mut workers, HOUR);
    all_call(&mut workers);
    all_call(&mut workers);
    assert_eq!(
        corrupt_files(fleet.dir()).len(),
        1,
        "set aside, not deleted"
    );
    let counters = fleet.sandbox.counters();
    // The record went with the corrupt file, but the process that renews still holds the
    // refresh token: one refresh, no client_credentials.
    assert_eq!(counters.token_requests_by_grant.client_credentials, 1);
    assert_eq!(counters.token_requests_by_grant.refresh_token, 1);
    let events: String = workers.into_iter().map(Worker::finish).collect();
    assert!(
        events.contains("set aside"),
        "the recovery is reported: {events}"
    );
}

#[test]
fn file_store_ten_runs_in_a_row_send_one_token_request() {
    ten_runs_in_a_row_send_one_token_request(&Fleet::with_file_store());
}

#[test]
fn file_store_six_processes_renew_once_per_lifetime() {
    six_processes_renew_once_per_lifetime_and_fetch_once_in_all(&Fleet::with_file_store());
}

#[test]
fn file_store_takes_over_from_a_killed_renewer() {
    the_fleet_takes_over_from_a_process_killed_during_its_renewal(&Fleet::with_file_store());
}

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn redis_ten_runs_in_a_row_send_one_token_request() {
    let server = RedisServer::start();
    ten_runs_in_a_row_send_one_token_request(&Fleet::with_redis(&server));
}

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn redis_six_processes_renew_once_per_lifetime() {
    let server = RedisServer::start();
    six_processes_renew_once_per_lifetime_and_fetch_once_in_all(&Fleet::with_redis(&server));
}

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn redis_takes_over_from_a_killed_renewer() {
    let server = RedisServer::start();
    the_fleet_takes_over_from_a_process_killed_during_its_renewal(&Fleet::with_redis(&server));
}

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn redis_stopped_and_restarted_mid_run_fails_no_call() {
    let mut server = RedisServer::start();
    let fleet = Fleet::with_redis(&server);
    let mut workers = fleet.workers(4);
    all_call(&mut workers);
    // Redis goes away: every process renews alone, and no call fails.
    server.stop();
    fleet.advance(&mut workers, HOUR);
    all_call(&mut workers);
    all_call(&mut workers);
    let alone = fleet.sandbox.counters();
    // Back, empty: the processes write back what they did alone and share again.
    server.restart();
    fleet.advance(&mut workers, HOUR);
    all_call(&mut workers);
    all_call(&mut workers);
    fleet.advance(&mut workers, HOUR);
    all_call(&mut workers);
    let after = fleet.sandbox.counters();
    // Two renewals: one token request each once shared again, and at most one more while
    // the processes that renewed alone write back and adopt.
    assert!(
        after.token_requests - alone.token_requests <= 3,
        "sharing again after the outage: {after:?}"
    );
    let events: String = workers.into_iter().map(Worker::finish).collect();
    assert!(
        events.contains("Degraded"),
        "the outage is reported: {events}"
    );
    assert!(events.contains("Rejoined"), "and the return: {events}");
}
