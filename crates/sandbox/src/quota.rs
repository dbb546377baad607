//! Quota and QPS accounting, per application.
//!
//! The quota day starts at 00:00 UTC of the sandbox clock; the QPS window is one second of it.
//! A call is admitted (and counted in both) only if it is under both limits; a denied call is not
//! counted. Token requests and API calls are counted alike.

use crate::platform::PlanLimits;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::{SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;

const DAY: u64 = 86_400;

/// `X-Plan-Quota-Allotted`: the plan's calls per day.
const QUOTA_ALLOTTED: HeaderName = HeaderName::from_static("x-plan-quota-allotted");
/// `X-Plan-Quota-Current`: calls counted in the current quota day.
const QUOTA_CURRENT: HeaderName = HeaderName::from_static("x-plan-quota-current");
/// `X-Plan-Quota-Reset`: when the day's count returns to 0.
const QUOTA_RESET: HeaderName = HeaderName::from_static("x-plan-quota-reset");
/// `X-Plan-QPS-Allotted`: the plan's queries per second.
const QPS_ALLOTTED: HeaderName = HeaderName::from_static("x-plan-qps-allotted");
/// `X-Plan-QPS-Current`: calls counted in the current second.
const QPS_CURRENT: HeaderName = HeaderName::from_static("x-plan-qps-current");

/// The start of the quota day after the one of `now` (the next 00:00 UTC), in Unix seconds.
pub(crate) fn next_reset(now: SystemTime) -> u64 {
    (unix_secs(now) / DAY).saturating_add(1).saturating_mul(DAY)
}

/// A time in the gateway's `X-Plan-Quota-Reset` format, `<Weekday>, <Month> <day>, <yyyy>
/// <h>:<mm>:<ss> <AM|PM> GMT` with neither the day nor the hour zero-padded, e.g.
/// `Saturday, July 30, 2016 12:00:00 AM GMT`; `None` beyond the years `time` can represent.
pub(crate) fn reset_text(unix_secs: u64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(i64::try_from(unix_secs).ok()?).ok()?;
    let (hour, period) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    Some(format!(
        "{}, {} {}, {} {hour}:{:02}:{:02} {period} GMT",
        t.weekday(),
        t.month(),
        t.day(),
        t.year(),
        t.minute(),
        t.second()
    ))
}

/// Why a call was refused by the gateway's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial {
    /// The day's calls are spent: `ERR_403_DEVELOPER_OVER_RATE`.
    OverRate,
    /// This second's calls are spent: `ERR_403_DEVELOPER_OVER_QPS`.
    OverQps,
}

/// Seconds since the Unix epoch; a time before it counts as 0.
pub(crate) fn unix_secs(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What an admitted call was, for the day's hourly record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// A request to the token endpoint.
    Token,
    /// A call to the protected API.
    Api,
}

/// Calls admitted in each hour (UTC) of one quota day, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourlyCalls {
    /// Token requests, hour 0 to 23.
    pub token_requests: [u64; 24],
    /// API calls, hour 0 to 23.
    pub api_calls: [u64; 24],
}

impl HourlyCalls {
    /// Token requests of the whole day.
    pub fn total_token_requests(&self) -> u64 {
        self.token_requests.iter().sum()
    }

    /// API calls of the whole day.
    pub fn total_api_calls(&self) -> u64 {
        self.api_calls.iter().sum()
    }
}

/// One application's usage in the current quota day and second.
#[derive(Debug, Clone, Default)]
pub(crate) struct Usage {
    day: u64,
    calls: u64,
    hours: HourlyCalls,
    second: u64,
    in_second: u64,
}

impl Usage {
    /// Starts a new day or second when `now` is in another one (also if the clock went back).
    fn roll(&mut self, now: SystemTime) {
        let secs = unix_secs(now);
        if secs / DAY != self.day {
            self.day = secs / DAY;
            self.calls = 0;
            self.hours = HourlyCalls::default();
        }
        if secs != self.second {
            self.second = secs;
            self.in_second = 0;
        }
    }

    /// Admits and counts one call of `kind`, or says which limit refuses it.
    pub(crate) fn admit(
        &mut self,
        now: SystemTime,
        plan: &PlanLimits,
        kind: CallKind,
    ) -> Result<(), Denial> {
        self.roll(now);
        if self.calls >= plan.calls_per_day {
            return Err(Denial::OverRate);
        }
        if plan.queries_per_second != 0 && self.in_second >= u64::from(plan.queries_per_second) {
            return Err(Denial::OverQps);
        }
        self.calls += 1;
        self.in_second += 1;
        // `roll` made `self.day` the day of `now`, so the hour is within it.
        let hour = usize::try_from(unix_secs(now) % DAY / 3600).unwrap_or(0);
        let hours = match kind {
            CallKind::Token => &mut self.hours.token_requests,
            CallKind::Api => &mut self.hours.api_calls,
        };
        hours[hour] += 1;
        Ok(())
    }

    /// The calls admitted in each hour of the quota day of `now`.
    pub(crate) fn hours_today(&self, now: SystemTime) -> HourlyCalls {
        if unix_secs(now) / DAY == self.day {
            self.hours
        } else {
            HourlyCalls::default()
        }
    }

    /// Calls counted in the quota day of `now`.
    pub(crate) fn calls_today(&self, now: SystemTime) -> u64 {
        if unix_secs(now) / DAY == self.day {
            self.calls
        } else {
            0
        }
    }

