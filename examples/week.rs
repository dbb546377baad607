//! A simulated week of traffic: the pure client state machine against the pure provider on a
//! virtual clock, for each scenario of `bearer_sim`.
//!
//! ```sh
//! cargo run --release --example week          # 7 days
//! cargo run --release --example week -- 30    # any number of days
//! ```
//!
//! Prints, per scenario and quota day, the token requests the client sent (of which answered
//! by an injected fault) against the minimum the token lifetime allows for that day's calls,
//! the calls made, delivered, refused by the client's budget and failed otherwise, and the wall
//! time the run took to simulate.

use bearer_sim::{Report, Scenario, run};
use std::time::Instant;

fn main() {
    let days = std::env::args()
        .nth(1)
        .and_then(|d| d.parse().ok())
        .unwrap_or(7);
    let mut total = std::time::Duration::ZERO;
    for scenario in Scenario::all(days) {
        let began = Instant::now();
        let report = run(&scenario);
        let took = began.elapsed();
        total += took;
        print(&report, took);
    }
    println!("all scenarios, {days} days each: {:.1} ms", ms(total));
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print(report: &Report, took: std::time::Duration) {
    println!("== {} ({:.1} ms to simulate)", report.scenario, ms(took));
    println!(
        "{:>4} {:>15} {:>8} {:>7} {:>9} {:>9} {:>7} {:>15} {:>9}",
        "day",
        "token requests",
        "minimum",
        "calls",
        "delivered",
        "by budget",
        "failed",
        "refresh refused",
        "denials"
    );
    for (i, day) in report.days.iter().enumerate() {
        println!(
            "{:>4} {:>8} ({:>2} f) {:>8} {:>7} {:>9} {:>9} {:>7} {:>15} {:>9}",
            i,
            day.token_requests,
            day.token_faults,
            day.minimum_token_requests,
            day.calls,
            day.delivered,
            day.refused_by_budget,
            day.failed,
            day.refresh_tokens_refused,
            day.gateway_denials,
        );
    }
    let clean = report.token_requests() - report.token_faults();
    let minimum = report.minimum_token_requests();
    println!(
        "week: {} token requests ({} answered by a fault), {clean} clean vs {minimum} minimum ({:.3}x); \
         {} calls, {} delivered, {} refused by the budget, {} failed, {} refresh tokens refused, \
         {} gateway denials; grants: {} client_credentials, {} refresh_token",
        report.token_requests(),
        report.token_faults(),
        if minimum == 0 {
            0.0
        } else {
            f64::from(clean) / f64::from(minimum)
        },
        report.calls(),
        report.delivered(),
        report.refused_by_budget(),
        report.failed(),
        report.refresh_tokens_refused(),
        report.gateway_denials(),
        report.client_credentials_grants,
        report.refresh_token_grants,
    );
}
