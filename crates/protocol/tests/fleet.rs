//! A deterministic simulation of a fleet sharing one credential through one store.
//!
//! N coordinators share a pure in-memory store (record, generation, lease with expiry,
//! compare-and-swap) and a token server with refresh-token rotation, driven by random
//! interleavings with crashes, lost and late answers, store outages and clock skew.

use bearer_protocol::fleet::{
    Coordinator, FleetConfig, LeaseId, LeaseOutcome, QuotaDay, Record, Step, StoreAnswer,
    TokenOutcome,
};
use bearer_protocol::{AccessToken, Credential, Grant, RefreshToken, StoredTokens};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const LIFETIME_MS: u64 = 12_000;
const LEASE_MS: u64 = 3_000;
const MAX_SKEW_MS: i64 = 2_000;

fn config() -> FleetConfig {
    FleetConfig {
        lease_ttl: Duration::from_millis(LEASE_MS),
        renew_before: Duration::from_secs(4),
        retry_after: Duration::from_secs(1),
        probe_every: Duration::from_secs(3),
        token_requests_per_day: 1_000,
        local_share: 1_000,
        renew_when_asked: false,
    }
}

fn credential() -> Credential {
    Credential {
        token_url: "https://api.example.com/oauth2/token".into(),
        client_id: "ysszm2yk7gp5r9ernuaurgcc".into(),
    }
}

/// The shared store: one record, one lease, compare-and-swap.
#[derive(Default)]
struct Store {
    record: Option<Record>,
    lease: Option<(LeaseId, u64)>,
    down_until: u64,
    /// Refresh tokens a write has replaced with a newer one.
    superseded: HashSet<String>,
}

impl Store {
    fn up(&self, t: u64) -> bool {
        t >= self.down_until
    }

    fn generation(&self) -> u64 {
        self.record.as_ref().map_or(0, |r| r.generation)
    }

    fn lease_live(&self, t: u64) -> Option<(LeaseId, u64)> {
        self.lease.filter(|&(_, expiry)| t < expiry)
    }

    fn execute(&mut self, t: u64, step: &Step) -> StoreAnswer {
        if !self.up(t) {
            return StoreAnswer::Unreachable;
        }
        match step {
            Step::Read => StoreAnswer::Record(self.record.clone()),
            Step::TakeLease { holder, ttl } => {
                let outcome = match self.lease_live(t) {
                    Some((_, expiry)) => LeaseOutcome::Held {
                        remaining: Duration::from_millis(expiry - t),
                    },
                    None => {
                        self.lease = Some((*holder, t + ttl.as_millis() as u64));
                        LeaseOutcome::Won
                    }
                };
                StoreAnswer::Lease {
                    record: self.record.clone(),
                    outcome,
                }
            }
            Step::Write {
                expected,
                lease,
                record,
            } => {
                assert_eq!(
                    record.generation,
                    expected + 1,
                    "a write moves one generation on"
                );
                let lease_ok =
                    lease.is_none_or(|id| self.lease_live(t).is_some_and(|(h, _)| h == id));
                if self.generation() != *expected || !lease_ok {
                    return StoreAnswer::Conflict(self.record.clone());
                }
                let old = refresh_of(self.record.as_ref());
                let new = refresh_of(Some(record));
                if let Some(old) = old {
                    if new.as_deref() != Some(old.as_str()) {
                        self.superseded.insert(old);
                    }
                }
                self.record = Some(record.clone());
                StoreAnswer::Written
            }
            Step::Release { holder } => {
                if self.lease.is_some_and(|(h, _)| h == *holder) {
                    self.lease = None;
                }
                StoreAnswer::Released
            }
            other => panic!("not a store step: {other:?}"),
        }
    }
}

fn refresh_of(record: Option<&Record>) -> Option<String> {
    record
        .and_then(|r| r.tokens.as_ref())
        .and_then(|t| t.refresh_token.as_ref())
        .map(|r| r.expose().to_string())
}

/// The token server: rotation, one use per refresh token.
#[derive(Default)]
struct Server {
    valid_refresh: HashSet<String>,
    access_expiry: HashMap<String, u64>,
    issued: u64,
}

enum Answer {
    Tokens { access: String, refresh: String },
    InvalidGrant,
}

