//! `tracing` spans and events (feature `tracing`). Targets: `bearer::token` (token requests,
//! renewals, fallbacks), `bearer::call` (API calls), `bearer::wait` (pacing, backoff,
//! over-QPS), `bearer::budget` (allowance, reserve, quota), `bearer::store` (saves, failures)
//! and `bearer::fleet` (coordination). In steady state (a valid token, calls going through)
//! nothing is logged at `info`: calls are `debug` spans, renewals are `info` once a token's life.

use super::{RequestOutcome, TokenEnd, operation_name, status_error_type, wait_cause};
use crate::events::ClientEvent;
use bearer_protocol::fleet::Event as FleetEvent;
use bearer_protocol::{Failure, Grant, WaitCause};
use http::{Method, StatusCode, Uri};
use std::time::{Duration, SystemTime};
use tracing::field::Empty;
use tracing::{Span, debug, debug_span, info, info_span, warn};

/// The span of one token request: created when it is sent, its outcome recorded at its end.
pub(super) fn token_span(grant: Grant, client_id: &str, attempt: u32) -> Span {
    info_span!(
        target: "bearer::token",
        "token_request",
        grant = grant.as_str(),
        client_id,
        attempt,
        outcome = Empty,
        http.response.status_code = Empty,
        error.type = Empty,
        duration_s = Empty,
    )
}

/// Records a token request's end on its span, and an event inside it.
pub(super) fn token_end(span: &Span, end: &TokenEnd, elapsed: Duration) {
    if span.is_disabled() {
        return;
    }
    span.record("outcome", end.outcome.as_str());
    if let Some(status) = end.status {
        span.record("http.response.status_code", status.as_u16());
    }
    if let Some(error_type) = end.error_type {
        span.record("error.type", error_type);
    }
    span.record("duration_s", elapsed.as_secs_f64());
    span.in_scope(|| match end.outcome {
        RequestOutcome::Success => debug!(target: "bearer::token", outcome = "success", "token request done"),
        outcome => debug!(target: "bearer::token", outcome = outcome.as_str(), "token request brought no tokens"),
    });
}

/// The span of one API call, with OpenTelemetry's HTTP client attributes.
pub(super) fn call_span(method: &Method, uri: &Uri, resend_count: u32) -> Span {
    let span = debug_span!(
        target: "bearer::call",
        "api_call",
        otel.name = method.as_str(),
        otel.kind = "client",
        http.request.method = method.as_str(),
        server.address = Empty,
        server.port = Empty,
        url.full = Empty,
        http.request.resend_count = Empty,
        http.response.status_code = Empty,
        error.type = Empty,
    );
    // The URL is built only for a subscriber that wants the span.
    if !span.is_disabled() {
        if let Some(host) = uri.host() {
            span.record("server.address", host);
        }
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        if let Some(port) = port {
            span.record("server.port", port);
        }
        span.record("url.full", super::url_full(uri).as_str());
        if resend_count > 0 {
            span.record("http.request.resend_count", resend_count);
        }
    }
    span
}

pub(super) fn call_status(span: &Span, status: StatusCode) {
    // A disabled span would still look its fields up by name.
    if span.is_disabled() {
        return;
    }
    span.record("http.response.status_code", status.as_u16());
    if let Some(error_type) = status_error_type(status) {
        span.record("error.type", error_type);
    }
}

pub(super) fn call_failed(span: &Span, error_type: &'static str) {
    if span.is_disabled() {
        return;
    }
    span.record("error.type", error_type);
}