    /// Calls counted in the second of `now`.
    pub(crate) fn calls_this_second(&self, now: SystemTime) -> u64 {
        if unix_secs(now) == self.second {
            self.in_second
        } else {
            0
        }
    }

    /// Sets the quota headers the gateway would send now (replacing any already there).
    pub(crate) fn write_headers(
        &self,
        now: SystemTime,
        plan: &PlanLimits,
        headers: &mut HeaderMap,
    ) {
        headers.insert(QUOTA_ALLOTTED, HeaderValue::from(plan.calls_per_day));
        headers.insert(QUOTA_CURRENT, HeaderValue::from(self.calls_today(now)));
        if let Some(reset) = reset_text(next_reset(now)) {
            if let Ok(value) = HeaderValue::try_from(reset) {
                headers.insert(QUOTA_RESET, value);
            }
        }
        headers.insert(QPS_ALLOTTED, HeaderValue::from(plan.queries_per_second));
        headers.insert(QPS_CURRENT, HeaderValue::from(self.calls_this_second(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn quota_per_day_and_qps_per_second() {
        let plan = PlanLimits {
            calls_per_day: 3,
            queries_per_second: 2,
        };
        let mut usage = Usage::default();
        let t = 10 * DAY + 5;
        assert_eq!(usage.admit(at(t), &plan, CallKind::Api), Ok(()));
        assert_eq!(usage.admit(at(t), &plan, CallKind::Api), Ok(()));
        assert_eq!(
            usage.admit(at(t), &plan, CallKind::Api),
            Err(Denial::OverQps)
        );
        assert_eq!(usage.admit(at(t + 1), &plan, CallKind::Token), Ok(()));
        assert_eq!(
            usage.admit(at(t + 2), &plan, CallKind::Api),
            Err(Denial::OverRate)
        );
        assert_eq!(usage.calls_today(at(t + 2)), 3);
        let hours = usage.hours_today(at(t + 2));
        assert_eq!((hours.api_calls[0], hours.token_requests[0]), (2, 1));
        assert_eq!(hours.total_api_calls() + hours.total_token_requests(), 3);
        // The next quota day starts at 00:00 UTC.
        assert_eq!(usage.calls_today(at(11 * DAY)), 0);
        assert_eq!(usage.hours_today(at(11 * DAY)), HourlyCalls::default());
        assert_eq!(usage.admit(at(11 * DAY), &plan, CallKind::Api), Ok(()));
    }

    #[test]
    fn the_reset_is_the_next_midnight_in_the_gateways_format() {
        // The provider's documented examples.
        assert_eq!(
            reset_text(1_469_836_800).as_deref(),
            Some("Saturday, July 30, 2016 12:00:00 AM GMT")
        );
        assert_eq!(
            reset_text(1_496_707_200).as_deref(),
            Some("Tuesday, June 6, 2017 12:00:00 AM GMT")
        );
        assert_eq!(
            reset_text(1_537_401_600).as_deref(),
            Some("Thursday, September 20, 2018 12:00:00 AM GMT")
        );
        // Hours are 12-hour, unpadded; noon is PM.
        assert_eq!(
            reset_text(1_496_707_200 + 12 * 3600 + 5 * 60 + 7).as_deref(),
            Some("Tuesday, June 6, 2017 12:05:07 PM GMT")
        );
        assert_eq!(
            reset_text(1_496_707_200 + 13 * 3600).as_deref(),
            Some("Tuesday, June 6, 2017 1:00:00 PM GMT")
        );
        // Thursday 2024-06-06 10:00 UTC resets at Friday's midnight; midnight itself starts a
        // day, whose reset is the next midnight.
        assert_eq!(next_reset(at(1_717_668_000)), 1_717_718_400);
        assert_eq!(next_reset(at(1_717_718_400)), 1_717_718_400 + DAY);
        assert_eq!(next_reset(at(1_717_718_399)), 1_717_718_400);
        assert_eq!(reset_text(u64::MAX), None);
    }

    #[test]
    fn the_headers_have_the_gateways_names_and_values() {
        let plan = PlanLimits {
            calls_per_day: 5000,
            queries_per_second: 10,
        };
        let mut usage = Usage::default();
        let now = at(1_717_668_000);
        usage.admit(now, &plan, CallKind::Api).unwrap();
        usage.admit(now, &plan, CallKind::Api).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-plan-quota-current", HeaderValue::from_static("stale"));
        usage.write_headers(now, &plan, &mut headers);
        let text: Vec<String> = headers
            .iter()
            .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
            .collect();
        assert_eq!(
            text,
            [
                "x-plan-quota-current: 2",
                "x-plan-quota-allotted: 5000",
                "x-plan-quota-reset: Friday, June 7, 2024 12:00:00 AM GMT",
                "x-plan-qps-allotted: 10",
                "x-plan-qps-current: 2",
            ]
        );
    }

    #[test]
    fn zero_qps_means_no_limit() {
        let plan = PlanLimits {
            calls_per_day: 100,
            queries_per_second: 0,
        };
        let mut usage = Usage::default();
        for _ in 0..100 {
            assert_eq!(usage.admit(at(42), &plan, CallKind::Api), Ok(()));
        }
        assert_eq!(
            usage.admit(at(42), &plan, CallKind::Api),
            Err(Denial::OverRate)
        );
    }
}