impl Server {
    fn token(&mut self, t: u64, grant: Grant, refresh: Option<&RefreshToken>) -> Answer {
        if grant == Grant::RefreshToken {
            let Some(r) = refresh.filter(|r| self.valid_refresh.remove(r.expose())) else {
                return Answer::InvalidGrant;
            };
            let _ = r;
        }
        self.issued += 1;
        let access = format!("a{}", self.issued);
        let refresh = format!("r{}", self.issued);
        self.valid_refresh.insert(refresh.clone());
        self.access_expiry.insert(access.clone(), t + LIFETIME_MS);
        Answer::Tokens { access, refresh }
    }
}

enum Pending {
    None,
    Store(Step),
    Wait {
        generation: u64,
    },
    Token {
        answer: Option<Answer>,
        deliver_at: u64,
        fleet: bool,
    },
}

struct Proc {
    coordinator: Coordinator,
    offset: i64,
    alive: bool,
    pending: Pending,
}

struct Sim {
    t: u64,
    base: SystemTime,
    store: Store,
    server: Server,
    procs: Vec<Proc>,
    rng: fastrand::Rng,
    sent: u32,
    unsynced_of_dead: u32,
    max_fleet_in_flight: usize,
    /// No store outage or token answer loss (the settling phase).
    calm: bool,
}

impl Sim {
    fn new(n: usize, seed: u64, offsets: &[i64]) -> Self {
        // An hour into a UTC day, so that the run stays within one quota day.
        let base = UNIX_EPOCH + Duration::from_secs(1_700_006_400 + 3_600);
        let procs = (0..n)
            .map(|i| Proc {
                coordinator: Coordinator::new(credential(), config(), seed ^ (i as u64 + 1)),
                offset: offsets[i % offsets.len()],
                alive: true,
                pending: Pending::None,
            })
            .collect();
        Self {
            t: 0,
            base,
            store: Store::default(),
            server: Server::default(),
            procs,
            rng: fastrand::Rng::with_seed(seed),
            sent: 0,
            unsynced_of_dead: 0,
            max_fleet_in_flight: 0,
            calm: false,
        }
    }

    fn local(&self, i: usize) -> SystemTime {
        let ms = self.t as i64 + self.procs[i].offset;
        if ms >= 0 {
            self.base + Duration::from_millis(ms as u64)
        } else {
            self.base - Duration::from_millis(ms.unsigned_abs())
        }
    }

    fn advance(&mut self, ms: u64) {
        self.t += ms;
        // The transports' timers: a token request is dropped at its abandon_at.
        for i in 0..self.procs.len() {
            let now = self.local(i);
            let p = &mut self.procs[i];
            if p.alive && matches!(p.pending, Pending::Token { .. }) {
                let step = p.coordinator.poll(now);
                if !matches!(step, Step::Pending) {
                    // Past abandon_at: the coordinator abandoned it; this is its next step.
                    self.procs[i].pending = Pending::None;
                    self.register(i, step);
                }
            }
        }
    }

    fn crash(&mut self, i: usize) {
        let p = &mut self.procs[i];
        if p.alive && self.procs.iter().filter(|p| p.alive).count() > 1 {
            let p = &mut self.procs[i];
            p.alive = false;
            p.pending = Pending::None;
            self.unsynced_of_dead += p.coordinator.unsynced_requests();
        }
    }

    fn act(&mut self, i: usize) {
        if !self.procs[i].alive {
            return;
        }
        let now = self.local(i);
        let t = self.t;
        let pending = std::mem::replace(&mut self.procs[i].pending, Pending::None);
        match pending {
            Pending::None => {}
            Pending::Store(step) => {
                let answer = self.store.execute(t, &step);
                self.procs[i].coordinator.handle_store(now, answer);
            }
            Pending::Wait { generation } => {
                if self.store.up(t) && self.store.generation() != generation {
                    self.procs[i]
                        .coordinator
                        .handle_store(now, StoreAnswer::Woken);
                }
            }
            Pending::Token {
                answer,
                deliver_at,
                fleet,
            } => {
                if t < deliver_at || answer.is_none() {
                    self.procs[i].pending = Pending::Token {
                        answer,
                        deliver_at,
                        fleet,
                    };
                    return;
                }
                let outcome = match answer {
                    Some(Answer::Tokens { access, refresh }) => {
                        TokenOutcome::Tokens(StoredTokens {
                            access_token: AccessToken::new(access),
                            refresh_token: Some(RefreshToken::new(refresh)),
                            expires_at: now + Duration::from_millis(LIFETIME_MS),
                            scope: None,
                            issued_to: credential(),
                        })
                    }
                    Some(Answer::InvalidGrant) | None => TokenOutcome::InvalidGrant,
                };
                self.procs[i].coordinator.handle_token(now, outcome);
            }
        }
        self.take_step(i);
    }

