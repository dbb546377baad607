//! The token-request governor: whatever the answers (tokens that expire at once, an API that
//! refuses every token, refresh tokens refused, late answers, clock jumps), one credential sends
//! at most [`GOVERNOR_BURST`] token requests at once and then one per [`GOVERNOR_INTERVAL`].
//!
//! It is a token bucket kept as one instant (the generic cell rate algorithm): `due` is when the
//! bucket would be full again. A request may go when `due` is at most `BURST − 1` intervals
//! ahead of `now`; sending moves `due` one interval on. Under a clock that only moves forward,
//! any span of time `w` holds at most `BURST + w / INTERVAL` requests. A clock that moves back
//! never refills the bucket: `due` is clamped to `BURST` intervals ahead of `now`, which is
//! the same as an empty bucket.

use std::time::{Duration, SystemTime};

/// Token requests one credential may send back to back: a first request and the three retries
/// of the default [`RetryPolicy`](crate::RetryPolicy), or a refresh, its fallback to client
/// credentials and two more.
pub const GOVERNOR_BURST: u32 = 4;
/// Once the burst is spent, one more token request per this interval.
pub const GOVERNOR_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default)]
pub(crate) struct Governor {
    /// When the bucket is full again; `None`: full.
    due: Option<SystemTime>,
}

impl Governor {
    /// `None` when a token request may go now, or the earliest time one may.
    pub(crate) fn next_allowed(&mut self, now: SystemTime) -> Option<SystemTime> {
        let due = self.clamped_due(now)?;
        let allowed_at = due
            .checked_sub(GOVERNOR_INTERVAL * (GOVERNOR_BURST - 1))
            .unwrap_or(due);
        (allowed_at > now).then_some(allowed_at)
    }

    /// Records a token request sent at `now` (after [`next_allowed`](Self::next_allowed) said
    /// it may go).
    pub(crate) fn record(&mut self, now: SystemTime) {
        let from = self.clamped_due(now).map_or(now, |due| due.max(now));
        self.due = Some(from + GOVERNOR_INTERVAL);
    }

    /// Forgets the last recorded request: it was never sent.
    pub(crate) fn unrecord(&mut self, now: SystemTime) {
        self.due = self
            .due
            .and_then(|due| due.checked_sub(GOVERNOR_INTERVAL))
            .filter(|due| *due > now);
    }

    /// `due`, no further than a full burst ahead of `now` (the clock went back), and forgotten
    /// once passed.
    fn clamped_due(&mut self, now: SystemTime) -> Option<SystemTime> {
        let limit = now + GOVERNOR_INTERVAL * GOVERNOR_BURST;
        self.due = self.due.map(|due| due.min(limit)).filter(|due| *due > now);
        self.due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
    }

    fn send_all(governor: &mut Governor, now: SystemTime) -> u32 {
        let mut sent = 0;
        while governor.next_allowed(now).is_none() {
            governor.record(now);
            sent += 1;
            assert!(sent <= GOVERNOR_BURST, "the burst is bounded");
        }
        sent
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let mut governor = Governor::default();
        assert_eq!(send_all(&mut governor, at(0)), GOVERNOR_BURST);
        assert_eq!(governor.next_allowed(at(0)), Some(at(60)));
        assert_eq!(send_all(&mut governor, at(59)), 0);
        assert_eq!(send_all(&mut governor, at(60)), 1);
        assert_eq!(send_all(&mut governor, at(60 + 59)), 0);
        // After a quiet spell the whole burst is back.
        assert_eq!(send_all(&mut governor, at(1_000)), GOVERNOR_BURST);
    }

    #[test]
    fn a_clock_moving_back_never_refills() {
        let mut governor = Governor::default();
        assert_eq!(send_all(&mut governor, at(86_400)), GOVERNOR_BURST);
        // A day back: the bucket is as empty as it was.
        assert_eq!(send_all(&mut governor, at(0)), 0);
        assert_eq!(governor.next_allowed(at(0)), Some(at(60)));
        assert_eq!(send_all(&mut governor, at(60)), 1);
    }

    #[test]
    fn an_unsent_request_is_given_back() {
        let mut governor = Governor::default();
        assert_eq!(send_all(&mut governor, at(0)), GOVERNOR_BURST);
        governor.unrecord(at(0));
        assert_eq!(send_all(&mut governor, at(0)), 1);
    }
}
