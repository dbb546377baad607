//! Sending over ureq: two agents (token endpoint, API) per route — direct, and one per proxy
//! of the client's [`Proxies`] — that never follow redirects and never turn 4xx/5xx into
//! bodiless errors, capped body reads, and transport failures named for the state machine (a
//! proxy that cannot be reached is named).

use bearer_client_core::Error;
use bearer_client_core::{
    Body, HttpSettings, Proxy, io_failure_kind, target, tls_failure_kind, tls_kind_of,
};
use bearer_protocol::wire::MAX_BODY_BYTES;
use bearer_protocol::{TransportFailure, TransportFailureKind};
use http::Method;
use std::io::Read;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// The client's ureq agents and what it adds to every API call.
pub(crate) struct Exchange {
    /// The direct route first, then one per proxy.
    routes: Vec<Route>,
    settings: HttpSettings,
}

/// A way to the servers: directly or through one proxy, with an agent for token requests and
/// one for API calls (their time-outs differ).
struct Route {
    proxy: Option<Proxy>,
    token_agent: ureq::Agent,
    api_agent: ureq::Agent,
}

impl Route {
    fn new(settings: &HttpSettings, proxy: Option<Proxy>) -> Self {
        Self {
            token_agent: agent(settings, settings.token_timeout, proxy.as_ref()),
            api_agent: agent(settings, settings.timeout, proxy.as_ref()),
            proxy,
        }
    }

    /// `failure`, naming the proxy when the request went through one.
    fn failure(&self, error: &ureq::Error) -> TransportFailure {
        let mut failure = failure(error);
        if let Some(proxy) = &self.proxy {
            failure.message = format!("through {proxy}: {}", failure.message);
        }
        failure
    }
}

impl Exchange {
    pub(crate) fn new(settings: HttpSettings) -> Self {
        let mut routes = vec![Route::new(&settings, None)];
        for proxy in settings.proxies.iter() {
            if !routes.iter().any(|r| r.proxy.as_ref() == Some(proxy)) {
                routes.push(Route::new(&settings, Some(proxy.clone())));
            }
        }
        Self { routes, settings }
    }

    /// The route a request to `uri` takes.
    fn route(&self, uri: &http::Uri) -> &Route {
        let proxy = self.settings.proxies.for_uri(uri);
        self.routes
            .iter()
            .find(|route| route.proxy.as_ref() == proxy)
            .unwrap_or(&self.routes[0])
    }

    /// The settings it sends with.
    pub(crate) fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Sends a token request; reads at most one byte more than the parsers accept, so that an
    /// oversized answer reaches them as too large instead of being read whole.
    pub(crate) fn token(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportFailure> {
        let route = self.route(request.uri());
        let response = run(&route.token_agent, request).map_err(|e| route.failure(&e))?;
        let (parts, body) = response.into_parts();
        let (bytes, _) = read_capped(body, MAX_BODY_BYTES).map_err(|e| route.failure(&e))?;
        Ok(http::Response::from_parts(parts, bytes))
    }

    /// Sends an API call to `uri` (the bearer header already attached) and reads its whole
    /// body. (The target an error names is built only on an error: not on the hot path.)
    pub(crate) fn api(
        &self,
        mut request: http::Request<Vec<u8>>,
        uri: &http::Uri,
    ) -> Result<http::Response<Body>, Error> {
        self.settings.add_originating_ip(request.headers_mut());
        let route = self.route(uri);
        let transport = |error: ureq::Error| Error::Transport {
            target: target(uri),
            failure: route.failure(&error),
        };
        let response = run(&route.api_agent, request).map_err(transport)?;
        let (parts, body) = response.into_parts();
        let limit = self.settings.max_response_bytes;
        let (bytes, over) = read_capped(body, limit).map_err(transport)?;
        if over {
            return Err(Error::ResponseTooLarge { limit });
        }
        Ok(http::Response::from_parts(parts, Body::new(bytes)))
    }
}

fn agent(settings: &HttpSettings, timeout: Duration, proxy: Option<&Proxy>) -> ureq::Agent {
    // Never ureq's own reading of the environment: the client's proxies decide, per target.
    let proxy = proxy.and_then(|proxy| ureq::Proxy::new(proxy.url()).ok());
    let mut builder = ureq::Agent::config_builder()
        .proxy(proxy)
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        // Checked as visible ASCII when the client was built.
        .user_agent(settings.user_agent.to_str().unwrap_or_default())
        .timeout_connect(Some(settings.connect_timeout))
        .timeout_global(Some(timeout));
    if !settings.root_certificates.is_empty() {
        let roots: Vec<Certificate<'static>> = settings
            .root_certificates
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned())
            .collect();
        let tls = TlsConfig::builder()
            .root_certs(RootCerts::new_with_certs(&roots))
            .build();
        builder = builder.tls_config(tls);
    }
    builder.build().new_agent()
}

/// Runs a request; a body-less method with an empty body goes without `Content-Length`.
fn run(
    agent: &ureq::Agent,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<ureq::Body>, ureq::Error> {
    let bodiless = request.body().is_empty()
        && matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS
        );
    if bodiless {
        let (parts, _) = request.into_parts();
        agent.run(http::Request::from_parts(parts, ()))
    } else {
        agent.run(request)
    }
}

/// Reads at most `limit + 1` bytes; `true` when there was more than `limit`.
fn read_capped(body: ureq::Body, limit: usize) -> Result<(Vec<u8>, bool), ureq::Error> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    body.into_reader()
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(ureq::Error::from)?;
    let over = bytes.len() > limit;
    Ok((bytes, over))
}

/// Names a ureq failure for the state machine, without repeating a URL.
pub(crate) fn failure(error: &ureq::Error) -> TransportFailure {
    use TransportFailureKind::{Connect, Interrupted, Other, TimedOut};
    let (kind, message) = match error {
        ureq::Error::Timeout(which) => (TimedOut, format!("time-out: {which}")),
        ureq::Error::Io(io) => (
            tls_failure_kind(io).unwrap_or_else(|| io_failure_kind(io)),
            io.to_string(),
        ),
        ureq::Error::HostNotFound => (Connect, "host not found".to_owned()),
        ureq::Error::ConnectionFailed => (Connect, "connection failed".to_owned()),
        ureq::Error::Tls(reason) => (TransportFailureKind::Tls, format!("TLS: {reason}")),
        ureq::Error::Rustls(tls) => (tls_kind_of(tls), format!("TLS: {tls}")),
        ureq::Error::Protocol(protocol) => (Interrupted, format!("HTTP protocol: {protocol}")),
        ureq::Error::BadUri(_) => (Other, "the URL is not valid".to_owned()),
        ureq::Error::RequireHttpsOnly(_) => (Other, "the URL is not https".to_owned()),
        other => (Other, other.to_string()),
    };
    TransportFailure::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_never_repeat_the_url() {
        let failure = failure(&ureq::Error::BadUri("https://x/?secret=1".to_owned()));
        assert!(!failure.to_string().contains("secret"));
    }

    #[test]
    fn a_refused_certificate_is_named_and_permanent() {
        let refused = ureq::Error::Rustls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName,
        ));
        let failure = failure(&refused);
        assert_eq!(
            failure.kind,
            TransportFailureKind::Certificate(bearer_protocol::CertificateProblem::NameMismatch)
        );
        assert!(failure.kind.is_permanent());
    }
}