    fn take_step(&mut self, i: usize) {
        let now = self.local(i);
        let step = self.procs[i].coordinator.poll(now);
        self.register(i, step);
    }

    fn register(&mut self, i: usize, step: Step) {
        self.procs[i].pending = match step {
            Step::Read | Step::TakeLease { .. } | Step::Write { .. } | Step::Release { .. } => {
                Pending::Store(step)
            }
            Step::Wait { generation, .. } => Pending::Wait { generation },
            Step::Send {
                grant,
                refresh_token,
                alone,
                ..
            } => {
                if !alone {
                    let others = self.fleet_in_flight();
                    assert_eq!(others, 0, "a second token request in flight fleet-wide");
                    if let Some(r) = &refresh_token {
                        assert!(
                            !self.store.superseded.contains(r.expose()),
                            "sent refresh token {} after a newer one was written",
                            r.expose()
                        );
                    }
                }
                self.sent += 1;
                let answer = self.server.token(self.t, grant, refresh_token.as_ref());
                let lost = !self.calm && self.rng.u8(..10) == 0;
                let latency = if self.calm {
                    0
                } else {
                    self.rng.u64(..LEASE_MS * 3 / 2)
                };
                let p = Pending::Token {
                    answer: (!lost).then_some(answer),
                    deliver_at: self.t + latency,
                    fleet: !alone,
                };
                self.max_fleet_in_flight = self.max_fleet_in_flight.max(usize::from(!alone));
                p
            }
            Step::Pending | Step::Idle { .. } => Pending::None,
        };
    }

    fn fleet_in_flight(&self) -> usize {
        self.procs
            .iter()
            .filter(|p| p.alive && matches!(p.pending, Pending::Token { fleet: true, .. }))
            .count()
    }

    fn check_count(&self) {
        let in_store = self
            .store
            .record
            .as_ref()
            .map_or(0, |r| r.day.token_requests);
        let unsynced: u32 = self
            .procs
            .iter()
            .filter(|p| p.alive)
            .map(|p| p.coordinator.unsynced_requests())
            .sum();
        assert_eq!(
            in_store + unsynced + self.unsynced_of_dead,
            self.sent,
            "the shared count (plus what was sent alone, not yet written back) equals the requests sent"
        );
    }
}

#[derive(Debug, Clone)]
enum Action {
    Act(usize),
    Advance(u64),
    Crash(usize),
    Outage(u64),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        12 => (0usize..8).prop_map(Action::Act),
        6 => (1u64..4_000).prop_map(Action::Advance),
        1 => (0usize..8).prop_map(Action::Crash),
        1 => (1u64..15_000).prop_map(Action::Outage),
    ]
}

