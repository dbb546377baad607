//! `metrics` counters, gauges and a histogram (feature `metrics`), through the `metrics`
//! facade: whatever recorder the program installs (Prometheus, OpenTelemetry, StatsD) gets
//! them; with none installed each is a no-op. Names and units follow the Prometheus and
//! OpenTelemetry conventions (`_total` counters, base units, `snake_case` labels); the table is
//! in this crate's README.

use super::{TokenEnd, grant_label, operation_name, wait_cause};
use crate::events::ClientEvent;
use bearer_protocol::Grant;
use bearer_protocol::fleet::Event as FleetEvent;
use http::StatusCode;
use metrics::{
    Counter, Gauge, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge,
    histogram,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

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

/// The per-call handles (see [`super::Meters`]).
pub(super) struct Meters {
    /// `bearer_api_calls_total` by class: 1xx to 5xx, then `error`.
    calls: [Counter; 6],
    quota: Gauge,
    token: Gauge,
    /// The second (on the client's clock) the gauges were last set in: they are set at most
    /// once a second of it, so that a call computes the budget only then.
    gauges_set: AtomicU64,
}

const CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "error"];

impl Meters {
    pub(super) fn new() -> Self {
        describe();
        Self {
            calls: CLASSES.map(|class| counter!(API_CALLS, "status_class" => class)),
            quota: gauge!(QUOTA_REMAINING),
            token: gauge!(TOKEN_REMAINING),
            gauges_set: AtomicU64::new(u64::MAX),
        }
    }

    #[inline]
    pub(super) fn answered(
        &self,
        status: Option<StatusCode>,
        now: SystemTime,
        quota_left: impl FnOnce() -> Option<u64>,
        token_left: impl FnOnce() -> f64,
    ) {
        // 1xx → 0, …, 5xx → 4; no answer → 5 (`error`).
        let class = status.map_or(5, |status| {
            usize::from(status.as_u16() / 100).clamp(1, 5) - 1
        });
        self.calls[class].increment(1);
        let second = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if self.gauges_set.swap(second, Ordering::Relaxed) == second {
            return;
        }
        if let Some(left) = quota_left() {
            // Precise up to 2^53 calls a day.
            #[allow(clippy::cast_precision_loss)]
            self.quota.set(left as f64);
        }
        self.token.set(token_left());
    }
}

/// Describes every metric (unit and help text) to the recorder, once per process.
fn describe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        describe_counter!(TOKEN_REQUESTS, "Token requests sent, by grant and outcome.");
        describe_histogram!(
            TOKEN_REQUEST_DURATION,
            Unit::Seconds,
            "Token request latency, from sending to the outcome fed back, by grant."
        );
        describe_counter!(
            API_CALLS,
            "API calls answered (or failed in the transport: error), by status class."
        );
        describe_counter!(REPLAYS, "Calls replayed once after a stale token (401).");
        describe_counter!(
            WAITS,
            "Waits before a call or token request, by cause (pacing, backoff, over_qps)."
        );
        describe_gauge!(
            QUOTA_REMAINING,
            "Calls left in the quota day, less those kept back for renewals (when the plan is known)."
        );
        describe_gauge!(
            TOKEN_REMAINING,
            Unit::Seconds,
            "Seconds the access token used by the last call had left."
        );
        describe_counter!(
            BUDGET_WARNINGS,
            "Budget warnings, by kind (token_allowance_exceeded, reserve_reached, quota_exhausted, ...)."
        );
        describe_counter!(STORE_FAILURES, "Token store failures, by operation.");
        describe_counter!(FLEET_EVENTS, "Fleet coordination events, by event.");
    });
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
