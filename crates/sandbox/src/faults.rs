//! Fault injection: what the next N token or API answers should be instead of (or on top of)
//! the normal answer.
//!
//! Faults are state of the provider, queued in order. Those a pure function can perform (an
//! error status and body) replace the answer; those it cannot (a connection reset, a delay, a
//! truncated body) are signalled to the server layer as an [`Effect`] in the response's
//! extensions, and the server carries them out.

use crate::respond;
use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// Which answers a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    /// Answers of the token endpoint.
    Token,
    /// Answers of the protected API.
    Api,
    /// The next answer of either.
    Any,
}

impl FaultTarget {
    fn covers(self, endpoint: FaultTarget) -> bool {
        self == FaultTarget::Any || self == endpoint
    }
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 500 with a JSON body `{"error":"server_error",…}`.
    ServerError,
    /// 502 with an HTML page from a load balancer in front of the gateway (`text/html`, no
    /// gateway error code).
    BadGateway,
    /// 503 from the gateway: `ERR_503_SERVICE_UNAVAILABLE`, "Scheduled Maintenance",
    /// `<h1>Service Unavailable</h1>` as `text/xml`.
    ServiceUnavailable,
    /// The connection is reset (TCP RST) without an answer.
    ConnectionReset,
    /// The normal answer, sent after this (real-time) delay.
    Delay(Duration),
    /// The normal answer with its full `Content-Length`, but only the first half of the body is
    /// sent before the connection is cut.
    TruncatedBody,
    /// Status 200 carrying a JSON OAuth error body `{"error": CODE, …}`.
    ErrorIn200(String),
}

impl Fault {
    /// Whether the normal answer is still computed (and the call counted): delays and truncated
    /// bodies wrap the normal answer; the others replace it without touching any state.
    pub fn wraps_answer(&self) -> bool {
        matches!(self, Fault::Delay(_) | Fault::TruncatedBody)
    }

    /// The name used by the admin route.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::ServerError => "server_error",
            Fault::BadGateway => "bad_gateway",
            Fault::ServiceUnavailable => "service_unavailable",
            Fault::ConnectionReset => "connection_reset",
            Fault::Delay(_) => "delay",
            Fault::TruncatedBody => "truncated_body",
            Fault::ErrorIn200(_) => "error_in_200",
        }
    }

    /// The answer that replaces the normal one, with the effect the server must carry out.
    pub(crate) fn replacement(&self) -> Response<Vec<u8>> {
        match self {
            Fault::ServerError => {
                let mut response = respond::oauth_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    Some("The server encountered an unexpected condition"),
                );
                respond::from_gateway(&mut response);
                response
            }
            Fault::BadGateway => respond::with_body(
                StatusCode::BAD_GATEWAY,
                "text/html",
                BAD_GATEWAY_PAGE.as_bytes().to_vec(),
            ),
            Fault::ServiceUnavailable => {
                let mut response = respond::gateway_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ERR_503_SERVICE_UNAVAILABLE",
                    Some("Scheduled Maintenance"),
                    "Service Unavailable",
                );
                respond::from_gateway(&mut response);
                response
            }
            Fault::ErrorIn200(code) => {
                let mut response = respond::oauth_error(
                    StatusCode::OK,
                    code,
                    Some("The request failed although the status says otherwise"),
                );
                respond::from_gateway(&mut response);
                response
            }
            Fault::ConnectionReset => {
                let mut response = Response::new(Vec::new());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response.extensions_mut().insert(Effect::Reset);
                response
            }
            // Wrapping faults have no replacement; never asked for, but harmless.
            Fault::Delay(_) | Fault::TruncatedBody => Response::new(Vec::new()),
        }
    }

    /// The effect that wraps the normal answer, for wrapping faults.
    pub(crate) fn wrapping_effect(&self) -> Option<Effect> {
        match self {
            Fault::Delay(delay) => Some(Effect::Delay(*delay)),
            Fault::TruncatedBody => Some(Effect::Truncate),
            _ => None,
        }
    }
}

