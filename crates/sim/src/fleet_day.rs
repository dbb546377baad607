//! A fleet's day in milliseconds: processes that restart every hour under steady traffic, each a
//! client's whole token state (bearer-client-core's `TokenState`: the machine and, with a
//! shared store, the fleet driver running the coordinator), on one virtual clock, answered by
//! the pure provider. With a shared store the fleet renews once per token lifetime whatever
//! the restarts; without one every start costs a token request.

use bearer_client_core::{
    Checked, FleetStore, Next, Purpose, Settings, StoreError, TokenState, WriteOutcome,
};
use bearer_protocol::Credential;
use bearer_protocol::fleet::{LeaseId, LeaseOutcome, Record};
use bearer_sandbox::{AppKeys, PlanLimits, Provider, ProviderConfig, SandboxClock};
use http::Request;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::{HOST, start};
use bearer_sandbox::{SEARCH_PATH, TOKEN_PATH};

/// A fleet's traffic for a simulated day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetDay {
    /// Processes using the credential.
    pub processes: u32,
    /// Each process restarts this often (staggered across the fleet).
    pub restart_every: Duration,
    /// Each process calls this often.
    pub call_every: Duration,
    /// Hours simulated.
    pub hours: u32,
    /// Whether the processes share a store.
    pub shared: bool,
    /// The provider's token lifetime.
    pub token_ttl: Duration,
    /// The store does not answer from this hour to that one (`None`: always answers).
    pub outage: Option<(u32, u32)>,
}

impl FleetDay {
    /// 50 processes restarting every hour, each calling once a minute, for 24 hours of one-hour
    /// tokens.
    pub fn hourly_restarts(shared: bool) -> Self {
        Self {
            processes: 50,
            restart_every: Duration::from_secs(3600),
            call_every: Duration::from_secs(60),
            hours: 24,
            shared,
            token_ttl: Duration::from_secs(3600),
            outage: None,
        }
    }
}

/// What a simulated fleet day cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetDayReport {
    /// Token requests the provider received.
    pub token_requests: u64,
    /// The fewest that can serve the day: one per token lifetime.
    pub minimum: u64,
    /// API calls made.
    pub calls: u64,
    /// Calls that did not get a 2xx.
    pub failed: u64,
    /// Process starts.
    pub starts: u64,
}

/// Runs a fleet day.
pub fn run_fleet_day(day: &FleetDay) -> FleetDayReport {
    let clock = SandboxClock::fixed(start());
    let mut provider = Provider::new(ProviderConfig {
        token_ttl: day.token_ttl,
        plan: PlanLimits {
            calls_per_day: u64::MAX / 2,
            queries_per_second: 0,
        },
        ..ProviderConfig::default()
    });
    let keys = provider
        .create_app(None)
        .expect("a new provider creates an application");
    let memory = Arc::new(MemoryStore::new(clock.clone()));
    let store: Arc<dyn FleetStore> = Arc::clone(&memory) as Arc<dyn FleetStore>;
    let launch = |seed: u64| -> TokenState {
        let store = day.shared.then(|| Arc::clone(&store));
        client_state(&keys, &clock, store, seed)
    };
    let api_request = || {
        Request::builder()
            .uri(format!("{HOST}{SEARCH_PATH}?query=privacy"))
            .body(Vec::new())
            .expect("a valid request")
    };

    let n = day.processes.max(1);
    let mut processes: Vec<TokenState> = (0..n).map(|i| launch(u64::from(i))).collect();
    let mut report = FleetDayReport {
        token_requests: 0,
        minimum: 0,
        calls: 0,
        failed: 0,
        starts: u64::from(n),
    };
    // Each process calls at its own offset in the period and restarts at its own offset in
    // the restart period: a tick is the greatest step that keeps both exact.
    let tick = day.call_every / n;
    let restart_ticks = (day.restart_every.as_nanos() / tick.as_nanos()).max(1);
    let call_ticks = u128::from(n);
    let end = start() + Duration::from_secs(3600) * day.hours;
    let mut t: u128 = 0;
    while clock.now() < end {
        if let Some((from, to)) = day.outage {
            let hour = clock
                .now()
                .duration_since(start())
                .map_or(0, |d| d.as_secs() / 3600);
            memory.set_down((u64::from(from)..u64::from(to)).contains(&hour));
        }
        for (i, process) in processes.iter_mut().enumerate() {
            let i = i as u128;
            if t > 0 && (t + i * restart_ticks / call_ticks) % restart_ticks == 0 {
                *process = launch(report.starts);
                report.starts += 1;
            }
            if t % call_ticks == i {
                report.calls += 1;
                if !call(process, &mut provider, &clock, api_request()) {
                    report.failed += 1;
                }
            }
        }
        clock.advance(tick);
        t += 1;
    }
    report.token_requests = provider.counters(end).token_requests;
    let lifetime = day.token_ttl.as_secs().max(1);
    report.minimum = (u64::from(day.hours) * 3600).div_ceil(lifetime);
    report
}

