//! bearer-sim: days of traffic in milliseconds, the pure client state machine
//! ([`bearer_protocol::TokenManager`]) against the pure [`Provider`] of bearer-sandbox, on a
//! virtual clock. Unpublished: it ties the versions of both crates together, which neither
//! published crate should do.
//!
//! A [`Scenario`] says how the application calls (steady, in bursts, with long idle gaps), what
//! plan it has and which faults the provider injects (seeded, so a run replays exactly).
//! [`run`] plays it: before each call the client asks its machine what to do, sends token
//! requests and API calls to [`Provider::handle`], and feeds the answers back, as a transport
//! would, with every request taking [`Scenario::round_trip`] of virtual time. The [`Report`]
//! counts, per quota day, the token requests sent against the minimum the token lifetime
//! allows for that day's calls, the calls the client's budget refused, and what the provider
//! refused.
//!
//! Nothing here reads a clock or does I/O; a week of steady traffic takes a few milliseconds.
//!
//! ```
//! use bearer_sim::{Scenario, run};
//!
//! let report = run(&Scenario::steady(2));
//! for day in &report.days {
//!     // Faults aside, at most one token request a day above the minimum.
//!     assert!(day.token_requests - day.token_faults <= day.minimum_token_requests + 1);
//!     assert_eq!(day.refused_by_budget, 0);
//! }
//! assert_eq!(report.refresh_tokens_refused(), 0);
//! ```

use bearer_protocol::{
    ApiVerdict, Config, Error, Event, Step, TokenManager, TransportFailure, TransportFailureKind,
};
use bearer_sandbox::{
    Effect, Fault, FaultTarget, PlanLimits, Provider, ProviderConfig, SEARCH_PATH, TOKEN_PATH,
};
use http::Request;
use http::header::AUTHORIZATION;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod fleet_day;

pub use fleet_day::{FleetDay, FleetDayReport, MemoryStore, call, client_state, run_fleet_day};

const DAY: Duration = Duration::from_secs(86_400);
const HOST: &str = "https://api.example.com";

/// When the application makes its calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traffic {
    /// One call every `every`, all day.
    Steady {
        /// The interval between calls.
        every: Duration,
    },
    /// `calls` calls back to back (paced by the client under the plan's QPS) every `every`.
    Bursts {
        /// Calls in one burst.
        calls: u32,
        /// The interval between the starts of two bursts.
        every: Duration,
    },
    /// One call every `every` inside the given windows of each day (offsets from 00:00 UTC),
    /// nothing outside them, and nothing at all on the days listed in `idle_days` (0-based).
    Windows {
        /// `(start, end)` offsets from midnight.
        windows: Vec<(Duration, Duration)>,
        /// The interval between calls inside a window.
        every: Duration,
        /// Days with no call at all.
        idle_days: Vec<u32>,
    },
}

/// Faults the provider injects, each drawn at random (seeded) per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultMix {
    /// Chance in 1000 that a token request gets one of `token_faults`.
    pub token_per_mille: u16,
    /// The faults token requests get, picked uniformly.
    pub token_faults: Vec<Fault>,
    /// Chance in 1000 that an API call gets one of `api_faults`.
    pub api_per_mille: u16,
    /// The faults API calls get, picked uniformly.
    pub api_faults: Vec<Fault>,
}

impl FaultMix {
    /// No faults.
    pub fn none() -> Self {
        Self {
            token_per_mille: 0,
            token_faults: Vec::new(),
            api_per_mille: 0,
            api_faults: Vec::new(),
        }
    }

    /// 3% of token requests get a 500, a load balancer's 502 page, the gateway's 503 or a
    /// connection reset; 0.5% of API calls get a 500 or a 502 page. None of these lose tokens
    /// the provider issued, so no refresh token can go stale.
    pub fn transient() -> Self {
        Self {
            token_per_mille: 30,
            token_faults: vec![
                Fault::ServerError,
                Fault::BadGateway,
                Fault::ServiceUnavailable,
                Fault::ConnectionReset,
            ],
            api_per_mille: 5,
            api_faults: vec![Fault::ServerError, Fault::BadGateway],
        }
    }

