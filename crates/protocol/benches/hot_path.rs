//! The hot path: handing out the bearer header for a valid cached token.
//!
//! Run: `cargo bench -p bearer-protocol --bench hot_path -- --warm-up-time 1 --measurement-time 3`
//!
//! The baseline, measured in the same run, is what any token cache must at least do to hand a
//! header out: clone a cached `http::HeaderValue`. Target: `poll_call` under 100 ns. That it
//! allocates nothing is proven by `tests/allocations.rs`, not here.

#[path = "../tests/common/mod.rs"]
mod common;

use bearer_protocol::{Plan, Step};
use common::{machine_with_token, start};
use criterion::{Criterion, criterion_main};
use http::{HeaderMap, HeaderValue, StatusCode};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn authorized(step: Step) {
    match step {
        Step::Authorized(bearer) => {
            black_box(bearer.header_value());
        }
        other => panic!("expected Authorized, got {other:?}"),
    }
}

/// `poll_call` under `plan`, so the budget (and the QPS window, when the plan has one) work on
/// every call: calls 101 ms apart, on a fresh machine every 2000 calls (so the token stays valid
/// and the day's quota is never spent); the rebuilds are not timed.
#[allow(
    clippy::disallowed_methods,
    reason = "a benchmark times itself; the protocol crate's library code still reads no clock"
)]
fn poll_call_under_plan(plan: Plan, iters: u64) -> Duration {
    let step = Duration::from_millis(101);
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(2_000);
        left -= chunk;
        let mut machine = machine_with_token(plan);
        let mut now = start();
        let began = Instant::now();
        for _ in 0..chunk {
            now += step;
            authorized(machine.poll_call(black_box(now)));
        }
        total += began.elapsed();
    }
    total
}

fn hot_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("hot_path");
    let now = start() + Duration::from_secs(1);

    let cached = HeaderValue::from_static("Bearer 66mrpvtv4mvs6bz728nbaqmc");
    group.bench_function("baseline: clone a cached HeaderValue", |b| {
        b.iter(|| black_box(black_box(&cached).clone()))
    });

    let mut machine = machine_with_token(Plan::default());
    group.bench_function("poll_token", |b| {
        b.iter(|| authorized(machine.poll_token(black_box(now))))
    });

    let mut machine = machine_with_token(Plan::default());
    group.bench_function("poll_call (plan unknown)", |b| {
        b.iter(|| authorized(machine.poll_call(black_box(now))))
    });

    let budget_only = Plan {
        calls_per_day: Some(5_000),
        ..Plan::default()
    };
    group.bench_function("poll_call (5000/day, QPS unknown)", |b| {
        b.iter_custom(|iters| poll_call_under_plan(budget_only, iters))
    });
    let provider = Plan {
        queries_per_second: Some(10),
        ..budget_only
    };
    group.bench_function("poll_call (5000/day, 10 qps)", |b| {
        b.iter_custom(|iters| poll_call_under_plan(provider, iters))
    });

    let mut machine = machine_with_token(Plan::default());
    let headers = HeaderMap::new();
    group.bench_function("poll_call + handle_api_response(200)", |b| {
        b.iter(|| match machine.poll_call(black_box(now)) {
            Step::Authorized(bearer) => {
                black_box(machine.handle_api_response(now, &bearer, StatusCode::OK, &headers))
            }
            other => panic!("expected Authorized, got {other:?}"),
        })
    });
    group.finish();
}

/// Every benchmark of this file, with criterion's settings from the command line.
pub fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    hot_path(&mut criterion);
}
criterion_main!(benches);
