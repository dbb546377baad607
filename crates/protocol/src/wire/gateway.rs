//! Gateway denials, keyed on the `X-Mashery-Error-Code` header whatever the status or body.
//!
//! The gateway's error sets can change the status (403, 429, 401, 596, …) and the body (an
//! `<h1>…</h1>` page sent as `text/xml`, JSON, problem+json), but the error-code header stays, so
//! it is the only thing a denial is recognised by.
//!
//! ```
//! use bearer_protocol::wire::gateway::{GatewayCode, GatewayDenial, RetryAfter};
//! use std::time::Duration;
//!
//! let response = http::Response::builder()
//!     .status(403)
//!     .header("Content-Type", "text/xml")
//!     .header("X-Mashery-Error-Code", "ERR_403_DEVELOPER_OVER_QPS")
//!     .header("X-Error-Detail-Header", "Account Over Queries Per Second Limit")
//!     .header("Retry-After", "1")
//!     .body(b"<h1>Developer Over Qps</h1>".to_vec())
//!     .unwrap();
//! let denial = GatewayDenial::from_response(&response).unwrap();
//! assert_eq!(denial.code, GatewayCode::DeveloperOverQps);
//! assert_eq!(denial.retry_after, Some(RetryAfter::Delay(Duration::from_secs(1))));
//! assert!(denial.is_transient());
//! ```

use crate::wire::support::{header_text, http_date, sanitize, sanitize_text, status_text};
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use std::fmt;
use std::time::{Duration, SystemTime};

/// `X-Mashery-Error-Code`: the gateway's error id, present on every gateway denial.
pub const X_MASHERY_ERROR_CODE: HeaderName = HeaderName::from_static("x-mashery-error-code");
/// `X-Error-Detail-Header`: the gateway's short human-readable detail of a denial.
pub const X_ERROR_DETAIL_HEADER: HeaderName = HeaderName::from_static("x-error-detail-header");
/// `X-Mashery-Responder`: which gateway worker answered (useful in a support request).
pub const X_MASHERY_RESPONDER: HeaderName = HeaderName::from_static("x-mashery-responder");

/// Longest `Retry-After` delay believed; a larger one is cut to this (a quota day is shorter).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// The gateway's error code (`X-Mashery-Error-Code`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatewayCode {
    /// `ERR_403_DEVELOPER_OVER_QPS`: too many calls this second; retry after `Retry-After`.
    DeveloperOverQps,
    /// `ERR_403_SERVICE_OVER_QPS`: the service as a whole is over its QPS; retry later.
    ServiceOverQps,
    /// `ERR_403_DEVELOPER_OVER_RATE`: the day's quota is spent until the reset.
    DeveloperOverRate,
    /// `ERR_403_DEVELOPER_INACTIVE`: the application or key is not active.
    DeveloperInactive,
    /// `ERR_403_NOT_AUTHORIZED`
    NotAuthorized,
    /// `ERR_401_INVALID_OR_EXPIRED_TOKEN`
    InvalidOrExpiredToken,
    /// `ERR_596_SERVICE_NOT_FOUND`: no service at that path.
    ServiceNotFound,
    /// `ERR_502_BAD_GATEWAY`, `ERR_503_SERVICE_UNAVAILABLE`, `ERR_504_GATEWAY_TIMEOUT`.
    Upstream(StatusCode),
    /// Any other code, as sent.
    Other(String),
}

impl GatewayCode {
    /// Reads a code as sent in `X-Mashery-Error-Code`: trimmed, case-insensitive; an unknown
    /// code is kept (trimmed) in [`GatewayCode::Other`].
    ///
    /// ```
    /// use bearer_protocol::wire::gateway::GatewayCode;
    /// use http::StatusCode;
    /// assert_eq!(GatewayCode::parse(" err_403_developer_over_rate "), GatewayCode::DeveloperOverRate);
    /// assert_eq!(GatewayCode::parse("ERR_502_BAD_GATEWAY"), GatewayCode::Upstream(StatusCode::BAD_GATEWAY));
    /// assert_eq!(GatewayCode::parse("ERR_414_REQUEST_URI_TOO_LONG").as_str(), "ERR_414_REQUEST_URI_TOO_LONG");
    /// ```
    pub fn parse(code: &str) -> GatewayCode {
        // Matched once cleaned, so that a code reads back as itself.
        let code = sanitize(code.trim(), 80);
        let known = [
            GatewayCode::DeveloperOverQps,
            GatewayCode::ServiceOverQps,
            GatewayCode::DeveloperOverRate,
            GatewayCode::DeveloperInactive,
            GatewayCode::NotAuthorized,
            GatewayCode::InvalidOrExpiredToken,
            GatewayCode::ServiceNotFound,
            GatewayCode::Upstream(StatusCode::BAD_GATEWAY),
            GatewayCode::Upstream(StatusCode::SERVICE_UNAVAILABLE),
            GatewayCode::Upstream(StatusCode::GATEWAY_TIMEOUT),
        ];
        known
            .into_iter()
            .find(|candidate| candidate.as_str().eq_ignore_ascii_case(&code))
            .unwrap_or(GatewayCode::Other(code))
    }