/// A client's token state for the application `keys` of a [`Provider`], on `clock`, sharing
/// `store` if given; `seed` draws its jitter.
pub fn client_state(
    keys: &AppKeys,
    clock: &SandboxClock,
    store: Option<Arc<dyn FleetStore>>,
    seed: u64,
) -> TokenState {
    let config = bearer_protocol::Config::builder(
        format!("{HOST}{TOKEN_PATH}"),
        keys.client_id.as_str(),
        keys.client_secret.as_str(),
    )
    .seed(seed)
    .build()
    .expect("the provider's keys make a valid configuration");
    let mut settings = Settings::new(config, "bearer-sim");
    settings.clock = Arc::new(clock.clone());
    settings.fleet_store = store;
    let Checked { state, .. } = settings.check().expect("valid settings");
    state.load()
}

/// One API call through `state`, sending its token requests to `provider`; whether it got a
/// 2xx. Single-threaded: no caller ever waits for another's token request.
pub fn call(
    state: &TokenState,
    provider: &mut Provider,
    clock: &SandboxClock,
    request: Request<Vec<u8>>,
) -> bool {
    for _ in 0..8 {
        let next = state.lock().next(Purpose::Call, Duration::ZERO);
        match next {
            Ok(Next::Authorized(bearer)) => {
                let (parts, body) = request.into_parts();
                let call = bearer_client_core::with_bearer(&parts, body, &bearer);
                let answer = provider.handle(clock.now(), call);
                let _ = state.judge(&bearer, answer.status(), answer.headers());
                return answer.status().is_success();
            }
            Ok(Next::Fetch(token_request)) => {
                if let Some((fetch, token_request)) = state.fetch(token_request, || {}) {
                    let answer = provider.handle(clock.now(), token_request);
                    drop(fetch.finish(Ok(answer)));
                }
            }
            Ok(Next::AwaitFlight(_) | Next::Sleep { .. }) | Err(_) => return false,
        }
    }
    false
}

/// A lease's holder and when it expires.
type Lease = (LeaseId, SystemTime);

/// A pure model of a shared store: one record and one lease, the lease expiring on the
/// virtual clock.
#[derive(Debug)]
pub struct MemoryStore {
    clock: SandboxClock,
    inner: Mutex<(Option<Record>, Option<Lease>)>,
    /// Every step fails while set, as an unreachable store's do.
    down: std::sync::atomic::AtomicBool,
}

impl MemoryStore {
    /// An empty store on `clock`.
    pub fn new(clock: SandboxClock) -> Self {
        Self {
            clock,
            inner: Mutex::new((None, None)),
            down: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Makes every step fail (an outage) or answer again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::Relaxed);
    }

