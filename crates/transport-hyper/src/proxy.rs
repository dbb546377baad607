//! [`Connector`]: the TCP connector under TLS, directly to the target or through a `CONNECT`
//! tunnel of the proxy the client's [`Proxies`] name for it (never for loopback). A proxy that
//! cannot be reached, or refuses the tunnel, is named in the error.

use bearer_client_core::{Proxies, Proxy};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::TokioIo;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Connects to a target directly or through its proxy.
#[derive(Clone)]
pub(crate) struct Connector {
    tcp: HttpConnector,
    proxies: Arc<Proxies>,
}

impl Connector {
    pub(crate) fn new(tcp: HttpConnector, proxies: Proxies) -> Self {
        Self {
            tcp,
            proxies: Arc::new(proxies),
        }
    }
}

impl Service<http::Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, target: http::Uri) -> Self::Future {
        let Some(proxy) = self.proxies.for_uri(&target).cloned() else {
            let connecting = self.tcp.call(target);
            return Box::pin(async move { connecting.await.map_err(Into::into) });
        };
        let mut tunnel = Tunnel::new(proxy.uri().clone(), self.tcp.clone());
        if let Some(authorization) = proxy.authorization() {
            tunnel = tunnel.with_auth(authorization.clone());
        }
        // The tunnel asks for port 443 when the target names none: say the scheme's.
        let target = with_port(target);
        let connecting = tunnel.call(target);
        Box::pin(async move {
            connecting.await.map_err(|source| {
                let source: BoxError = Box::new(source);
                Box::new(ThroughProxy { proxy, source }) as BoxError
            })
        })
    }
}

/// `uri` with its scheme's default port made explicit.
fn with_port(uri: http::Uri) -> http::Uri {
    if uri.port_u16().is_some() {
        return uri;
    }
    let port = if uri.scheme_str() == Some("http") {
        80
    } else {
        443
    };
    let mut parts = uri.clone().into_parts();
    let Some(host) = uri.host() else { return uri };
    parts.authority = format!("{host}:{port}").parse().ok();
    http::Uri::from_parts(parts).unwrap_or(uri)
}

/// A connection through `proxy` that failed.
struct ThroughProxy {
    proxy: Proxy,
    source: BoxError,
}

impl fmt::Display for ThroughProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "through {}", self.proxy)
    }
}

impl fmt::Debug for ThroughProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThroughProxy")
            .field("proxy", &self.proxy)
            .field("source", &self.source)
            .finish()
    }
}

impl StdError for ThroughProxy {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}
