//! The clock the CLI reads: the system's, moved by an undocumented offset for tests that move
//! the sandbox's clock (a separate process cannot share the test's clock object).

use bearer_transport_ureq::Clock;
use std::time::{Duration, SystemTime};

/// The variable holding the offset, in milliseconds (tests only; not shown by `--help`).
const OFFSET_VAR: &str = "BEARER_CLOCK_OFFSET_MS";

/// The system clock plus a fixed offset.
#[derive(Debug, Clone, Copy, Default)]
pub struct CliClock {
    offset: Duration,
}

impl CliClock {
    /// The clock, with the offset the environment gives (none if unset or unreadable).
    pub fn from_env() -> Self {
        let offset = std::env::var(OFFSET_VAR)
            .ok()
            .and_then(|ms| ms.parse::<u64>().ok())
            .map_or(Duration::ZERO, Duration::from_millis);
        Self { offset }
    }
}

impl Clock for CliClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + self.offset
    }
}