    /// 2% of token answers are cut short after the provider issued the tokens: the client
    /// never sees them, so its refresh token is void at the provider and the next renewal must
    /// fall back to client credentials.
    pub fn lost_answers() -> Self {
        Self {
            token_per_mille: 20,
            token_faults: vec![Fault::TruncatedBody],
            api_per_mille: 0,
            api_faults: Vec::new(),
        }
    }
}

/// One simulated run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// A name for reports.
    pub name: String,
    /// Days simulated, from Monday 2023-11-13 00:00 UTC.
    pub days: u32,
    /// When the application calls.
    pub traffic: Traffic,
    /// Faults the provider injects.
    pub faults: FaultMix,
    /// The plan, known to both the provider and the client.
    pub plan: PlanLimits,
    /// Lifetime of the provider's access tokens.
    pub token_ttl: Duration,
    /// Virtual time each request takes, token requests and API calls alike.
    pub round_trip: Duration,
    /// Seed of the fault draws (and of the client's backoff jitter).
    pub seed: u64,
}

impl Scenario {
    fn new(name: &str, days: u32, traffic: Traffic, faults: FaultMix) -> Self {
        Self {
            name: name.to_owned(),
            days,
            traffic,
            faults,
            plan: PlanLimits::default(),
            token_ttl: Duration::from_secs(3600),
            round_trip: Duration::from_millis(50),
            seed: 42,
        }
    }

    /// One call every 30 s (2880 a day), the default plan (5000 calls a day, 10 per second),
    /// one-hour tokens, and [`FaultMix::transient`].
    pub fn steady(days: u32) -> Self {
        let every = Duration::from_secs(30);
        Self::new(
            "steady",
            days,
            Traffic::Steady { every },
            FaultMix::transient(),
        )
    }

    /// Bursts of 40 calls every 15 minutes (3840 a day), paced at 10 per second, with
    /// [`FaultMix::transient`].
    pub fn bursty(days: u32) -> Self {
        let traffic = Traffic::Bursts {
            calls: 40,
            every: Duration::from_secs(900),
        };
        Self::new("bursty", days, traffic, FaultMix::transient())
    }

    /// A call a minute from 08:00 to 10:00 and from 20:00 to 20:30, nothing in between (ten
    /// idle hours), and nothing at all on days 5 and 6 (the weekend), with
    /// [`FaultMix::transient`].
    pub fn idle_gaps(days: u32) -> Self {
        let hour = |h: u64, m: u64| Duration::from_secs(h * 3600 + m * 60);
        let traffic = Traffic::Windows {
            windows: vec![(hour(8, 0), hour(10, 0)), (hour(20, 0), hour(20, 30))],
            every: Duration::from_secs(60),
            idle_days: vec![5, 6],
        };
        Self::new("idle gaps", days, traffic, FaultMix::transient())
    }

    /// One call every 10 s (8640 a day) against 5000 allowed, no faults: the client's budget
    /// refuses what the plan cannot carry and keeps back what the renewals need.
    pub fn over_quota(days: u32) -> Self {
        let every = Duration::from_secs(10);
        Self::new(
            "over quota",
            days,
            Traffic::Steady { every },
            FaultMix::none(),
        )
    }

    /// As [`steady`](Self::steady), with [`FaultMix::lost_answers`] instead.
    pub fn lost_answers(days: u32) -> Self {
        let mut scenario = Self::steady(days);
        scenario.name = "lost answers".to_owned();
        scenario.faults = FaultMix::lost_answers();
        scenario
    }

    /// The scenarios `examples/week.rs` prints, each `days` long.
    pub fn all(days: u32) -> Vec<Scenario> {
        vec![
            Self::steady(days),
            Self::bursty(days),
            Self::idle_gaps(days),
            Self::over_quota(days),
            Self::lost_answers(days),
        ]
    }

