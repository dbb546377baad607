//! The clock seam and the default clock. The protocol never reads a clock; a client does,
//! through [`Clock`], so a test (or the sandbox) can move time for client and provider together.

use std::time::SystemTime;

/// A source of wall-clock time for a transport.
///
/// The state machine is fed the instants a transport reads here. Wall-clock time is used (not a
/// monotonic instant) because tokens are persisted across processes and the quota day resets at
/// 00:00 UTC. A clock that jumps backwards makes tokens look younger than they are; the state
/// machine copes (see [`TokenManager`](bearer_protocol::TokenManager)), and the gateway's 401 answers put
/// it right.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

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
