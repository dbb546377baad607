//! Held answers: a fault that makes the server keep an answer until the test releases it, so
//! tests order events without sleeping.
//!
//! The provider computes (and counts) a held answer when its request arrives, records the
//! arrival, and marks the answer with [`Effect::Hold`]; the server sends it once the hold is
//! released ([`Hold::release`], dropping the [`Hold`], [`Sandbox::release`], or
//! `POST /admin/holds/{id}/release`). A test waits for the arrival with [`Hold::wait_arrived`]
//! (sync tests) or [`Hold::arrived`] (async tests).
//!
//! ```no_run
//! # fn main() -> Result<(), bearer_sandbox::SandboxError> {
//! use bearer_sandbox::{FaultTarget, Sandbox, SandboxConfig};
//!
//! let sandbox = Sandbox::start_blocking(SandboxConfig::default())?;
//! let hold = sandbox.hold(FaultTarget::Token, 1);
//! // … a client thread sends a token request …
//! hold.wait_arrived(); // its answer is computed and held: the token is issued
//! assert_eq!(sandbox.held_count(), 1);
//! hold.release(); // the client gets it now
//! # Ok(()) }
//! ```

use crate::faults::{Effect, Fault, FaultTarget};
use crate::provider::Provider;
use crate::server::{Sandbox, Shared};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The longest [`Hold`]'s waits wait before they panic, so a test that waits for a request
/// that never comes fails instead of hanging.
pub const HOLD_WAIT_LIMIT: Duration = Duration::from_secs(60);

/// Most holds the admin route keeps open at once; more are refused.
pub const MAX_OPEN_HOLDS: usize = 10_000;

/// The id of a hold ([`Fault::Hold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HoldId(u64);

impl HoldId {
    /// The number the admin routes use for it.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The id the admin routes name by its number.
    pub(crate) fn from_number(n: u64) -> Self {
        Self(n)
    }
}

impl fmt::Display for HoldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A hold that is not released yet, as `GET /admin/holds` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HoldInfo {
    /// Its id.
    pub id: HoldId,
    /// How many of its answers have been computed so far.
    pub arrived: usize,
    /// How many of them the server is holding now.
    pub held: usize,
}

/// The provider's open holds. A hold that is not here (released, or never made) holds nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Holds {
    next: u64,
    open: BTreeMap<HoldId, (usize, usize)>,
}

impl Holds {
    fn create(&mut self) -> HoldId {
        self.next += 1;
        let id = HoldId(self.next);
        self.open.insert(id, (0, 0));
        id
    }

    /// Records an answer of `id`; whether the server must hold it.
    pub(crate) fn arrive(&mut self, id: HoldId) -> bool {
        match self.open.get_mut(&id) {
            Some((arrived, held)) => {
                *arrived += 1;
                *held += 1;
                true
            }
            None => false,
        }
    }
}

impl Provider {
    /// Opens a hold: answers marked with [`Fault::Hold`] of its id are held by the server until
    /// it is released. A pure caller gets them with [`Effect::Hold`] and may ignore it.
    pub fn new_hold(&mut self) -> HoldId {
        self.holds.create()
    }

    /// Releases a hold: the answers held for it are sent, later ones are not held; whether it
    /// was open.
    pub fn release_hold(&mut self, id: HoldId) -> bool {
        self.holds.open.remove(&id).is_some()
    }

    /// Releases every hold; returns how many were open.
    pub fn release_all_holds(&mut self) -> usize {
        let n = self.holds.open.len();
        self.holds.open.clear();
        n
    }

    /// How many answers are held now, over every open hold.
    pub fn held_count(&self) -> usize {
        self.holds.open.values().map(|(_, held)| held).sum()
    }

    /// The open holds, oldest first.
    pub fn holds(&self) -> Vec<HoldInfo> {
        self.holds
            .open
            .iter()
            .map(|(&id, &(arrived, held))| HoldInfo { id, arrived, held })
            .collect()
    }

    /// How many answers of an open hold have been computed; `None` once it is released.
    pub fn hold_arrivals(&self, id: HoldId) -> Option<usize> {
        self.holds.open.get(&id).map(|(arrived, _)| *arrived)
    }

    /// Opens a hold from the admin route, unless [`MAX_OPEN_HOLDS`] are open.
    pub(crate) fn new_hold_capped(&mut self) -> Option<HoldId> {
        (self.holds.open.len() < MAX_OPEN_HOLDS).then(|| self.new_hold())
    }

