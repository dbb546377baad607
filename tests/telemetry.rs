//! Telemetry (issue 17): a capturing `tracing` subscriber records every field of every span
//! and event while a client renews, falls back to client credentials and replays a call
//! against the sandbox, over every transport; the spans and fields are asserted, and no
//! secret (the client secret, any token issued) appears in any of them, raw, base64 or
//! URL-encoded. A capturing `metrics` recorder asserts the counters after a scripted run.
//!
//! The subscriber and the recorder are process-wide (the async transport runs on worker
//! threads), so the tests take turns.

#![cfg(all(
    feature = "ureq",
    feature = "hyper",
    feature = "reqwest",
    feature = "tracing",
    feature = "metrics"
))]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use bearer_client::protocol::{Plan, StoredTokens};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use support::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// A span as captured: its name, target and every field recorded on it.
#[derive(Debug, Clone)]
struct CapturedSpan {
    name: &'static str,
    target: String,
    fields: BTreeMap<String, String>,
}

/// An event as captured, with the name of the span it happened in.
#[derive(Debug, Clone)]
struct CapturedEvent {
    target: String,
    level: tracing::Level,
    fields: BTreeMap<String, String>,
    /// The span it happened in.
    span: Option<&'static str>,
}

#[derive(Default)]
struct Captured {
    spans: Vec<CapturedSpan>,
    events: Vec<CapturedEvent>,
}

/// Records every field of every span and event, under `bearer` targets or not.
struct Capture;

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Index of a span in `Captured::spans`, kept in the span's extensions.
struct Slot(usize);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut captured = captured();
        captured.spans.push(CapturedSpan {
            name: attrs.metadata().name(),
            target: attrs.metadata().target().to_owned(),
            fields,
        });
        let slot = captured.spans.len() - 1;
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Slot(slot));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(Slot(slot)) = span.extensions().get::<Slot>().map(|s| Slot(s.0)) else {
            return;
        };
        values.record(&mut Fields(&mut captured().spans[slot].fields));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span = ctx.event_span(event).map(|span| span.name());
        captured().events.push(CapturedEvent {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
            span,
        });
    }
}

fn captured() -> MutexGuard<'static, Captured> {
    static CAPTURED: OnceLock<Mutex<Captured>> = OnceLock::new();
    CAPTURED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Installs the capturing subscriber and the debugging recorder (once), and takes the turn.
fn turn() -> (MutexGuard<'static, ()>, &'static Snapshotter) {
    static TURN: Mutex<()> = Mutex::new(());
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    let snapshotter = SNAPSHOTTER.get_or_init(|| {
        tracing_subscriber::registry().with(Capture).init();
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder.install().expect("the only recorder");
        snapshotter
    });
    let guard = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    *captured() = Captured::default();
    // A snapshot resets the counters.
    let _ = snapshotter.snapshot();
    (guard, snapshotter)
}

fn token_spans() -> Vec<CapturedSpan> {
    captured()
        .spans
        .iter()
        .filter(|s| s.name == "token_request")
        .cloned()
        .collect()
}

fn call_spans() -> Vec<CapturedSpan> {
    captured()
        .spans
        .iter()
        .filter(|s| s.name == "api_call")
        .cloned()
        .collect()
}

fn field<'a>(span: &'a CapturedSpan, name: &str) -> Option<&'a str> {
    span.fields.get(name).map(String::as_str)
}

/// Every way a secret may be written down: raw, base64 (both alphabets, padded or not) and
/// URL-encoded.
fn encodings(secret: &str) -> Vec<String> {
    let url: String = form_urlencoded_byte_serialize(secret);
    vec![
        secret.to_owned(),
        STANDARD.encode(secret),
        STANDARD_NO_PAD.encode(secret),
        URL_SAFE.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        url,
    ]
}

