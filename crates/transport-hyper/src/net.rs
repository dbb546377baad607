//! The HTTP side: a hyper-util client over rustls, the token exchange, and failure kinds.
//!
//! hyper-util's client never follows redirects, and nothing in this crate does: a 3xx answer is
//! handed back as it came, so an `Authorization` header never travels to another host.

use crate::proxy::Connector;
use bearer_client_core::{Error, HttpSettings, Proxies};
use bearer_protocol::wire::MAX_BODY_BYTES;
use bearer_protocol::{TransportFailure, TransportFailureKind};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::error::Error as StdError;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// The hyper-util client every request of a [`Client`](crate::Client) goes through.
pub(crate) type HttpClient = HyperClient<HttpsConnector<Connector>, Full<Bytes>>;

/// Builds the client: over rustls (ring), HTTP/2 when the server offers it by ALPN and
/// HTTP/1.1 otherwise (plain HTTP is always HTTP/1.1: no prior knowledge), trusting the Mozilla
/// roots, or only `extra_roots` when there are any.
pub(crate) fn http_client(
    extra_roots: &[CertificateDer<'static>],
    connect_timeout: Duration,
    proxies: &Proxies,
) -> Result<HttpClient, Error> {
    let mut roots = if !extra_roots.is_empty() {
        RootCertStore::empty()
    } else {
        RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }
    };
    for root in extra_roots {
        roots.add(root.clone()).map_err(|e| {
            Error::settings(
                "root_certificate",
                format!("is not a CA certificate rustls accepts ({e}); pass the CA's PEM"),
            )
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::settings("tls", e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(connect_timeout));
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(Connector::new(tcp, proxies.clone()));
    Ok(HyperClient::builder(TokioExecutor::new()).build(https))
}

/// Sends a token request and reads its answer (at most [`MAX_BODY_BYTES`] + 1 bytes, so that a
/// larger body is seen as too large by the parser), within the token time-out.
pub(crate) async fn exchange(
    client: &HttpClient,
    settings: &HttpSettings,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, TransportFailure> {
    let mut request = request.map(|body| Full::new(Bytes::from(body)));
    settings.add_user_agent(request.headers_mut());
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| failure(classify(&e), &e))?;
        let (parts, body) = response.into_parts();
        let body = read_capped(body, MAX_BODY_BYTES + 1).await?;
        Ok(http::Response::from_parts(parts, body))
    };
    match tokio::time::timeout(settings.token_timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(TransportFailure::new(
            TransportFailureKind::TimedOut,
            format!("no complete answer within {:?}", settings.token_timeout),
        )),
    }
}

async fn read_capped(
    mut body: hyper::body::Incoming,
    cap: usize,
) -> Result<Vec<u8>, TransportFailure> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| failure(classify(&e), &e))?;
        if let Ok(data) = frame.into_data() {
            let room = cap.saturating_sub(out.len());
            out.extend_from_slice(&data[..data.len().min(room)]);
            if out.len() >= cap {
                break;
            }
        }
    }
    Ok(out)
}

pub(crate) fn failure(kind: TransportFailureKind, error: &dyn StdError) -> TransportFailure {
    TransportFailure::new(kind, describe(error))
}

/// An API call's transport error; `target` is the call's scheme, host and path.
pub(crate) fn api_error(target: String, error: &(dyn StdError + 'static)) -> Error {
    Error::Transport {
        target,
        failure: TransportFailure::new(classify(error), describe(error)),
    }
}

/// Reads a whole API answer's body from `uri`, refusing one over `limit` bytes.
pub(crate) async fn read_body(
    body: hyper::body::Incoming,
    limit: usize,
    uri: &http::Uri,
) -> Result<Vec<u8>, Error> {
    let read = read_capped(body, limit.saturating_add(1))
        .await
        .map_err(|failure| Error::Transport {
            target: bearer_client_core::target(uri),
            failure,
        })?;
    if read.len() > limit {
        return Err(Error::ResponseTooLarge { limit });
    }
    Ok(read)
}

/// The error and its sources, joined (hyper's and rustls' messages carry no headers or bodies).
pub(crate) fn describe(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Classifies an error of hyper-util, hyper, rustls or the socket by walking its sources.
pub(crate) fn classify(error: &(dyn StdError + 'static)) -> TransportFailureKind {
    if let Some(tls) = bearer_client_core::tls_failure_kind(error) {
        return tls;
    }
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(legacy) = error.downcast_ref::<hyper_util::client::legacy::Error>() {
            if legacy.is_connect() {
                return TransportFailureKind::Connect;
            }
        }
        if let Some(hyper) = error.downcast_ref::<hyper::Error>() {
            if hyper.is_timeout() {
                return TransportFailureKind::TimedOut;
            }
            if hyper.is_incomplete_message() || hyper.is_canceled() || hyper.is_closed() {
                return TransportFailureKind::Interrupted;
            }
        }
        if let Some(io) = error.downcast_ref::<io::Error>() {
            return bearer_client_core::io_failure_kind(io);
        }
        current = error.source();
    }
    TransportFailureKind::Other
}
