//! The platform team's and tests' routes (`/admin/…`), guarded by the `X-Admin-Key` header:
//! application review, keys, counters, fault injection, the clock and settings.

use crate::developer::{json_body, method_not_allowed, not_found, plan_json, refused, segments};
use crate::error::ProviderError;
use crate::faults::{Effect, Fault, FaultTarget};
use crate::hold::{HoldId, MAX_OPEN_HOLDS};
use crate::platform::AppKeys;
use crate::provider::{Provider, later};
use crate::quota::unix_secs;
use crate::respond::{self, platform_error};
use http::header::HeaderName;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Header carrying the admin key.
pub const ADMIN_KEY: HeaderName = HeaderName::from_static("x-admin-key");

/// Longest a single clock advance, token lifetime or injected delay may be.
const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// An HTTP date for `t`, when it is in the range HTTP dates cover.
pub(crate) fn http_date(t: SystemTime) -> Option<String> {
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs();
    // 9999-12-31T23:59:59Z
    (secs <= 253_402_300_799).then(|| httpdate::fmt_http_date(t))
}

fn clock_json(now: SystemTime) -> serde_json::Value {
    serde_json::json!({ "now": http_date(now), "now_unix": unix_secs(now) })
}

fn ok(value: serde_json::Value) -> Response<Vec<u8>> {
    respond::json(StatusCode::OK, &value)
}

#[derive(Deserialize)]
struct NewApp {
    name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[derive(Deserialize)]
struct FaultRequest {
    target: Option<FaultTarget>,
    kind: String,
    count: Option<usize>,
    delay_ms: Option<u64>,
    error: Option<String>,
    retry_after: Option<u64>,
    headers: Option<HeaderList>,
    expires_in: Option<String>,
}

/// The `headers` of a fault: `{"Name": "value", …}`, or `[["Name", "value"], …]` to send a name
/// more than once.
#[derive(Deserialize)]
#[serde(untagged)]
enum HeaderList {
    Map(std::collections::BTreeMap<String, String>),
    Pairs(Vec<(String, String)>),
}

#[derive(Deserialize)]
struct Advance {
    seconds: Option<u64>,
    millis: Option<u64>,
}

#[derive(Deserialize)]
struct Settings {
    quota_headers: Option<bool>,
    token_ttl: Option<u64>,
    refresh_token_ttl: Option<u64>,
    calls_per_day: Option<u64>,
    queries_per_second: Option<u32>,
}

pub(crate) fn handle(
    provider: &mut Provider,
    now: SystemTime,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let authorized = request
        .headers()
        .get(ADMIN_KEY)
        .is_some_and(|key| key.as_bytes() == provider.admin_key().as_bytes());
    if !authorized {
        return platform_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send the X-Admin-Key header with the admin key printed at start-up",
        );
    }
    let segments = segments(request.uri().path(), "/admin");
    let method = request.method().clone();
    let max = provider.config.max_body_bytes;
    let get = method == Method::GET;
    let post = method == Method::POST;
    match segments.as_slice() {
        ["applications"] if get => {
            ok(serde_json::json!({ "applications": provider.applications() }))
        }
        ["applications"] if post => {
            let new: NewApp = match json_body(request, max) {
                Ok(new) => new,
                Err(response) => return *response,
            };
            let keys = match (new.client_id, new.client_secret) {
                (Some(id), Some(secret)) => Some(AppKeys::new(id, secret)),
                (None, None) => None,
                _ => {
                    return platform_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "Give both client_id and client_secret, or neither to have them generated",
                    );
                }
            };
            let name = new
                .name
                .unwrap_or_else(|| format!("Application {}", provider.platform.apps.len() + 1));
            match provider
                .platform
                .create_active(&name, keys, &mut provider.keygen)
            {
                Ok(index) => {
                    respond::json(StatusCode::CREATED, &provider.platform.info(index, true))
                }
                Err(error) => refused(&error),
            }
        }
        ["applications"] => method_not_allowed("GET, POST"),
        ["applications", app] if get => match provider.platform.find_or_err(app) {
            Ok(index) => {
                ok(serde_json::to_value(provider.platform.info(index, true)).unwrap_or_default())
            }
            Err(error) => refused(&error),
        },
        ["applications", app, action] if post => application_action(provider, app, action),
        ["applications", _] => method_not_allowed("GET"),
        ["applications", _, _] => method_not_allowed("POST"),
        ["counters"] if get => ok(serde_json::to_value(provider.counters(now)).unwrap_or_default()),
        ["counters", "reset"] if post => {
            provider.reset_counters();
            ok(serde_json::to_value(provider.counters(now)).unwrap_or_default())
        }
        ["counters"] => method_not_allowed("GET"),
        ["counters", "reset"] => method_not_allowed("POST"),
        ["faults"] if get => ok(serde_json::json!({ "pending": provider.pending_faults() })),
        ["faults"] if post => {
            let request: FaultRequest = match json_body(request, max) {
                Ok(r) => r,
                Err(response) => return *response,
            };
            inject(provider, request)
        }
        ["faults"] if method == Method::DELETE => {
            let cleared = provider.clear_faults();
            ok(serde_json::json!({ "cleared": cleared }))
        }
        ["faults"] => method_not_allowed("GET, POST, DELETE"),
        ["holds"] if get => ok(serde_json::json!({
            "held": provider.held_count(),
            "holds": provider.holds(),
        })),
        ["holds"] if method == Method::DELETE => {
            let released = provider.release_all_holds();
            released_holds(serde_json::json!({ "released": released }))
        }
        ["holds"] => method_not_allowed("GET, DELETE"),
        ["holds", id, "release"] if post => match id.parse::<u64>() {
            Ok(id) => {
                let released = provider.release_hold(HoldId::from_number(id));
                released_holds(serde_json::json!({ "released": released }))
            }
            Err(_) => platform_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The hold id is the number POST /admin/faults returned",
            ),
        },
        ["holds", _, "release"] => method_not_allowed("POST"),
        ["clock"] if get => ok(clock_json(now)),
        ["clock"] => method_not_allowed("GET"),
        ["clock", "advance"] if post => {
            let advance: Advance = match json_body(request, max) {
                Ok(a) => a,
                Err(response) => return *response,
            };
            let by = Duration::from_secs(advance.seconds.unwrap_or(0))
                .saturating_add(Duration::from_millis(advance.millis.unwrap_or(0)));
            if by > MAX_DURATION {
                return platform_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Advance the clock by at most 100 years at a time",
                );
            }
            let mut body = clock_json(later(now, by));
            body["advanced_ms"] = u64::try_from(by.as_millis()).unwrap_or(u64::MAX).into();
            let mut response = ok(body);
            response.extensions_mut().insert(Effect::AdvanceClock(by));
            response
        }
        ["clock", "advance"] => method_not_allowed("POST"),
        ["settings"] if get => ok(settings_json(provider)),
        ["settings"] if post => {
            let settings: Settings = match json_body(request, max) {
                Ok(s) => s,
                Err(response) => return *response,
            };
            apply_settings(provider, settings)
        }
        ["settings"] => method_not_allowed("GET, POST"),
        _ => not_found(),
    }
}

