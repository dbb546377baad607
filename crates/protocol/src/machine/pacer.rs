//! Pacing under the plan's queries-per-second limit: a sliding one-second window of sends.

use crate::wire::gateway::MAX_RETRY_AFTER;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

const WINDOW: Duration = Duration::from_secs(1);

/// Highest queries-per-second limit paced: a larger one (a plan, or a gateway's header) is
/// taken as this.
pub const MAX_QPS: u32 = 10_000;

/// Sends the window has room for before its first send.
const PREALLOCATED: usize = 64;

#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    qps: Option<u32>,
    sent: VecDeque<SystemTime>,
    blocked_until: Option<SystemTime>,
}

impl Pacer {
    pub(crate) fn new(qps: Option<u32>) -> Self {
        let qps = qps.map(u64::from);
        let mut pacer = Self {
            qps: None,
            sent: VecDeque::new(),
            blocked_until: None,
        };
        pacer.set_limit(qps);
        pacer
    }

    pub(crate) fn limit(&self) -> Option<u32> {
        self.qps
    }

    /// Sets the limit (from the plan or the gateway's `X-Plan-QPS-Allotted`), clamped to
    /// [`MAX_QPS`]: the window holds at most that many sends, whatever a header said.
    pub(crate) fn set_limit(&mut self, qps: Option<u64>) {
        self.qps = qps
            .filter(|q| *q > 0)
            .map(|q| u32::try_from(q.min(u64::from(MAX_QPS))).unwrap_or(MAX_QPS));
        if let Some(qps) = self.qps {
            // Room for a usual window up front, so that the hot path does not allocate; a
            // larger window grows with the sends actually made.
            let wanted = (qps as usize).min(PREALLOCATED);
            if self.sent.capacity() < wanted {
                self.sent.reserve(wanted - self.sent.len());
            }
        }
    }

    /// The gateway said "over QPS": send nothing before `until` (at most
    /// [`MAX_RETRY_AFTER`] ahead, as the parser already caps it).
    pub(crate) fn block_until(&mut self, until: SystemTime) {
        self.blocked_until = Some(self.blocked_until.map_or(until, |b| b.max(until)));
    }

    /// Until when the gateway's "over QPS" holds every send, if it does now.
    pub(crate) fn blocked(&mut self, now: SystemTime) -> Option<SystemTime> {
        let until = self.blocked_until?;
        // Ahead by more than the longest `Retry-After` believed: the clock went back.
        if now < until
            && until
                .duration_since(now)
                .is_ok_and(|d| d <= MAX_RETRY_AFTER)
        {
            return Some(until);
        }
        self.blocked_until = None;
        None
    }

    /// When the next send may go, or `None` for now. Sends recorded in the future (the clock
    /// went back) are forgotten rather than waited for. Sends are recorded in time order, so
    /// expired ones leave from the front: constant time per call, amortised.
    pub(crate) fn next_slot(&mut self, now: SystemTime) -> Option<SystemTime> {
        if let Some(until) = self.blocked(now) {
            return Some(until);
        }
        let qps = self.qps? as usize;
        if self.sent.back().is_some_and(|last| *last > now) {
            self.sent.clear();
        }
        while self
            .sent
            .front()
            .is_some_and(|first| now.duration_since(*first).is_ok_and(|age| age >= WINDOW))
        {
            self.sent.pop_front();
        }
        if self.sent.len() >= qps {
            self.sent.front().map(|oldest| *oldest + WINDOW)
        } else {
            None
        }
    }

    /// When the next send may go, as far as the window recorded so far says (without
    /// forgetting expired sends: it may be in the past, meaning now).
    pub(crate) fn peek_slot(&self) -> Option<SystemTime> {
        let full = self.qps.is_some_and(|qps| self.sent.len() >= qps as usize);
        let window = full
            .then(|| self.sent.front().map(|oldest| *oldest + WINDOW))
            .flatten();
        match (self.blocked_until, window) {
            (Some(blocked), Some(window)) => Some(blocked.max(window)),
            (blocked, window) => blocked.or(window),
        }
    }

    /// Records a send (only while a limit is known).
    pub(crate) fn record(&mut self, now: SystemTime) {
        if let Some(qps) = self.qps {
            if self.sent.len() >= qps as usize {
                self.sent.pop_front();
            }
            self.sent.push_back(now);
        }
    }
}
