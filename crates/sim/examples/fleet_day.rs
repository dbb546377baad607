//! A simulated fleet day (BENCHMARKS.md): 50 processes restarting every hour, each calling once
//! a minute, 24 hours of one-hour tokens; token requests with and without a shared store,
//! against the minimum (one per token lifetime).
//!
//! ```sh
//! cargo run --release -p bearer-sim --example fleet_day
//! ```

use bearer_sim::{FleetDay, run_fleet_day};

fn main() {
    println!("| store | process starts | calls | failed | token requests | minimum | ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for shared in [false, true] {
        let report = run_fleet_day(&FleetDay::hourly_restarts(shared));
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2}× |",
            if shared {
                "shared (fleet store)"
            } else {
                "none"
            },
            report.starts,
            report.calls,
            report.failed,
            report.token_requests,
            report.minimum,
            report.token_requests as f64 / report.minimum as f64
        );
    }
}
