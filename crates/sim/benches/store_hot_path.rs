//! The hot path with a fleet store attached (BENCHMARKS.md): one API call's work in the client's
//! token state (`next` → authorized, then `judge` of a 200) on a valid token, with no store, the
//! file store and the Redis store. A valid token in memory needs no store round trip: the Redis
//! row counts the commands Redis processed during the measured calls (0 is the target).
//!
//! ```sh
//! cargo bench -p bearer-sim --bench store_hot_path -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! The Redis row needs `redis-server` on `PATH` (a throwaway one is started on a free port);
//! without it the row is skipped, and says so.

use bearer_client_core::{FleetStore, Next, Purpose, TokenState};
use bearer_sandbox::{PlanLimits, Provider, ProviderConfig, SandboxClock};
use bearer_sim::{call, client_state};
use bearer_store::{FileStore, RedisStore};
use criterion::{Criterion, criterion_main};
use http::{HeaderMap, Request, StatusCode};
use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// A client token state holding a valid token, sharing `store`.
fn with_token(store: Option<Arc<dyn FleetStore>>) -> TokenState {
    let clock = SandboxClock::fixed(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let mut provider = Provider::new(ProviderConfig {
        plan: PlanLimits {
            calls_per_day: u64::MAX / 2,
            queries_per_second: 0,
        },
        ..ProviderConfig::default()
    });
    let keys = provider.create_app(None).expect("an application");
    let state = client_state(&keys, &clock, store, 7);
    let request = Request::builder()
        .uri("https://api.example.com/v1/searchoauth?query=privacy")
        .body(Vec::new())
        .expect("a request");
    assert!(
        call(&state, &mut provider, &clock, request),
        "the first call"
    );
    state
}

fn one_call(state: &TokenState, headers: &HeaderMap) {
    let next = state.lock().next(Purpose::Call, Duration::ZERO);
    let Ok(Next::Authorized(bearer)) = next else {
        panic!("a valid token is handed out");
    };
    let _ = black_box(state.judge(&bearer, StatusCode::OK, headers));
}

/// A throwaway `redis-server`, killed when dropped.
struct Redis(Child, u16);

impl Redis {
    fn start() -> Option<Redis> {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Redis(child, port);
        for _ in 0..200 {
            if redis.commands().is_some() {
                return Some(redis);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// `total_commands_processed`, from `INFO stats` over a plain connection.
    fn commands(&self) -> Option<u64> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.1)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        stream.write_all(b"INFO stats\r\n").ok()?;
        let mut answer = vec![0; 8192];
        let n = stream.read(&mut answer).ok()?;
        let text = String::from_utf8_lossy(&answer[..n]);
        text.lines()
            .find_map(|line| line.strip_prefix("total_commands_processed:"))
            .and_then(|n| n.trim().parse().ok())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    let headers = HeaderMap::new();
    let mut group = criterion.benchmark_group("store_hot_path");

    let none = with_token(None);
    group.bench_function("no store", |b| b.iter(|| one_call(&none, &headers)));

    let dir = tempfile::tempdir().expect("a directory");
    let file = with_token(Some(Arc::new(
        FileStore::new(dir.path()).expect("a file store"),
    )));
    group.bench_function("file store", |b| b.iter(|| one_call(&file, &headers)));

    match Redis::start() {
        Some(redis) => {
            let url = format!("redis://127.0.0.1:{}/0", redis.1);
            let store: Arc<dyn FleetStore> =
                Arc::new(RedisStore::open(&url).expect("a Redis store"));
            let state = with_token(Some(store));
            let before = redis.commands().expect("INFO answers");
            group.bench_function("Redis store", |b| b.iter(|| one_call(&state, &headers)));
            // The INFO of `before` itself is the only command counted in between.
            let during = redis.commands().expect("INFO answers") - before - 1;
            println!("Redis commands processed during the Redis store's measured calls: {during}");
        }
        None => println!("Redis store: skipped (no redis-server on PATH)"),
    }
    group.finish();
}

criterion_main!(benches);
