//! Sharing one credential's tokens across processes: a pure coordinator for a shared store.
//!
//! Several processes (on one host or many) using one credential share a [`Record`] in a store
//! (the tokens, a generation number, the quota day's counts) and a renewal lease. A
//! [`Coordinator`] per process tells its caller what to do with the store, one [`Step`] at a
//! time, and is fed what the store answered ([`StoreAnswer`]) and how token requests ended
//! ([`TokenOutcome`]). It performs no I/O and reads no clock: every input carries `now`, and
//! lease ids come from a seed.
//!
//! # The algorithm
//!
//! ```text
//! Idle --renewal due--> Read --fresh record--> adopt, Idle
//!                         | stale
//!                         v
//!                     TakeLease (reads the record atomically)
//!                       |-- held by another --> Wait (record changes | lease expires) --> Read
//!                       |-- won, record fresh --> adopt, Release --> Idle
//!                       v won, stale
//!                     Write reserve (CAS on generation + lease held; counts the request)
//!                       |-- conflict --> adopt if fresh, Release --> Idle (renews again)
//!                       v written
//!                     Send (the refresh token of that record, never an older one)
//!                       |-- invalid_grant --> Read --> newer: adopt | same: reserve, Send client_credentials
//!                       |-- failed, abandoned --> Release, retry later
//!                       v tokens
//!                     Write commit (CAS on generation: the fence) --> Release --> Idle
//!
//! any store step unreachable --> Degraded: renew alone (local single flight, local share),
//!     probe the store; when it answers: Rejoined, write what was done alone (CAS), go on.
//! ```
//!
//! The lease only saves work: correctness comes from the generation compare-and-swap executed
//! by the store that holds the record. A process that dies holding the lease leaves it to
//! expire; the next one takes over. A token request is abandoned by the lease's expiry as the
//! holder measures it from the moment it asked for the lease, which is no later than the
//! store's expiry whatever the offset between their clocks; `renew_before` should exceed the
//! clock skew between processes.
//!
//! # One renewal, by hand
//!
//! ```
//! use bearer_protocol::fleet::{Coordinator, FleetConfig, LeaseOutcome, Step, StoreAnswer, TokenOutcome};
//! use bearer_protocol::{AccessToken, Credential, Grant, RefreshToken, StoredTokens};
//! use std::time::{Duration, SystemTime};
//!
//! let credential = Credential {
//!     token_url: "https://api.example.com/oauth2/token".into(),
//!     client_id: "ysszm2yk7gp5r9ernuaurgcc".into(),
//! };
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let mut fleet = Coordinator::new(credential.clone(), FleetConfig::default(), 7);
//!
//! // No tokens yet: read the shared record; there is none.
//! assert!(matches!(fleet.poll(now), Step::Read));
//! fleet.handle_store(now, StoreAnswer::Record(None));
//! // Take the lease (the store reads the record atomically with it): won, still nothing.
//! assert!(matches!(fleet.poll(now), Step::TakeLease { .. }));
//! fleet.handle_store(now, StoreAnswer::Lease { record: None, outcome: LeaseOutcome::Won });
//! // Count the token request in the record (a compare-and-swap under the lease).
//! let Step::Write { expected: 0, record, .. } = fleet.poll(now) else { panic!() };
//! assert_eq!(record.day.token_requests, 1);
//! fleet.handle_store(now, StoreAnswer::Written);
//! // Send the token request: nothing to refresh, so client credentials.
//! let Step::Send { grant: Grant::ClientCredentials, .. } = fleet.poll(now) else { panic!() };
//! fleet.handle_token(now, TokenOutcome::Tokens(StoredTokens {
//!     access_token: AccessToken::new("66mrpvtv4mvs6bz728nbaqmc"),
//!     refresh_token: Some(RefreshToken::new("edcv2npr3furqsnscpn795t9")),
//!     expires_at: now + Duration::from_secs(3600),
//!     scope: None,
//!     issued_to: credential,
//! }));
//! // Write the new tokens if the record is still the one reserved (the fence), then release.
//! let Step::Write { expected: 1, lease: None, .. } = fleet.poll(now) else { panic!() };
//! fleet.handle_store(now, StoreAnswer::Written);
//! assert!(matches!(fleet.poll(now), Step::Release { .. }));
//! fleet.handle_store(now, StoreAnswer::Released);
//! assert!(matches!(fleet.poll(now), Step::Idle { until: Some(_) }));
//! assert!(fleet.current(now).is_some());
//! while let Some(event) = fleet.poll_event() { /* log it */ }
//! ```

