//! [`Fleet`]: a client's side of a [`FleetStore`] shared with other processes. It runs the
//! protocol's [`Coordinator`] around the [`TokenManager`](bearer_protocol::TokenManager)'s token
//! requests: the machine decides *when* a renewal is due, the coordinator decides *how* (adopt
//! what another process wrote, wait for its renewal, or renew under the lease with the
//! record's refresh token), and this module executes the coordinator's store steps.
//!
//! Locks: the coordinator's mutex is taken before the machine's, never after.

use crate::clock::Clock;
use crate::delivery::Events;
use crate::events::{ClientEvent, StoreOperation};
use crate::fleet_store::{FleetStore, WriteOutcome};
use bearer_protocol::fleet::{Coordinator, Event as FleetEvent, FleetConfig, Step, StoreAnswer};
use bearer_protocol::{AccessToken, Config, Credential};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Most store steps in one round: a store answering oddly can never keep a caller looping.
const MAX_STEPS: usize = 32;

/// The fleet side of a client: the store, the coordinator, and the calls not yet flushed.
pub(crate) struct Fleet {
    store: Arc<dyn FleetStore>,
    credential: Credential,
    coordinator: Mutex<Coordinator>,
    calls: AtomicU64,
    /// The machine's token request outstanding (its number), and the access token it was
    /// asked for to replace: a request that reaches the fleet after another caller's round
    /// replaced that token is given back, not sent.
    asked: Mutex<Option<(u64, Option<AccessToken>)>>,
}

/// How a round of store steps ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Round {
    /// The coordinator wants a token request sent, under its lease (or alone); otherwise it
    /// has nothing left to do.
    pub(crate) send: bool,
    /// The coordinator took tokens from the record in this round.
    pub(crate) adopted: bool,
}

impl Fleet {
    /// The fleet side of a client with `config`, whose token requests take up to
    /// `token_timeout`.
    pub(crate) fn new(
        store: Arc<dyn FleetStore>,
        config: &Config,
        token_timeout: Duration,
        seed: u64,
    ) -> Self {
        let credential = Credential::of(config);
        let fleet_config = FleetConfig {
            // Outlasts the token request, whose answer then always comes under the lease.
            lease_ttl: token_timeout + Duration::from_secs(2),
            // The machine times renewals; the coordinator only refuses to adopt a token that
            // is about to expire.
            renew_before: Duration::from_secs(1),
            // The machine's backoff and governor pace retries.
            retry_after: Duration::ZERO,
            probe_every: Duration::from_secs(10),
            token_requests_per_day: config.plan().auth_requests_per_day,
            local_share: FleetConfig::default().local_share,
            renew_when_asked: true,
        };
        Self {
            store,
            coordinator: Mutex::new(Coordinator::new(credential.clone(), fleet_config, seed)),
            credential,
            calls: AtomicU64::new(0),
            asked: Mutex::new(None),
        }
    }

    /// Notes that the machine asked for the token request `number` while holding `held`.
    pub(crate) fn asked(&self, number: u64, held: Option<AccessToken>) {
        *self.asked.lock().unwrap_or_else(PoisonError::into_inner) = Some((number, held));
    }

    /// The access token request `number` was asked for to replace, if it was noted (the
    /// outer `None`: it was not).
    pub(crate) fn replacing(&self, number: u64) -> Option<Option<AccessToken>> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(asked, _)| *asked == number)
            .map(|(_, held)| held.clone())
    }

    /// The coordinator, locked.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Coordinator> {
        self.coordinator
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one API call, flushed to the record with its next write.
    pub(crate) fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs store steps until the coordinator wants a token request sent or has nothing left
    /// to do; `before_wait` is called before the first wait for another process's renewal.
    pub(crate) fn advance(
        &self,
        coordinator: &mut Coordinator,
        clock: &dyn Clock,
        events: &Events,
        mut before_wait: impl FnMut(),
    ) -> Round {
        coordinator.count_calls(self.calls.swap(0, Ordering::Relaxed));
        let mut round = Round {
            send: false,
            adopted: false,
        };
        for _ in 0..MAX_STEPS {
            let now = clock.now();
            let answer = match coordinator.poll(now) {
                Step::Send { .. } => {
                    round.send = true;
                    break;
                }
                Step::Idle { .. } | Step::Pending => break,
                Step::Wait { generation, until } => {
                    before_wait();
                    let timeout = until.duration_since(now).unwrap_or(Duration::ZERO);
                    crate::telemetry::fleet_step(None, timeout);
                    self.answer(
                        self.store.wait(&self.credential, generation, timeout),
                        events,
                        |()| StoreAnswer::Woken,
                    )
                }
                Step::Read => self.answer(
                    self.store.read(&self.credential),
                    events,
                    StoreAnswer::Record,
                ),
                Step::TakeLease { holder, ttl } => self.answer(
                    self.store.take_lease(&self.credential, holder, ttl),
                    events,
                    |(record, outcome)| {
                        let won = matches!(outcome, bearer_protocol::fleet::LeaseOutcome::Won);
                        crate::telemetry::fleet_step(Some(won), Duration::ZERO);
                        StoreAnswer::Lease { record, outcome }
                    },
                ),
                Step::Write {
                    expected,
                    lease,
                    record,
                } => self.answer(
                    self.store.write(&self.credential, expected, lease, &record),
                    events,
                    |outcome| match outcome {
                        WriteOutcome::Written => StoreAnswer::Written,
                        WriteOutcome::Conflict(record) => StoreAnswer::Conflict(record),
                    },
                ),
                Step::Release { holder } => {
                    self.answer(self.store.release(&self.credential, holder), events, |()| {
                        StoreAnswer::Released
                    })
                }
            };
            coordinator.handle_store(clock.now(), answer);
        }
        while let Some(event) = coordinator.poll_event() {
            round.adopted |= matches!(event, FleetEvent::Adopted { .. });
            events.push(ClientEvent::Fleet(event));
        }
        round
    }

    /// The store's answer to one step; a failure is reported and counts as no answer.
    fn answer<T>(
        &self,
        result: Result<T, crate::StoreError>,
        events: &Events,
        ok: impl FnOnce(T) -> StoreAnswer,
    ) -> StoreAnswer {
        if let Some(message) = self.store.take_notice() {
            events.push(ClientEvent::StoreRecovered { message });
        }
        match result {
            Ok(value) => ok(value),
            Err(error) => {
                events.push(ClientEvent::StoreFailed {
                    operation: StoreOperation::Share,
                    message: error.to_string(),
                });
                StoreAnswer::Unreachable
            }
        }
    }
}