fn form_urlencoded_byte_serialize(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Asserts that no field of any span or event of the client's (its targets are `bearer::*`)
/// holds a secret of `setup`'s application or of `tokens`, in any encoding (the HTTP Basic
/// credential `id:secret` included). The HTTP libraries' own logs (ureq logs each request
/// line, query included, at `debug` under `ureq::*`) are theirs, outside `RUST_LOG=bearer=…`.
fn assert_no_secret(setup: &Setup, tokens: &[StoredTokens]) {
    let mut needles = Vec::new();
    for secret in secrets(&setup.keys, tokens) {
        needles.extend(encodings(&secret));
    }
    let basic = format!("{}:{}", setup.keys.client_id, setup.keys.client_secret);
    needles.extend(encodings(&basic));
    let captured = captured();
    let ours = |target: &str| target == "bearer" || target.starts_with("bearer::");
    let all = captured
        .spans
        .iter()
        .filter(|s| ours(&s.target))
        .map(|s| &s.fields)
        .chain(
            captured
                .events
                .iter()
                .filter(|e| ours(&e.target))
                .map(|e| &e.fields),
        );
    let mut seen = 0;
    for fields in all {
        for (name, value) in fields {
            seen += 1;
            for needle in &needles {
                assert!(
                    !value.contains(needle.as_str()),
                    "field {name} holds a secret: {value}"
                );
            }
        }
    }
    assert!(seen > 20, "fields were captured ({seen})");
}

fn renewal(transport: Transport) {
    let (_turn, _) = turn();
    let setup = Setup::new(transport);
    let (events, client) = setup.recorded();
    setup.search(&client);
    setup.search_an_hour_later(&client);

    let spans = token_spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let (first, renewal) = (&spans[0], &spans[1]);
    assert_eq!(first.target, "bearer::token");
    assert_eq!(field(first, "grant"), Some("client_credentials"));
    assert_eq!(field(renewal, "grant"), Some("refresh_token"));
    for span in [first, renewal] {
        assert_eq!(field(span, "outcome"), Some("success"));
        assert_eq!(field(span, "http.response.status_code"), Some("200"));
        assert_eq!(field(span, "attempt"), Some("1"));
        assert_eq!(
            field(span, "client_id"),
            Some(setup.keys.client_id.as_str())
        );
        let duration: f64 = field(span, "duration_s").unwrap().parse().unwrap();
        assert!(duration >= 0.0);
        assert_eq!(field(span, "error.type"), None);
    }
    let renewed: Vec<CapturedEvent> = captured()
        .events
        .iter()
        .filter(|e| e.fields.get("message").map(String::as_str) == Some("tokens renewed"))
        .cloned()
        .collect();
    assert_eq!(renewed.len(), 1);
    assert_eq!(renewed[0].level, tracing::Level::INFO);
    assert_eq!(renewed[0].target, "bearer::token");
    assert_eq!(
        renewed[0].fields.get("grant").map(String::as_str),
        Some("refresh_token")
    );
    // The calls: a span each, OpenTelemetry's attributes, the query's values redacted.
    let calls = call_spans();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call.target, "bearer::call");
        assert_eq!(field(call, "http.request.method"), Some("GET"));
        assert_eq!(field(call, "server.address"), Some("127.0.0.1"));
        assert!(field(call, "server.port").is_some());
        assert_eq!(field(call, "http.response.status_code"), Some("200"));
        assert_eq!(field(call, "http.request.resend_count"), None);
        let url_full = field(call, "url.full").unwrap();
        assert!(
            url_full.contains(&format!("{}?", bearer_sandbox::SEARCH_PATH)),
            "{url_full}"
        );
    }
    assert_no_secret(&setup, &events.adopted_tokens());
}

fn fallback(transport: Transport) {
    let (_turn, _) = turn();
    let setup = Setup::new(transport);
    let (events, client) = setup.recorded();
    setup.search(&client);
    assert!(setup.forget_refresh_token());
    setup.search_an_hour_later(&client);

    let spans = token_spans();
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let (refused, fallback) = (&spans[1], &spans[2]);
    assert_eq!(field(refused, "grant"), Some("refresh_token"));
    assert_eq!(field(refused, "outcome"), Some("refused"));
    assert_eq!(field(refused, "http.response.status_code"), Some("400"));
    assert_eq!(field(refused, "error.type"), Some("400"));
    assert_eq!(field(fallback, "grant"), Some("client_credentials"));
    assert_eq!(field(fallback, "outcome"), Some("success"));
    assert_eq!(field(fallback, "attempt"), Some("2"), "the second in a row");
    let fell_back = captured()
        .events
        .iter()
        .filter(|e| {
            e.target == "bearer::token"
                && e.fields.get("fallback").map(String::as_str) == Some("client_credentials")
        })
        .count();
    assert_eq!(fell_back, 1, "one fallback event");
    let ended: Vec<Option<&str>> = captured()
        .events
        .iter()
        .filter(|e| {
            e.fields
                .get("message")
                .is_some_and(|m| m.starts_with("token request"))
        })
        .filter(|e| e.fields.contains_key("outcome"))
        .map(|e| e.span)
        .collect();
    assert_eq!(
        ended,
        [Some("token_request"); 3],
        "each end inside its span"
    );
    assert_no_secret(&setup, &events.adopted_tokens());
}

