//! The HTTP side: a reqwest client over rustls, the token exchange, capped body reads, and
//! naming transport failures.
//!
//! The client never follows redirects: a 3xx answer is handed back as it came, so an
//! `Authorization` header never travels to another host.

use bearer_client_core::{Error, HttpSettings, Proxies, TokenAnswer};
use bearer_protocol::wire::MAX_BODY_BYTES;
use bearer_protocol::{TransportFailure, TransportFailureKind};
use std::error::Error as StdError;
use std::io;

/// Builds the client every request of a [`Client`](crate::Client) goes through: over rustls
/// (ring), HTTP/2 when the server offers it by ALPN and HTTP/1.1 otherwise (plain HTTP is
/// always HTTP/1.1), trusting the Mozilla roots, or only the settings' root certificates when
/// there are any; no redirects; the settings' connect time-out; the proxies the settings name
/// (client-core's reading of the environment, not reqwest's own).
pub(crate) fn http_client(settings: &HttpSettings) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(settings.root_certificates.is_empty())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .tcp_nodelay(true)
        .connect_timeout(settings.connect_timeout);
    if !settings.proxies.is_empty() {
        let proxies = settings.proxies.clone();
        // Asked per request: the proxy client-core names for the target (none for loopback),
        // its credentials in its URL (sent as `Proxy-Authorization: Basic`).
        builder = builder.proxy(reqwest::Proxy::custom(move |url| {
            let uri: http::Uri = url.as_str().parse().ok()?;
            reqwest::Url::parse(proxies.for_uri(&uri)?.url()).ok()
        }));
    }
    for root in &settings.root_certificates {
        let certificate = reqwest::Certificate::from_der(root).map_err(|e| {
            Error::settings(
                "root_certificate",
                format!("is not a CA certificate rustls accepts ({e}); pass the CA's PEM"),
            )
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build().map_err(|e| {
        if settings.root_certificates.is_empty() {
            Error::settings("tls", format!("could not be set up ({})", describe(&e)))
        } else {
            Error::settings(
                "root_certificate",
                format!(
                    "could not be used to set up TLS ({}); pass the CA's PEM",
                    describe(&e)
                ),
            )
        }
    })
}

/// Sends a token request and reads its answer (at most [`MAX_BODY_BYTES`] + 1 bytes, so that a
/// larger body is seen as too large by the parser), within the token time-out.
pub(crate) async fn exchange(
    client: &reqwest::Client,
    settings: &HttpSettings,
    mut request: http::Request<Vec<u8>>,
) -> TokenAnswer {
    settings.add_user_agent(request.headers_mut());
    let exchange = async {
        let request = reqwest::Request::try_from(request).map_err(|e| {
            TransportFailure::new(TransportFailureKind::Other, describe(&e.without_url()))
        })?;
        let uri: Option<http::Uri> = request.url().as_str().parse().ok();
        let response = client
            .execute(request)
            .await
            .map_err(|e| failure_via(&e, &settings.proxies, uri.as_ref()))?;
        let (head, body) = read_capped(response, MAX_BODY_BYTES + 1).await?;
        Ok(head.body(body).unwrap_or_default())
    };
    match tokio::time::timeout(settings.token_timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(TransportFailure::new(
            TransportFailureKind::TimedOut,
            format!("no complete answer within {:?}", settings.token_timeout),
        )),
    }
}

/// The status, version and headers of `response`, and its body: at most `cap` bytes of it.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<(http::response::Builder, Vec<u8>), TransportFailure> {
    let mut head = http::Response::builder()
        .status(response.status())
        .version(response.version());
    if let Some(headers) = head.headers_mut() {
        *headers = std::mem::take(response.headers_mut());
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failure(&e))? {
        let room = cap.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= cap {
            break;
        }
    }
    Ok((head, out))
}

/// A reqwest error as the state machine sees it: its kind and its description (never the
/// URL, whose query may hold secrets).
pub(crate) fn failure(error: &reqwest::Error) -> TransportFailure {
    TransportFailure::new(classify(error), describe(error))
}

/// A reqwest error of a request to `uri`, naming the proxy when one could not be reached.
pub(crate) fn failure_via(
    error: &reqwest::Error,
    proxies: &Proxies,
    uri: Option<&http::Uri>,
) -> TransportFailure {
    let failure = failure(error);
    match uri.and_then(|uri| proxies.for_uri(uri)) {
        Some(proxy) if error.is_connect() => TransportFailure::new(
            failure.kind,
            format!("through {proxy}: {}", failure.message),
        ),
        _ => failure,
    }
}

/// An API call's transport error; `uri` is the call's (its target names only the scheme,
/// host and path).
pub(crate) fn api_error(uri: &http::Uri, proxies: &Proxies, error: &reqwest::Error) -> Error {
    Error::Transport {
        target: bearer_client_core::target(uri),
        failure: failure_via(error, proxies, Some(uri)),
    }
}

/// The error and its sources, joined, without the URL a reqwest error names (reqwest's,
/// hyper's and rustls' messages carry no headers or bodies).
pub(crate) fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut message = match error.downcast_ref::<reqwest::Error>() {
        Some(error) if error.url().is_some() => {
            // A reqwest error's own text names the URL; the kind flags say the same without it.
            let what = if error.is_timeout() {
                "timed out"
            } else if error.is_connect() {
                "could not connect"
            } else if error.is_body() || error.is_decode() {
                "could not read the body"
            } else if error.is_request() {
                "could not send the request"
            } else {
                "failed"
            };
            what.to_owned()
        }
        _ => error.to_string(),
    };
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

/// Classifies an error of reqwest, hyper, rustls or the socket by walking its sources.
pub(crate) fn classify(error: &(dyn StdError + 'static)) -> TransportFailureKind {
    if let Some(tls) = bearer_client_core::tls_failure_kind(error) {
        return tls;
    }
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(reqwest) = error.downcast_ref::<reqwest::Error>() {
            if reqwest.is_timeout() {
                return TransportFailureKind::TimedOut;
            }
            if reqwest.is_connect() {
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
