//! [`BearerLayer`]: bearer auth for any tower `Service<http::Request<B>>`, from the same token
//! state as the [`Client`](crate::Client) it came from.

use crate::flight::Shared;
use crate::net;
use crate::replay::ReplayBody;
use bearer_client_core::{Attempts, BoxError, Error, Purpose, Resend, WaitCause};
use bearer_protocol::{Bearer, TransportFailure, TransportFailureKind};
use http::header::AUTHORIZATION;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// A tower layer that adds `Authorization: Bearer …` to every request (see
/// [`Client::layer`](crate::Client::layer)). Clones, and the services it makes, share the
/// client's token state: one token request however many tasks call.
///
/// ```no_run
/// # async fn run(client: bearer_transport_hyper::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use http_body_util::Full;
/// use hyper_util::client::legacy::Client as HyperClient;
/// use hyper_util::rt::TokioExecutor;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// let http = HyperClient::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
/// let mut api = ServiceBuilder::new().layer(client.layer()).service(http);
/// let request = http::Request::get("http://127.0.0.1:8080/v1/searchoauth?query=privacy")
///     .body(Full::default())?;
/// let answer = api.ready().await?.call(request).await?;
/// println!("{}", answer.status());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BearerLayer {
    shared: Arc<Shared>,
}

impl BearerLayer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl<S> Layer<S> for BearerLayer {
    type Service = BearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

impl fmt::Debug for BearerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerLayer").finish_non_exhaustive()
    }
}

/// The service made by [`BearerLayer`]: gets (or waits for) the token, attaches it, calls the
/// wrapped service, and reports the answer's status and headers to the token state.
///
/// - A 401 for a stale token is replayed once with a renewed token when the body can be sent
///   twice ([`ReplayBody::try_clone`] gives a copy); otherwise the call fails with
///   [`Error::TokenRefusedNotReplayable`] (the next call gets a renewed token).
/// - "Over queries per second" is waited out and the call sent again (up to the client's
///   `over_qps_retries`) when the body can be sent twice; otherwise the answer is returned.
/// - Each request gets what the client's own calls get: its `User-Agent` and
///   `X-Originating-IP` unless the request sets them, the client's time-out up to the answer's
///   head ([`Error::Transport`] past it; the body is then the caller's to read), and the refusal
///   of plain `http` off loopback ([`Error::PlainHttp`]) for an absolute URI (a relative one is
///   the wrapped service's to resolve).
/// - Errors of the token state come as [`Error::Token`]; the wrapped service's own errors as
///   [`Error::Service`].
/// - Redirects are the wrapped service's business: hyper-util's client never follows them.
///   Do not wrap a redirect-following service (such as tower-http's `FollowRedirect`) inside
///   this layer, or the `Authorization` header may travel to another host.
#[derive(Clone)]
pub struct BearerService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: fmt::Debug> fmt::Debug for BearerService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, B, R> Service<http::Request<B>> for BearerService<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: ReplayBody + Send + 'static,
    R: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<R>, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|error| Error::Service(error.into()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The service that was polled ready takes this call; a fresh clone takes its place.
        let fresh = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, fresh);
        let shared = Arc::clone(&self.shared);
        let (mut parts, body) = request.into_parts();
        // A relative URI is the wrapped service's to resolve; an absolute one must be safe for
        // the token.
        if parts.uri.scheme().is_some() {
            if let Err(error) = shared.settings.check_target(&parts.uri) {
                return Box::pin(std::future::ready(Err(error)));
            }
        }
        shared.settings.add_user_agent(&mut parts.headers);
        shared.settings.add_originating_ip(&mut parts.headers);
        Box::pin(run(shared, inner, parts, body))
    }
}

/// The request to send: `parts` (extensions included) with `Authorization: Bearer …`, and
/// `body`.
fn authorized<B>(parts: &http::request::Parts, body: B, bearer: &Bearer) -> http::Request<B> {
    let mut parts = parts.clone();
    parts
        .headers
        .insert(AUTHORIZATION, bearer.header_value().clone());
    http::Request::from_parts(parts, body)
}

/// The call, from the request's parts, as the future every call allocates: an `async` block
/// that uses its captures in place (an `async fn` would store each argument twice, beside the
/// local it moves into) and keeps each await's locals in a block that ends before the next, so
/// that it stays small.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn would store each argument twice in the future"
)]
fn run<S, B, R>(
    shared: Arc<Shared>,
    mut inner: S,
    parts: http::request::Parts,
    mut body: B,
) -> impl Future<Output = Result<http::Response<R>, Error>>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: Into<BoxError>,
    B: ReplayBody,
{
    async move {
        let state = &shared.state;
        let mut attempts = Attempts::new();
        let mut first = true;
        loop {
            let (again, retry_at) = {
                let spare = body.try_clone();
                let bearer = shared.authorize(Purpose::Call).await?;
                if !first {
                    poll_fn(|cx| inner.poll_ready(cx))
                        .await
                        .map_err(|error| Error::Service(error.into()))?;
                }
                first = false;
                let timeout = shared.settings.timeout;
                let span = state.call_span(&parts.method, &parts.uri, attempts.resends());
                let call = inner.call(authorized(&parts, body, &bearer));
                let response = match span.instrument(tokio::time::timeout(timeout, call)).await {
                    Ok(Ok(response)) => {
                        span.status(response.status());
                        response
                    }
                    Ok(Err(error)) => {
                        let error: BoxError = error.into();
                        let failure = net::failure(net::classify(&*error), &*error);
                        span.failed(&failure.kind);
                        state.judge_failure(&bearer, &failure);
                        return Err(Error::Service(error));
                    }
                    Err(_) => {
                        let failure = TransportFailure::new(
                            TransportFailureKind::TimedOut,
                            format!("no answer within {timeout:?}"),
                        );
                        span.failed(&failure.kind);
                        state.judge_failure(&bearer, &failure);
                        return Err(Error::Transport {
                            target: bearer_client_core::target(&parts.uri),
                            failure,
                        });
                    }
                };
                let verdict = state.judge(&bearer, response.status(), response.headers());
                match attempts.follow_spare(state, verdict, response.headers(), spare)? {
                    Resend::Deliver => return Ok(response),
                    Resend::Now(spare) => (spare, None),
                    Resend::At(spare, retry_at) => (spare, Some(retry_at)),
                }
            };
            body = again;
            if let Some(retry_at) = retry_at {
                // Boxed: the timer stays out of every call's future.
                Box::pin(shared.sleep_until(retry_at, WaitCause::RetryAfter)).await;
            }
        }
    }
}
