//! [`HttpSettings`]: the checked settings a transport sends with, and the headers it adds.

use http::header::USER_AGENT;
use http::{HeaderMap, HeaderName, HeaderValue};
use rustls_pki_types::CertificateDer;
use std::time::Duration;

/// `X-Originating-IP`, the end user's address, as the provider's guide shows it.
pub const X_ORIGINATING_IP: HeaderName = HeaderName::from_static("x-originating-ip");

/// What a transport sends with, from [`Settings::check`](crate::Settings::check).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Time to set up a connection, TCP and TLS (longer than zero).
    pub connect_timeout: Duration,
    /// Time for a whole API call, answer body included (longer than zero).
    pub timeout: Duration,
    /// Time for a whole token request: the shorter of `timeout` and the configuration's
    /// `token_request_timeout`.
    pub token_timeout: Duration,
    /// The `User-Agent` header (visible ASCII).
    pub user_agent: HeaderValue,
    /// The `X-Originating-IP` header of the client's own calls, if set.
    pub originating_ip: Option<HeaderValue>,
    /// The only roots to trust, when not empty (otherwise the Mozilla roots).
    pub root_certificates: Vec<CertificateDer<'static>>,
    /// The largest API response body read.
    pub max_response_bytes: usize,
}

impl HttpSettings {
    /// Adds `User-Agent`, unless the request sets its own.
    pub fn add_user_agent(&self, headers: &mut HeaderMap) {
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, self.user_agent.clone());
        }
    }

    /// Adds `X-Originating-IP` when one is set, unless the request sets its own.
    pub fn add_originating_ip(&self, headers: &mut HeaderMap) {
        if let Some(ip) = &self.originating_ip {
            if !headers.contains_key(&X_ORIGINATING_IP) {
                headers.insert(X_ORIGINATING_IP, ip.clone());
            }
        }
    }
}