    /// A held answer of `id` left the server (sent, or its connection went).
    fn hold_left(&mut self, id: HoldId) {
        if let Some((_, held)) = self.holds.open.get_mut(&id) {
            *held = held.saturating_sub(1);
        }
    }
}

/// Tells waiters that holds changed (an answer arrived or left, a hold was released), to
/// async waiters and to blocked threads alike.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    generation: Mutex<u64>,
    changed: Condvar,
    notify: tokio::sync::Notify,
}

impl Changes {
    /// Wakes every waiter. Never called with the provider locked.
    pub(crate) fn notify(&self) {
        *self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += 1;
        self.changed.notify_all();
        self.notify.notify_waiters();
    }

    /// Waits until `done` holds (async).
    async fn wait(&self, mut done: impl FnMut() -> bool) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a change between the check and the await wakes it.
            notified.as_mut().enable();
            if done() {
                return;
            }
            notified.await;
        }
    }

    /// Blocks the thread until `done` holds or `limit` has passed; whether it holds.
    fn wait_blocking(&self, mut done: impl FnMut() -> bool, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut generation = self
            .generation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if done() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            generation = self
                .changed
                .wait_timeout(generation, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// The server's side of a held answer: waits for the release; on leaving (sent, or the
/// connection dropped) it tells the provider and the waiters.
pub(crate) async fn wait_released(shared: &Arc<Shared>, id: HoldId) {
    struct Leave<'a>(&'a Shared, HoldId);
    impl Drop for Leave<'_> {
        fn drop(&mut self) {
            self.0.with(|provider| provider.hold_left(self.1));
            self.0.changes.notify();
        }
    }
    shared.changes.notify();
    let _leave = Leave(shared, id);
    shared
        .changes
        .wait(|| shared.with(|provider| provider.hold_arrivals(id).is_none()))
        .await;
}

/// A test's handle on a hold of a running [`Sandbox`] ([`Sandbox::hold`]): wait for its answers
/// to arrive, then release them. Dropping it releases them too.
pub struct Hold {
    id: HoldId,
    shared: Arc<Shared>,
}

impl fmt::Debug for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hold").field("id", &self.id).finish()
    }
}

impl Hold {
    /// Its id (for `POST /admin/holds/{id}/release`, or [`Sandbox::release`]).
    pub fn id(&self) -> HoldId {
        self.id
    }

    /// The fault that holds answers for it, to queue more with [`Sandbox::inject`].
    pub fn fault(&self) -> Fault {
        Fault::Hold(self.id)
    }

    /// How many of its answers have been computed (and are held, or were) so far.
    pub fn arrivals(&self) -> usize {
        self.shared
            .with(|provider| provider.hold_arrivals(self.id))
            .unwrap_or(0)
    }

    /// Blocks until one of its answers has arrived (computed and held). For sync tests; in
    /// async code, await [`Hold::arrived`] instead.
    ///
    /// # Panics
    /// When none arrives within [`HOLD_WAIT_LIMIT`].
    pub fn wait_arrived(&self) {
        self.wait_arrivals(1);
    }

    /// Blocks until `n` of its answers have arrived.
    ///
    /// # Panics
    /// When fewer arrive within [`HOLD_WAIT_LIMIT`].
    pub fn wait_arrivals(&self, n: usize) {
        let arrived = self
            .shared
            .changes
            .wait_blocking(|| self.arrivals() >= n, HOLD_WAIT_LIMIT);
        assert!(arrived, "{}", self.timed_out(n));
    }

    /// Waits until one of its answers has arrived (computed and held). For async tests.
    ///
    /// # Panics
    /// When none arrives within [`HOLD_WAIT_LIMIT`].
    pub async fn arrived(&self) {
        self.arrivals_reach(1).await;
    }

    /// Waits until `n` of its answers have arrived.
    ///
    /// # Panics
    /// When fewer arrive within [`HOLD_WAIT_LIMIT`].
    pub async fn arrivals_reach(&self, n: usize) {
        let wait = self.shared.changes.wait(|| self.arrivals() >= n);
        let arrived = tokio::time::timeout(HOLD_WAIT_LIMIT, wait).await.is_ok();
        assert!(arrived, "{}", self.timed_out(n));
    }

