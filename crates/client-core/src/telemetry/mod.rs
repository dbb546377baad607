//! Telemetry: `tracing` spans and events (feature `tracing`, module `trace`) and `metrics`
//! counters, gauges and a histogram (feature `metrics`, module `metrics`), fed from the few
//! places that see everything: every [`ClientEvent`] as it is queued ([`observe`]), the start
//! and end of each token request ([`TokenRequestTelemetry`]), each API answer judged
//! ([`answered`]) and each API call sent ([`CallSpan`], which the transports create).
//!
//! Without either feature every function here is empty and every type is zero-sized: the hot
//! path is unchanged. No secret is ever recorded: the credential is named by its client id,
//! URLs lose their query values and user info ([`url_full`]), tokens are never read.

use bearer_protocol::{Grant, RequestId};
use http::{Method, StatusCode, Uri};
#[cfg(any(feature = "tracing", feature = "metrics"))]
use std::time::Instant;

#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "tracing")]
mod trace;

/// Records `event` (it is being queued for the observer): a `tracing` event and counters.
#[cfg(any(feature = "tracing", feature = "metrics"))]
#[inline]
pub(crate) fn observe(event: &crate::events::ClientEvent, now: std::time::SystemTime) {
    #[cfg(feature = "tracing")]
    trace::event(event, now);
    #[cfg(feature = "metrics")]
    metrics::event(event);
    let _ = (event, now);
}

/// The handles of the metrics recorded on every call (the calls counter, the quota and
/// token-life gauges), taken once from the recorder installed when the client is built, so
/// that a call looks up no metric; zero-sized without the `metrics` feature.
pub(crate) struct Meters {
    #[cfg(feature = "metrics")]
    inner: metrics::Meters,
}

impl Meters {
    /// The handles, from the recorder installed now (none: no-ops).
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            inner: metrics::Meters::new(),
        }
    }

    /// Records an API answer judged by the machine at `now` (or a call that failed in the
    /// transport, with `status` `None`): the calls counter, and the quota and token-life
    /// gauges, these at most once a second of the client's clock.
    #[inline]
    pub(crate) fn answered(
        &self,
        status: Option<StatusCode>,
        now: std::time::SystemTime,
        quota_left: impl FnOnce() -> Option<u64>,
        token_left: impl FnOnce() -> f64,
    ) {
        #[cfg(feature = "metrics")]
        self.inner.answered(status, now, quota_left, token_left);
        #[cfg(not(feature = "metrics"))]
        let _ = (status, now, quota_left, token_left);
    }
}

/// Records a replay of a call whose token was refused as stale.
#[inline]
pub(crate) fn replayed() {
    #[cfg(feature = "metrics")]
    metrics::replayed();
}

/// Records a step of the fleet coordination that is not a fleet event: the renewal lease
/// taken (`Some(true)`), found held by another process (`Some(false)`), or a wait for another
/// process's renewal (`None`, with how long at most).
#[inline]
pub(crate) fn fleet_step(lease: Option<bool>, wait: std::time::Duration) {
    #[cfg(feature = "tracing")]
    trace::fleet_step(lease, wait);
    let _ = (lease, wait);
}

/// How a token request ended, as its span and counter name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestOutcome {
    /// New tokens were adopted.
    Success,
    /// The token endpoint refused the grant (a 4xx: `invalid_grant`, `invalid_client`, …).
    Refused,
    /// A transient failure: 5xx, over QPS, a transport failure, an unreadable answer.
    Failed,
    /// Nobody reported an outcome (the caller went away, or the time-out passed).
    Abandoned,
    /// An answer came for a request already overtaken; it was not adopted.
    Ignored,
}

impl RequestOutcome {
    /// The label value: `success`, `refused`, `failed`, `abandoned`, `ignored`.
    #[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
            Self::Ignored => "ignored",
        }
    }
}

/// What is known of a token request's end when it is recorded.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) struct TokenEnd {
    pub(crate) outcome: RequestOutcome,
    /// The token endpoint's status, when it answered.
    pub(crate) status: Option<StatusCode>,
    /// `error.type`: the status code of a failed answer, or the transport failure's kind.
    pub(crate) error_type: Option<&'static str>,
}

/// One token request's telemetry, from [`TokenState::fetch`](crate::TokenState::fetch) to its
/// end: its span (`bearer::token`, `token_request`) and start time.
pub(crate) struct TokenRequestTelemetry {
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    started: Instant,
    #[cfg(feature = "metrics")]
    grant: Grant,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl TokenRequestTelemetry {
    /// Starts recording request `id` of the credential `client_id`, the `attempt`-th in a row
    /// (1 after a success).
    #[inline]
    pub(crate) fn start(id: RequestId, client_id: &str, attempt: u32) -> Self {
        let _ = (id, client_id, attempt);
        Self {
            #[cfg(any(feature = "tracing", feature = "metrics"))]
            started: Instant::now(),
            #[cfg(feature = "metrics")]
            grant: id.grant(),
            #[cfg(feature = "tracing")]
            span: trace::token_span(id.grant(), client_id, attempt),
        }
    }

    /// Runs `f` inside the span (the events of the request's end are the span's).
    #[inline]
    pub(crate) fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        return self.span.in_scope(f);
        #[cfg(not(feature = "tracing"))]
        f()
    }

