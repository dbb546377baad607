//! [`BearerMiddleware`]: bearer auth for a program's own [`ureq::Agent`].

use crate::flight::Shared;
use bearer_client_core::Error;
use bearer_client_core::Purpose;
use bearer_protocol::ApiVerdict;
use http::header::AUTHORIZATION;
use std::fmt;
use std::sync::Arc;
use ureq::middleware::{Middleware, MiddlewareNext};
use ureq::{RequestExt, SendBody};

/// Adds `Authorization: Bearer …` to every request through an agent, from the same token state
/// as the [`Client`](crate::Client) it came from (see [`Client::middleware`](crate::Client::middleware)).
///
/// What the program's agent sets for itself stays its own: its `User-Agent`, its time-outs,
/// its proxy and its redirects. From the bearer client each request gets `X-Originating-IP`
/// when one is configured and the request has none, and the refusal of plain `http` off
/// loopback ([`Error::PlainHttp`](crate::Error::PlainHttp)).
/// It reads every answer's status and headers (so 4xx/5xx are reported to the state machine
/// with their headers), then hands the answer on as the agent would: by default a 4xx/5xx
/// becomes [`ureq::Error::StatusCode`], as with ureq's default
/// `http_status_as_error(true)`; call [`http_status_as_error(false)`](Self::http_status_as_error)
/// if the agent is set up that way. Where it differs from [`Client::send`](crate::Client::send)
/// and the hyper transport's tower layer: a request body cannot be replayed through ureq's
/// middleware, so a 401 for a stale token is returned (the next call gets a renewed token), and
/// an "over queries per second" answer is returned (the next call waits). Errors of the token
/// state (credentials rejected, quota spent) come as [`ureq::Error::Other`] holding an
/// [`Error`](crate::Error). Redirects follow the agent's settings; ureq's default never sends
/// `Authorization` along a redirect.
#[derive(Clone)]
pub struct BearerMiddleware {
    shared: Arc<Shared>,
    status_as_error: bool,
}

impl BearerMiddleware {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            status_as_error: true,
        }
    }

    /// Whether a 4xx/5xx answer is turned into [`ureq::Error::StatusCode`] (default `true`, as
    /// ureq's agents do by default).
    #[must_use]
    pub fn http_status_as_error(mut self, value: bool) -> Self {
        self.status_as_error = value;
        self
    }
}

impl Middleware for BearerMiddleware {
    fn handle(
        &self,
        request: http::Request<SendBody>,
        next: MiddlewareNext,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let settings = self.shared.exchange.settings();
        settings
            .check_target(request.uri())
            .map_err(|error| ureq::Error::Other(Box::new(error)))?;
        let bearer = self
            .shared
            .authorize(Purpose::Call)
            .map_err(|error| ureq::Error::Other(Box::new(error)))?;
        let Some(config) = request.middleware_config() else {
            return Err(ureq::Error::Other(Box::new(Error::InvalidRequest(
                "the bearer middleware only runs inside a ureq::Agent".to_owned(),
            ))));
        };
        let mut request = config.http_status_as_error(false).build();
        let headers = request.headers_mut();
        settings.add_originating_ip(headers);
        headers.insert(AUTHORIZATION, bearer.header_value().clone());
        let span = self
            .shared
            .state
            .call_span(request.method(), request.uri(), 0);
        let response = span
            .in_scope(|| next.handle(request))
            .inspect_err(|error| {
                let failure = crate::exchange::failure(error);
                span.failed(&failure.kind);
                self.shared.state.judge_failure(&bearer, &failure);
            })?;
        let status = response.status();
        span.status(status);
        match self.shared.state.judge(&bearer, status, response.headers()) {
            ApiVerdict::Fail(error) => Err(ureq::Error::Other(Box::new(Error::from(error)))),
            _ if self.status_as_error && (status.is_client_error() || status.is_server_error()) => {
                Err(ureq::Error::StatusCode(status.as_u16()))
            }
            _ => Ok(response),
        }
    }
}

impl fmt::Debug for BearerMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerMiddleware")
            .field("http_status_as_error", &self.status_as_error)
            .finish_non_exhaustive()
    }
}
