//! Fault injection: what the next N token or API answers should be instead of (or on top of)
//! the normal answer.
//!
//! Faults are state of the provider, queued in order. Those a pure function can perform (an
//! error status and body, extra headers, an odd `expires_in`) replace or rewrite the answer;
//! those it cannot (a connection reset, a delay, a truncated body, a held answer) are signalled
//! to the server layer as an [`Effect`] in the response's extensions, and the server carries
//! them out.

use crate::error::ProviderError;
use crate::hold::HoldId;
use crate::respond;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// Most headers one [`Fault::Headers`] made by [`Fault::headers`] sets.
pub const MAX_FAULT_HEADERS: usize = 64;
/// Longest header value [`Fault::headers`] accepts, and longest `expires_in` text
/// [`Fault::expires_in`] accepts, in bytes.
pub const MAX_FAULT_TEXT: usize = 4096;

/// Headers the server's HTTP layer owns (framing, connection management): a fault may not set
/// them.
const FRAMING_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Which answers a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    /// Answers of the token endpoint.
    Token,
    /// Answers of the protected API.
    Api,
    /// The next answer of either.
    Any,
}

impl FaultTarget {
    fn covers(self, endpoint: FaultTarget) -> bool {
        self == FaultTarget::Any || self == endpoint
    }
}

/// One injected fault.
///
/// Replacing faults answer instead of the provider (nothing else happens: no token issued, no
/// quota counted); wrapping faults ([`Fault::wraps_answer`]) change or delay the normal answer,
/// which is computed and counted as usual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 500 with a JSON body `{"error":"server_error",…}`.
    ServerError,
    /// 502 with an HTML page from a load balancer in front of the gateway (`text/html`, no
    /// gateway error code).
    BadGateway,
    /// 503 from the gateway: `ERR_503_SERVICE_UNAVAILABLE`, "Scheduled Maintenance",
    /// `<h1>Service Unavailable</h1>` as `text/xml`.
    ServiceUnavailable,
    /// The connection is reset (TCP RST) without an answer.
    ConnectionReset,
    /// The normal answer, sent after this (real-time) delay.
    Delay(Duration),
    /// The normal answer with its full `Content-Length`, but only the first half of the body is
    /// sent before the connection is cut.
    TruncatedBody,
    /// Status 200 carrying a JSON OAuth error body `{"error": CODE, …}`.
    ErrorIn200(String),
    /// 401 `invalid_token` from the gateway, exactly as it answers an expired access token:
    /// `WWW-Authenticate: Bearer realm="…", error="invalid_token", error_description="…"`,
    /// `ERR_401_INVALID_OR_EXPIRED_TOKEN`. Meant for the API; with a large count, an API that
    /// answers every call 401.
    InvalidToken,
    /// 400 `{"error":"invalid_grant","error_description":"Invalid refresh token"}` from the
    /// token endpoint, whatever the grant. Unlike a real refused refresh token, not counted
    /// against the quota.
    InvalidGrant,
    /// 403 `ERR_403_DEVELOPER_OVER_QPS` as the gateway sends it, with `Retry-After: N` when
    /// given (the gateway's own denial sends 1).
    OverQps {
        /// The `Retry-After` seconds, if any.
        retry_after: Option<u64>,
    },
    /// 403 `ERR_403_DEVELOPER_OVER_RATE` (the day's quota is spent) as the gateway sends it.
    OverRate,
    /// 429 with `{"error":"temporarily_unavailable","error_description":"Too many requests"}`
    /// and `Retry-After: N` when given.
    TooManyRequests {
        /// The `Retry-After` seconds, if any.
        retry_after: Option<u64>,
    },
    /// Wraps the normal answer: these headers are set on it (every value of a name replaces the
    /// answer's headers of that name), after the quota headers, so they can replace them.
    /// Build it checked with [`Fault::headers`].
    Headers(HeaderMap),
    /// Wraps a token answer: the normal answer (tokens issued and stored as usual) with the
    /// value of its `expires_in` member replaced by this raw JSON text, e.g. `0`, `"0"`,
    /// `0.5`, `-1`, `1e300`, or `3600,"expires_in":0` for a duplicate key. Answers without
    /// `expires_in` are unchanged. Build it checked with [`Fault::expires_in`].
    ExpiresIn(String),
    /// Wraps the normal answer, computed and counted when the request arrives: the server holds
    /// it until the hold is released (see [`Hold`](crate::Hold)). Answers of a released hold
    /// pass at once.
    Hold(HoldId),
}

