//! [`BearerMiddleware`]: bearer auth for a program's own
//! [`reqwest_middleware::ClientWithMiddleware`], from the same token state as the
//! [`Client`](crate::Client) it came from.

use crate::client::Shared;
use crate::net;
use bearer_client_core::{Attempts, Error, Purpose, Resend, WaitCause};
use bearer_protocol::TransportFailure;
use http::Extensions;
use http::header::AUTHORIZATION;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A [`reqwest_middleware::Middleware`] that adds `Authorization: Bearer …` to every request
/// (see [`Client::middleware`](crate::Client::middleware)). Clones share the client's token
/// state: one token request however many tasks call.
///
/// ```no_run
/// # async fn run(client: bearer_transport_reqwest::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(client.middleware())
///     .build();
/// let answer = api
///     .get("https://api.example.com/v1/searchoauth")
///     .query(&[("query", "privacy")])
///     .send()
///     .await?;
/// println!("{}", answer.status());
/// # Ok(()) }
/// ```
///
/// - Each answer's status and headers are judged by the token state, as the client's own
///   calls are: quota headers and over-QPS denials feed the budget and pacing.
/// - A 401 for a stale token is replayed once with a renewed token when the request can be
///   cloned ([`reqwest::Request::try_clone`]: any body but a stream); otherwise the call fails
///   with [`Error::TokenRefusedNotReplayable`] (the next call gets a renewed token).
/// - "Over queries per second" is waited out and the call sent again (up to the client's
///   `over_qps_retries`, within its `max_wait`) when the request can be cloned; otherwise the
///   answer is returned as it came.
/// - What the program's reqwest client sets for itself stays its own: its `User-Agent`, its
///   time-outs, its proxies and its redirect policy (the middleware sets no per-request
///   time-out, which would replace the client's). From the bearer client each request gets
///   `X-Originating-IP` when one is configured and the request has none, and the refusal of
///   plain `http` off loopback ([`Error::PlainHttp`]). The answer's body is the caller's to
///   read: the client's `max_response_bytes` caps only its own calls.
/// - Errors of the token state (credentials refused, quota spent, a wait too long) come as
///   [`reqwest_middleware::Error::Middleware`] holding an [`Error`]: `downcast_ref::<Error>()`
///   it; reqwest's own errors come as they are.
/// - Redirects follow the reqwest client's policy, under this middleware (the answer judged is
///   the last one); reqwest drops `Authorization` when a redirect leaves the host.
#[derive(Clone)]
pub struct BearerMiddleware {
    shared: Arc<Shared>,
}

impl BearerMiddleware {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

fn refused(error: Error) -> reqwest_middleware::Error {
    reqwest_middleware::Error::middleware(error)
}

/// How an attempt failed, for the state machine (never naming the URL).
fn failure_of(error: &reqwest_middleware::Error) -> TransportFailure {
    match error {
        // The program's own client: its proxies are its own, not the settings'.
        reqwest_middleware::Error::Reqwest(error) => net::failure(error),
        reqwest_middleware::Error::Middleware(error) => {
            let error: &(dyn std::error::Error + 'static) = &**error;
            TransportFailure::new(net::classify(error), net::describe(error))
        }
    }
}

/// A copy of `request` to send again, or `None` when its body cannot be copied (a stream).
///
/// For a request without a body (most API calls) it copies what [`Request::try_clone`] copies
/// (method, URL, headers, version, time-out) without the two allocations `try_clone` spends
/// on a map of extensions for a time-out the request does not have; with a body it is
/// `try_clone`.
fn spare(request: &Request) -> Option<Request> {
    if request.body().is_some() {
        return request.try_clone();
    }
    let mut spare = Request::new(request.method().clone(), request.url().clone());
    *spare.headers_mut() = request.headers().clone();
    *spare.version_mut() = request.version();
    if let Some(timeout) = request.timeout() {
        *spare.timeout_mut() = Some(*timeout);
    }
    Some(spare)
}

/// `#[async_trait]` written out by hand: the macro moves each argument into a local of the
/// boxed future, so the request would be stored in it twice, and this future is allocated on
/// every call. The future here keeps each await's locals in blocks that end before the next,
/// so that it stays small (a few hundred bytes: below the allocator's per-thread cache).
impl Middleware for BearerMiddleware {
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        mut request: Request,
        extensions: &'life1 mut Extensions,
        next: Next<'life2>,
    ) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let shared = &*self.shared;
            let settings = &shared.settings;
            let url = request.url();
            if !settings.may_carry_token(url.scheme(), url.host_str()) {
                // Why not, in the words every transport uses.
                let uri = http::Uri::try_from(url.as_str()).map_err(|_| {
                    refused(Error::InvalidRequest(
                        "the URL is not a valid absolute URL".to_owned(),
                    ))
                })?;
                settings.check_target(&uri).map_err(refused)?;
            }
            settings.add_originating_ip(request.headers_mut());
            let state = &shared.state;
            let mut attempts = Attempts::new();
            loop {
                let (again, retry_at) = {
                    let bearer = shared.authorize(Purpose::Call).await.map_err(refused)?;
                    let spare = spare(&request);
                    request
                        .headers_mut()
                        .insert(AUTHORIZATION, bearer.header_value().clone());
                    let span = state.call_span_url(
                        request.method(),
                        request.url().as_str(),
                        attempts.resends(),
                    );
                    let response = match span
                        .instrument(next.clone().run(request, &mut *extensions))
                        .await
                    {
                        Ok(response) => {
                            span.status(response.status());
                            response
                        }
                        Err(error) => {
                            let failure = failure_of(&error);
                            span.failed(&failure.kind);
                            state.judge_failure(&bearer, &failure);
                            return Err(error);
                        }
                    };
                    let verdict = state.judge(&bearer, response.status(), response.headers());
                    match attempts
                        .follow_spare(state, verdict, response.headers(), spare)
                        .map_err(refused)?
                    {
                        Resend::Deliver => return Ok(response),
                        Resend::Now(spare) => (spare, None),
                        Resend::At(spare, retry_at) => (spare, Some(retry_at)),
                    }
                };
                request = again;
                if let Some(retry_at) = retry_at {
                    // Boxed: the timer stays out of every call's future.
                    Box::pin(bearer_client_core::sleep_until(
                        state,
                        retry_at,
                        WaitCause::RetryAfter,
                    ))
                    .await;
                }
            }
        })
    }
}

impl fmt::Debug for BearerMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerMiddleware").finish_non_exhaustive()
    }
}
