//! A simulated fleet day (BENCHMARKS.md): 50 processes restarting every hour, each calling once
//! a minute, 24 hours of one-hour tokens; token requests with and without a shared store (and
//! with the store down for an hour), against the minimum (one per token lifetime).
//!
//! ```sh
//! cargo run --release -p bearer-sim --example fleet_day
//! ```

use bearer_sim::{FleetDay, run_fleet_day};

fn main() {
    println!("| store | process starts | calls | failed | token requests | minimum | ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let outage = FleetDay {
        outage: Some((8, 9)),
        ..FleetDay::hourly_restarts(true)
    };
    for (name, day) in [
        ("none", FleetDay::hourly_restarts(false)),
        ("shared (fleet store)", FleetDay::hourly_restarts(true)),
        ("shared, the store down from 08:00 to 09:00", outage),
    ] {
        let report = run_fleet_day(&day);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {:.2}× |",
            report.starts,
            report.calls,
            report.failed,
            report.token_requests,
            report.minimum,
            report.token_requests as f64 / report.minimum as f64
        );
    }
}