mod record;

pub use record::{LeaseId, LeaseOutcome, QuotaDay, Record, StoreAnswer, TokenOutcome};

use crate::machine::{Credential, Grant, StoredTokens};
use crate::secret::{AccessToken, RefreshToken};
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// How a [`Coordinator`] shares renewals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetConfig {
    /// The renewal lease's time to live: longer than a token request may take.
    pub lease_ttl: Duration,
    /// Renew this long before the access token expires (more than the clock skew between
    /// processes).
    pub renew_before: Duration,
    /// After a failed token request, wait this long before the next.
    pub retry_after: Duration,
    /// While the store is unreachable, try it again this often.
    pub probe_every: Duration,
    /// Token requests the plan accounts for in a quota day, fleet-wide.
    pub token_requests_per_day: u32,
    /// Token requests one process may send alone in a day while the store is unreachable.
    pub local_share: u32,
    /// Renew only when asked ([`Coordinator::renew`]), never on this coordinator's own reading
    /// of the expiry: for a caller that times renewals itself (a client's
    /// [`TokenManager`](crate::TokenManager)).
    pub renew_when_asked: bool,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            lease_ttl: Duration::from_secs(30),
            renew_before: Duration::from_secs(60),
            retry_after: Duration::from_secs(5),
            probe_every: Duration::from_secs(10),
            token_requests_per_day: 6,
            local_share: 2,
            renew_when_asked: false,
        }
    }
}

/// What the caller does next. Each store step is answered by exactly one
/// [`Coordinator::handle_store`]; each [`Step::Send`] by exactly one
/// [`Coordinator::handle_token`].
#[derive(Debug, Clone)]
pub enum Step {
    /// Read the record.
    Read,
    /// Take the lease for `holder` with this time to live if nobody holds it (`SET NX PX`),
    /// and read the record in the same atomic operation; answer [`StoreAnswer::Lease`].
    TakeLease {
        /// The holder id to store.
        holder: LeaseId,
        /// The lease's time to live, measured by the store.
        ttl: Duration,
    },
    /// Send a token request; abandon it at `abandon_at` (this clock) at the latest.
    Send {
        /// The grant to use.
        grant: Grant,
        /// With [`Grant::RefreshToken`]: the refresh token to send.
        refresh_token: Option<RefreshToken>,
        /// When the lease (or, alone, the request's time-out) ends.
        abandon_at: SystemTime,
        /// Sent without the fleet: the store is unreachable.
        alone: bool,
    },
    /// Replace the record with `record` if its generation is still `expected` (0: there is no
    /// record yet) and, if `lease` is set, that lease is still held by that holder; answer
    /// [`StoreAnswer::Written`] or [`StoreAnswer::Conflict`].
    Write {
        /// The generation the record must still have.
        expected: u64,
        /// The lease the write requires, if any.
        lease: Option<LeaseId>,
        /// The new record (its generation is `expected + 1`).
        record: Record,
    },
    /// Delete the lease if `holder` still holds it (compare-and-delete).
    Release {
        /// The holder id stored with the lease.
        holder: LeaseId,
    },
    /// Another process is renewing: wait until the record's generation is no longer
    /// `generation`, or until `until`, then answer [`StoreAnswer::Woken`] (or just poll again
    /// after `until`).
    Wait {
        /// The generation seen.
        generation: u64,
        /// The latest instant to wait until (the lease's expiry, on this clock).
        until: SystemTime,
    },
    /// An answer to the last step is awaited.
    Pending,
    /// Nothing to do until `until` (`None`: until asked).
    Idle {
        /// When to poll again.
        until: Option<SystemTime>,
    },
}

