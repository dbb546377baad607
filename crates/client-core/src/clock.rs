//! The default clock: the system's wall clock.

use bearer_protocol::Clock;
use std::time::SystemTime;

/// The system's wall clock, the default [`Clock`] of a client.
///
/// Tests hand the client the sandbox's clock instead (a client builder's `clock`), so that an
/// hour passes for client and provider together without sleeping.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