fn run(n: usize, seed: u64, offsets: &[i64], actions: &[Action]) {
    let mut sim = Sim::new(n, seed, offsets);
    for a in actions {
        match *a {
            Action::Act(i) => sim.act(i % n),
            Action::Advance(ms) => sim.advance(ms),
            Action::Crash(i) => sim.crash(i % n),
            Action::Outage(ms) => sim.store.down_until = sim.t + ms,
        }
        sim.check_count();
    }
    // Settle: the store is back, every lease and request deadline has passed.
    sim.calm = true;
    sim.store.down_until = 0;
    sim.advance(3 * LEASE_MS);
    for _ in 0..300 {
        for i in 0..n {
            sim.act(i);
        }
        sim.advance(50);
        sim.check_count();
    }
    for (i, p) in sim.procs.iter().enumerate() {
        if !p.alive {
            continue;
        }
        let now = sim.local(i);
        let tokens = p
            .coordinator
            .current(now)
            .unwrap_or_else(|| panic!("process {i} has no usable token"));
        let expiry = sim.server.access_expiry[tokens.access_token.expose()];
        assert!(expiry > sim.t, "process {i} holds an expired token");
        assert!(!p.coordinator.is_degraded(), "process {i} did not rejoin");
        assert_eq!(p.coordinator.unsynced_requests(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_fleet_renews_once_at_a_time_and_never_loses_a_refresh_token(
        n in 2usize..=8,
        seed in any::<u64>(),
        offsets in proptest::collection::vec(-MAX_SKEW_MS..=MAX_SKEW_MS, 8),
        actions in proptest::collection::vec(action(), 20..300),
    ) {
        run(n, seed, &offsets, &actions);
    }
}

/// Eight processes at the moment of expiry, the store always up: one token request.
#[test]
fn a_storm_sends_one_token_request() {
    let actions: Vec<Action> = (0..8).map(Action::Act).collect();
    let mut sim = Sim::new(8, 1, &[0, 5, -7, 300, -300, 1_000, -1_000, 0]);
    sim.calm = true;
    for _ in 0..20 {
        for a in &actions {
            if let Action::Act(i) = a {
                sim.act(*i);
            }
        }
        sim.advance(10);
    }
    assert_eq!(sim.sent, 1);
    for i in 0..8 {
        let now = sim.local(i);
        assert!(sim.procs[i].coordinator.current(now).is_some());
    }
}

fn tokens(refresh: &str, expires_at: SystemTime) -> StoredTokens {
    StoredTokens {
        access_token: AccessToken::new(format!("at-{refresh}")),
        refresh_token: Some(RefreshToken::new(refresh)),
        expires_at,
        scope: None,
        issued_to: credential(),
    }
}

fn record(generation: u64, refresh: &str, expires_at: SystemTime, now: SystemTime) -> Record {
    Record {
        tokens: Some(tokens(refresh, expires_at)),
        generation,
        day: QuotaDay::starting(now),
    }
}

/// The bug of DuendeArchive/Support#1286: a replica read the record, waited for the lease, and
/// refreshed with the refresh token it had read before. A peer renewed between this process's
/// read and its lease: it sends the refresh token of the record read with the lease.
#[test]
fn after_the_lease_the_record_read_with_it_decides_the_refresh_token() {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let soon = now + Duration::from_secs(2);
    let mut fleet = Coordinator::new(credential(), config(), 3);
    assert!(matches!(fleet.poll(now), Step::Read));
    fleet.handle_store(now, StoreAnswer::Record(Some(record(1, "old", soon, now))));
    assert!(matches!(fleet.poll(now), Step::TakeLease { .. }));
    // A peer renewed meanwhile, and its tokens are due too.
    let newer = record(2, "rotated", soon, now);
    fleet.handle_store(
        now,
        StoreAnswer::Lease {
            record: Some(newer),
            outcome: LeaseOutcome::Won,
        },
    );
    let Step::Write { expected, .. } = fleet.poll(now) else {
        panic!("the request is reserved under the lease first");
    };
    assert_eq!(expected, 2, "reserved on the record read with the lease");
    fleet.handle_store(now, StoreAnswer::Written);
    let Step::Send {
        grant,
        refresh_token,
        ..
    } = fleet.poll(now)
    else {
        panic!("a token request");
    };
    assert_eq!(grant, Grant::RefreshToken);
    assert_eq!(
        refresh_token.as_ref().map(RefreshToken::expose),
        Some("rotated"),
        "never the refresh token read before the lease"
    );

    // And when the peer's record is fresh, this process adopts it and sends nothing.
    let mut fleet = Coordinator::new(credential(), config(), 4);
    assert!(matches!(fleet.poll(now), Step::Read));
    fleet.handle_store(now, StoreAnswer::Record(Some(record(1, "old", soon, now))));
    assert!(matches!(fleet.poll(now), Step::TakeLease { .. }));
    let fresh = record(2, "fresh", now + Duration::from_secs(3600), now);
    fleet.handle_store(
        now,
        StoreAnswer::Lease {
            record: Some(fresh),
            outcome: LeaseOutcome::Won,
        },
    );
    assert!(matches!(fleet.poll(now), Step::Release { .. }));
    assert_eq!(
        fleet
            .current(now)
            .and_then(|t| t.refresh_token.as_ref())
            .map(RefreshToken::expose),
        Some("fresh")
    );
}