/// Something that happened, for logs and metrics. Drain with [`Coordinator::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The store did not answer: the process renews alone until it does.
    Degraded,
    /// The store answers again; what was done alone is written back.
    Rejoined,
    /// Tokens another process obtained were taken from the record.
    Adopted {
        /// The record's generation.
        generation: u64,
    },
    /// New tokens were obtained.
    Renewed {
        /// The grant used.
        grant: Grant,
        /// Obtained alone (not yet in the store).
        alone: bool,
    },
    /// The refresh token was refused; the record is read again before client credentials.
    RefreshTokenRefused,
    /// The fleet's token requests today went past the plan's allowance.
    AllowanceSpent {
        /// Token requests in the quota day, fleet-wide.
        used: u32,
        /// What the plan accounts for.
        allowance: u32,
    },
    /// Token requests sent alone today went past the local share.
    LocalShareSpent {
        /// Sent alone in the quota day.
        used: u32,
        /// The local share.
        share: u32,
    },
    /// The record held tokens issued to another credential: they were ignored.
    ForeignRecord,
}

/// What the coordinator is doing, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Nothing in progress.
    Idle,
    /// Reading the record.
    Reading,
    /// Taking the lease.
    Leasing,
    /// Waiting for another process's renewal.
    Waiting,
    /// Counting the token request in the record, under the lease.
    Reserving,
    /// A token request is in flight.
    Sending,
    /// Reading the record again after `invalid_grant`, under the lease.
    Rereading,
    /// Writing new tokens.
    Committing,
    /// Releasing the lease.
    Releasing,
    /// Writing back what was done alone.
    Reconciling,
    /// Writing the calls counted since the last write ([`Coordinator::flush`]).
    Flushing,
}

/// A lease this process holds, and when it ends on this process's clock.
#[derive(Debug, Clone, Copy)]
struct Own {
    id: LeaseId,
    deadline: SystemTime,
}

#[derive(Debug)]
enum Phase {
    Idle,
    Reading,
    Leasing {
        id: LeaseId,
        asked_at: SystemTime,
    },
    Waiting {
        generation: u64,
        until: SystemTime,
    },
    Reserving {
        lease: Own,
        base: Record,
        grant: Grant,
    },
    /// `lease` and `reserved` are set together (sent for the fleet) or both unset (alone).
    Sending {
        fleet: Option<(Own, Record)>,
        grant: Grant,
        refresh_token: Option<RefreshToken>,
        abandon_at: SystemTime,
    },
    Rereading {
        lease: Own,
        reserved: Record,
    },
    Committing {
        lease: Own,
        base: Record,
    },
    Releasing {
        id: LeaseId,
    },
    Reconciling {
        base: Record,
        ours: bool,
    },
    Flushing {
        base: Record,
    },
}

/// Most events kept undrained; older ones are dropped.
const MAX_EVENTS: usize = 32;

/// One process's coordinator for one credential's shared record. See the
/// [module docs](self).
#[derive(Debug)]
pub struct Coordinator {
    credential: Credential,
    config: FleetConfig,
    rng: fastrand::Rng,
    phase: Phase,
    /// Whether the current phase's step was handed out.
    asked: bool,
    tokens: Option<StoredTokens>,
    /// A renewal was asked for ([`Coordinator::renew`]), replacing this access token if any.
    wanted: Option<Option<AccessToken>>,
    /// The refresh token refused last: a record still holding it is renewed with client
    /// credentials.
    refused: Option<RefreshToken>,
    /// The generation of the record the tokens came from (or were written as).
    generation: u64,
    /// The quota day's counts last read from or written to the record.
    day: Option<QuotaDay>,
    /// The tokens were obtained alone and are not in the store yet.
    unsynced_tokens: bool,
    /// Token requests sent alone, not yet counted in the store.
    unsynced_requests: u32,
    /// API calls counted, not yet flushed to the store.
    unflushed_calls: u64,
    /// [`Coordinator::flush`] was asked and the calls are not written yet.
    flush_asked: bool,
    /// Sent alone in the quota day (the day's end, the count).
    alone_today: (SystemTime, u32),
    /// While the store is unreachable: when to try it next.
    degraded: Option<SystemTime>,
    retry_at: Option<SystemTime>,
    events: VecDeque<Event>,
}