    /// The wire id, e.g. `ERR_403_DEVELOPER_OVER_QPS`.
    ///
    /// An [`Upstream`](GatewayCode::Upstream) status other than 502, 503 or 504 (which
    /// [`parse`](GatewayCode::parse) never produces) has the id `ERR_5XX_UPSTREAM`.
    pub fn as_str(&self) -> &str {
        match self {
            GatewayCode::DeveloperOverQps => "ERR_403_DEVELOPER_OVER_QPS",
            GatewayCode::ServiceOverQps => "ERR_403_SERVICE_OVER_QPS",
            GatewayCode::DeveloperOverRate => "ERR_403_DEVELOPER_OVER_RATE",
            GatewayCode::DeveloperInactive => "ERR_403_DEVELOPER_INACTIVE",
            GatewayCode::NotAuthorized => "ERR_403_NOT_AUTHORIZED",
            GatewayCode::InvalidOrExpiredToken => "ERR_401_INVALID_OR_EXPIRED_TOKEN",
            GatewayCode::ServiceNotFound => "ERR_596_SERVICE_NOT_FOUND",
            GatewayCode::Upstream(status) => match status.as_u16() {
                502 => "ERR_502_BAD_GATEWAY",
                503 => "ERR_503_SERVICE_UNAVAILABLE",
                504 => "ERR_504_GATEWAY_TIMEOUT",
                _ => "ERR_5XX_UPSTREAM",
            },
            GatewayCode::Other(code) => code,
        }
    }

    /// The HTTP status the gateway's default error set sends with this code (the actual status
    /// may differ: providers change it), or `None` for an unknown code.
    pub fn default_status(&self) -> Option<StatusCode> {
        match self {
            GatewayCode::DeveloperOverQps
            | GatewayCode::ServiceOverQps
            | GatewayCode::DeveloperOverRate
            | GatewayCode::DeveloperInactive
            | GatewayCode::NotAuthorized => Some(StatusCode::FORBIDDEN),
            GatewayCode::InvalidOrExpiredToken => Some(StatusCode::UNAUTHORIZED),
            GatewayCode::ServiceNotFound => StatusCode::from_u16(596).ok(),
            GatewayCode::Upstream(status) => Some(*status),
            GatewayCode::Other(_) => None,
        }
    }