/// The page of the 502 fault: what a load balancer in front of the gateway sends.
pub const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";

/// What the server layer must do with an answer, beyond sending it. Found in the response's
/// extensions ([`Effect::of`]); a pure caller of the provider (a simulation) may act on it or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reset the connection instead of answering.
    Reset,
    /// Wait this long (real time) before answering.
    Delay(Duration),
    /// Send the headers with the full `Content-Length`, then half the body, then cut the
    /// connection.
    Truncate,
    /// Move the sandbox clock forward by this much (the admin clock route).
    AdvanceClock(Duration),
}

impl Effect {
    /// The effect attached to a provider's answer, if any.
    pub fn of<B>(response: &Response<B>) -> Option<Effect> {
        response.extensions().get::<Effect>().copied()
    }
}

/// A fault waiting in the queue, as the admin route shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingFault {
    /// Which answers it applies to.
    pub target: FaultTarget,
    /// Its kind (`server_error`, `bad_gateway`, …).
    pub kind: &'static str,
    /// For `delay`, the delay in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// For `error_in_200`, the error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The queue of faults to inject.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultQueue {
    queue: VecDeque<(FaultTarget, Fault)>,
}

/// Most faults the queue holds; more are refused, so a runaway test cannot exhaust memory.
pub const MAX_QUEUED_FAULTS: usize = 10_000;

impl FaultQueue {
    /// Queues `count` copies of `fault`; returns how many were queued (capped).
    pub(crate) fn push(&mut self, target: FaultTarget, fault: Fault, count: usize) -> usize {
        let room = MAX_QUEUED_FAULTS.saturating_sub(self.queue.len());
        let count = count.min(room);
        for _ in 0..count {
            self.queue.push_back((target, fault.clone()));
        }
        count
    }

    /// Takes the first fault that applies to an answer of `endpoint` (`Token` or `Api`).
    pub(crate) fn take(&mut self, endpoint: FaultTarget) -> Option<Fault> {
        let position = self.queue.iter().position(|(t, _)| t.covers(endpoint))?;
        self.queue.remove(position).map(|(_, fault)| fault)
    }

    pub(crate) fn clear(&mut self) -> usize {
        let n = self.queue.len();
        self.queue.clear();
        n
    }

    pub(crate) fn pending(&self) -> Vec<PendingFault> {
        self.queue
            .iter()
            .map(|(target, fault)| PendingFault {
                target: *target,
                kind: fault.kind(),
                delay_ms: match fault {
                    Fault::Delay(d) => Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                    _ => None,
                },
                error: match fault {
                    Fault::ErrorIn200(code) => Some(code.clone()),
                    _ => None,
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_in_order_to_their_target() {
        let mut queue = FaultQueue::default();
        queue.push(FaultTarget::Api, Fault::BadGateway, 1);
        queue.push(FaultTarget::Any, Fault::ServerError, 1);
        queue.push(FaultTarget::Token, Fault::ConnectionReset, 2);
        assert_eq!(queue.take(FaultTarget::Token), Some(Fault::ServerError));
        assert_eq!(queue.take(FaultTarget::Token), Some(Fault::ConnectionReset));
        assert_eq!(queue.take(FaultTarget::Api), Some(Fault::BadGateway));
        assert_eq!(queue.take(FaultTarget::Api), None);
        assert_eq!(queue.pending().len(), 1);
        assert_eq!(queue.clear(), 1);
    }

    #[test]
    fn the_queue_is_capped() {
        let mut queue = FaultQueue::default();
        assert_eq!(
            queue.push(FaultTarget::Any, Fault::ServerError, usize::MAX),
            MAX_QUEUED_FAULTS
        );
        assert_eq!(queue.push(FaultTarget::Any, Fault::ServerError, 1), 0);
    }
}
