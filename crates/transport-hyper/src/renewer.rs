//! The optional background renewer: a task that renews the token shortly before it expires
//! (at the machine's `poll_timeout`), so that no call waits on the token endpoint.
//!
//! It holds only a [`Weak`] reference between renewals and stops as soon as the last client
//! handle (and layer) is dropped: the shared state owns the sending half of a channel the task
//! listens to. Its sleeps are `tokio::time` sleeps measured on the client's clock, and last at
//! most the check interval, so a wall clock that jumps (a laptop waking, a test moving the
//! sandbox clock) is noticed within that interval.

use crate::flight::Shared;
use bearer_client_core::{Error, Purpose};
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::oneshot;

/// Starts the renewer on the current Tokio runtime.
pub(crate) fn spawn(shared: &Arc<Shared>, check_interval: Duration) -> Result<(), Error> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        Error::settings(
            "proactive_renewal",
            "needs a Tokio runtime: build the client from async code running on Tokio (inside #[tokio::main], say)",
        )
    })?;
    let (stop, stopped) = oneshot::channel();
    *shared
        .renewer_stop
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(stop);
    runtime.spawn(run(Arc::downgrade(shared), check_interval, stopped));
    Ok(())
}

async fn run(shared: Weak<Shared>, check_interval: Duration, mut stopped: oneshot::Receiver<()>) {
    let check_interval = check_interval.max(Duration::from_millis(1));
    loop {
        let pause = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            next_pause(&shared, check_interval).await
        };
        // Ends when the pause is over, or at once when the last handle is dropped.
        if tokio::time::timeout(pause, &mut stopped).await.is_ok() {
            return;
        }
    }
}

/// Renews if due, and says how long to sleep before looking again.
async fn next_pause(shared: &Shared, check_interval: Duration) -> Duration {
    let (next, holds_tokens) = shared.state.next_timeout();
    let now = shared.state.now();
    let Some(at) = next else {
        return check_interval;
    };
    if !holds_tokens {
        // Nothing to renew: the first token is fetched by the first call.
        return check_interval;
    }
    if at > now {
        return at
            .duration_since(now)
            .unwrap_or_default()
            .min(check_interval)
            .max(Duration::from_millis(1));
    }
    // Due: renew a token in use (not counted as a call); errors are the callers' to see.
    let _ = shared.authorize(Purpose::Renewal).await;
    match shared.state.next_timeout().0 {
        // Still due (the budget refused the renewal while the token works): look again later.
        Some(at) if at <= shared.state.now() => check_interval,
        _ => Duration::from_millis(1),
    }
}
