//! The quota budget: calls counted per quota day, token requests against the plan's allowance,
//! and a reserve so that API traffic never spends the calls that renewals will need.

use super::GOVERNOR_INTERVAL;
use crate::config::{BudgetMode, Plan};
use crate::wire::quota::{QuotaHeaders, next_quota_reset};
use crate::wire::support::http_date;
use std::fmt;
use std::time::{Duration, SystemTime};

/// A snapshot of the budget, for display and monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSnapshot {
    /// Calls counted in the current quota day, token requests included (the gateway's count when
    /// its quota headers were seen).
    pub calls_used: u64,
    /// Calls allowed in the quota day, when known (the plan, or the gateway's allotment).
    pub calls_allowed: Option<u64>,
    /// Token requests sent in the current quota day.
    pub token_requests: u32,
    /// Token requests the plan accounts for per day.
    pub token_requests_accounted: u32,
    /// Calls kept back for the renewals still needed before the reset.
    pub reserved_for_tokens: u64,
    /// When the quota day ends and the count returns to zero.
    pub resets_at: SystemTime,
    /// Queries per second allowed, when known.
    pub queries_per_second: Option<u32>,
    /// Whether the gateway said the day's quota is spent.
    pub exhausted: bool,
}

impl fmt::Display for BudgetSnapshot {
    /// One line: "calls used today: 6 of 5000; token requests 2 of the 6 accounted; 10 call(s)
    /// kept back for renewals; the quota resets Tue, 14 Nov 2023 00:00:00 GMT; queries per
    /// second: 10" (the allowance and the QPS say "unknown" until the plan or the gateway tells).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "calls used today: {}", self.calls_used)?;
        match self.calls_allowed {
            Some(allowed) => write!(f, " of {allowed}")?,
            None => f.write_str(" (the daily allowance is unknown until the gateway says)")?,
        }
        write!(
            f,
            "; token requests {} of the {} accounted; {} call(s) kept back for renewals; the quota resets {}",
            self.token_requests,
            self.token_requests_accounted,
            self.reserved_for_tokens,
            http_date(self.resets_at)
        )?;
        if self.exhausted {
            f.write_str(" (spent, as the gateway said)")?;
        }
        match self.queries_per_second {
            Some(qps) => write!(f, "; queries per second: {qps}"),
            None => f.write_str("; queries per second: unknown"),
        }
    }
}

/// Why the budget refused a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spent {
    pub(crate) resets_at: SystemTime,
    pub(crate) calls_used: u64,
    pub(crate) calls_allowed: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Budget {
    mode: BudgetMode,
    allowed: Option<u64>,
    used: u64,
    token_requests: u32,
    accounted: u32,
    resets_at: Option<SystemTime>,
    exhausted_until: Option<SystemTime>,
}

impl Budget {
    pub(crate) fn new(plan: &Plan, mode: BudgetMode) -> Self {
        Self {
            mode,
            allowed: plan.calls_per_day,
            used: 0,
            token_requests: 0,
            accounted: plan.auth_requests_per_day,
            resets_at: None,
            exhausted_until: None,
        }
    }

    /// Starts a new quota day when the current one has ended (or, after the clock went back
    /// by more than a day, when `now` is before it began).
    pub(crate) fn roll(&mut self, now: SystemTime) {
        let day = Duration::from_secs(86_400);
        let stale = match self.resets_at {
            None => true,
            Some(reset) => now >= reset || reset.duration_since(now).is_ok_and(|left| left > day),
        };
        if stale {
            if self.resets_at.is_some() {
                self.used = 0;
                self.token_requests = 0;
            }
            self.resets_at = Some(next_quota_reset(now));
        }
        if self.exhausted_until.is_some_and(|until| now >= until) {
            self.exhausted_until = None;
        }
    }

    /// Adopts what the gateway's quota headers say: its count, allotment and reset time.
    pub(crate) fn observe(&mut self, quota: &QuotaHeaders, now: SystemTime) {
        if let Some(reset) = quota.quota_reset.filter(|reset| *reset > now) {
            self.resets_at = Some(reset);
        }
        if let Some(allotted) = quota.quota_allotted {
            self.allowed = Some(allotted);
        }
        if let Some(current) = quota.quota_current {
            self.used = current;
        }
    }

