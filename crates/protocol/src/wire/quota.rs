//! The gateway's quota headers (`X-Plan-Quota-*`, `X-Plan-QPS-*`) and its reset-date format.
//!
//! The gateway sends them only when the endpoint is configured to, so every field is optional.
//! The daily quota resets at 00:00 UTC (every documented reset value is `12:00:00 AM GMT`).
//!
//! ```
//! use bearer_protocol::wire::quota::{QuotaHeaders, format_reset, parse_reset};
//!
//! let response = http::Response::builder()
//!     .header("X-Plan-Quota-Allotted", "5000")
//!     .header("X-Plan-Quota-Current", "12")
//!     .header("X-Plan-Quota-Reset", "Tuesday, June 6, 2017 12:00:00 AM GMT")
//!     .body(Vec::<u8>::new())
//!     .unwrap();
//! let quota = QuotaHeaders::from_headers(response.headers());
//! assert_eq!(quota.quota_allotted, Some(5000));
//! let reset = quota.quota_reset.unwrap();
//! assert_eq!(format_reset(reset), "Tuesday, June 6, 2017 12:00:00 AM GMT");
//! assert_eq!(parse_reset("Tuesday, June 06, 2017  12:00:00 am UTC"), Some(reset));
//! ```

use crate::wire::support::{from_unix_seconds, header_text, unix_seconds};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::SystemTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// `X-Plan-Quota-Allotted`: calls allowed in the quota day.
pub const X_PLAN_QUOTA_ALLOTTED: HeaderName = HeaderName::from_static("x-plan-quota-allotted");
/// `X-Plan-Quota-Current`: calls counted so far in the quota day.
pub const X_PLAN_QUOTA_CURRENT: HeaderName = HeaderName::from_static("x-plan-quota-current");
/// `X-Plan-Quota-Reset`: when the count returns to zero, in the gateway's date format.
pub const X_PLAN_QUOTA_RESET: HeaderName = HeaderName::from_static("x-plan-quota-reset");
/// `X-Plan-QPS-Allotted`: queries allowed per second.
pub const X_PLAN_QPS_ALLOTTED: HeaderName = HeaderName::from_static("x-plan-qps-allotted");
/// `X-Plan-QPS-Current`: queries counted in the current second.
pub const X_PLAN_QPS_CURRENT: HeaderName = HeaderName::from_static("x-plan-qps-current");

const SECONDS_PER_DAY: i128 = 86_400;

/// The gateway's format: `Saturday, July 30, 2016 12:00:00 AM GMT`.
const RESET_FORMAT: &[BorrowedFormatItem<'static>] = format_description!(
    version = 2,
    "[weekday repr:long], [month repr:long] [day padding:none], [year] [hour repr:12 padding:none]:[minute]:[second] [period case:upper] GMT"
);

/// What `parse_reset` accepts once whitespace is normalised and the zone removed: optional
/// weekday, long or short names in any case, padded or unpadded day and hour, AM/PM.
const RESET_PARSE_12H: &[BorrowedFormatItem<'static>] = format_description!(
    version = 2,
    "[optional [[first [[weekday repr:long case_sensitive:false]] [[weekday repr:short case_sensitive:false]]], ]][first [[month repr:long case_sensitive:false]] [[month repr:short case_sensitive:false]]] [day padding:none], [year] [hour repr:12 padding:none]:[minute]:[second] [period case_sensitive:false]"
);

/// The same with a 24-hour clock and no AM/PM.
const RESET_PARSE_24H: &[BorrowedFormatItem<'static>] = format_description!(
    version = 2,
    "[optional [[first [[weekday repr:long case_sensitive:false]] [[weekday repr:short case_sensitive:false]]], ]][first [[month repr:long case_sensitive:false]] [[month repr:short case_sensitive:false]]] [day padding:none], [year] [hour repr:24 padding:none]:[minute]:[second]"
);

/// What the quota headers of one response said; every field is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuotaHeaders {
    /// `X-Plan-Quota-Allotted`: calls allowed in the quota day.
    pub quota_allotted: Option<u64>,
    /// `X-Plan-Quota-Current`: calls counted so far in the quota day.
    pub quota_current: Option<u64>,
    /// `X-Plan-Quota-Reset`: when the count returns to zero.
    pub quota_reset: Option<SystemTime>,
    /// `X-Plan-QPS-Allotted`: queries allowed per second.
    pub qps_allotted: Option<u64>,
    /// `X-Plan-QPS-Current`: queries counted in the current second.
    pub qps_current: Option<u64>,
}