fn application_action(provider: &mut Provider, app: &str, action: &str) -> Response<Vec<u8>> {
    let index = match provider.platform.find_or_err(app) {
        Ok(index) => index,
        Err(error) => return refused(&error),
    };
    let result: Result<serde_json::Value, ProviderError> = match action {
        "approve" => provider
            .platform
            .approve(index, None, &mut provider.keygen)
            .map(|()| {
                serde_json::to_value(provider.platform.info(index, true)).unwrap_or_default()
            }),
        "reject" => provider.platform.reject(index).map(|()| {
            serde_json::to_value(provider.platform.info(index, true)).unwrap_or_default()
        }),
        "disable" => provider.platform.disable(index).map(|()| {
            serde_json::to_value(provider.platform.info(index, true)).unwrap_or_default()
        }),
        "forget-refresh-token" => provider
            .forget_refresh_token(app)
            .map(|had| serde_json::json!({ "forgotten": had })),
        "revoke-access-token" => provider
            .revoke_access_token(app)
            .map(|had| serde_json::json!({ "revoked": had })),
        _ => return not_found(),
    };
    match result {
        Ok(value) => ok(value),
        Err(error) => refused(&error),
    }
}

/// An answer that released holds: the server wakes their answers.
fn released_holds(body: serde_json::Value) -> Response<Vec<u8>> {
    let mut response = ok(body);
    response.extensions_mut().insert(Effect::Release);
    response
}

/// The fault kinds of `POST /admin/faults`.
const FAULT_KINDS: &str = "server_error, bad_gateway, service_unavailable, connection_reset, delay, truncated_body, error_in_200, invalid_token, invalid_grant, over_qps, over_rate, too_many_requests, headers, expires_in, hold";