impl Fault {
    /// Whether the normal answer is still computed (and the call counted): delays and truncated
    /// bodies wrap the normal answer; the others replace it without touching any state.
    pub fn wraps_answer(&self) -> bool {
        matches!(
            self,
            Fault::Delay(_)
                | Fault::TruncatedBody
                | Fault::Headers(_)
                | Fault::ExpiresIn(_)
                | Fault::Hold(_)
        )
    }

    /// [`Fault::Headers`] from name/value pairs, checked: at most [`MAX_FAULT_HEADERS`] pairs,
    /// valid header names and values (values of at most [`MAX_FAULT_TEXT`] bytes), and none of
    /// the framing headers the HTTP layer owns (`Content-Length`, `Transfer-Encoding`,
    /// `Connection`, …). A name given twice sends both values.
    pub fn headers<N: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Fault, ProviderError> {
        let invalid = |reason: String| ProviderError::Invalid {
            field: "headers",
            reason,
        };
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            if headers.len() == MAX_FAULT_HEADERS {
                return Err(invalid(format!("give at most {MAX_FAULT_HEADERS} headers")));
            }
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("`{name}` is not a header name")))?;
            if FRAMING_HEADERS.contains(&name.as_str()) {
                return Err(invalid(format!(
                    "`{name}` is set by the server's HTTP layer and cannot be injected"
                )));
            }
            let value = HeaderValue::from_str(value)
                .ok()
                .filter(|_| value.len() <= MAX_FAULT_TEXT)
                .ok_or_else(|| {
                    invalid(format!(
                        "the value of `{name}` must be at most {MAX_FAULT_TEXT} visible ASCII characters and spaces"
                    ))
                })?;
            headers.append(name, value);
        }
        Ok(Fault::Headers(headers))
    }

    /// [`Fault::ExpiresIn`], checked: non-empty, at most [`MAX_FAULT_TEXT`] bytes, and such that
    /// `{"expires_in":TEXT}` is a JSON object (so `0`, `"0"`, `0.5`, `1e300` and
    /// `3600,"expires_in":0` are accepted, `abc` is not).
    pub fn expires_in(text: impl Into<String>) -> Result<Fault, ProviderError> {
        let text = text.into();
        let object = format!("{{\"expires_in\":{text}}}");
        let valid = !text.trim().is_empty()
            && text.len() <= MAX_FAULT_TEXT
            && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&object).is_ok();
        if valid {
            Ok(Fault::ExpiresIn(text))
        } else {
            Err(ProviderError::Invalid {
                field: "expires_in",
                reason: format!(
                    "must be JSON text that makes {{\"expires_in\":TEXT}} a JSON object of at most {MAX_FAULT_TEXT} bytes, such as 0, \"0\", 0.5 or 3600,\"expires_in\":0"
                ),
            })
        }
    }

    /// The name used by the admin route.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::ServerError => "server_error",
            Fault::BadGateway => "bad_gateway",
            Fault::ServiceUnavailable => "service_unavailable",
            Fault::ConnectionReset => "connection_reset",
            Fault::Delay(_) => "delay",
            Fault::TruncatedBody => "truncated_body",
            Fault::ErrorIn200(_) => "error_in_200",
            Fault::InvalidToken => "invalid_token",
            Fault::InvalidGrant => "invalid_grant",
            Fault::OverQps { .. } => "over_qps",
            Fault::OverRate => "over_rate",
            Fault::TooManyRequests { .. } => "too_many_requests",
            Fault::Headers(_) => "headers",
            Fault::ExpiresIn(_) => "expires_in",
            Fault::Hold(_) => "hold",
        }
    }

    /// The answer that replaces the normal one, with the effect the server must carry out;
    /// `realm` is that of the request's challenges.
    pub(crate) fn replacement(&self, realm: &str) -> Response<Vec<u8>> {
        let mut response = match self {
            Fault::InvalidToken => crate::api::invalid_token(realm),
            Fault::InvalidGrant => respond::invalid_grant(),
            Fault::OverQps { retry_after } => respond::over_qps(*retry_after),
            Fault::OverRate => respond::over_rate(),
            Fault::TooManyRequests { retry_after } => {
                let mut response = respond::oauth_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "temporarily_unavailable",
                    Some("Too many requests"),
                );
                respond::retry_after(&mut response, *retry_after);
                response
            }
            _ => return self.other_replacement(),
        };
        respond::from_gateway(&mut response);
        response
    }

    fn other_replacement(&self) -> Response<Vec<u8>> {
        match self {
            Fault::ServerError => {
                let mut response = respond::oauth_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    Some("The server encountered an unexpected condition"),
                );
                respond::from_gateway(&mut response);
                response
            }
            Fault::BadGateway => respond::with_body(
                StatusCode::BAD_GATEWAY,
                "text/html",
                BAD_GATEWAY_PAGE.as_bytes().to_vec(),
            ),
            Fault::ServiceUnavailable => {
                let mut response = respond::gateway_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ERR_503_SERVICE_UNAVAILABLE",
                    Some("Scheduled Maintenance"),
                    "Service Unavailable",
                );
                respond::from_gateway(&mut response);
                response
            }
            Fault::ErrorIn200(code) => {
                let mut response = respond::oauth_error(
                    StatusCode::OK,
                    code,
                    Some("The request failed although the status says otherwise"),
                );
                respond::from_gateway(&mut response);
                response
            }
            Fault::ConnectionReset => {
                let mut response = Response::new(Vec::new());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response.extensions_mut().insert(Effect::Reset);
                response
            }
            // Wrapping faults have no replacement, and the others are answered above; never
            // asked for, but harmless.
            _ => Response::new(Vec::new()),
        }
    }

    /// What a wrapping fault does to the normal answer that a value can: extra headers, an odd
    /// `expires_in`.
    pub(crate) fn rewrite(&self, response: &mut Response<Vec<u8>>) {
        match self {
            Fault::Headers(extra) => {
                for name in extra.keys() {
                    response.headers_mut().remove(name);
                    for value in extra.get_all(name) {
                        response.headers_mut().append(name.clone(), value.clone());
                    }
                }
            }
            Fault::ExpiresIn(text) => splice_expires_in(response.body_mut(), text),
            _ => {}
        }
    }

    /// The effect that wraps the normal answer, for the wrapping faults that have one (a hold's
    /// depends on the provider's holds: see `Provider::through_gateway`).
    pub(crate) fn wrapping_effect(&self) -> Option<Effect> {
        match self {
            Fault::Delay(delay) => Some(Effect::Delay(*delay)),
            Fault::TruncatedBody => Some(Effect::Truncate),
            _ => None,
        }
    }
}

