//! `metrics` counters, gauges and a histogram (feature `metrics`), through the `metrics`
//! facade: whatever recorder the program installs (Prometheus, OpenTelemetry, StatsD) gets
//! them; with none installed each is a no-op. Names and units follow the Prometheus and
//! OpenTelemetry conventions (`_total` counters, base units, `snake_case` labels); the table is
//! in this crate's README.

use super::{TokenEnd, grant_label, operation_name, status_class, wait_cause};
use crate::events::ClientEvent;
use bearer_protocol::Grant;
use bearer_protocol::fleet::Event as FleetEvent;
use http::StatusCode;
use metrics::{counter, gauge, histogram};
use std::time::Duration;

/// Token requests, by `grant` and `outcome`.
pub(crate) const TOKEN_REQUESTS: &str = "bearer_token_requests_total";
/// Token request latency, seconds, by `grant`.
pub(crate) const TOKEN_REQUEST_DURATION: &str = "bearer_token_request_duration_seconds";
/// API calls answered (or failed in the transport), by `status_class`.
pub(crate) const API_CALLS: &str = "bearer_api_calls_total";
/// Calls replayed after a stale token.
pub(crate) const REPLAYS: &str = "bearer_replays_total";
/// Waits announced, by `cause`.
pub(crate) const WAITS: &str = "bearer_waits_total";
/// Calls left in the quota day (what the budget allows, less what is kept for renewals).
pub(crate) const QUOTA_REMAINING: &str = "bearer_quota_remaining";
/// Seconds the current access token has left.
pub(crate) const TOKEN_REMAINING: &str = "bearer_token_remaining_seconds";
/// Budget warnings, by `kind`.
pub(crate) const BUDGET_WARNINGS: &str = "bearer_budget_warnings_total";
/// Token store failures, by `operation`.
pub(crate) const STORE_FAILURES: &str = "bearer_store_failures_total";
/// Fleet coordination events, by `event`.
pub(crate) const FLEET_EVENTS: &str = "bearer_fleet_events_total";

pub(super) fn token_end(grant: Grant, end: &TokenEnd, elapsed: Duration) {
    let grant = grant_label(grant);
    counter!(TOKEN_REQUESTS, "grant" => grant, "outcome" => end.outcome.as_str()).increment(1);
    histogram!(TOKEN_REQUEST_DURATION, "grant" => grant).record(elapsed.as_secs_f64());
}

pub(super) fn answered(status: Option<StatusCode>, quota_left: Option<u64>, token_left: f64) {
    let class = status.map_or("error", status_class);
    counter!(API_CALLS, "status_class" => class).increment(1);
    if let Some(left) = quota_left {
        // Precise up to 2^53 calls a day.
        #[allow(clippy::cast_precision_loss)]
        gauge!(QUOTA_REMAINING).set(left as f64);
    }
    gauge!(TOKEN_REMAINING).set(token_left);
}

pub(super) fn replayed() {
    counter!(REPLAYS).increment(1);
}

pub(super) fn event(event: &ClientEvent) {
    match event {
        ClientEvent::Waiting { cause, .. } => {
            counter!(WAITS, "cause" => wait_cause(*cause)).increment(1);
        }
        ClientEvent::TokenAllowanceExceeded { .. } => {
            counter!(BUDGET_WARNINGS, "kind" => "token_allowance_exceeded").increment(1);
        }
        ClientEvent::StoreFailed { operation, .. } => {
            counter!(STORE_FAILURES, "operation" => operation_name(*operation)).increment(1);
        }
        ClientEvent::Fleet(event) => {
            let name = match event {
                FleetEvent::Degraded => "degraded",
                FleetEvent::Rejoined => "rejoined",
                FleetEvent::Adopted { .. } => "adopted",
                FleetEvent::Renewed { .. } => "renewed",
                FleetEvent::RefreshTokenRefused => "refresh_token_refused",
                FleetEvent::AllowanceSpent { .. } => "allowance_spent",
                FleetEvent::LocalShareSpent { .. } => "local_share_spent",
                FleetEvent::ForeignRecord => "foreign_record",
            };
            counter!(FLEET_EVENTS, "event" => name).increment(1);
            if matches!(
                event,
                FleetEvent::AllowanceSpent { .. } | FleetEvent::LocalShareSpent { .. }
            ) {
                counter!(BUDGET_WARNINGS, "kind" => name).increment(1);
            }
        }
        _ => {}
    }
}

pub(super) fn quota_refused(calls_used: u64, calls_allowed: Option<u64>) {
    let reserve = calls_allowed.is_some_and(|allowed| calls_used < allowed);
    let kind = if reserve {
        "reserve_reached"
    } else {
        "quota_exhausted"
    };
    counter!(BUDGET_WARNINGS, "kind" => kind).increment(1);
}