    /// Sends the answers held for it; later ones are not held.
    pub fn release(self) {
        // Dropping releases.
    }

    fn timed_out(&self, n: usize) -> String {
        format!(
            "hold {}: {} of {n} answers arrived within {} s",
            self.id,
            self.arrivals(),
            HOLD_WAIT_LIMIT.as_secs()
        )
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        release(&self.shared, |provider| provider.release_hold(self.id));
    }
}

/// Releases holds with `f` and wakes the held answers.
fn release<R>(shared: &Shared, f: impl FnOnce(&mut Provider) -> R) -> R {
    let released = shared.with(f);
    shared.changes.notify();
    released
}

impl Sandbox {
    /// Opens a hold for the next `count` answers of `target`: each is computed (and counted)
    /// when its request arrives and sent when the hold is released.
    pub fn hold(&self, target: FaultTarget, count: usize) -> Hold {
        let shared = self.shared().clone();
        let id = shared.with(|provider| {
            let id = provider.new_hold();
            provider.inject(target, Fault::Hold(id), count);
            id
        });
        Hold { id, shared }
    }

    /// How many answers are held now.
    pub fn held_count(&self) -> usize {
        self.with_provider(|provider| provider.held_count())
    }

    /// Blocks until at least `n` answers are held (for holds queued through the admin route,
    /// which have no [`Hold`] handle). For sync tests.
    ///
    /// # Panics
    /// When fewer are held within [`HOLD_WAIT_LIMIT`].
    pub fn wait_held(&self, n: usize) {
        let held = self
            .shared()
            .changes
            .wait_blocking(|| self.held_count() >= n, HOLD_WAIT_LIMIT);
        assert!(held, "{}", self.too_few_held(n));
    }

    /// Waits until at least `n` answers are held. For async tests.
    ///
    /// # Panics
    /// When fewer are held within [`HOLD_WAIT_LIMIT`].
    pub async fn held_reach(&self, n: usize) {
        let wait = self.shared().changes.wait(|| self.held_count() >= n);
        let held = tokio::time::timeout(HOLD_WAIT_LIMIT, wait).await.is_ok();
        assert!(held, "{}", self.too_few_held(n));
    }

    fn too_few_held(&self, n: usize) -> String {
        format!(
            "{} of {n} answers held within {} s",
            self.held_count(),
            HOLD_WAIT_LIMIT.as_secs()
        )
    }

    /// Releases a hold by id; whether it was open.
    pub fn release(&self, id: HoldId) -> bool {
        release(self.shared(), |provider| provider.release_hold(id))
    }

    /// Releases every hold; returns how many were open.
    pub fn release_all(&self) -> usize {
        release(self.shared(), Provider::release_all_holds)
    }
}

/// The effect a hold fault puts on an answer: held while `id` is open.
pub(crate) fn effect(provider: &mut Provider, id: HoldId) -> Option<Effect> {
    provider.holds.arrive(id).then_some(Effect::Hold(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_count_arrivals_until_released() {
        let mut provider = Provider::default();
        let id = provider.new_hold();
        assert_eq!(provider.hold_arrivals(id), Some(0));
        assert_eq!(effect(&mut provider, id), Some(Effect::Hold(id)));
        assert_eq!(effect(&mut provider, id), Some(Effect::Hold(id)));
        assert_eq!(provider.held_count(), 2);
        provider.hold_left(id);
        assert_eq!(
            provider.holds(),
            [HoldInfo {
                id,
                arrived: 2,
                held: 1
            }]
        );
        assert!(provider.release_hold(id));
        assert!(!provider.release_hold(id));
        assert_eq!(provider.held_count(), 0);
        // Answers of a released hold pass.
        assert_eq!(effect(&mut provider, id), None);
    }

    #[test]
    fn waiters_see_changes_made_before_and_after_they_wait() {
        let changes = Arc::new(Changes::default());
        let flag = Arc::new(Mutex::new(false));
        let (c, f) = (changes.clone(), flag.clone());
        let thread = std::thread::spawn(move || {
            *f.lock().unwrap() = true;
            c.notify();
        });
        assert!(changes.wait_blocking(|| *flag.lock().unwrap(), HOLD_WAIT_LIMIT));
        thread.join().unwrap();
        assert!(!changes.wait_blocking(|| false, Duration::ZERO));
    }
}