    /// The span, for a transport to instrument the exchange with.
    #[cfg(feature = "tracing")]
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Records the end: the span's outcome fields and closing event, the counter, the
    /// latency histogram.
    #[inline]
    pub(crate) fn end(self, end: TokenEnd) {
        #[cfg(feature = "tracing")]
        trace::token_end(&self.span, &end, self.started.elapsed());
        #[cfg(feature = "metrics")]
        metrics::token_end(self.grant, &end, self.started.elapsed());
        let _ = end;
    }
}

/// The span of one API call (`bearer::call`, named after its method, with OpenTelemetry's HTTP
/// client attributes), for any transport: create it with
/// [`TokenState::call_span`](crate::TokenState::call_span) just before sending, run the
/// exchange in it ([`in_scope`](Self::in_scope) for a blocking one,
/// [`instrument`](Self::instrument) for a future), then record the answer's status
/// ([`status`](Self::status)) or the transport's failure ([`failed`](Self::failed)).
///
/// Without the `tracing` feature it is zero-sized and every method does nothing.
#[derive(Debug, Clone)]
#[must_use = "a call span records nothing unless the call is run in it"]
pub struct CallSpan {
    /// `None` while no subscriber was ever installed: then nothing is built at all.
    #[cfg(feature = "tracing")]
    span: Option<tracing::Span>,
}

impl CallSpan {
    /// A span for a call of `method` to `uri`, sent `resend_count` times before (a replay after
    /// a stale token or an over-QPS wait).
    #[inline]
    pub fn new(method: &Method, uri: &Uri, resend_count: u32) -> Self {
        let _ = (method, uri, resend_count);
        Self {
            // One relaxed load when no subscriber was ever set (the library's own way to elide
            // trace points while tracing is not in use).
            #[cfg(feature = "tracing")]
            span: tracing::dispatcher::has_been_set()
                .then(|| trace::call_span(method, uri, resend_count)),
        }
    }

    /// The same for a URL as text (a reqwest `Url`), parsed only when a subscriber may want
    /// the span.
    #[inline]
    pub fn for_url(method: &Method, url: &str, resend_count: u32) -> Self {
        let _ = (method, url, resend_count);
        Self {
            #[cfg(feature = "tracing")]
            span: tracing::dispatcher::has_been_set().then(|| {
                let uri = url.parse::<Uri>().unwrap_or_default();
                trace::call_span(method, &uri, resend_count)
            }),
        }
    }

    /// Runs `f` (the blocking exchange) inside the span.
    #[inline]
    pub fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        if let Some(span) = &self.span {
            return span.in_scope(f);
        }
        f()
    }

    /// `future` (the async exchange), entering the span each time it is polled.
    #[inline]
    pub fn instrument<F: std::future::Future>(
        &self,
        future: F,
    ) -> impl std::future::Future<Output = F::Output> {
        #[cfg(feature = "tracing")]
        return tracing::Instrument::instrument(
            future,
            self.span.clone().unwrap_or_else(tracing::Span::none),
        );
        #[cfg(not(feature = "tracing"))]
        future
    }

    /// Records the answer's status (`http.response.status_code`, and `error.type` for a 4xx or
    /// 5xx).
    #[inline]
    pub fn status(&self, status: StatusCode) {
        #[cfg(feature = "tracing")]
        if let Some(span) = &self.span {
            trace::call_status(span, status);
        }
        let _ = status;
    }

    /// Records that no answer came: `error.type` is `kind` (`timed_out`, `connect`, …).
    #[inline]
    pub fn failed(&self, kind: &bearer_protocol::TransportFailureKind) {
        #[cfg(feature = "tracing")]
        if let Some(span) = &self.span {
            trace::call_failed(span, error_type_of(kind));
        }
        let _ = kind;
    }

    /// Records the outcome of the exchange: its status, or the transport's failure (an error
    /// that is not a transport failure is recorded as `_OTHER`).
    #[inline]
    pub fn outcome<B>(&self, outcome: &Result<http::Response<B>, crate::Error>) {
        match outcome {
            Ok(response) => self.status(response.status()),
            Err(crate::Error::Transport { failure, .. }) => self.failed(&failure.kind),
            Err(_) =>
            {
                #[cfg(feature = "tracing")]
                if let Some(span) = &self.span {
                    trace::call_failed(span, "_OTHER");
                }
            }
        }
    }
}