impl Coordinator {
    /// A coordinator for `credential`, with lease ids drawn from `seed`.
    pub fn new(credential: Credential, config: FleetConfig, seed: u64) -> Self {
        Self {
            credential,
            config,
            rng: fastrand::Rng::with_seed(seed),
            phase: Phase::Idle,
            asked: false,
            tokens: None,
            wanted: None,
            refused: None,
            generation: 0,
            day: None,
            unsynced_tokens: false,
            unsynced_requests: 0,
            unflushed_calls: 0,
            flush_asked: false,
            alone_today: (SystemTime::UNIX_EPOCH, 0),
            degraded: None,
            retry_at: None,
            events: VecDeque::new(),
        }
    }

    /// The tokens held, if the access token has not expired at `now`.
    pub fn current(&self, now: SystemTime) -> Option<&StoredTokens> {
        self.tokens.as_ref().filter(|t| now < t.expires_at)
    }

    /// The tokens held, expired or not (those a renewal would refresh).
    pub fn tokens(&self) -> Option<&StoredTokens> {
        self.tokens.as_ref()
    }

    /// Asks for a renewal now, whatever the tokens' expiry, for a caller that decides when to
    /// renew itself (a [`TokenManager`](crate::TokenManager) that wants a token): tokens in the
    /// record are taken only if they are fresh and their access token is not `replacing` (the
    /// one the caller holds and wants replaced). Cleared once new tokens are obtained or
    /// adopted.
    pub fn renew(&mut self, replacing: Option<&AccessToken>) {
        self.wanted = Some(replacing.cloned());
    }

    /// Whether the store is unreachable and the process works alone.
    pub fn is_degraded(&self) -> bool {
        self.degraded.is_some()
    }

    /// Token requests sent alone that the store does not count yet.
    pub fn unsynced_requests(&self) -> u32 {
        self.unsynced_requests
    }

    /// The generation of the record the held tokens belong to.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The fleet's counts for the quota day as far as this process knows them: the record's,
    /// as last read or written, with this process's calls not written yet added.
    pub fn day(&self) -> Option<QuotaDay> {
        self.day.map(|mut day| {
            day.calls = day.calls.saturating_add(self.unflushed_calls);
            day
        })
    }