impl QuotaHeaders {
    /// Reads the quota headers; each is independently optional, and an unparseable one (not a
    /// non-negative integer, not a reset date) is ignored.
    pub fn from_headers(headers: &HeaderMap) -> QuotaHeaders {
        let number = |name: &HeaderName| header_text(headers, name)?.parse::<u64>().ok();
        QuotaHeaders {
            quota_allotted: number(&X_PLAN_QUOTA_ALLOTTED),
            quota_current: number(&X_PLAN_QUOTA_CURRENT),
            quota_reset: header_text(headers, &X_PLAN_QUOTA_RESET).and_then(|v| parse_reset(&v)),
            qps_allotted: number(&X_PLAN_QPS_ALLOTTED),
            qps_current: number(&X_PLAN_QPS_CURRENT),
        }
    }

    /// Whether no quota header was read.
    pub fn is_empty(&self) -> bool {
        *self == QuotaHeaders::default()
    }

    /// Writes the present fields as headers (replacing any already there), in the gateway's
    /// formats; [`from_headers`](QuotaHeaders::from_headers) reads them back.
    pub fn write_to(&self, headers: &mut HeaderMap) {
        let numbers = [
            (X_PLAN_QUOTA_ALLOTTED, self.quota_allotted),
            (X_PLAN_QUOTA_CURRENT, self.quota_current),
            (X_PLAN_QPS_ALLOTTED, self.qps_allotted),
            (X_PLAN_QPS_CURRENT, self.qps_current),
        ];
        for (name, value) in numbers {
            if let Some(value) = value {
                headers.insert(name, HeaderValue::from(value));
            }
        }
        if let Some(reset) = self.quota_reset {
            let value = HeaderValue::try_from(format_reset(reset)).expect(
                "format_reset writes only ASCII letters, digits, spaces, commas, colons and '-'",
            );
            headers.insert(X_PLAN_QUOTA_RESET, value);
        }
    }

    /// Calls left in the quota day, when both the allotment and the count were sent.
    pub fn quota_remaining(&self) -> Option<u64> {
        Some(self.quota_allotted?.saturating_sub(self.quota_current?))
    }
}

/// Formats a time the way the gateway writes `X-Plan-Quota-Reset`:
/// `Saturday, July 30, 2016 12:00:00 AM GMT` (UTC; sub-seconds dropped; a time outside the
/// years -9999..=9999 is clamped to that range).
pub fn format_reset(at: SystemTime) -> String {
    let seconds = unix_seconds(at);
    let min = PrimitiveDateTime::MIN.assume_utc().unix_timestamp();
    let max = PrimitiveDateTime::MAX.assume_utc().unix_timestamp();
    let clamped = i64::try_from(seconds.clamp(i128::from(min), i128::from(max))).unwrap_or(max);
    let date =
        OffsetDateTime::from_unix_timestamp(clamped).unwrap_or(PrimitiveDateTime::MAX.assume_utc());
    date.format(RESET_FORMAT)
        .expect("every date in time's default range can be written in the reset format")
}

/// Reads a reset date in the gateway's format, tolerantly: extra whitespace, a zero-padded day
/// or hour, any letter case, short names, `UTC` for `GMT`, a missing weekday or a 24-hour clock.
/// The weekday, when present, is not checked against the date. `None` for anything else.
///
/// ```
/// use bearer_protocol::wire::quota::parse_reset;
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(
///     parse_reset("Saturday, July 30, 2016 12:00:00 AM GMT"),
///     Some(UNIX_EPOCH + Duration::from_secs(1_469_836_800)),
/// );
/// assert_eq!(parse_reset("tomorrow"), None);
/// ```
pub fn parse_reset(value: &str) -> Option<SystemTime> {
    // Normalise: one space between words, ", " after every comma, no space before one.
    let spaced = value.replace(',', ", ");
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    let zone = words.pop()?;
    if !(zone.eq_ignore_ascii_case("GMT") || zone.eq_ignore_ascii_case("UTC")) {
        return None;
    }
    let text = words.join(" ").replace(" ,", ",");
    let date = PrimitiveDateTime::parse(&text, RESET_PARSE_12H)
        .or_else(|_| PrimitiveDateTime::parse(&text, RESET_PARSE_24H))
        .ok()?;
    from_unix_seconds(i128::from(date.assume_utc().unix_timestamp()))
}

/// When the quota day that holds `now` ends: the next 00:00 UTC strictly after `now`.
/// (In the unreachable case of a `now` at the very end of `SystemTime`'s range, `now`.)
///
/// ```
/// use bearer_protocol::wire::quota::next_quota_reset;
/// use std::time::{Duration, UNIX_EPOCH};
/// let day = Duration::from_secs(86_400);
/// assert_eq!(next_quota_reset(UNIX_EPOCH), UNIX_EPOCH + day);
/// assert_eq!(next_quota_reset(UNIX_EPOCH + day / 2), UNIX_EPOCH + day);
/// assert_eq!(next_quota_reset(UNIX_EPOCH - day / 2), UNIX_EPOCH);
/// ```
pub fn next_quota_reset(now: SystemTime) -> SystemTime {
    let day = unix_seconds(now).div_euclid(SECONDS_PER_DAY);
    from_unix_seconds((day + 1) * SECONDS_PER_DAY).unwrap_or(now)
}