/// Replaces the number after the first `"expires_in":` of a JSON body by `text`.
fn splice_expires_in(body: &mut Vec<u8>, text: &str) {
    const KEY: &[u8] = b"\"expires_in\":";
    let Some(start) = body.windows(KEY.len()).position(|w| w == KEY) else {
        return;
    };
    let value = start + KEY.len();
    let digits = body[value..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    body.splice(value..value + digits, text.bytes());
}

/// The page of the 502 fault: what a load balancer in front of the gateway sends.
pub const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";

/// What the server layer must do with an answer, beyond sending it. Found in the response's
/// extensions ([`Effect::of`]); a pure caller of the provider (a simulation) may act on it or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reset the connection instead of answering.
    Reset,
    /// Wait this long (real time) before answering.
    Delay(Duration),
    /// Send the headers with the full `Content-Length`, then half the body, then cut the
    /// connection.
    Truncate,
    /// Move the sandbox clock forward by this much (the admin clock route).
    AdvanceClock(Duration),
    /// Send the answer only once this hold is released ([`Fault::Hold`]).
    Hold(HoldId),
    /// Holds were released (the admin hold routes): wake the answers held for them.
    Release,
}

impl Effect {
    /// The effect attached to a provider's answer, if any.
    pub fn of<B>(response: &Response<B>) -> Option<Effect> {
        response.extensions().get::<Effect>().copied()
    }
}

