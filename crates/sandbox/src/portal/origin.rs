//! Where the portal is served from, as the browser sees it: the scheme and the host of the
//! request, for the absolute URLs of downloads and examples.

use http::Request;
use http::header::HOST;
use http::uri::Scheme;

/// `scheme://host[:port]` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin(String);

impl Origin {
    /// The request's origin: its scheme (from the URI, or the server's [`Scheme`] extension for
    /// TLS connections; `http` otherwise) and its host (from the URI or the `Host` header). `None`
    /// when the host is missing or not a plain host name or address.
    pub(crate) fn of(request: &Request<Vec<u8>>) -> Option<Self> {
        let scheme = request
            .uri()
            .scheme()
            .or_else(|| request.extensions().get::<Scheme>())
            .map_or(
                "http",
                |s| if *s == Scheme::HTTPS { "https" } else { "http" },
            );
        let host = match request.uri().authority() {
            Some(authority) => authority.as_str(),
            None => request.headers().get(HOST)?.to_str().ok()?,
        };
        let plain = !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        plain.then(|| Self(format!("{scheme}://{host}")))
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_the_host_header_and_the_tls_extension() {
        let mut request = Request::builder()
            .uri("/io-docs")
            .header(HOST, "127.0.0.1:8080")
            .body(Vec::new())
            .unwrap();
        assert_eq!(
            Origin::of(&request).unwrap().url("/oauth2/token"),
            "http://127.0.0.1:8080/oauth2/token"
        );
        request.extensions_mut().insert(Scheme::HTTPS);
        assert_eq!(
            Origin::of(&request).unwrap().url("/"),
            "https://127.0.0.1:8080/"
        );
        let absolute = Request::builder()
            .uri("https://[::1]:9/x")
            .body(Vec::new())
            .unwrap();
        assert_eq!(Origin::of(&absolute).unwrap().url("/"), "https://[::1]:9/");
        let quoted = Request::builder()
            .header(HOST, "evil\"host")
            .body(Vec::new())
            .unwrap();
        assert_eq!(Origin::of(&quoted), None);
        assert_eq!(Origin::of(&Request::new(Vec::new())), None);
    }
}