    fn reachable(&self) -> Result<(), StoreError> {
        if self.down.load(std::sync::atomic::Ordering::Relaxed) {
            return Err("the store is down".into());
        }
        Ok(())
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Option<Record>, &mut Option<(LeaseId, SystemTime)>) -> T,
    ) -> T {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.now();
        if inner.1.is_some_and(|(_, until)| now >= until) {
            inner.1 = None;
        }
        let (record, lease) = &mut *inner;
        f(record, lease)
    }
}

impl FleetStore for MemoryStore {
    fn read(&self, _: &Credential) -> Result<Option<Record>, StoreError> {
        self.reachable()?;
        Ok(self.with(|record, _| record.clone()))
    }

    fn take_lease(
        &self,
        _: &Credential,
        holder: LeaseId,
        ttl: Duration,
    ) -> Result<(Option<Record>, LeaseOutcome), StoreError> {
        self.reachable()?;
        let now = self.clock.now();
        Ok(self.with(|record, lease| match *lease {
            Some((other, until)) if other != holder => (
                record.clone(),
                LeaseOutcome::Held {
                    remaining: until.duration_since(now).unwrap_or(Duration::ZERO),
                },
            ),
            _ => {
                *lease = Some((holder, now + ttl));
                (record.clone(), LeaseOutcome::Won)
            }
        }))
    }

    fn write(
        &self,
        _: &Credential,
        expected: u64,
        required: Option<LeaseId>,
        new: &Record,
    ) -> Result<WriteOutcome, StoreError> {
        self.reachable()?;
        Ok(self.with(|record, lease| {
            let generation = record.as_ref().map_or(0, |r| r.generation);
            let leased = required.is_none_or(|id| lease.is_some_and(|(holder, _)| holder == id));
            if generation != expected || !leased {
                return WriteOutcome::Conflict(record.clone());
            }
            *record = Some(new.clone());
            WriteOutcome::Written
        }))
    }

    fn release(&self, _: &Credential, holder: LeaseId) -> Result<(), StoreError> {
        self.reachable()?;
        self.with(|_, lease| {
            if lease.is_some_and(|(id, _)| id == holder) {
                *lease = None;
            }
        });
        Ok(())
    }

    fn wait(&self, _: &Credential, _: u64, _: Duration) -> Result<(), StoreError> {
        self.reachable()?;
        // Single-threaded: nobody else can be renewing while this process runs.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_store_renews_once_per_lifetime_whatever_the_restarts() {
        let shared = run_fleet_day(&FleetDay {
            processes: 10,
            hours: 6,
            ..FleetDay::hourly_restarts(true)
        });
        let alone = run_fleet_day(&FleetDay {
            processes: 10,
            hours: 6,
            ..FleetDay::hourly_restarts(false)
        });
        assert_eq!(shared.failed, 0, "{shared:?}");
        assert_eq!(alone.failed, 0, "{alone:?}");
        assert!(
            shared.token_requests <= shared.minimum + 1,
            "shared: {shared:?} (minimum {})",
            shared.minimum
        );
        assert!(
            alone.token_requests >= alone.starts,
            "alone, every start fetches: {alone:?}"
        );
    }

    #[test]
    fn a_store_outage_costs_no_call_and_the_fleet_shares_again_after_it() {
        const PROCESSES: u32 = 10;
        let day = |outage| FleetDay {
            processes: PROCESSES,
            hours: 6,
            outage,
            ..FleetDay::hourly_restarts(true)
        };
        let steady = run_fleet_day(&day(None));
        let outage = run_fleet_day(&day(Some((2, 3))));
        assert_eq!(
            outage.failed, 0,
            "a store outage is never an application outage: {outage:?}"
        );
        // During the hour out, each process renews alone (a start fetches, a renewal is its
        // own); before and after it, the fleet shares one renewal per lifetime.
        assert!(
            outage.token_requests <= steady.token_requests + u64::from(PROCESSES) * 2 + 2,
            "outage {outage:?} vs steady {steady:?}"
        );
    }
}
