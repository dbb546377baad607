//! The thin server: serves a [`Provider`](crate::Provider) over HTTP/1.1 and HTTP/2 (hyper 1 on
//! tokio), plain or TLS, and carries out the [`Effect`](crate::Effect)s a pure function cannot
//! (reset, delay, truncated body, moving the clock).
//!
//! - [`config`]: [`SandboxConfig`], how to start one.
//! - [`sandbox`]: [`Sandbox`], the handle: start, URLs, clock, provider helpers, stop.
//! - [`shared`]: what the server's tasks share, and its set-up (provider, socket, TLS).
//! - [`accept`]: the accept loop and each connection under hyper.
//! - [`conn_io`]: the socket under a connection (activity, reset, lingering close).
//! - [`answer`]: one request answered and its effect carried out.
//! - [`request_body`] and [`response_body`]: the capped request body, the sent (or cut) one.
//! - [`tls`]: the generated test CA, the acceptor and the handshake.

mod accept;
mod answer;
mod config;
mod conn_io;
mod request_body;
mod response_body;
mod sandbox;
mod shared;
mod tls;

pub use config::SandboxConfig;
pub use sandbox::Sandbox;
#[cfg(test)]
pub(crate) use sandbox::percent_encode;
pub(crate) use shared::Shared;