    /// The gateway's default `X-Error-Detail-Header` text for this code, if it has one.
    pub fn default_detail(&self) -> Option<&'static str> {
        match self {
            GatewayCode::DeveloperOverQps => Some("Account Over Queries Per Second Limit"),
            GatewayCode::ServiceOverQps => Some("Rate Limit Exceeded"),
            GatewayCode::DeveloperOverRate => Some("Account Over Rate Limit"),
            GatewayCode::DeveloperInactive => Some("Account Inactive"),
            GatewayCode::NotAuthorized => Some("Not Authorized"),
            GatewayCode::InvalidOrExpiredToken => Some("Invalid Or Expired Token"),
            GatewayCode::Upstream(status) if status.as_u16() == 503 => {
                Some("Scheduled Maintenance")
            }
            _ => None,
        }
    }

    /// A passing condition worth retrying after a wait: over QPS (the application's or the
    /// service's) or a failure of the service behind the gateway.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GatewayCode::DeveloperOverQps | GatewayCode::ServiceOverQps | GatewayCode::Upstream(_)
        )
    }

    /// Over the queries per second (the application's or the service's): the gateway denied
    /// the call before counting it.
    pub fn is_over_qps(&self) -> bool {
        matches!(
            self,
            GatewayCode::DeveloperOverQps | GatewayCode::ServiceOverQps
        )
    }

    /// The day's quota is spent: nothing succeeds until the quota resets.
    pub fn is_quota_exhausted(&self) -> bool {
        matches!(self, GatewayCode::DeveloperOverRate)
    }

    /// Retrying cannot help until a person acts: the application is inactive, or there is no
    /// service at the address called.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            GatewayCode::DeveloperInactive | GatewayCode::ServiceNotFound
        )
    }

    /// The gateway refused the access token itself: renew it and retry once.
    pub fn is_token_rejected(&self) -> bool {
        matches!(self, GatewayCode::InvalidOrExpiredToken)
    }

    /// What the code means and what to do, as a clause.
    pub(crate) fn advice(&self) -> &'static str {
        match self {
            GatewayCode::DeveloperOverQps => {
                "the application is over its queries-per-second limit: wait and retry"
            }
            GatewayCode::ServiceOverQps => {
                "the service as a whole is over its queries-per-second limit: wait and retry"
            }
            GatewayCode::DeveloperOverRate => {
                "the day's call quota is spent: calls fail until the quota resets (00:00 UTC)"
            }
            GatewayCode::DeveloperInactive => {
                "the application is not active: ask the platform team to approve or re-enable it; bearer does not retry this"
            }
            GatewayCode::NotAuthorized => {
                "the key is not authorized for this call: check the client id and secret in the Keys section of My Account and that the plan includes this API"
            }
            GatewayCode::InvalidOrExpiredToken => {
                "the access token is invalid or expired: bearer renews it and retries once"
            }
            GatewayCode::ServiceNotFound => {
                "the gateway knows no service at this address: check the API URL and path"
            }
            GatewayCode::Upstream(_) => "the service behind the gateway failed: retry later",
            GatewayCode::Other(code) => other_advice(code),
        }
    }
}

/// Advice for the gateway's other documented ids.
fn other_advice(code: &str) -> &'static str {
    let code = code.to_ascii_uppercase();
    match code.as_str() {
        "ERR_403_SERVICE_REQUIRES_SSL" => {
            "the service requires https: call it with an https:// URL"
        }
        "ERR_403_DEVELOPER_UNKNOWN_REFERER" => {
            "the gateway refused the request's Referer: check the referers allowed for the application in My Account"
        }
        "ERR_414_REQUEST_URI_TOO_LONG" => "the request URL is too long: shorten it",
        "ERR_400_BAD_REQUEST" => {
            "the gateway found the request malformed: check its URL, headers and body"
        }
        _ if code.starts_with("ERR_5") => {
            "the gateway or the service behind it failed: retry later"
        }
        _ => "see the provider's documentation for this code",
    }
}

impl fmt::Display for GatewayCode {
    /// The wire id (an unknown one sanitised: it is server text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayCode::Other(code) => f.write_str(&sanitize(code, 80)),
            known => f.write_str(known.as_str()),
        }
    }
}

/// When to try again, from a `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// A number of seconds from the response.
    Delay(Duration),
    /// An HTTP date.
    At(SystemTime),
}

impl RetryAfter {
    /// Reads a `Retry-After` value: delta-seconds (digits only, trimmed; capped at
    /// [`MAX_RETRY_AFTER`]) or an HTTP-date. `None` for anything else.
    ///
    /// ```
    /// use bearer_protocol::wire::gateway::RetryAfter;
    /// use http::HeaderValue;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// assert_eq!(RetryAfter::parse(&HeaderValue::from_static("120")),
    ///            Some(RetryAfter::Delay(Duration::from_secs(120))));
    /// assert_eq!(RetryAfter::parse(&HeaderValue::from_static("Thu, 01 Jan 1970 00:01:00 GMT")),
    ///            Some(RetryAfter::At(UNIX_EPOCH + Duration::from_secs(60))));
    /// assert_eq!(RetryAfter::parse(&HeaderValue::from_static("-1")), None);
    /// ```
    pub fn parse(value: &HeaderValue) -> Option<RetryAfter> {
        let text = std::str::from_utf8(value.as_bytes()).ok()?.trim();
        if text.is_empty() {
            return None;
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            let seconds = text.parse::<u64>().unwrap_or(u64::MAX);
            return Some(RetryAfter::Delay(
                Duration::from_secs(seconds).min(MAX_RETRY_AFTER),
            ));
        }
        httpdate::parse_http_date(text).ok().map(RetryAfter::At)
    }