    /// Adopts the counts the processes sharing the credential recorded for the quota day
    /// ending at `resets_at` (see [`fleet`](crate::fleet)): their API calls and token
    /// requests, both of which the gateway counts as calls; never below what this process
    /// counted itself, and ignored for another day.
    pub(crate) fn observe_fleet(
        &mut self,
        now: SystemTime,
        resets_at: SystemTime,
        calls: u64,
        token_requests: u32,
    ) {
        self.roll(now);
        if self.resets_at == Some(resets_at) {
            let fleet_used = calls.saturating_add(u64::from(token_requests));
            self.used = self.used.max(fleet_used);
            self.token_requests = self.token_requests.max(token_requests);
        }
    }

    /// The gateway said the day's quota is spent: nothing more is sent before `until`.
    pub(crate) fn exhaust(&mut self, until: SystemTime) {
        self.exhausted_until = Some(until);
        if let Some(allowed) = self.allowed {
            self.used = self.used.max(allowed);
        }
    }

    pub(crate) fn resets_at(&self) -> SystemTime {
        self.resets_at.unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Calls kept back for the token requests still needed before the reset: one per lifetime
    /// from when the current token (valid until `valid_until`, if any) must be renewed, but
    /// never more than can be useful: each renewal needs a call after it, so at most half of
    /// the calls left once the next one is made. A call is therefore never refused for the
    /// reserve alone, and a plan of a few calls a day serves them whatever the hour.
    pub(crate) fn reserve(
        &self,
        now: SystemTime,
        valid_until: Option<SystemTime>,
        lifetime: Duration,
    ) -> u64 {
        let Some(reset) = self.resets_at else {
            return 0;
        };
        let from = valid_until.map_or(now, |until| until.max(now));
        let renewals = match reset.duration_since(from) {
            Ok(gap) if !gap.is_zero() => {
                // Tokens shorter than the governor's interval are not renewed more often.
                let lifetime = lifetime.as_secs().max(GOVERNOR_INTERVAL.as_secs());
                gap.as_secs().div_ceil(lifetime).max(1)
            }
            _ => 0,
        };
        let useful = self
            .left()
            .map_or(u64::MAX, |left| left.saturating_sub(1) / 2);
        renewals.min(useful)
    }

    /// Calls left in the quota day, when the allowance is known.
    fn left(&self) -> Option<u64> {
        self.allowed
            .map(|allowed| allowed.saturating_sub(self.used))
    }

    /// Counts an API call, or refuses it (enforcing mode) when it would eat into the reserve.
    pub(crate) fn take_call(&mut self, reserve: u64) -> Result<(), Spent> {
        self.check(1 + reserve)?;
        self.used = self.used.saturating_add(1);
        Ok(())
    }

    /// Counts a token request, or refuses it (enforcing mode) unless a call is left after it
    /// for the call it is for. Returns `true` when this request goes beyond the plan's daily
    /// allowance of token requests.
    pub(crate) fn take_token_request(&mut self) -> Result<bool, Spent> {
        self.check(2)?;
        self.used = self.used.saturating_add(1);
        self.token_requests = self.token_requests.saturating_add(1);
        Ok(self.token_requests > self.accounted)
    }

    /// Gives back a call the gateway did not count (it never reached it, or was denied for
    /// going over the queries per second).
    pub(crate) fn refund_call(&mut self) {
        self.used = self.used.saturating_sub(1);
    }

    /// Gives back a token request the gateway did not count.
    pub(crate) fn refund_token_request(&mut self) {
        self.refund_call();
        self.token_requests = self.token_requests.saturating_sub(1);
    }

    pub(crate) fn token_requests(&self) -> u32 {
        self.token_requests
    }

    pub(crate) fn accounted(&self) -> u32 {
        self.accounted
    }

    fn check(&self, needed: u64) -> Result<(), Spent> {
        if self.mode == BudgetMode::Observe {
            return Ok(());
        }
        let over_limit = self.left().is_some_and(|left| left < needed);
        if self.exhausted_until.is_some() || over_limit {
            return Err(Spent {
                resets_at: self.exhausted_until.unwrap_or(self.resets_at()),
                calls_used: self.used,
                calls_allowed: self.allowed,
            });
        }
        Ok(())
    }

    pub(crate) fn snapshot(&self, reserve: u64, qps: Option<u32>) -> BudgetSnapshot {
        BudgetSnapshot {
            calls_used: self.used,
            calls_allowed: self.allowed,
            token_requests: self.token_requests,
            token_requests_accounted: self.accounted,
            reserved_for_tokens: reserve,
            resets_at: self.resets_at(),
            queries_per_second: qps,
            exhausted: self.exhausted_until.is_some(),
        }
    }
}
