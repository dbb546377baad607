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

/// One application's usage in the current quota day and second.
#[derive(Debug, Clone, Default)]
pub(crate) struct Usage {
    day: u64,
    calls: u64,
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
        }
        if secs != self.second {
            self.second = secs;
            self.in_second = 0;
        }
    }

    /// Admits and counts one call, or says which limit refuses it.
    pub(crate) fn admit(&mut self, now: SystemTime, plan: &Plan) -> Result<(), Denial> {
        self.roll(now);
        if self.calls >= plan.calls_per_day {
            return Err(Denial::OverRate);
        }
        if plan.queries_per_second != 0 && self.in_second >= u64::from(plan.queries_per_second) {
            return Err(Denial::OverQps);
        }
        self.calls += 1;
        self.in_second += 1;
        Ok(())
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
        assert_eq!(usage.admit(at(t), &plan), Ok(()));
        assert_eq!(usage.admit(at(t), &plan), Ok(()));
        assert_eq!(usage.admit(at(t), &plan), Err(Denial::OverQps));
        assert_eq!(usage.admit(at(t + 1), &plan), Ok(()));
        assert_eq!(usage.admit(at(t + 2), &plan), Err(Denial::OverRate));
        assert_eq!(usage.calls_today(at(t + 2)), 3);
        // The next quota day starts at 00:00 UTC.
        assert_eq!(usage.calls_today(at(11 * DAY)), 0);
        assert_eq!(usage.admit(at(11 * DAY), &plan), Ok(()));
    }

    #[test]
    fn zero_qps_means_no_limit() {
        let plan = Plan {
            calls_per_day: 100,
            queries_per_second: 0,
        };
        let mut usage = Usage::default();
        for _ in 0..100 {
            assert_eq!(usage.admit(at(42), &plan), Ok(()));
        }
        assert_eq!(usage.admit(at(42), &plan), Err(Denial::OverRate));
    }
}