    /// The instants of the calls, in order.
    pub fn call_times(&self) -> Vec<SystemTime> {
        let end = DAY * self.days;
        let mut offsets = Vec::new();
        match &self.traffic {
            Traffic::Steady { every } => {
                let mut at = Duration::ZERO;
                while at < end {
                    offsets.push(at);
                    at += (*every).max(Duration::from_millis(1));
                }
            }
            Traffic::Bursts { calls, every } => {
                let mut at = Duration::ZERO;
                while at < end {
                    offsets.extend(std::iter::repeat_n(at, *calls as usize));
                    at += (*every).max(Duration::from_millis(1));
                }
            }
            Traffic::Windows {
                windows,
                every,
                idle_days,
            } => {
                for day in (0..self.days).filter(|d| !idle_days.contains(d)) {
                    for (from, to) in windows {
                        let mut at = *from;
                        while at < *to && at < DAY {
                            offsets.push(DAY * day + at);
                            at += (*every).max(Duration::from_millis(1));
                        }
                    }
                }
                offsets.sort();
            }
        }
        offsets.into_iter().map(|at| start() + at).collect()
    }
}

/// Monday 2023-11-13 00:00:00 UTC, where every simulation starts.
pub fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_699_833_600)
}

/// What one quota day (00:00 to 00:00 UTC) cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayReport {
    /// Token requests the client sent.
    pub token_requests: u32,
    /// Of those, the ones answered by an injected fault.
    pub token_faults: u32,
    /// The fewest token requests that cover the day's calls with tokens of the scenario's
    /// lifetime (a token taken at the first call not covered by the previous one), faults
    /// aside.
    pub minimum_token_requests: u32,
    /// Calls the application made.
    pub calls: u32,
    /// Calls that reached the API and whose answer the application got.
    pub delivered: u32,
    /// Calls the client's budget refused (quota kept for the day's renewals, or spent).
    pub refused_by_budget: u32,
    /// Calls that failed otherwise (token endpoint unavailable after the retries).
    pub failed: u32,
    /// Refresh tokens the provider refused (`invalid_grant`).
    pub refresh_tokens_refused: u32,
    /// API answers that were the gateway's denials (over rate, over QPS, token refused).
    pub gateway_denials: u32,
    /// API answers replaced by an injected fault (delivered to the application as they came).
    pub api_faults: u32,
}

/// What a whole run cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// One entry per day.
    pub days: Vec<DayReport>,
    /// `grant_type=client_credentials` requests the provider received.
    pub client_credentials_grants: u64,
    /// `grant_type=refresh_token` requests the provider received.
    pub refresh_token_grants: u64,
}

impl Report {
    fn sum(&self, field: impl Fn(&DayReport) -> u32) -> u32 {
        self.days.iter().map(field).sum()
    }

    /// Token requests over the whole run.
    pub fn token_requests(&self) -> u32 {
        self.sum(|d| d.token_requests)
    }
    /// Token requests answered by a fault, over the whole run.
    pub fn token_faults(&self) -> u32 {
        self.sum(|d| d.token_faults)
    }
    /// The minimum over the whole run (the sum of the days').
    pub fn minimum_token_requests(&self) -> u32 {
        self.sum(|d| d.minimum_token_requests)
    }
    /// Calls made over the whole run.
    pub fn calls(&self) -> u32 {
        self.sum(|d| d.calls)
    }
    /// Calls delivered over the whole run.
    pub fn delivered(&self) -> u32 {
        self.sum(|d| d.delivered)
    }
    /// Calls the budget refused over the whole run.
    pub fn refused_by_budget(&self) -> u32 {
        self.sum(|d| d.refused_by_budget)
    }
    /// Calls that failed otherwise over the whole run.
    pub fn failed(&self) -> u32 {
        self.sum(|d| d.failed)
    }
    /// Refresh tokens the provider refused over the whole run.
    pub fn refresh_tokens_refused(&self) -> u32 {
        self.sum(|d| d.refresh_tokens_refused)
    }
    /// Gateway denials over the whole run.
    pub fn gateway_denials(&self) -> u32 {
        self.sum(|d| d.gateway_denials)
    }
}

