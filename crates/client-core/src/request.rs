//! Building API calls and naming their parts for errors, the same for every transport.

use crate::error::Error;
use bearer_protocol::Bearer;
use bearer_protocol::wire::challenge::BearerChallenge;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, Uri};

/// `GET url?query`: the pairs are form-encoded and appended to any query `url` already has.
pub fn get_request<I, K, V>(url: &str, query: I) -> Result<http::Request<Vec<u8>>, Error>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    // Encoded straight after the URL, in one buffer: this runs on every call.
    let mut query = query.into_iter().peekable();
    let mut uri = String::with_capacity(url.len() + 64);
    uri.push_str(url);
    if query.peek().is_some() {
        uri.push(if url.contains('?') { '&' } else { '?' });
        let start = uri.len();
        let mut encoded = form_urlencoded::Serializer::for_suffix(uri, start);
        for (key, value) in query {
            encoded.append_pair(key.as_ref(), value.as_ref());
        }
        uri = encoded.finish();
    }
    http::Request::get(uri)
        .body(Vec::new())
        .map_err(|_| Error::InvalidRequest("the URL is not a valid absolute URL".to_owned()))
}

/// One attempt of a call: the method, URI, version and headers of `parts` with `body`, and
/// `Authorization: Bearer …` (replacing any the call has).
pub fn with_bearer<B>(parts: &http::request::Parts, body: B, bearer: &Bearer) -> http::Request<B> {
    let mut call = http::Request::new(body);
    *call.method_mut() = parts.method.clone();
    *call.uri_mut() = parts.uri.clone();
    *call.version_mut() = parts.version;
    *call.headers_mut() = parts.headers.clone();
    call.headers_mut()
        .insert(AUTHORIZATION, bearer.header_value().clone());
    call
}

/// Scheme, authority and path of a URI: what an error may show (a query may hold secrets).
pub fn target(uri: &Uri) -> String {
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{}", uri.path()),
        _ => uri.path().to_owned(),
    }
}

/// The `WWW-Authenticate` challenge of an answer, if any, safe to show: a `Bearer` challenge as
/// its scheme, realm, error code and sanitised description
/// (`Bearer realm="…", error="invalid_token", error_description="…"`), any other as its scheme
/// alone (`Basic challenge`), never a token or other parameters.
pub fn challenge(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = BearerChallenge::from_headers(headers) {
        return Some(bearer.to_string());
    }
    let value = headers.get(WWW_AUTHENTICATE)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let scheme = text.split([' ', ',', '\t']).find(|word| !word.is_empty());
    Some(match scheme {
        Some(scheme)
            if scheme.len() <= MAX_SCHEME_CHARS
                && scheme.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') =>
        {
            format!("{scheme} challenge")
        }
        _ => "an unreadable challenge".to_owned(),
    })
}

/// Longest authentication scheme name shown as is (`Negotiate`, `Digest`, `Basic`, …).
const MAX_SCHEME_CHARS: usize = 12;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_never_show_a_token() {
        let token = "6mh3cgqvc6d992fd45zc88ue";
        let letters = "qwertyuiopasdfghjklzxcvbnm";
        let cases = [
            (
                format!(
                    r#"Bearer realm="api", error="invalid_token", error_description="token {token} expired, access_token={letters}", scope="x""#
                ),
                r#"Bearer realm="api", error="invalid_token", error_description="token [redacted] expired, access_token=[redacted]""#,
            ),
            (format!("Basic realm=\"{token}\""), "Basic challenge"),
            (format!("{token}, Basic"), "an unreadable challenge"),
        ];
        for (header, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(WWW_AUTHENTICATE, header.parse().unwrap());
            assert_eq!(challenge(&headers).as_deref(), Some(expected));
        }
        assert_eq!(challenge(&HeaderMap::new()), None);
    }

    #[test]
    fn targets_never_show_the_query() {
        for (uri, expected) in [
            (
                "https://api.example.com:8443/v1/searchoauth?api_key=s3cret",
                "https://api.example.com:8443/v1/searchoauth",
            ),
            ("/v1/searchoauth?query=secret", "/v1/searchoauth"),
        ] {
            let uri: Uri = uri.parse().unwrap();
            assert_eq!(target(&uri), expected);
        }
    }

    #[test]
    fn get_requests_append_the_encoded_query() {
        let cases = [
            ("https://a.example/s", vec![], "https://a.example/s"),
            (
                "https://a.example/s",
                vec![("query", "privacy policy")],
                "https://a.example/s?query=privacy+policy",
            ),
            (
                "https://a.example/s?x=1",
                vec![("q", "a&b")],
                "https://a.example/s?x=1&q=a%26b",
            ),
        ];
        for (url, query, expected) in cases {
            let request = get_request(url, query).unwrap();
            assert_eq!(request.method(), http::Method::GET);
            assert_eq!(request.uri(), expected);
            assert!(request.body().is_empty());
        }
        assert!(matches!(
            get_request("not a url", [("q", "a")]),
            Err(Error::InvalidRequest(_))
        ));
    }
}
