//! Bytes held per client: the token state machine, and each transport's client, measured with
//! a counting global allocator (bytes allocated while building, minus bytes freed).
//!
//! ```sh
//! cargo run --release --example memory --features hyper
//! ```
//!
//! "inline" is `std::mem::size_of` of the value itself; "heap" is what it owns on the heap.
//! A transport's client is an `Arc` handle: every clone shares the one state, so a clone costs
//! its inline size only (the last lines show it).

use bearer_client::protocol::{Config, Plan, Step, TokenManager};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::mem::size_of;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Runs `build` and returns its value with the heap bytes it still holds.
fn held<T>(build: impl FnOnce() -> T) -> (T, i64) {
    let region = Region::new(GLOBAL);
    let value = build();
    let change = region.change();
    let bytes = change.bytes_allocated as i64 + change.bytes_reallocated as i64
        - change.bytes_deallocated as i64;
    (value, bytes)
}

fn config(plan: Plan) -> Config {
    Config::builder(
        "https://api.example.com/oauth2/token",
        "ysszm2yk7gp5r9ernuaurgcc",
        "w9t7t48g7H",
    )
    .plan(plan)
    .build()
    .expect("valid configuration")
}

fn provider_plan() -> Plan {
    Plan {
        calls_per_day: Some(5_000),
        queries_per_second: Some(10),
        ..Plan::default()
    }
}

/// Gives `machine` the provider's token (24-character access and refresh tokens).
fn take_token(machine: &mut TokenManager) {
    let now = UNIX_EPOCH + Duration::from_secs(1_699_833_600);
    let Step::Fetch(request) = machine.poll_call(now) else {
        panic!("a new machine asks for a token");
    };
    let (pending, _sent) = request.into_parts();
    let answer = http::Response::builder()
        .status(200)
        .header("Content-Type", "application/json")
        .body(br#"{"access_token":"66mrpvtv4mvs6bz728nbaqmc","token_type":"bearer","expires_in":3600,"refresh_token":"edcv2npr3furqsnscpn795t9"}"#.to_vec())
        .expect("valid response");
    machine.handle_token_response(now, pending, &answer);
    while machine.poll_event().is_some() {}
    let _: SystemTime = now;
}

fn line(what: &str, inline: usize, heap: i64) {
    println!(
        "{what:<58} inline {inline:>5} B   heap {heap:>7} B   total {:>7} B",
        inline as i64 + heap
    );
}

fn main() {
    let (_, heap) = held(|| config(Plan::default()));
    line("Config", size_of::<Config>(), heap);

    let (_, heap) = held(|| TokenManager::new(config(Plan::default())));
    line(
        "TokenManager, no token yet (config included)",
        size_of::<TokenManager>(),
        heap,
    );

    let (mut machine, heap) = held(|| TokenManager::new(config(provider_plan())));
    let ((), token) = held(|| take_token(&mut machine));
    line(
        "TokenManager, plan 5000/day 10 qps, no token yet",
        size_of::<TokenManager>(),
        heap,
    );
    line(
        "TokenManager, plan 5000/day 10 qps, token held",
        size_of::<TokenManager>(),
        heap + token,
    );
    println!(
        "{:<58} {token:>+24} B   (tokens, header, and the drained event queue's capacity: \
         4 x {} B events)",
        "  of which the token held",
        size_of::<bearer_client::protocol::Event>()
    );

    let (ureq, heap) =
        held(|| bearer_client::blocking::Client::new(config(provider_plan())).unwrap());
    line(
        "bearer_client::blocking::Client, no token yet (machine included)",
        size_of::<bearer_client::blocking::Client>(),
        heap,
    );
    let (_clone, heap) = held(|| ureq.clone());
    line(
        "  a clone of it (shares the state)",
        size_of::<bearer_client::blocking::Client>(),
        heap,
    );

    let (hyper, heap) =
        held(|| bearer_client::asynchronous::Client::new(config(provider_plan())).unwrap());
    line(
        "bearer_client::asynchronous::Client, no token yet (machine included)",
        size_of::<bearer_client::asynchronous::Client>(),
        heap,
    );
    let (_clone, heap) = held(|| hyper.clone());
    line(
        "  a clone of it (shares the state)",
        size_of::<bearer_client::asynchronous::Client>(),
        heap,
    );
    println!(
        "A transport's client holding a token holds about the token's bytes above on top of its own."
    );
}
