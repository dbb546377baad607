//! The sandbox's clock: wall-clock time plus an offset that tests move forward.
//!
//! The provider itself never reads a clock (time is an argument of
//! [`Provider::handle`](crate::Provider::handle)); the server reads this one for every request.
//! Hand the same clock to a client under test (it implements [`bearer_client_core::Clock`]) and an
//! hour passes for both in a call to [`SandboxClock::advance`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// A shared, cloneable clock: a base (the system clock, or a fixed instant) plus an offset.
///
/// Clones share the offset, so advancing one advances all.
#[derive(Clone, Debug)]
pub struct SandboxClock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `None`: the system clock; `Some(t)`: a clock that stands still at `t` until advanced.
    base: Option<SystemTime>,
    offset_nanos: AtomicU64,
}

impl SandboxClock {
    /// The system clock, with no offset yet.
    pub fn system() -> Self {
        Self::with_base(None)
    }

    /// A clock that stands at `start` and moves only when [advanced](Self::advance).
    ///
    /// Useful for tests whose answers depend on the second or the day (QPS windows, quota
    /// reset headers): nothing moves between two requests unless the test says so.
    pub fn fixed(start: SystemTime) -> Self {
        Self::with_base(Some(start))
    }

    fn with_base(base: Option<SystemTime>) -> Self {
        Self {
            inner: Arc::new(Inner {
                base,
                offset_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// The current time: the base plus the offset.
    pub fn now(&self) -> SystemTime {
        #[allow(clippy::disallowed_methods)] // this is the clock everyone else reads
        let base = self.inner.base.unwrap_or_else(SystemTime::now);
        base + self.offset()
    }

    /// Moves the clock forward by `by` (saturating at about 584 years of offset).
    pub fn advance(&self, by: Duration) {
        let add = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .inner
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
                Some(old.saturating_add(add))
            });
    }

    /// How far the clock has been moved forward in total.
    pub fn offset(&self) -> Duration {
        Duration::from_nanos(self.inner.offset_nanos.load(Ordering::SeqCst))
    }

    /// Whether this clock follows the system clock (as opposed to a [fixed](Self::fixed) one).
    pub fn is_system(&self) -> bool {
        self.inner.base.is_none()
    }
}

impl Default for SandboxClock {
    fn default() -> Self {
        Self::system()
    }
}

impl bearer_client_core::Clock for SandboxClock {
    fn now(&self) -> SystemTime {
        SandboxClock::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_advanced_and_clones_share_it() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let clock = SandboxClock::fixed(start);
        let other = clock.clone();
        assert_eq!(clock.now(), start);
        other.advance(Duration::from_secs(3600));
        assert_eq!(clock.now(), start + Duration::from_secs(3600));
        assert_eq!(clock.offset(), Duration::from_secs(3600));
        clock.advance(Duration::MAX);
        assert_eq!(clock.offset(), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn system_clock_is_ahead_by_the_offset() {
        let clock = SandboxClock::system();
        clock.advance(Duration::from_secs(7200));
        #[allow(clippy::disallowed_methods)]
        let real = SystemTime::now();
        let ahead = clock.now().duration_since(real).unwrap();
        assert!(ahead > Duration::from_secs(7100), "{ahead:?}");
    }
}
