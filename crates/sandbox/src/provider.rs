//! The pure provider: `handle(now, request) -> response` over in-memory state.
//!
//! No I/O, no clock, no threads: time is an argument, randomness is seeded, and faults the
//! server must carry out come back as an [`Effect`](crate::Effect) in the response's extensions.
//! The same provider runs behind the HTTP server and, called directly, in simulations of whole
//! days in milliseconds.

use crate::counters::{Counters, Totals};
use crate::error::ProviderError;
use crate::faults::{Fault, FaultQueue, FaultTarget, PendingFault};
use crate::hold::Holds;
use crate::keys::KeyGen;
use crate::platform::{AppKeys, ApplicationInfo, PlanLimits, Platform};
use crate::token::TokenStore;
use crate::{admin, api, developer, portal, respond, token};
use http::{Request, Response};
use std::time::{Duration, SystemTime};

/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// Path of the protected API.
pub const SEARCH_PATH: &str = "/v1/searchoauth";

/// Marks a request whose body is over the cap and was not read whole (the server adds it to
/// the extensions): it is answered 413, as a body over the cap is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyOverLimit;

/// Whether the request's body is over `max` bytes (read, or marked [`BodyOverLimit`]).
pub(crate) fn body_over_limit(request: &Request<Vec<u8>>, max: usize) -> bool {
    request.body().len() > max || request.extensions().get::<BodyOverLimit>().is_some()
}

/// How the provider is set up. Every field has a default ([`ProviderConfig::default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Lifetime of access tokens (`expires_in`); default one hour, as in the guide.
    pub token_ttl: Duration,
    /// Lifetime of refresh tokens; default 14 days. A refresh token also dies when the next
    /// token is issued (rotation).
    pub refresh_token_ttl: Duration,
    /// The plan of every application.
    pub plan: PlanLimits,
    /// Whether gateway answers carry `X-Plan-Quota-*` and `X-Plan-QPS-*` headers; default off,
    /// as at the real gateway.
    pub quota_headers: bool,
    /// The key of the admin routes (`X-Admin-Key`); generated from the seed when `None`.
    pub admin_key: Option<String>,
    /// Seed of every generated key, secret and token.
    pub seed: u64,
    /// The `realm` of `WWW-Authenticate` challenges; when `None`, the host the request was sent
    /// to (as the gateway names its own hostname).
    pub realm: Option<String>,
    /// Largest request body accepted; larger ones get 413. Default 16 KiB.
    pub max_body_bytes: usize,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(14 * 86_400),
            plan: PlanLimits::default(),
            quota_headers: false,
            admin_key: None,
            seed: 0x5eed_0bea_7e50_0001,
            realm: None,
            max_body_bytes: 16 * 1024,
        }
    }
}

/// The provider's platform, token endpoint and API, as a pure function of its state, the time
/// and a request.
#[derive(Debug, Clone)]
pub struct Provider {
    pub(crate) config: ProviderConfig,
    admin_key: String,
    pub(crate) keygen: KeyGen,
    pub(crate) platform: Platform,
    pub(crate) tokens: TokenStore,
    pub(crate) faults: FaultQueue,
    pub(crate) holds: Holds,
    pub(crate) totals: Totals,
    pub(crate) portal: portal::Portal,
}

impl Default for Provider {
    fn default() -> Self {
        Self::new(ProviderConfig::default())
    }
}

