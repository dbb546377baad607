//! Answering one request: the body read under the cap, the provider asked, the head finished
//! (the date from the sandbox clock, reason phrases, closing after a refused body) and the
//! provider's [`Effect`] carried out.

use super::conn_io::ConnControl;
use super::request_body;
use super::response_body::{Abort, SandboxBody};
use super::shared::Shared;
use crate::faults::Effect;
use crate::hold;
use crate::provider::BodyOverLimit;
use crate::respond;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, HeaderValue};
use http::response::Parts;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

/// Answers one request: reads the body (capped), asks the provider, carries out the effect.
pub(super) async fn answer(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    control: Arc<ConnControl>,
) -> Result<Response<SandboxBody>, Abort> {
    let _in_flight = control.activity.request();
    let request = read_request(request, &shared).await?;
    let over_limit = request.extensions().get::<BodyOverLimit>().is_some();
    if over_limit {
        // The rest of the body stays unread: the connection closes after the answer.
        control.linger.store(true, Ordering::SeqCst);
    }
    let now = shared.clock.now();
    let response = shared.with(|provider| provider.handle(now, request));
    let (mut parts, body) = response.into_parts();
    finish_head(&mut parts, now, over_limit);
    let effect = parts.extensions.remove::<Effect>();
    let body = carry_out(
        effect,
        &mut parts,
        SandboxBody::full(body),
        &shared,
        &control,
    )
    .await?;
    Ok(Response::from_parts(parts, body))
}

/// The request with its body read under the cap (marked [`BodyOverLimit`] when over it), within
/// the body read time-out.
async fn read_request(
    request: Request<Incoming>,
    shared: &Shared,
) -> Result<Request<Vec<u8>>, Abort> {
    let (parts, mut body) = request.into_parts();
    let read = request_body::read(&parts.headers, &mut body, shared.max_body);
    let body = match tokio::time::timeout(shared.limits.body_read_timeout, read).await {
        Ok(body) => body?,
        Err(_) => {
            shared.connections.body_timed_out();
            return Err(Abort);
        }
    };
    let mut request = Request::from_parts(parts, body.bytes);
    if body.over_limit {
        request.extensions_mut().insert(BodyOverLimit);
    }
    if shared.tls {
        // The pages write absolute URLs (sample code); HTTP/1.1 requests do not carry a scheme.
        request.extensions_mut().insert(http::uri::Scheme::HTTPS);
    }
    Ok(request)
}

/// What the server adds to the provider's head: `Date` from the sandbox clock, the gateway's
/// reason phrase for 596, `Connection: close` after a body left unread, and never a 101.
fn finish_head(parts: &mut Parts, now: SystemTime, close: bool) {
    if let Some(date) = crate::admin::http_date(now).and_then(|d| HeaderValue::from_str(&d).ok()) {
        parts.headers.entry(DATE).or_insert(date);
    }
    if parts.status.as_u16() == respond::SERVICE_NOT_FOUND {
        parts
            .extensions
            .insert(hyper::ext::ReasonPhrase::from_static(b"Service Not Found"));
    }
    if close {
        parts
            .headers
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    if parts.status == StatusCode::SWITCHING_PROTOCOLS {
        // The provider never upgrades; never let a 101 through.
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
    }
}

/// Carries out what the provider asked the server to do; the body to send, or [`Abort`] for a
/// reset.
async fn carry_out(
    effect: Option<Effect>,
    parts: &mut Parts,
    body: SandboxBody,
    shared: &Arc<Shared>,
    control: &ConnControl,
) -> Result<SandboxBody, Abort> {
    match effect {
        None => {}
        Some(Effect::AdvanceClock(by)) => shared.clock.advance(by),
        Some(Effect::Hold(id)) => hold::wait_released(shared, id).await,
        Some(Effect::Release) => shared.changes.notify(),
        Some(Effect::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Effect::Reset) => {
            control.reset.store(true, Ordering::SeqCst);
            return Err(Abort);
        }
        Some(Effect::Truncate) => {
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            return Ok(body.truncated());
        }
    }
    Ok(body)
}
