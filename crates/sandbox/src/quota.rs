//! Quota and QPS accounting, per application.
//!
//! The quota day starts at 00:00 UTC of the sandbox clock; the QPS window is one second of it.
//! A call is admitted (and counted in both) only if it is under both limits; a denied call is not
//! counted. Token requests and API calls are counted alike.

use crate::platform::Plan;
use bearer_protocol::wire::quota::{QuotaHeaders, next_quota_reset};
use std::time::{SystemTime, UNIX_EPOCH};

const DAY: u64 = 86_400;

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
        plan: &Plan,
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

    /// The quota headers the gateway would send now.
    pub(crate) fn headers(&self, now: SystemTime, plan: &Plan) -> QuotaHeaders {
        QuotaHeaders {
            quota_allotted: Some(plan.calls_per_day),
            quota_current: Some(self.calls_today(now)),
            quota_reset: Some(next_quota_reset(now)),
            qps_allotted: Some(u64::from(plan.queries_per_second)),
            qps_current: Some(self.calls_this_second(now)),
        }
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
        let plan = Plan {
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
    fn zero_qps_means_no_limit() {
        let plan = Plan {
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