/// The fewest tokens of `lifetime` that cover calls at `times` (sorted), counted on the day
/// each is taken.
fn minimum_per_day(times: &[SystemTime], lifetime: Duration, days: u32) -> Vec<u32> {
    let mut per_day = vec![0; days as usize];
    let mut covered_until: Option<SystemTime> = None;
    for &at in times {
        if covered_until.is_none_or(|until| at >= until) {
            per_day[day_of(at).min(days as usize - 1)] += 1;
            covered_until = Some(at + lifetime);
        }
    }
    per_day
}

fn day_of(at: SystemTime) -> usize {
    (at.duration_since(start()).unwrap_or_default().as_secs() / DAY.as_secs()) as usize
}

/// Plays `scenario` and reports what each day cost.
pub fn run(scenario: &Scenario) -> Report {
    let days = scenario.days.max(1);
    let mut provider = Provider::new(ProviderConfig {
        token_ttl: scenario.token_ttl,
        plan: scenario.plan,
        seed: scenario.seed,
        ..ProviderConfig::default()
    });
    let keys = provider
        .create_app(None)
        .expect("a new provider creates an application");
    let config = Config::builder(
        format!("{HOST}{TOKEN_PATH}"),
        keys.client_id.as_str(),
        keys.client_secret.as_str(),
    )
    .plan(bearer_protocol::Plan {
        calls_per_day: Some(scenario.plan.calls_per_day),
        auth_requests_per_day: PlanLimits::AUTH_REQUESTS_PER_DAY,
        queries_per_second: Some(scenario.plan.queries_per_second).filter(|q| *q > 0),
    })
    .seed(scenario.seed)
    .build()
    .expect("the provider's keys make a valid configuration");

    let times = scenario.call_times();
    let mut driver = Driver {
        machine: TokenManager::new(config),
        provider,
        rng: fastrand::Rng::with_seed(scenario.seed),
        scenario,
        days: vec![DayReport::default(); days as usize],
        now: start(),
        api_request: Request::builder()
            .uri(format!("{HOST}{SEARCH_PATH}?query=privacy"))
            .body(Vec::new())
            .expect("a valid request"),
    };
    for (day, minimum) in minimum_per_day(&times, scenario.token_ttl, days)
        .into_iter()
        .enumerate()
    {
        driver.days[day].minimum_token_requests = minimum;
    }
    let end = start() + DAY * days;
    for at in times {
        driver.now = driver.now.max(at);
        if driver.now >= end {
            break;
        }
        driver.call(day_of(at));
    }
    let grants = driver.provider.counters(end).token_requests_by_grant;
    Report {
        scenario: scenario.name.clone(),
        days: driver.days,
        client_credentials_grants: grants.client_credentials,
        refresh_token_grants: grants.refresh_token,
    }
}

struct Driver<'a> {
    machine: TokenManager,
    provider: Provider,
    rng: fastrand::Rng,
    scenario: &'a Scenario,
    days: Vec<DayReport>,
    now: SystemTime,
    api_request: Request<Vec<u8>>,
}