fn replay(transport: Transport) {
    let (_turn, _) = turn();
    let setup = Setup::new(transport);
    let (events, client) = setup.recorded();
    setup.search(&client);
    assert!(setup.revoke_access_token());
    let url = format!(
        "{}?query=privacy&api_key={}",
        setup.search_url(),
        setup.keys.client_secret
    );
    let answer = client.call(&url).expect("the replayed call succeeds");
    assert_eq!(answer.status(), 200);

    let calls = call_spans();
    assert_eq!(calls.len(), 3, "{calls:#?}");
    let (refused, replayed) = (&calls[1], &calls[2]);
    assert_eq!(field(refused, "http.response.status_code"), Some("401"));
    assert_eq!(field(refused, "error.type"), Some("401"));
    assert_eq!(field(refused, "http.request.resend_count"), None);
    assert_eq!(field(replayed, "http.response.status_code"), Some("200"));
    assert_eq!(field(replayed, "http.request.resend_count"), Some("1"));
    assert_eq!(field(replayed, "error.type"), None);
    let url_full = field(replayed, "url.full").unwrap();
    assert!(
        url_full.contains("?query=REDACTED&api_key=REDACTED"),
        "{url_full}"
    );
    let spans = token_spans();
    assert_eq!(spans.len(), 2, "the renewal between the two calls");
    assert_eq!(field(&spans[1], "grant"), Some("refresh_token"));
    assert_no_secret(&setup, &events.adopted_tokens());
}

/// Counters of a snapshot as `name{label=value,…}` → value.
fn values(snapshotter: &Snapshotter) -> BTreeMap<String, DebugValue> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            (format!("{}{{{}}}", key.name(), labels.join(",")), value)
        })
        .collect()
}

fn counter(values: &BTreeMap<String, DebugValue>, key: &str) -> u64 {
    match values.get(key) {
        Some(DebugValue::Counter(n)) => *n,
        None => 0,
        other => panic!("{key} is not a counter: {other:?}"),
    }
}

fn scripted_run_counts(transport: Transport) {
    let (_turn, snapshotter) = turn();
    let setup = Setup::new(transport);
    let plan = Plan {
        calls_per_day: Some(1000),
        ..Plan::default()
    };
    let client = setup
        .builder(setup.config().plan(plan))
        .build()
        .expect("the client builds");
    setup.search(&client); // client_credentials
    setup.search(&client);
    setup.search_an_hour_later(&client); // refresh_token
    assert!(setup.revoke_access_token());
    setup.search(&client); // 401, refresh_token, replayed 200
    assert!(setup.forget_refresh_token());
    setup.search_an_hour_later(&client); // refresh refused, client_credentials

    let values = values(snapshotter);
    let requests = |grant: &str, outcome: &str| {
        counter(
            &values,
            &format!("bearer_token_requests_total{{grant={grant},outcome={outcome}}}"),
        )
    };
    assert_eq!(requests("client_credentials", "success"), 2, "{values:#?}");
    assert_eq!(requests("refresh_token", "success"), 2);
    assert_eq!(requests("refresh_token", "refused"), 1);
    assert_eq!(
        u64::from(requests("client_credentials", "refused") > 0),
        0,
        "nothing else"
    );
    assert_eq!(setup.token_requests(), 5, "as the sandbox counted");
    let calls = |class: &str| {
        counter(
            &values,
            &format!("bearer_api_calls_total{{status_class={class}}}"),
        )
    };
    assert_eq!(calls("2xx"), 5);
    assert_eq!(calls("4xx"), 1);
    assert_eq!(setup.api_calls(), 6, "as the sandbox counted");
    assert_eq!(counter(&values, "bearer_replays_total{}"), 1);
    let durations: usize = values
        .iter()
        .filter(|(key, _)| key.starts_with("bearer_token_request_duration_seconds"))
        .map(|(_, value)| match value {
            DebugValue::Histogram(samples) => samples.len(),
            other => panic!("not a histogram: {other:?}"),
        })
        .sum();
    assert_eq!(durations, 5, "one latency per token request");
    match values.get("bearer_token_remaining_seconds{}") {
        Some(DebugValue::Gauge(left)) => {
            assert!(left.0 > 3000.0 && left.0 <= 3600.0, "{left}")
        }
        other => panic!("the token's remaining life: {other:?}"),
    }
    let budget = client.budget();
    let expected = 1000 - budget.calls_used - budget.reserved_for_tokens;
    match values.get("bearer_quota_remaining{}") {
        #[allow(clippy::cast_precision_loss)]
        Some(DebugValue::Gauge(left)) => assert_eq!(left.0, expected as f64),
        other => panic!("the quota left: {other:?}"),
    }
}

over_every_transport! {
    renewal,
    fallback,
    replay,
    scripted_run_counts,
}