    /// When to try again, given when the response was received: `now` plus the delay, or the
    /// date (never earlier than `now`: a date in the past means at once).
    pub fn resolve(self, now: SystemTime) -> SystemTime {
        match self {
            // Cannot overflow for any real clock: the delay is capped at MAX_RETRY_AFTER.
            RetryAfter::Delay(delay) => now.checked_add(delay).unwrap_or(now),
            RetryAfter::At(at) => at.max(now),
        }
    }
}

impl fmt::Display for RetryAfter {
    /// `1 s` or an HTTP-date.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryAfter::Delay(delay) => write!(f, "{} s", delay.as_secs()),
            RetryAfter::At(at) => f.write_str(&http_date(*at)),
        }
    }
}

/// A denial by the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayDenial {
    /// The HTTP status it came with (not what the code is keyed on).
    pub status: StatusCode,
    /// The `X-Mashery-Error-Code`.
    pub code: GatewayCode,
    /// The `X-Error-Detail-Header`, if any.
    pub detail: Option<String>,
    /// The `Retry-After`, if any.
    pub retry_after: Option<RetryAfter>,
}

impl GatewayCode {
    /// Removes the client's own secrets from an unknown code's text.
    pub(crate) fn scrub(&mut self, secrets: &crate::secret::KnownSecrets) {
        if let GatewayCode::Other(code) = self {
            secrets.scrub(code);
        }
    }
}

impl GatewayDenial {
    /// Removes the client's own secrets from the server's text.
    pub(crate) fn scrub(&mut self, secrets: &crate::secret::KnownSecrets) {
        self.code.scrub(secrets);
        if let Some(detail) = &mut self.detail {
            secrets.scrub(detail);
        }
    }

    /// Recognises a denial from a response's status and headers: `Some` exactly when
    /// `X-Mashery-Error-Code` is present and not blank, whatever the status and the body.
    /// The detail header is sanitised (server text); an unreadable `Retry-After` is ignored.
    pub fn from_parts(status: StatusCode, headers: &HeaderMap) -> Option<GatewayDenial> {
        let code = GatewayCode::parse(&header_text(headers, &X_MASHERY_ERROR_CODE)?);
        let detail = header_text(headers, &X_ERROR_DETAIL_HEADER)
            .map(|detail| sanitize_text(&detail))
            .filter(|detail| !detail.is_empty());
        let retry_after = headers
            .get_all(RETRY_AFTER)
            .iter()
            .find_map(RetryAfter::parse);
        Some(GatewayDenial {
            status,
            code,
            detail,
            retry_after,
        })
    }

    /// [`from_parts`](GatewayDenial::from_parts) of a whole response (the body is not read).
    pub fn from_response(response: &http::Response<Vec<u8>>) -> Option<GatewayDenial> {
        Self::from_parts(response.status(), response.headers())
    }

    /// See [`GatewayCode::is_transient`].
    pub fn is_transient(&self) -> bool {
        self.code.is_transient()
    }

    /// See [`GatewayCode::is_quota_exhausted`].
    pub fn is_quota_exhausted(&self) -> bool {
        self.code.is_quota_exhausted()
    }

    /// See [`GatewayCode::is_permanent`].
    pub fn is_permanent(&self) -> bool {
        self.code.is_permanent()
    }

    /// See [`GatewayCode::is_token_rejected`].
    pub fn is_token_rejected(&self) -> bool {
        self.code.is_token_rejected()
    }

    /// When the gateway said to try again, resolved against the time the response came.
    pub fn retry_at(&self, now: SystemTime) -> Option<SystemTime> {
        self.retry_after.map(|retry_after| retry_after.resolve(now))
    }
}

impl fmt::Display for GatewayDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the API gateway refused the request ({}, {}",
            status_text(self.status),
            self.code
        )?;
        if let Some(detail) = self.detail.as_deref().map(sanitize_text) {
            write!(f, ", \"{detail}\"")?;
        }
        write!(f, "): {}", self.code.advice())?;
        if let Some(retry_after) = &self.retry_after {
            match retry_after {
                RetryAfter::Delay(_) => {
                    write!(f, " (the gateway says to retry after {retry_after})")?
                }
                RetryAfter::At(_) => write!(f, " (the gateway says to retry at {retry_after})")?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for GatewayDenial {}
