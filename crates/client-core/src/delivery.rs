//! [`Events`]: the queue that delivers [`ClientEvent`]s to the observer outside the state lock.

use crate::clock::Clock;
use crate::events::ClientEvent;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError, TryLockError};

/// The observer's callback.
pub type Callback = dyn Fn(&ClientEvent) + Send + Sync;

/// Events queued under the state lock and delivered after it is released, in order, by one
/// caller at a time, so that a callback may call the client without deadlocking.
///
/// Every event pushed is also recorded by the telemetry (features `tracing` and `metrics`) as it
/// is queued, callback or not.
pub struct Events {
    callback: Option<Box<Callback>>,
    /// The client's clock, for the telemetry's "expires in".
    #[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
    clock: Option<Arc<dyn Clock>>,
    queue: Mutex<VecDeque<ClientEvent>>,
    delivering: Mutex<()>,
}

impl Events {
    /// A queue for `callback`; without one, nothing is queued.
    pub fn new(callback: Option<Box<Callback>>) -> Self {
        Self {
            callback,
            clock: None,
            queue: Mutex::new(VecDeque::new()),
            delivering: Mutex::new(()),
        }
    }

    /// The same queue, with the client's clock for the telemetry.
    pub(crate) fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Queues `event` for the next delivery (and records it: see [`Events`]).
    pub fn push(&self, event: ClientEvent) {
        #[cfg(any(feature = "tracing", feature = "metrics"))]
        {
            let now = self
                .clock
                .as_ref()
                .map_or_else(std::time::SystemTime::now, |clock| clock.now());
            crate::telemetry::observe(&event, now);
        }
        if self.callback.is_some() {
            self.queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_back(event);
        }
    }

    /// Delivers queued events, unless another caller is delivering (it will deliver these too).
    /// Call it holding no lock of the client's.
    pub fn deliver(&self) {
        let Some(callback) = &self.callback else {
            return;
        };
        loop {
            {
                let _delivering = match self.delivering.try_lock() {
                    Ok(guard) => guard,
                    Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                    Err(TryLockError::WouldBlock) => return,
                };
                while let Some(event) = self.pop() {
                    callback(&event);
                }
            }
            // An event pushed after the last pop but before the release would otherwise wait
            // for the next delivery.
            if self.is_empty() {
                return;
            }
        }
    }

    fn pop(&self) -> Option<ClientEvent> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }

    fn is_empty(&self) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("callback", &self.callback.is_some())
            .finish_non_exhaustive()
    }
}
