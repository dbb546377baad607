//! Token requests (RFC 6749 4.4 client credentials, 6 refresh), built as the provider's guide
//! shows them.
//!
//! ```
//! use bearer_protocol::Config;
//! use bearer_protocol::wire::request::client_credentials_request;
//!
//! let config = Config::builder(
//!     "https://api.example.com/oauth2/token",
//!     "ysszm2yk7gp5r9ernuaurgcc",
//!     "w9t7t48g7H",
//! )
//! .build()
//! .unwrap();
//! let request = client_credentials_request(&config);
//! assert_eq!(request.method(), http::Method::POST);
//! assert_eq!(
//!     request.body().as_slice(),
//!     b"client_id=ysszm2yk7gp5r9ernuaurgcc&client_secret=w9t7t48g7H&grant_type=client_credentials",
//! );
//! ```

use crate::config::{ClientAuth, Config};
use crate::secret::RefreshToken;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Method, Request};

/// `Content-Type` of a token request.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The grant a token request asks with.
enum Grant<'a> {
    ClientCredentials,
    RefreshToken(&'a RefreshToken),
}

/// The `grant_type=client_credentials` request: `POST` to the token URL, form-encoded
/// `client_id`, `client_secret` (unless the configuration uses HTTP Basic), `grant_type` and,
/// when configured, `scope`; `Accept: application/json`.
pub fn client_credentials_request(config: &Config) -> Request<Vec<u8>> {
    token_request(config, Grant::ClientCredentials)
}

/// The `grant_type=refresh_token` request: as
/// [`client_credentials_request`] with `grant_type=refresh_token` and the `refresh_token`.
pub fn refresh_token_request(config: &Config, refresh_token: &RefreshToken) -> Request<Vec<u8>> {
    token_request(config, Grant::RefreshToken(refresh_token))
}

fn token_request(config: &Config, grant: Grant<'_>) -> Request<Vec<u8>> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    if config.client_auth() == ClientAuth::Body {
        form.append_pair("client_id", config.client_id().expose());
        form.append_pair("client_secret", config.client_secret().expose());
    }
    match grant {
        Grant::ClientCredentials => {
            form.append_pair("grant_type", "client_credentials");
        }
        Grant::RefreshToken(refresh_token) => {
            form.append_pair("grant_type", "refresh_token");
            form.append_pair("refresh_token", refresh_token.expose());
        }
    }
    if let Some(scope) = config.scope() {
        form.append_pair("scope", scope);
    }
    let mut request = Request::new(form.finish().into_bytes());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = config.token_url().clone();
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE));
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    if config.client_auth() == ClientAuth::Basic {
        headers.insert(AUTHORIZATION, basic_authorization(config));
    }
    request
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 2.3.1 and appendix B), marked
/// sensitive so that HTTP/2 never indexes it and logging layers can skip it.
fn basic_authorization(config: &Config) -> HeaderValue {
    let id: String =
        form_urlencoded::byte_serialize(config.client_id().expose().as_bytes()).collect();
    let secret: String =
        form_urlencoded::byte_serialize(config.client_secret().expose().as_bytes()).collect();
    let credentials = zeroize::Zeroizing::new(format!("{id}:{secret}"));
    let encoded =
        zeroize::Zeroizing::new(format!("Basic {}", STANDARD.encode(credentials.as_bytes())));
    let mut value = HeaderValue::from_str(&encoded)
        .expect("`Basic ` and base64 are visible ASCII, which a header value always accepts");
    value.set_sensitive(true);
    value
}
