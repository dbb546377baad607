//! The client hot path for instruction counts (BENCHMARKS.md): `N` calls' work in the token
//! state on a valid token — `next` → authorized, the call's span ([`TokenState::call_span`],
//! recording its status), `judge` of a 200 — as `benches/store_hot_path.rs` measures it with
//! no store, and nothing else. Run it under callgrind at two counts; the difference divided
//! by the difference of counts is the instructions of one call, with the start-up cancelled:
//!
//! ```sh
//! cargo build --release -p bearer-sim --example hot_path_instructions [--features tracing,metrics]
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/hot_path_instructions 1000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/hot_path_instructions 11000
//! ```
//!
//! No subscriber and no recorder are installed: this is the cost of the features compiled in
//! when nobody listens.

use bearer_client_core::{Next, Purpose, TokenState};
use bearer_sandbox::{PlanLimits, Provider, ProviderConfig, SandboxClock};
use bearer_sim::{call, client_state};
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

fn main() {
    let calls: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let clock = SandboxClock::fixed(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let mut provider = Provider::new(ProviderConfig {
        plan: PlanLimits {
            calls_per_day: u64::MAX / 2,
            queries_per_second: 0,
        },
        ..ProviderConfig::default()
    });
    let keys = provider.create_app(None).expect("an application");
    let state = client_state(&keys, &clock, None, 7);
    let uri: Uri = "https://api.example.com/v1/searchoauth?query=privacy"
        .parse()
        .expect("a URI");
    let request = Request::builder()
        .uri(uri.clone())
        .body(Vec::new())
        .expect("a request");
    assert!(
        call(&state, &mut provider, &clock, request),
        "the first call"
    );
    let headers = HeaderMap::new();
    for _ in 0..calls {
        one_call(&state, &uri, &headers);
    }
}

fn one_call(state: &TokenState, uri: &Uri, headers: &HeaderMap) {
    let next = state.lock().next(Purpose::Call, Duration::ZERO);
    let Ok(Next::Authorized(bearer)) = next else {
        panic!("a valid token is handed out");
    };
    let span = state.call_span(&Method::GET, uri, 0);
    span.in_scope(|| black_box(&bearer));
    span.status(StatusCode::OK);
    let _ = black_box(state.judge(&bearer, StatusCode::OK, headers));
}