/// A fault waiting in the queue, as the admin route shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingFault {
    /// Which answers it applies to.
    pub target: FaultTarget,
    /// Its kind (`server_error`, `bad_gateway`, …).
    pub kind: &'static str,
    /// For `delay`, the delay in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// For `error_in_200`, the error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For `over_qps` and `too_many_requests`, the `Retry-After` seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// For `headers`, the headers set, as `[name, value]` pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<(String, String)>>,
    /// For `expires_in`, the raw JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
    /// For `hold`, the hold's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldId>,
}

/// The queue of faults to inject.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultQueue {
    queue: VecDeque<(FaultTarget, Fault)>,
}

/// Most faults the queue holds; more are refused, so a runaway test cannot exhaust memory.
pub const MAX_QUEUED_FAULTS: usize = 10_000;

impl FaultQueue {
    /// Queues `count` copies of `fault`; returns how many were queued (capped).
    pub(crate) fn push(&mut self, target: FaultTarget, fault: Fault, count: usize) -> usize {
        let room = MAX_QUEUED_FAULTS.saturating_sub(self.queue.len());
        let count = count.min(room);
        for _ in 0..count {
            self.queue.push_back((target, fault.clone()));
        }
        count
    }

    /// Takes the first fault that applies to an answer of `endpoint` (`Token` or `Api`).
    pub(crate) fn take(&mut self, endpoint: FaultTarget) -> Option<Fault> {
        let position = self.queue.iter().position(|(t, _)| t.covers(endpoint))?;
        self.queue.remove(position).map(|(_, fault)| fault)
    }

    pub(crate) fn clear(&mut self) -> usize {
        let n = self.queue.len();
        self.queue.clear();
        n
    }