    /// What the coordinator is doing.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Idle => State::Idle,
            Phase::Reading => State::Reading,
            Phase::Leasing { .. } => State::Leasing,
            Phase::Waiting { .. } => State::Waiting,
            Phase::Reserving { .. } => State::Reserving,
            Phase::Sending { .. } => State::Sending,
            Phase::Rereading { .. } => State::Rereading,
            Phase::Committing { .. } => State::Committing,
            Phase::Releasing { .. } => State::Releasing,
            Phase::Reconciling { .. } => State::Reconciling,
            Phase::Flushing { .. } => State::Flushing,
        }
    }

    /// Counts `calls` API calls, flushed to the record with its next write.
    pub fn count_calls(&mut self, calls: u64) {
        self.unflushed_calls = self.unflushed_calls.saturating_add(calls);
    }

    /// Asks for the calls counted to be written to the record now (read, then a
    /// compare-and-swap of the record with the counts added), as a process does before it
    /// exits, rather than with the next renewal.
    pub fn flush(&mut self) {
        self.flush_asked = true;
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// What to do next. A step handed out is not handed out again: further polls return
    /// [`Step::Pending`] until it is answered (or, for a wait or a token request, its instant
    /// has passed: the wait ends, the request counts as abandoned).
    pub fn poll(&mut self, now: SystemTime) -> Step {
        if self.asked {
            match self.phase {
                Phase::Sending { abandon_at, .. } if now >= abandon_at => {
                    self.end_token(now, TokenOutcome::Abandoned);
                }
                Phase::Waiting { until, .. } if now >= until => self.enter(Phase::Reading),
                _ => return Step::Pending,
            }
        }
        if let Phase::Idle = self.phase {
            if let Some(until) = self.idle(now) {
                return Step::Idle { until };
            }
        }
        self.asked = true;
        match &self.phase {
            Phase::Idle => Step::Idle { until: None },
            Phase::Reading | Phase::Rereading { .. } => Step::Read,
            Phase::Leasing { id, .. } => Step::TakeLease {
                holder: *id,
                ttl: self.config.lease_ttl,
            },
            Phase::Waiting { generation, until } => Step::Wait {
                generation: *generation,
                until: *until,
            },
            Phase::Reserving { lease, base, .. } => Step::Write {
                expected: base.generation,
                lease: Some(lease.id),
                record: self.next_record(now, base, base.tokens.clone(), 1),
            },
            Phase::Sending {
                fleet,
                grant,
                refresh_token,
                abandon_at,
            } => Step::Send {
                grant: *grant,
                refresh_token: refresh_token.clone(),
                abandon_at: *abandon_at,
                alone: fleet.is_none(),
            },
            Phase::Committing { base, .. } => Step::Write {
                expected: base.generation,
                lease: None,
                record: self.next_record(now, base, self.tokens.clone(), 0),
            },
            Phase::Releasing { id } => Step::Release { holder: *id },
            Phase::Flushing { base } => Step::Write {
                expected: base.generation,
                lease: None,
                record: self.next_record(now, base, base.tokens.clone(), 0),
            },
            Phase::Reconciling { base, ours } => {
                let tokens = if *ours {
                    self.tokens.clone()
                } else {
                    base.tokens.clone()
                };
                Step::Write {
                    expected: base.generation,
                    lease: None,
                    record: self.next_record(now, base, tokens, self.unsynced_requests),
                }
            }
        }
    }

    /// Feeds what the store answered to the last store step. An answer that does not fit the
    /// step counts as [`StoreAnswer::Unreachable`]; one with no step outstanding is ignored.
    pub fn handle_store(&mut self, now: SystemTime, answer: StoreAnswer) {
        if !self.asked {
            return;
        }
        if matches!(self.phase, Phase::Idle | Phase::Sending { .. }) {
            return;
        }
        if matches!(answer, StoreAnswer::Unreachable) {
            self.unreachable(now);
            return;
        }
        let phase = std::mem::replace(&mut self.phase, Phase::Idle);
        self.asked = false;
        match (phase, answer) {
            (Phase::Reading, StoreAnswer::Record(record)) => {
                self.rejoin();
                let record = self.clean(now, record);
                self.after_read(now, record);
            }
            (Phase::Leasing { id, asked_at }, StoreAnswer::Lease { record, outcome }) => {
                self.rejoin();
                let record = self.clean(now, record);
                match outcome {
                    LeaseOutcome::Won => {
                        let lease = Own {
                            id,
                            deadline: asked_at + self.config.lease_ttl,
                        };
                        if self.fresh(now, &record) {
                            self.adopt(record);
                            self.enter(Phase::Releasing { id });
                        } else {
                            if self.newer(&record) {
                                // Due too, but newer than those held: renewed from, never from
                                // the tokens read before the lease.
                                self.adopt(record.clone());
                            }
                            let grant = self.grant_for(&record);
                            self.enter(Phase::Reserving {
                                lease,
                                base: record,
                                grant,
                            });
                        }
                    }
                    LeaseOutcome::Held { remaining } => {
                        if self.fresh(now, &record) {
                            self.adopt(record);
                        } else {
                            let until = now + remaining.min(self.config.lease_ttl);
                            self.enter(Phase::Waiting {
                                generation: record.generation,
                                until,
                            });
                        }
                    }
                }
            }
            (Phase::Waiting { .. }, _) => self.enter(Phase::Reading),
            (Phase::Reserving { lease, base, grant }, StoreAnswer::Written) => {
                self.rejoin();
                let reserved = self.next_record(now, &base, base.tokens.clone(), 1);
                self.day = Some(reserved.day);
                self.unflushed_calls = 0;
                self.generation = reserved.generation;
                let allowance = self.config.token_requests_per_day;
                if reserved.day.token_requests > allowance {
                    self.push(Event::AllowanceSpent {
                        used: reserved.day.token_requests,
                        allowance,
                    });
                }
                let refresh_token = match grant {
                    Grant::RefreshToken => self.refresh_token_of(&reserved),
                    Grant::ClientCredentials => None,
                };
                self.enter(Phase::Sending {
                    fleet: Some((lease, reserved)),
                    grant,
                    refresh_token,
                    abandon_at: lease.deadline,
                });
            }
            (Phase::Reserving { lease, .. }, StoreAnswer::Conflict(record)) => {
                self.rejoin();
                let record = self.clean(now, record);
                if self.fresh(now, &record) {
                    self.adopt(record);
                }
                self.enter(Phase::Releasing { id: lease.id });
            }
            (Phase::Rereading { lease, reserved }, StoreAnswer::Record(record)) => {
                self.rejoin();
                let record = self.clean(now, record);
                if record.generation != reserved.generation && record.tokens.is_some() {
                    // Another process renewed meanwhile: its tokens, not client credentials.
                    self.adopt(record);
                    self.enter(Phase::Releasing { id: lease.id });
                } else {
                    // Nobody renewed: the record loses the refused refresh token (written under
                    // the lease), so that no process sends it again; the next renewal falls
                    // back to client credentials.
                    self.enter(Phase::Committing {
                        lease,
                        base: record,
                    });
                }
            }
            (Phase::Committing { lease, base }, StoreAnswer::Written) => {
                self.rejoin();
                self.generation = base.generation.saturating_add(1);
                self.unsynced_tokens = false;
                self.unflushed_calls = 0;
                self.enter(Phase::Releasing { id: lease.id });
            }
            (Phase::Committing { lease, .. }, StoreAnswer::Conflict(record)) => {
                self.rejoin();
                let record = self.clean(now, record);
                if self.fresh(now, &record) {
                    self.adopt(record);
                }
                // Otherwise the tokens stay unsynced and are written back from Idle.
                self.enter(Phase::Releasing { id: lease.id });
            }
            (Phase::Releasing { .. }, _) => {
                self.rejoin();
            }
            (Phase::Reconciling { base, ours }, StoreAnswer::Written) => {
                self.rejoin();
                if !ours && base.tokens.is_some() {
                    // The fleet's tokens, not those obtained alone: the caller takes them too.
                    self.adopt(base.clone());
                }
                self.generation = base.generation.saturating_add(1);
                self.unsynced_tokens = false;
                self.unsynced_requests = 0;
                self.unflushed_calls = 0;
            }
            (Phase::Flushing { base }, StoreAnswer::Written) => {
                self.rejoin();
                if self.generation == base.generation {
                    self.generation = base.generation.saturating_add(1);
                }
                self.unflushed_calls = 0;
                self.flush_asked = false;
            }
            (Phase::Flushing { .. }, StoreAnswer::Conflict(_)) => {
                self.rejoin();
                self.enter(Phase::Reading);
            }
            (Phase::Reconciling { .. }, StoreAnswer::Conflict(_)) => {
                self.rejoin();
                self.enter(Phase::Reading);
            }
            (phase, _) => {
                // An answer that does not fit the step: as if the store had not answered.
                self.phase = phase;
                self.asked = true;
                self.unreachable(now);
            }
        }
    }

    /// Feeds how the token request of the last [`Step::Send`] ended. Ignored when no token
    /// request is outstanding (for instance one answered after its `abandon_at`).
    pub fn handle_token(&mut self, now: SystemTime, outcome: TokenOutcome) {
        if self.asked && matches!(self.phase, Phase::Sending { .. }) {
            self.end_token(now, outcome);
        }
    }

    fn end_token(&mut self, now: SystemTime, outcome: TokenOutcome) {
        let Phase::Sending { fleet, grant, .. } = std::mem::replace(&mut self.phase, Phase::Idle)
        else {
            return;
        };
        self.asked = false;
        // The renewal asked for is over, whatever its outcome: the caller asks again if it wants.
        self.wanted = None;
        let outcome = match outcome {
            TokenOutcome::Tokens(t) if t.issued_to != self.credential => TokenOutcome::Failed,
            other => other,
        };
        match (outcome, fleet) {
            (TokenOutcome::Tokens(tokens), fleet) => {
                self.refused = None;
                self.push(Event::Renewed {
                    grant,
                    alone: fleet.is_none(),
                });
                self.tokens = Some(tokens);
                self.unsynced_tokens = true;
                self.retry_at = None;
                if let Some((lease, base)) = fleet {
                    self.enter(Phase::Committing { lease, base });
                }
            }
            (TokenOutcome::InvalidGrant, fleet) => {
                self.push(Event::RefreshTokenRefused);
                if let Some(t) = self.tokens.as_mut() {
                    self.refused = t.refresh_token.take().or(self.refused.take());
                }
                match fleet {
                    Some((lease, reserved)) => self.enter(Phase::Rereading { lease, reserved }),
                    // Alone: try the store first; if it still does not answer, client credentials.
                    None => self.enter(Phase::Reading),
                }
            }
            (TokenOutcome::Failed | TokenOutcome::Abandoned, fleet) => {
                self.retry_at = Some(now + self.config.retry_after);
                if let Some((lease, _)) = fleet {
                    self.enter(Phase::Releasing { id: lease.id });
                }
            }
        }
    }

    /// Decides what an idle coordinator does: `Some(until)` to stay idle, `None` after
    /// entering a phase.
    fn idle(&mut self, now: SystemTime) -> Option<Option<SystemTime>> {
        let renew = self.needs_renewal(now);
        let retry_ok = self.retry_at.is_none_or(|t| now >= t);
        let probe_due = self.degraded.is_some_and(|t| now >= t);
        let sync = self.degraded.is_none()
            && (self.unsynced_tokens
                || self.unsynced_requests > 0
                || (self.flush_asked && self.unflushed_calls > 0));
        if (renew && retry_ok) || probe_due || sync {
            if self.degraded.is_some() {
                self.degraded = Some(now + self.config.probe_every);
            }
            self.enter(Phase::Reading);
            return None;
        }
        let renew_at = self.tokens.as_ref().map(|t| {
            t.expires_at
                .checked_sub(self.config.renew_before)
                .unwrap_or(t.expires_at)
        });
        let mut until = if renew { self.retry_at } else { renew_at };
        if let Some(probe) = self.degraded {
            until = Some(until.map_or(probe, |u| u.min(probe)));
        }
        Some(until)
    }

    fn after_read(&mut self, now: SystemTime, record: Record) {
        if self.unsynced_tokens || self.unsynced_requests > 0 {
            let ours_usable = self.current(now).is_some();
            let ours = self.unsynced_tokens
                && ours_usable
                && (!self.fresh(now, &record) || record.generation == self.generation);
            if ours || self.unsynced_requests > 0 {
                self.enter(Phase::Reconciling { base: record, ours });
                return;
            }
            self.unsynced_tokens = false;
        }
        if self.flush_asked && self.unflushed_calls > 0 && !self.needs_renewal(now) {
            self.enter(Phase::Flushing { base: record });
            return;
        }
        if self.fresh(now, &record) {
            self.adopt(record);
        } else if self.needs_renewal(now) {
            let id = LeaseId(self.rng.u64(..));
            self.enter(Phase::Leasing { id, asked_at: now });
        } else if record.generation > self.generation && record.tokens.is_some() {
            self.adopt(record);
        }
    }

    /// The store did not answer the outstanding step: work alone.
    fn unreachable(&mut self, now: SystemTime) {
        if self.degraded.is_none() {
            self.push(Event::Degraded);
            self.degraded = Some(now + self.config.probe_every);
        }
        let phase = std::mem::replace(&mut self.phase, Phase::Idle);
        self.asked = false;
        match phase {
            Phase::Reserving { base, .. } | Phase::Rereading { reserved: base, .. } => {
                // The record read under the lease is the newest known: renew alone from it.
                if base.tokens.is_some() && base.generation >= self.generation {
                    self.adopt(base);
                }
                if self.needs_renewal(now) {
                    self.send_alone(now);
                }
            }
            Phase::Reading | Phase::Leasing { .. } | Phase::Waiting { .. }
                if self.needs_renewal(now) && self.retry_at.is_none_or(|t| now >= t) =>
            {
                self.send_alone(now);
            }
            // Committing: the tokens stay unsynced; Releasing: the lease expires by itself.
            _ => {}
        }
    }

    fn send_alone(&mut self, now: SystemTime) {
        let refresh_token = self
            .tokens
            .as_ref()
            .and_then(|t| t.refresh_token.clone().filter(|rt| !self.is_refused(rt)));
        let grant = if refresh_token.is_some() {
            Grant::RefreshToken
        } else {
            Grant::ClientCredentials
        };
        self.unsynced_requests = self.unsynced_requests.saturating_add(1);
        let day = QuotaDay::starting(now).resets_at;
        if self.alone_today.0 != day {
            self.alone_today = (day, 0);
        }
        self.alone_today.1 = self.alone_today.1.saturating_add(1);
        if self.alone_today.1 > self.config.local_share {
            self.push(Event::LocalShareSpent {
                used: self.alone_today.1,
                share: self.config.local_share,
            });
        }
        self.enter(Phase::Sending {
            fleet: None,
            grant,
            refresh_token,
            abandon_at: now + self.config.lease_ttl,
        });
    }

    fn rejoin(&mut self) {
        if self.degraded.take().is_some() {
            self.push(Event::Rejoined);
        }
    }

    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.asked = false;
    }

    fn needs_renewal(&self, now: SystemTime) -> bool {
        if self.config.renew_when_asked {
            return self.wanted.is_some();
        }
        self.wanted.is_some()
            || self
                .tokens
                .as_ref()
                .is_none_or(|t| now + self.config.renew_before >= t.expires_at)
    }

    /// Whether the record's tokens can be used instead of renewing.
    fn fresh(&self, now: SystemTime, record: &Record) -> bool {
        record.tokens.as_ref().is_some_and(|t| {
            now + self.config.renew_before < t.expires_at
                && !matches!(&self.wanted, Some(Some(old)) if old.expose() == t.access_token.expose())
        })
    }

    /// Whether the record, read under the lease, holds other tokens than those held: the
    /// record is the truth then (its generation may even be lower, if the store lost it and
    /// began again).
    fn newer(&self, record: &Record) -> bool {
        record.tokens.as_ref().is_some_and(|theirs| {
            self.tokens.as_ref().is_none_or(|ours| {
                ours.access_token.expose() != theirs.access_token.expose()
                    || ours.refresh_token.as_ref().map(RefreshToken::expose)
                        != self
                            .refresh_token_of(record)
                            .as_ref()
                            .map(RefreshToken::expose)
            })
        })
    }

    fn adopt(&mut self, record: Record) {
        if let Some(tokens) = &record.tokens {
            if matches!(&self.wanted, Some(Some(old)) if old.expose() != tokens.access_token.expose())
                || matches!(self.wanted, Some(None))
            {
                self.wanted = None;
            }
            self.push(Event::Adopted {
                generation: record.generation,
            });
            let refresh_token = self.refresh_token_of(&record);
            // Never the refresh token refused last: it would only be refused again.
            self.tokens = record.tokens.map(|tokens| StoredTokens {
                refresh_token,
                ..tokens
            });
            self.generation = record.generation;
            self.unsynced_tokens = false;
        }
    }

    fn is_refused(&self, refresh_token: &RefreshToken) -> bool {
        self.refused
            .as_ref()
            .is_some_and(|refused| refused.expose() == refresh_token.expose())
    }

    /// The record's refresh token, unless it is the one refused last.
    fn refresh_token_of(&self, record: &Record) -> Option<RefreshToken> {
        record
            .tokens
            .as_ref()
            .and_then(|t| t.refresh_token.clone())
            .filter(|rt| !self.is_refused(rt))
    }

    fn grant_for(&self, record: &Record) -> Grant {
        if self.refresh_token_of(record).is_some() {
            Grant::RefreshToken
        } else {
            Grant::ClientCredentials
        }
    }

    /// The record as the store answered, or an empty one; foreign tokens are dropped.
    fn clean(&mut self, now: SystemTime, record: Option<Record>) -> Record {
        let mut record = record.unwrap_or(Record {
            tokens: None,
            generation: 0,
            day: QuotaDay::starting(now),
        });
        self.day = Some(record.day.current(now));
        if record
            .tokens
            .as_ref()
            .is_some_and(|t| t.issued_to != self.credential)
        {
            record.tokens = None;
            self.push(Event::ForeignRecord);
        }
        record
    }

    /// `base` with `tokens`, `requests` more token requests and the unflushed calls counted,
    /// one generation on.
    fn next_record(
        &self,
        now: SystemTime,
        base: &Record,
        tokens: Option<StoredTokens>,
        requests: u32,
    ) -> Record {
        let mut day = base.day.current(now);
        day.token_requests = day.token_requests.saturating_add(requests);
        day.calls = day.calls.saturating_add(self.unflushed_calls);
        Record {
            tokens,
            generation: base.generation.saturating_add(1),
            day,
        }
    }

    fn push(&mut self, event: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}