/// `now + by`, or a time far ahead when that would overflow; never a panic.
pub(crate) fn later(now: SystemTime, by: Duration) -> SystemTime {
    now.checked_add(by)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

impl Provider {
    /// A provider with no developers and no applications.
    pub fn new(config: ProviderConfig) -> Self {
        let mut keygen = KeyGen::new(config.seed);
        let portal = portal::Portal::new(config.seed);
        let admin_key = config
            .admin_key
            .clone()
            .unwrap_or_else(|| keygen.private_key());
        Self {
            config,
            admin_key,
            keygen,
            platform: Platform::default(),
            tokens: TokenStore::default(),
            faults: FaultQueue::default(),
            holds: Holds::default(),
            totals: Totals::default(),
            portal,
        }
    }

    /// Answers one request at time `now`. Never panics, whatever the request.
    ///
    /// Routes: `POST /oauth2/token`, `GET /v1/searchoauth`, the developer platform under
    /// `/platform/`, the platform team's and tests' controls under `/admin/`, and the portal's
    /// pages (`/`, `/signup`, `/signin`, `/account`, `/admin`, `/io-docs`; see the crate
    /// documentation); any other path gets the gateway's 596 `ERR_596_SERVICE_NOT_FOUND`.
    ///
    /// When the answer needs the server to do something a value cannot (reset the connection,
    /// wait, truncate the body, move the clock), it carries an [`Effect`](crate::Effect) in
    /// its extensions.
    pub fn handle(&mut self, now: SystemTime, request: Request<Vec<u8>>) -> Response<Vec<u8>> {
        let path = request.uri().path();
        if portal::owns(path) {
            portal::handle(self, now, &request)
        } else if path == TOKEN_PATH {
            token::handle(self, now, &request)
        } else if path == SEARCH_PATH {
            api::handle(self, now, &request)
        } else if under(path, "/platform") {
            developer::handle(self, now, &request)
        } else if under(path, "/admin") {
            admin::handle(self, now, &request)
        } else {
            let mut response = respond::service_not_found();
            respond::from_gateway(&mut response);
            response
        }
    }

    /// The admin key (`X-Admin-Key` header of the admin routes).
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// The settings in force (the admin settings route changes some of them).
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// Creates an application that is active at once, with the given keys or generated ones.
    pub fn create_app(&mut self, keys: Option<AppKeys>) -> Result<AppKeys, ProviderError> {
        let name = format!("Application {}", self.platform.apps.len() + 1);
        let index = self.platform.create_active(&name, keys, &mut self.keygen)?;
        Ok(self.platform.apps[index].keys.clone().unwrap_or_else(|| {
            // `create_active` always leaves keys; this arm is unreachable in practice.
            AppKeys::new("", "")
        }))
    }

    /// Every application, with its keys.
    pub fn applications(&self) -> Vec<ApplicationInfo> {
        (0..self.platform.apps.len())
            .map(|i| self.platform.info(i, true))
            .collect()
    }

    /// Approves a pending or disabled application (by id or client id); returns its keys.
    pub fn approve_app(&mut self, app: &str) -> Result<AppKeys, ProviderError> {
        let index = self.platform.find_or_err(app)?;
        self.platform.approve(index, None, &mut self.keygen)?;
        Ok(self.platform.apps[index]
            .keys
            .clone()
            .unwrap_or_else(|| AppKeys::new("", "")))
    }

    /// Disables an active application (by id or client id): its keys and tokens are refused
    /// with `ERR_403_DEVELOPER_INACTIVE` until it is approved again.
    pub fn disable_app(&mut self, app: &str) -> Result<(), ProviderError> {
        let index = self.platform.find_or_err(app)?;
        self.platform.disable(index)
    }

    /// The counters, with each application's quota use in the quota day of `now`.
    pub fn counters(&self, now: SystemTime) -> Counters {
        Counters {
            token_requests: self.totals.token_requests,
            token_requests_by_grant: self.totals.by_grant,
            tokens_issued: self.totals.tokens_issued,
            api_calls: self.totals.api_calls,
            faults_injected: self.totals.faults_injected,
            applications: self
                .platform
                .apps
                .iter()
                .filter_map(|app| {
                    let keys = app.keys.as_ref()?;
                    let mut counters = app.counters;
                    counters.quota_current = app.usage.calls_today(now);
                    Some((keys.client_id.clone(), counters))
                })
                .collect(),
        }
    }

    /// Sets every counter to zero (quota use is not a counter and is kept).
    pub fn reset_counters(&mut self) {
        self.totals = Totals::default();
        for app in &mut self.platform.apps {
            app.counters = Default::default();
        }
    }

    /// Queues `fault` for the next `count` answers of `target`; returns how many were queued
    /// (the queue holds at most [`MAX_QUEUED_FAULTS`](crate::faults::MAX_QUEUED_FAULTS)).
    pub fn inject(&mut self, target: FaultTarget, fault: Fault, count: usize) -> usize {
        self.faults.push(target, fault, count)
    }

    /// Drops every queued fault; returns how many there were.
    pub fn clear_faults(&mut self) -> usize {
        self.faults.clear()
    }

    /// The faults still queued, in order.
    pub fn pending_faults(&self) -> Vec<PendingFault> {
        self.faults.pending()
    }

    /// Forgets the application's refresh token (by id or client id), so the client's next
    /// refresh gets `invalid_grant`; returns whether it had one.
    pub fn forget_refresh_token(&mut self, app: &str) -> Result<bool, ProviderError> {
        let index = self.platform.find_or_err(app)?;
        Ok(self.platform.apps[index].refresh.take().is_some())
    }

    /// Revokes the application's latest access token (by id or client id), so the API answers
    /// 401 `invalid_token` to it; returns whether there was one still known.
    pub fn revoke_access_token(&mut self, app: &str) -> Result<bool, ProviderError> {
        let index = self.platform.find_or_err(app)?;
        Ok(match self.platform.apps[index].current_access.take() {
            Some(token) => self.tokens.remove(&token),
            None => false,
        })
    }

    /// Switches the quota headers on or off.
    pub fn set_quota_headers(&mut self, on: bool) {
        self.config.quota_headers = on;
    }

    /// Changes the plan of every application (counts so far are kept).
    pub fn set_plan(&mut self, plan: PlanLimits) {
        self.config.plan = plan;
    }

    /// Changes the lifetime of access tokens issued from now on.
    pub fn set_token_ttl(&mut self, ttl: Duration) {
        self.config.token_ttl = ttl;
    }

    /// The `realm` of challenges for this request.
    pub(crate) fn realm(&self, request: &Request<Vec<u8>>) -> String {
        if let Some(realm) = &self.config.realm {
            return realm.clone();
        }
        let host = request.uri().host().map(str::to_owned).or_else(|| {
            let host = request.headers().get(http::header::HOST)?.to_str().ok()?;
            let host = match host.rfind(':') {
                // Strip a port, but not the colons of a bracketed IPv6 address.
                Some(i) if !host[i..].contains(']') => &host[..i],
                _ => host,
            };
            Some(host.to_owned())
        });
        match host {
            Some(host)
                if !host.is_empty()
                    && host.len() <= 255
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b)) =>
            {
                host
            }
            _ => "bearer-sandbox".to_owned(),
        }
    }

    /// Answers a call to `endpoint` (`Token` or `Api`) through the gateway: the next fault for
    /// it replaces the answer, or wraps it (rewritten, or with an effect); otherwise `answer`
    /// gives the answer and the application it is attributed to, marked as the gateway's.
    pub(crate) fn through_gateway(
        &mut self,
        now: SystemTime,
        endpoint: FaultTarget,
        request: &Request<Vec<u8>>,
        answer: impl FnOnce(&mut Provider) -> (Option<usize>, Response<Vec<u8>>),
    ) -> Response<Vec<u8>> {
        let mut wrapping = None;
        if let Some(fault) = self.faults.take(endpoint) {
            self.totals.faults_injected += 1;
            if !fault.wraps_answer() {
                return fault.replacement(&self.realm(request));
            }
            wrapping = Some(fault);
        }
        let (app, response) = answer(self);
        let mut response = self.finish_gateway(now, app, response);
        if let Some(fault) = wrapping {
            fault.rewrite(&mut response);
            let effect = match fault {
                Fault::Hold(id) => crate::hold::effect(self, id),
                fault => fault.wrapping_effect(),
            };
            if let Some(effect) = effect {
                response.extensions_mut().insert(effect);
            }
        }
        response
    }

    /// Marks an answer as the gateway's, with the quota headers of `app` when they are on.
    fn finish_gateway(
        &self,
        now: SystemTime,
        app: Option<usize>,
        mut response: Response<Vec<u8>>,
    ) -> Response<Vec<u8>> {
        respond::from_gateway(&mut response);
        if self.config.quota_headers {
            if let Some(app) = app.and_then(|i| self.platform.apps.get(i)) {
                app.usage
                    .write_headers(now, &self.config.plan, response.headers_mut());
            }
        }
        response
    }
}

fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