fn inject(provider: &mut Provider, request: FaultRequest) -> Response<Vec<u8>> {
    let bad =
        |description: &str| platform_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    let mut hold = None;
    let fault = match request.kind.as_str() {
        "server_error" => Fault::ServerError,
        "bad_gateway" => Fault::BadGateway,
        "service_unavailable" => Fault::ServiceUnavailable,
        "connection_reset" => Fault::ConnectionReset,
        "truncated_body" => Fault::TruncatedBody,
        "delay" => {
            let delay = Duration::from_millis(request.delay_ms.unwrap_or(1_000));
            if delay > MAX_DURATION {
                return bad("delay_ms is too large");
            }
            Fault::Delay(delay)
        }
        "error_in_200" => {
            let code = request.error.unwrap_or_else(|| "server_error".into());
            let valid = !code.is_empty()
                && code.len() <= 64
                && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            if !valid {
                return bad("error must be an OAuth error code such as server_error");
            }
            Fault::ErrorIn200(code)
        }
        "invalid_token" => Fault::InvalidToken,
        "invalid_grant" => Fault::InvalidGrant,
        "over_qps" => Fault::OverQps {
            retry_after: request.retry_after,
        },
        "over_rate" => Fault::OverRate,
        "too_many_requests" => Fault::TooManyRequests {
            retry_after: request.retry_after,
        },
        "headers" => {
            let checked = match request.headers {
                Some(HeaderList::Map(map)) => Fault::headers(map),
                Some(HeaderList::Pairs(pairs)) => Fault::headers(pairs),
                None => return bad("headers needs \"headers\": {\"Name\": \"value\", …}"),
            };
            match checked {
                Ok(fault) => fault,
                Err(error) => return refused(&error),
            }
        }
        "expires_in" => match request.expires_in.map(Fault::expires_in) {
            Some(Ok(fault)) => fault,
            Some(Err(error)) => return refused(&error),
            None => return bad("expires_in needs \"expires_in\": the raw JSON text, e.g. \"0\""),
        },
        "hold" => match provider.new_hold_capped() {
            Some(id) => {
                hold = Some(id);
                Fault::Hold(id)
            }
            None => {
                return platform_error(
                    StatusCode::CONFLICT,
                    "too_many_holds",
                    &format!(
                        "{MAX_OPEN_HOLDS} holds are open; release some (POST /admin/holds/{{id}}/release or DELETE /admin/holds)"
                    ),
                );
            }
        },
        _ => return bad(&format!("kind must be one of {FAULT_KINDS}")),
    };
    let target = request.target.unwrap_or(FaultTarget::Any);
    let queued = provider.inject(target, fault, request.count.unwrap_or(1));
    let mut body = serde_json::json!({ "queued": queued, "pending": provider.pending_faults() });
    if let Some(id) = hold {
        body["hold"] = id.get().into();
    }
    respond::json(StatusCode::CREATED, &body)
}

fn settings_json(provider: &Provider) -> serde_json::Value {
    let config = provider.config();
    serde_json::json!({
        "quota_headers": config.quota_headers,
        "token_ttl": config.token_ttl.as_secs(),
        "refresh_token_ttl": config.refresh_token_ttl.as_secs(),
        "plan": plan_json(&config.plan),
        "max_body_bytes": config.max_body_bytes,
    })
}

fn apply_settings(provider: &mut Provider, settings: Settings) -> Response<Vec<u8>> {
    for ttl in [settings.token_ttl, settings.refresh_token_ttl]
        .into_iter()
        .flatten()
    {
        if Duration::from_secs(ttl) > MAX_DURATION {
            return platform_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Token lifetimes must be at most 100 years",
            );
        }
    }
    if let Some(on) = settings.quota_headers {
        provider.set_quota_headers(on);
    }
    if let Some(ttl) = settings.token_ttl {
        provider.set_token_ttl(Duration::from_secs(ttl));
    }
    if let Some(ttl) = settings.refresh_token_ttl {
        provider.config.refresh_token_ttl = Duration::from_secs(ttl);
    }
    let mut plan = provider.config().plan;
    if let Some(calls) = settings.calls_per_day {
        plan.calls_per_day = calls;
    }
    if let Some(qps) = settings.queries_per_second {
        plan.queries_per_second = qps;
    }
    provider.set_plan(plan);
    ok(settings_json(provider))
}
