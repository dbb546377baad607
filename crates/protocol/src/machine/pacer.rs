//! Pacing under the plan's queries-per-second limit: a sliding one-second window of sends.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    qps: Option<u32>,
    sent: VecDeque<SystemTime>,
    blocked_until: Option<SystemTime>,
}

impl Pacer {
    pub(crate) fn new(qps: Option<u32>) -> Self {
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

    /// Sets the limit (from the plan or the gateway's `X-Plan-QPS-Allotted`).
    pub(crate) fn set_limit(&mut self, qps: Option<u32>) {
        if let Some(qps) = qps.filter(|q| *q > 0) {
            let capacity = qps as usize;
            if self.sent.capacity() < capacity {
                self.sent.reserve(capacity - self.sent.len());
            }
            self.qps = Some(qps);
        } else {
            self.qps = None;
        }
    }

    /// The gateway said "over QPS": send nothing before `until`.
    pub(crate) fn block_until(&mut self, until: SystemTime) {
        self.blocked_until = Some(self.blocked_until.map_or(until, |b| b.max(until)));
    }

    /// When the next send may go, or `None` for now. Sends recorded in the future (the clock
    /// went back) are forgotten rather than waited for. Sends are recorded in time order, so
    /// expired ones leave from the front: constant time per call, amortised.
    pub(crate) fn next_slot(&mut self, now: SystemTime) -> Option<SystemTime> {
        if let Some(until) = self.blocked_until {
            if now < until && until.duration_since(now).is_ok_and(|d| d <= WINDOW * 60) {
                return Some(until);
            }
            self.blocked_until = None;
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