/// `error.type` for a transport failure kind.
pub(crate) fn error_type_of(kind: &bearer_protocol::TransportFailureKind) -> &'static str {
    use bearer_protocol::TransportFailureKind as Kind;
    match kind {
        Kind::Connect => "connect",
        Kind::Certificate(_) => "certificate",
        Kind::Tls => "tls",
        Kind::TimedOut => "timed_out",
        Kind::Interrupted => "interrupted",
        _ => "_OTHER",
    }
}

/// `error.type` for an answer's status: the code, for a 4xx or 5xx.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn status_error_type(status: StatusCode) -> Option<&'static str> {
    (status.is_client_error() || status.is_server_error()).then(|| {
        // The status codes a gateway or token endpoint sends; others fall in their class.
        match status.as_u16() {
            400 => "400",
            401 => "401",
            403 => "403",
            404 => "404",
            408 => "408",
            409 => "409",
            429 => "429",
            500 => "500",
            502 => "502",
            503 => "503",
            504 => "504",
            code if code < 500 => "4xx",
            _ => "5xx",
        }
    })
}

/// The class of a status: `2xx`, `3xx`, `4xx`, `5xx`, or
/// `1xx`.
#[cfg(test)]
pub(crate) fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// `url.full` of a call, safe to record: scheme, host, port and path, without user info, and
/// the query's names with every value replaced by `REDACTED` (OpenTelemetry's convention; a
/// query may hold an API key or a secret).
pub fn url_full(uri: &Uri) -> String {
    let mut url = String::with_capacity(uri.path().len() + 64);
    if let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) {
        url.push_str(scheme);
        url.push_str("://");
        url.push_str(host);
        if let Some(port) = uri.port_u16() {
            url.push(':');
            url.push_str(&port.to_string());
        }
    }
    url.push_str(uri.path());
    if let Some(query) = uri.query() {
        let mut first = true;
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            url.push(if first { '?' } else { '&' });
            first = false;
            match pair.split_once('=') {
                Some((name, _)) => {
                    url.push_str(name);
                    url.push_str("=REDACTED");
                }
                // A bare word may itself be a secret.
                None => url.push_str("REDACTED"),
            }
        }
    }
    url
}

/// The label value of a store operation: `load`, `save`, `share`.
#[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
pub(crate) fn operation_name(operation: crate::events::StoreOperation) -> &'static str {
    use crate::events::StoreOperation;
    match operation {
        StoreOperation::Load => "load",
        StoreOperation::Save => "save",
        StoreOperation::Share => "share",
    }
}

/// The label value of a wait's cause: `pacing`, `backoff`, `over_qps`, `token_in_flight`,
/// `token_request`.
#[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
pub(crate) fn wait_cause(cause: bearer_protocol::WaitCause) -> &'static str {
    use bearer_protocol::WaitCause;
    match cause {
        WaitCause::TokenInFlight => "token_in_flight",
        WaitCause::Backoff => "backoff",
        WaitCause::Pacing => "pacing",
        WaitCause::RetryAfter => "over_qps",
        WaitCause::TokenRequest => "token_request",
        _ => "other",
    }
}

/// Records a call the machine refused for the budget (`calls_used` of `calls_allowed`): the
/// reserve kept for renewals reached, or the day's quota spent.
#[inline]
pub(crate) fn quota_refused(calls_used: u64, calls_allowed: Option<u64>) {
    #[cfg(feature = "tracing")]
    trace::quota_refused(calls_used, calls_allowed);
    #[cfg(feature = "metrics")]
    metrics::quota_refused(calls_used, calls_allowed);
    let _ = (calls_used, calls_allowed);
}

/// Records new tokens saved to the store.
#[inline]
pub(crate) fn saved() {
    #[cfg(feature = "tracing")]
    trace::saved();
}

/// The grant's label value.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn grant_label(grant: Grant) -> &'static str {
    grant.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_urls_lose_query_values_and_user_info() {
        for (uri, expected) in [
            (
                "https://user:s3cret@api.example.com:8443/v1/search?api_key=k3y&query=a+b",
                "https://api.example.com:8443/v1/search?api_key=REDACTED&query=REDACTED",
            ),
            ("https://api.example.com/v1", "https://api.example.com/v1"),
            (
                "http://127.0.0.1:9/x?s3cret",
                "http://127.0.0.1:9/x?REDACTED",
            ),
            (
                "/v1/search?q=s3cret&&k=",
                "/v1/search?q=REDACTED&k=REDACTED",
            ),
        ] {
            let uri: Uri = uri.parse().unwrap();
            assert_eq!(url_full(&uri), expected);
            assert!(!url_full(&uri).contains("s3cret"));
        }
    }

    #[test]
    fn status_classes_and_error_types() {
        assert_eq!(status_class(StatusCode::OK), "2xx");
        assert_eq!(status_class(StatusCode::UNAUTHORIZED), "4xx");
        assert_eq!(status_error_type(StatusCode::OK), None);
        assert_eq!(status_error_type(StatusCode::IM_A_TEAPOT), Some("4xx"));
        assert_eq!(status_error_type(StatusCode::BAD_GATEWAY), Some("502"));
    }
}