pub(super) fn fleet_step(lease: Option<bool>, wait: Duration) {
    match lease {
        Some(true) => debug!(target: "bearer::fleet", "renewal lease taken"),
        Some(false) => debug!(target: "bearer::fleet", "renewal lease held by another process"),
        None => debug!(
            target: "bearer::fleet",
            wait_ms = millis(wait),
            "waiting for another process's renewal"
        ),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn failure_type(failure: &Failure) -> &'static str {
    match failure {
        Failure::Transport(failure) => super::error_type_of(&failure.kind),
        Failure::Answer(_) => "answer",
        Failure::Abandoned => "abandoned",
        _ => "_OTHER",
    }
}

/// A `tracing` event for a client event. Tokens are never read: only their grant, expiry
/// and whether a refresh token came.
pub(super) fn event(event: &ClientEvent, now: SystemTime) {
    match event {
        ClientEvent::TokenRequested { request } => debug!(
            target: "bearer::token",
            grant = request.grant().as_str(),
            "token request sent"
        ),
        ClientEvent::TokensChanged {
            request,
            tokens,
            first,
        } => {
            let expires_in_s = tokens
                .expires_at
                .duration_since(now)
                .unwrap_or_default()
                .as_secs();
            let refresh_token = tokens.refresh_token.is_some();
            if *first {
                info!(target: "bearer::token", grant = request.grant().as_str(), expires_in_s, refresh_token, "first tokens");
            } else {
                info!(target: "bearer::token", grant = request.grant().as_str(), expires_in_s, refresh_token, "tokens renewed");
            }
        }
        ClientEvent::TokenRequestFailed { request, failure } => warn!(
            target: "bearer::token",
            grant = request.grant().as_str(),
            error.type = failure_type(failure),
            error = %failure,
            "token request failed"
        ),
        ClientEvent::RefreshTokenRefused => info!(
            target: "bearer::token",
            fallback = "client_credentials",
            "refresh token refused; falling back to client credentials"
        ),
        ClientEvent::TokenAllowanceExceeded {
            token_requests,
            accounted,
        } => warn!(
            target: "bearer::budget",
            token_requests,
            accounted,
            "token requests today beyond what the plan accounts for; each costs an API call"
        ),
        ClientEvent::LateAnswerIgnored { request } => debug!(
            target: "bearer::token",
            grant = request.grant().as_str(),
            "the answer to an abandoned token request was not adopted"
        ),
        ClientEvent::StoreFailed { operation, message } => warn!(
            target: "bearer::store",
            operation = operation_name(*operation),
            error = message.as_str(),
            "the token store failed; going on with the tokens in memory"
        ),
        ClientEvent::StoreRecovered { message } => warn!(
            target: "bearer::store",
            message = message.as_str(),
            "the fleet store recovered"
        ),
        ClientEvent::Fleet(event) => fleet(event),
        ClientEvent::Other(event) => {
            debug!(target: "bearer::token", event = ?event, "machine event")
        }
        ClientEvent::Waiting { cause, until } => {
            let wait_ms = millis(until.duration_since(now).unwrap_or_default());
            let cause_name = wait_cause(*cause);
            match cause {
                WaitCause::Backoff | WaitCause::RetryAfter => info!(
                    target: "bearer::wait",
                    cause = cause_name,
                    wait_ms,
                    "waiting: {}",
                    cause.describe()
                ),
                _ => debug!(
                    target: "bearer::wait",
                    cause = cause_name,
                    wait_ms,
                    "waiting: {}",
                    cause.describe()
                ),
            }
        }
    }
}

fn fleet(event: &FleetEvent) {
    match event {
        FleetEvent::Degraded => warn!(
            target: "bearer::fleet",
            "the fleet store does not answer; renewing alone until it does"
        ),
        FleetEvent::Rejoined => info!(target: "bearer::fleet", "the fleet store answers again"),
        FleetEvent::Adopted { generation } => debug!(
            target: "bearer::fleet",
            generation,
            "adopted tokens another process obtained"
        ),
        FleetEvent::Renewed { grant, alone } => debug!(
            target: "bearer::fleet",
            grant = grant.as_str(),
            alone,
            "renewed for the fleet"
        ),
        FleetEvent::RefreshTokenRefused => info!(
            target: "bearer::fleet",
            "refresh token refused; reading the record again before client credentials"
        ),
        FleetEvent::AllowanceSpent { used, allowance } => warn!(
            target: "bearer::budget",
            used,
            allowance,
            "the fleet's token requests today went past the plan's allowance"
        ),
        FleetEvent::LocalShareSpent { used, share } => warn!(
            target: "bearer::budget",
            used,
            share,
            "token requests sent alone today went past the local share"
        ),
        FleetEvent::ForeignRecord => warn!(
            target: "bearer::fleet",
            "the shared record holds tokens of another credential; ignored"
        ),
    }
}

/// A call refused by the machine for the budget: the reserve kept for renewals reached, or
/// the day's quota spent.
pub(super) fn quota_refused(calls_used: u64, calls_allowed: Option<u64>) {
    let reserve = calls_allowed.is_some_and(|allowed| calls_used < allowed);
    if reserve {
        warn!(
            target: "bearer::budget",
            calls_used,
            calls_allowed,
            "call refused: what is left of the quota is kept for token renewals"
        );
    } else {
        warn!(
            target: "bearer::budget",
            calls_used,
            calls_allowed,
            "call refused: the day's quota is spent"
        );
    }
}

/// New tokens were saved to the store.
pub(super) fn saved() {
    debug!(target: "bearer::store", "tokens saved");
}
