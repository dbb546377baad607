//! [`HttpSettings`]: the checked settings a transport sends with, and the headers it adds.

use crate::error::Error;
use crate::request::target;
use bearer_protocol::config::is_loopback;
use http::header::USER_AGENT;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
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
    /// Whether API calls may go over plain `http` to a host that is not loopback.
    pub allow_plain_http: bool,
    /// The proxies requests go through (none for loopback).
    pub proxies: crate::Proxies,
}

impl HttpSettings {
    /// Whether a call with this scheme to this host may carry the bearer token (see
    /// [`check_target`](Self::check_target), which says why not): for a transport whose URLs
    /// are not [`Uri`]s, on the hot path.
    pub fn may_carry_token(&self, scheme: &str, host: Option<&str>) -> bool {
        match (scheme, host) {
            ("https", Some(_)) => true,
            ("http", Some(host)) => self.allow_plain_http || is_loopback(host),
            _ => false,
        }
    }

    /// Checks that a call to `uri` may carry the bearer token: an absolute `https` URL, or
    /// `http` to loopback (or anywhere, with `allow_plain_http`).
    pub fn check_target(&self, uri: &Uri) -> Result<(), Error> {
        if self.may_carry_token(uri.scheme_str().unwrap_or_default(), uri.host()) {
            return Ok(());
        }
        let Some(host) = uri.host().filter(|_| uri.scheme().is_some()) else {
            return Err(Error::InvalidRequest(
                "the URL is not absolute; give the scheme and host (https://…)".to_owned(),
            ));
        };
        match uri.scheme_str() {
            Some("https") => Ok(()),
            Some("http") if self.allow_plain_http || is_loopback(host) => Ok(()),
            Some("http") => Err(Error::PlainHttp {
                target: target(uri),
            }),
            _ => Err(Error::InvalidRequest(
                "the URL's scheme is neither https nor http".to_owned(),
            )),
        }
    }

    /// Adds `User-Agent`, unless the request sets its own.
    pub fn add_user_agent(&self, headers: &mut HeaderMap) {
        // One lookup (`entry`), not two (`contains_key`, then `insert`): on every call.
        headers
            .entry(USER_AGENT)
            .or_insert_with(|| self.user_agent.clone());
    }

    /// Adds `X-Originating-IP` when one is set, unless the request sets its own.
    pub fn add_originating_ip(&self, headers: &mut HeaderMap) {
        if let Some(ip) = &self.originating_ip {
            headers
                .entry(X_ORIGINATING_IP)
                .or_insert_with(|| ip.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Error, Settings};
    use bearer_protocol::Config;

    fn settings(allow_plain_http: bool) -> super::HttpSettings {
        let config = Config::builder(
            "https://api.example.com/oauth2/token",
            "ysszm2yk7gp5r9ernuaurgcc",
            "w9t7t48g7H",
        )
        .build()
        .expect("valid configuration");
        let mut settings = Settings::new(config, "test");
        settings.allow_plain_http = allow_plain_http;
        settings.check().expect("valid settings").http
    }

    #[test]
    fn the_token_goes_over_plain_http_only_to_loopback_unless_allowed() {
        let strict = settings(false);
        for ok in [
            "https://api.example.com/v1/searchoauth",
            "http://127.0.0.1:8080/v1/searchoauth",
            "http://localhost/v1",
            "http://[::1]:80/v1",
        ] {
            assert!(strict.check_target(&ok.parse().unwrap()).is_ok(), "{ok}");
        }
        let error = strict
            .check_target(
                &"http://api.example.com/v1/searchoauth?secret=1"
                    .parse()
                    .unwrap(),
            )
            .unwrap_err();
        assert!(
            matches!(&error, Error::PlainHttp { target } if target == "http://api.example.com/v1/searchoauth")
        );
        assert!(
            error.to_string().contains("allow_plain_http(true)"),
            "{error}"
        );
        assert!(!error.to_string().contains("secret=1"));
        assert!(matches!(
            strict.check_target(&"/v1/searchoauth".parse().unwrap()),
            Err(Error::InvalidRequest(_))
        ));
        let lax = settings(true);
        assert!(
            lax.check_target(&"http://api.example.com/v1".parse().unwrap())
                .is_ok()
        );
    }
}
