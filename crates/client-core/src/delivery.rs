//! [`Events`]: the queue that delivers [`ClientEvent`]s to the observer outside the state lock.

use crate::events::ClientEvent;
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError, TryLockError};

/// The observer's callback.
pub type Callback = dyn Fn(&ClientEvent) + Send + Sync;

/// Events queued under the state lock and delivered after it is released, in order, by one
/// caller at a time, so that a callback may call the client without deadlocking.
pub struct Events {
    callback: Option<Box<Callback>>,
    queue: Mutex<VecDeque<ClientEvent>>,
    delivering: Mutex<()>,
}

impl Events {
    /// A queue for `callback`; without one, nothing is queued.
    pub fn new(callback: Option<Box<Callback>>) -> Self {
        Self {
            callback,
            queue: Mutex::new(VecDeque::new()),
            delivering: Mutex::new(()),
        }
    }

    /// Queues `event` for the next delivery.
    pub fn push(&self, event: ClientEvent) {
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