    pub(crate) fn pending(&self) -> Vec<PendingFault> {
        self.queue
            .iter()
            .map(|(target, fault)| PendingFault {
                target: *target,
                kind: fault.kind(),
                delay_ms: match fault {
                    Fault::Delay(d) => Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                    _ => None,
                },
                error: match fault {
                    Fault::ErrorIn200(code) => Some(code.clone()),
                    _ => None,
                },
                retry_after: match fault {
                    Fault::OverQps { retry_after } | Fault::TooManyRequests { retry_after } => {
                        *retry_after
                    }
                    _ => None,
                },
                headers: match fault {
                    Fault::Headers(headers) => Some(
                        headers
                            .iter()
                            .map(|(n, v)| {
                                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                                (n.as_str().to_owned(), value)
                            })
                            .collect(),
                    ),
                    _ => None,
                },
                expires_in: match fault {
                    Fault::ExpiresIn(text) => Some(text.clone()),
                    _ => None,
                },
                hold: match fault {
                    Fault::Hold(id) => Some(*id),
                    _ => None,
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::AppKeys;
    use crate::provider::Provider;
    use http::Request;
    use std::time::{SystemTime, UNIX_EPOCH};

    const NOW: Duration = Duration::from_secs(1_717_668_000);

    fn now() -> SystemTime {
        UNIX_EPOCH + NOW
    }

    fn provider() -> Provider {
        let mut provider = Provider::default();
        provider
            .create_app(Some(AppKeys::new("id", "secret")))
            .unwrap();
        provider
    }

    fn token_request(provider: &mut Provider, grant: &str) -> Response<Vec<u8>> {
        let request = Request::post("/oauth2/token")
            .header("Host", "api.example.com")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("client_id=id&client_secret=secret&grant_type={grant}").into_bytes())
            .unwrap();
        provider.handle(now(), request)
    }

    fn api_call(provider: &mut Provider, token: &str) -> Response<Vec<u8>> {
        let request = Request::get("/v1/searchoauth?query=cyber")
            .header("Host", "api.example.com")
            .header("Authorization", format!("Bearer {token}"))
            .body(Vec::new())
            .unwrap();
        provider.handle(now(), request)
    }

    fn json(response: &Response<Vec<u8>>) -> serde_json::Value {
        serde_json::from_slice(response.body()).unwrap()
    }

    fn header<'a>(response: &'a Response<Vec<u8>>, name: &str) -> Option<&'a str> {
        response.headers().get(name).map(|v| v.to_str().unwrap())
    }

    fn issued(provider: &mut Provider) -> String {
        let answer = token_request(provider, "client_credentials");
        json(&answer)["access_token"].as_str().unwrap().to_owned()
    }

    fn quota_used(provider: &Provider) -> u64 {
        provider.counters(now()).applications["id"].quota_current
    }

    #[test]
    fn invalid_token_is_the_answer_to_an_expired_token() {
        let mut provider = provider();
        let token = issued(&mut provider);
        provider.inject(FaultTarget::Api, Fault::InvalidToken, 1);
        let faulted = api_call(&mut provider, &token);
        // The same answer the provider gives a token it does not know.
        let unknown = api_call(&mut provider, "expiredtoken0000000000000");
        assert_eq!(faulted.status(), 401);
        assert_eq!(faulted.headers(), unknown.headers());
        assert_eq!(faulted.body(), unknown.body());
        assert_eq!(
            header(&faulted, "www-authenticate"),
            Some(
                r#"Bearer realm="api.example.com", error="invalid_token", error_description="The access token is invalid or has expired""#
            )
        );
        assert_eq!(
            header(&faulted, "x-mashery-error-code"),
            Some("ERR_401_INVALID_OR_EXPIRED_TOKEN")
        );
        assert_eq!(api_call(&mut provider, &token).status(), 200);
        assert_eq!(quota_used(&provider), 2);
    }

    #[test]
    fn invalid_grant_whatever_the_grant() {
        let mut provider = provider();
        provider.inject(FaultTarget::Token, Fault::InvalidGrant, 1);
        let answer = token_request(&mut provider, "client_credentials");
        assert_eq!(answer.status(), 400);
        assert_eq!(
            answer.body(),
            br#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#
        );
        assert_eq!(header(&answer, "cache-control"), Some("no-store"));
        assert_eq!(header(&answer, "server"), Some("Mashery Proxy"));
        assert_eq!(provider.counters(now()).tokens_issued, 0);
    }

    #[test]
    fn over_qps_over_rate_and_429() {
        let mut provider = provider();
        let token = issued(&mut provider);
        for (fault, code, retry_after) in [
            (
                Fault::OverQps {
                    retry_after: Some(100_000),
                },
                "ERR_403_DEVELOPER_OVER_QPS",
                Some("100000"),
            ),
            (
                Fault::OverQps { retry_after: None },
                "ERR_403_DEVELOPER_OVER_QPS",
                None,
            ),
            (Fault::OverRate, "ERR_403_DEVELOPER_OVER_RATE", None),
        ] {
            provider.inject(FaultTarget::Api, fault, 1);
            let answer = api_call(&mut provider, &token);
            assert_eq!(answer.status(), 403);
            assert_eq!(header(&answer, "x-mashery-error-code"), Some(code));
            assert_eq!(header(&answer, "retry-after"), retry_after);
            assert_eq!(header(&answer, "content-type"), Some("text/xml"));
        }
        provider.inject(
            FaultTarget::Token,
            Fault::TooManyRequests {
                retry_after: Some(7),
            },
            1,
        );
        let answer = token_request(&mut provider, "client_credentials");
        assert_eq!(answer.status(), 429);
        assert_eq!(header(&answer, "retry-after"), Some("7"));
        assert_eq!(json(&answer)["error"], "temporarily_unavailable");
        // Denials in front of the gateway are not counted.
        assert_eq!(quota_used(&provider), 1);
    }

    #[test]
    fn headers_replace_those_of_the_normal_answer() {
        let mut provider = provider();
        provider.set_quota_headers(true);
        let token = issued(&mut provider);
        let fault = Fault::headers([
            ("X-Plan-QPS-Allotted", "4294967295"),
            ("X-Plan-Quota-Allotted", "18446744073709551615"),
            ("Retry-After", "1"),
            ("Retry-After", "99999999999999999999"),
        ])
        .unwrap();
        provider.inject(FaultTarget::Api, fault, 1);
        let answer = api_call(&mut provider, &token);
        assert_eq!(answer.status(), 200);
        assert_eq!(header(&answer, "x-plan-qps-allotted"), Some("4294967295"));
        assert_eq!(
            header(&answer, "x-plan-quota-allotted"),
            Some("18446744073709551615")
        );
        // The other quota headers are the provider's, the call counted.
        assert_eq!(header(&answer, "x-plan-quota-current"), Some("2"));
        let retry: Vec<_> = answer.headers().get_all("retry-after").iter().collect();
        assert_eq!(retry, ["1", "99999999999999999999"]);
        assert_eq!(quota_used(&provider), 2);
    }

    #[test]
    fn fault_headers_are_checked() {
        for (name, value) in [
            ("Content-Length", "1"),
            ("transfer-encoding", "chunked"),
            ("bad name", "x"),
            ("X-Ok", "line\nbreak"),
        ] {
            let error = Fault::headers([(name, value)]).unwrap_err();
            assert!(matches!(
                error,
                ProviderError::Invalid {
                    field: "headers",
                    ..
                }
            ));
        }
        let long = "x".repeat(MAX_FAULT_TEXT + 1);
        assert!(Fault::headers([("X-Long", long.as_str())]).is_err());
        let many = (0..=MAX_FAULT_HEADERS).map(|i| (format!("x-{i}"), "1"));
        assert!(Fault::headers(many).is_err());
    }

    #[test]
    fn expires_in_is_spliced_into_the_token_answer() {
        for text in ["0", "\"0\"", "0.5", "-1", "1e300", "3600,\"expires_in\":0"] {
            let mut provider = provider();
            provider.inject(FaultTarget::Token, Fault::expires_in(text).unwrap(), 1);
            let answer = token_request(&mut provider, "client_credentials");
            let body = String::from_utf8(answer.body().clone()).unwrap();
            assert!(
                body.contains(&format!(",\"expires_in\":{text},\"refresh_token\":")),
                "{body}"
            );
            assert!(
                serde_json::from_str::<serde_json::Value>(&body).is_ok(),
                "{body}"
            );
            // The token is issued and works as usual.
            let token = json(&answer)["access_token"].as_str().unwrap().to_owned();
            assert_eq!(api_call(&mut provider, &token).status(), 200);
        }
        for bad in ["", " ", "abc", "1,", "{", "0}"] {
            assert!(Fault::expires_in(bad).is_err(), "{bad:?}");
        }
        // An answer without expires_in is unchanged.
        let mut provider = provider();
        let token = issued(&mut provider);
        let normal = api_call(&mut provider, &token);
        provider.inject(FaultTarget::Api, Fault::ExpiresIn("0".into()), 1);
        assert_eq!(api_call(&mut provider, &token).body(), normal.body());
    }

    #[test]
    fn a_held_answer_is_computed_and_marked() {
        let mut provider = provider();
        let id = provider.new_hold();
        provider.inject(FaultTarget::Token, Fault::Hold(id), 1);
        let answer = token_request(&mut provider, "client_credentials");
        assert_eq!(answer.status(), 200);
        assert_eq!(Effect::of(&answer), Some(Effect::Hold(id)));
        assert_eq!(provider.counters(now()).tokens_issued, 1);
        assert_eq!(provider.hold_arrivals(id), Some(1));
        assert_eq!(provider.held_count(), 1);
        // Once released, its answers pass unmarked.
        assert!(provider.release_hold(id));
        provider.inject(FaultTarget::Token, Fault::Hold(id), 1);
        let answer = token_request(&mut provider, "client_credentials");
        assert_eq!(Effect::of(&answer), None);
    }

    #[test]
    fn faults_apply_in_order_to_their_target() {
        let mut queue = FaultQueue::default();
        queue.push(FaultTarget::Api, Fault::BadGateway, 1);
        queue.push(FaultTarget::Any, Fault::ServerError, 1);
        queue.push(FaultTarget::Token, Fault::ConnectionReset, 2);
        assert_eq!(queue.take(FaultTarget::Token), Some(Fault::ServerError));
        assert_eq!(queue.take(FaultTarget::Token), Some(Fault::ConnectionReset));
        assert_eq!(queue.take(FaultTarget::Api), Some(Fault::BadGateway));
        assert_eq!(queue.take(FaultTarget::Api), None);
        assert_eq!(queue.pending().len(), 1);
        assert_eq!(queue.clear(), 1);
    }

    #[test]
    fn the_queue_is_capped() {
        let mut queue = FaultQueue::default();
        assert_eq!(
            queue.push(FaultTarget::Any, Fault::ServerError, usize::MAX),
            MAX_QUEUED_FAULTS
        );
        assert_eq!(queue.push(FaultTarget::Any, Fault::ServerError, 1), 0);
    }
}