impl Driver<'_> {
    fn today(&mut self) -> &mut DayReport {
        let day = day_of(self.now).min(self.days.len() - 1);
        &mut self.days[day]
    }

    /// Draws whether the next answer of `target` gets a fault, and queues it.
    fn maybe_inject(&mut self, target: FaultTarget) -> bool {
        let (per_mille, faults) = match target {
            FaultTarget::Token => (
                self.scenario.faults.token_per_mille,
                &self.scenario.faults.token_faults,
            ),
            _ => (
                self.scenario.faults.api_per_mille,
                &self.scenario.faults.api_faults,
            ),
        };
        if faults.is_empty() || self.rng.u16(0..1000) >= per_mille {
            return false;
        }
        let fault = faults[self.rng.usize(0..faults.len())].clone();
        self.provider.inject(target, fault, 1);
        true
    }

    /// One application call, from first poll to delivery or failure; counted on `day`, the
    /// day it was due.
    fn call(&mut self, day: usize) {
        self.days[day].calls += 1;
        for _ in 0..64 {
            match self.machine.poll_call(self.now) {
                Step::Authorized(bearer) => {
                    let mut request = self.api_request.clone();
                    request
                        .headers_mut()
                        .insert(AUTHORIZATION, bearer.header_value().clone());
                    let faulted = self.maybe_inject(FaultTarget::Api);
                    let answer = self.provider.handle(self.now, request);
                    self.now += self.scenario.round_trip;
                    if faulted {
                        self.today().api_faults += 1;
                    }
                    if answer.headers().contains_key("x-mashery-error-code") {
                        self.today().gateway_denials += 1;
                    }
                    match self.machine.handle_api_response(
                        self.now,
                        &bearer,
                        answer.status(),
                        answer.headers(),
                    ) {
                        ApiVerdict::Deliver => {
                            self.days[day].delivered += 1;
                            return;
                        }
                        ApiVerdict::Replay => {}
                        ApiVerdict::RetryAt(at) => self.now = self.now.max(at),
                        ApiVerdict::Fail(_) => {
                            self.days[day].failed += 1;
                            return;
                        }
                    }
                }
                Step::Fetch(request) => {
                    self.today().token_requests += 1;
                    if self.maybe_inject(FaultTarget::Token) {
                        self.today().token_faults += 1;
                    }
                    let (pending, request) = request.into_parts();
                    let answer = self.provider.handle(self.now, request);
                    self.now += self.scenario.round_trip;
                    match Effect::of(&answer) {
                        Some(Effect::Reset) => self.machine.handle_token_failure(
                            self.now,
                            pending,
                            TransportFailure::new(
                                TransportFailureKind::Interrupted,
                                "connection reset",
                            ),
                        ),
                        Some(Effect::Truncate) => self.machine.handle_token_failure(
                            self.now,
                            pending,
                            TransportFailure::new(
                                TransportFailureKind::Interrupted,
                                "the answer was cut short",
                            ),
                        ),
                        _ => self
                            .machine
                            .handle_token_response(self.now, pending, &answer),
                    }
                    while let Some(event) = self.machine.poll_event() {
                        if matches!(event, Event::RefreshTokenRefused) {
                            self.today().refresh_tokens_refused += 1;
                        }
                    }
                }
                Step::Wait(wait) => self.now = self.now.max(wait.until),
                Step::Fail(Error::QuotaExhausted { .. }) => {
                    self.days[day].refused_by_budget += 1;
                    return;
                }
                Step::Fail(_) => {
                    self.days[day].failed += 1;
                    return;
                }
            }
        }
        // A call the machine kept sending round; never expected.
        self.days[day].failed += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_covers_calls_with_tokens_of_the_lifetime() {
        let at = |s: u64| start() + Duration::from_secs(s);
        let hour = Duration::from_secs(3600);
        assert_eq!(minimum_per_day(&[], hour, 1), vec![0]);
        assert_eq!(minimum_per_day(&[at(0), at(3599)], hour, 1), vec![1]);
        assert_eq!(minimum_per_day(&[at(0), at(3600)], hour, 1), vec![2]);
        assert_eq!(
            minimum_per_day(&[at(0), at(86_000), at(86_500)], hour, 2),
            vec![2, 0]
        );
        let steady = Scenario::steady(1).call_times();
        assert_eq!(minimum_per_day(&steady, hour, 1), vec![24]);
    }

    #[test]
    fn call_times_follow_the_traffic() {
        assert_eq!(Scenario::steady(1).call_times().len(), 2880);
        assert_eq!(Scenario::bursty(1).call_times().len(), 3840);
        let idle = Scenario::idle_gaps(7).call_times();
        assert_eq!(idle.len(), 5 * 150);
        assert!(idle.windows(2).all(|w| w[0] <= w[1]));
    }
}

/// The README's example is compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
