//! Exponential backoff with seeded jitter, so a test replays the same delays.

use crate::config::RetryPolicy;
use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    policy: RetryPolicy,
    rng: fastrand::Rng,
}

impl Backoff {
    pub(crate) fn new(policy: RetryPolicy, seed: u64) -> Self {
        Self {
            policy,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    pub(crate) fn max_retries(&self) -> u32 {
        self.policy.max_retries
    }

    pub(crate) fn max_delay(&self) -> Duration {
        self.policy.max_delay
    }

    /// Delay before retry number `attempt` (1-based): "equal jitter", half the exponential
    /// delay plus a random part of the other half, never above the policy's maximum.
    pub(crate) fn delay(&mut self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let full = self
            .policy
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.policy.max_delay);
        let half = full / 2;
        let jitter_ms = self.rng.u64(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_bounded_and_replay_with_the_seed() {
        let policy = RetryPolicy::default();
        let mut a = Backoff::new(policy, 7);
        let mut b = Backoff::new(policy, 7);
        let delays: Vec<_> = (1..=12).map(|n| a.delay(n)).collect();
        assert_eq!(delays, (1..=12).map(|n| b.delay(n)).collect::<Vec<_>>());
        assert!(delays[0] >= Duration::from_millis(250) && delays[0] <= Duration::from_millis(500));
        assert!(delays.iter().all(|d| *d <= policy.max_delay));
        assert!(delays[11] >= policy.max_delay / 2);
    }
}
