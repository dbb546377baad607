//! OAuth 2.0 error bodies (RFC 6749 5.2).
//!
//! ```
//! use bearer_protocol::wire::oauth_error::{ErrorCode, OAuthError};
//!
//! let response = http::Response::builder()
//!     .status(400)
//!     .header("Content-Type", "application/json")
//!     .body(br#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#.to_vec())
//!     .unwrap();
//! let error = OAuthError::from_response(&response).unwrap();
//! assert_eq!(error.code, ErrorCode::InvalidGrant);
//! assert!(error.is_refresh_token_refused());
//! assert!(error.to_string().contains("falls back to client credentials"));
//! ```

use crate::wire::MAX_BODY_BYTES;
use crate::wire::gateway::{GatewayCode, X_MASHERY_ERROR_CODE};
use crate::wire::support::{decode_fields, header_text, sanitize, sanitize_text, status_text};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};
use std::fmt;

/// The `error` code of an OAuth error body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// Any other code, sanitised as [`ErrorCode::parse`] says.
    Other(String),
}

impl ErrorCode {
    /// Reads an `error` value: trimmed, case-insensitive; an unknown code is kept in
    /// [`ErrorCode::Other`], sanitised (it is server text: at most 80 characters, token-like runs
    /// and secret values masked).
    ///
    /// ```
    /// use bearer_protocol::wire::oauth_error::ErrorCode;
    /// assert_eq!(ErrorCode::parse("invalid_client"), ErrorCode::InvalidClient);
    /// assert_eq!(ErrorCode::parse("server_error").as_str(), "server_error");
    /// ```
    pub fn parse(code: &str) -> ErrorCode {
        // Matched once cleaned, so that a code reads back as itself.
        let code = sanitize(code.trim(), 80);
        let known = [
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidClient,
            ErrorCode::InvalidGrant,
            ErrorCode::UnauthorizedClient,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::InvalidScope,
        ];
        known
            .into_iter()
            .find(|candidate| candidate.as_str().eq_ignore_ascii_case(&code))
            .unwrap_or(ErrorCode::Other(code))
    }

    /// The wire code, e.g. `invalid_client`.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::Other(code) => code,
        }
    }

    /// What happened, as a clause.
    fn headline(&self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => {
                "the token endpoint rejected the token request as malformed"
            }
            ErrorCode::InvalidClient => "the token endpoint refused the client credentials",
            ErrorCode::InvalidGrant => "the token endpoint refused the refresh token",
            ErrorCode::UnauthorizedClient => {
                "the token endpoint does not allow this application the grant it asked for"
            }
            ErrorCode::UnsupportedGrantType => {
                "the token endpoint does not support the grant type sent"
            }
            ErrorCode::InvalidScope => "the token endpoint refused the requested scope",
            ErrorCode::Other(_) => "the token endpoint answered with an OAuth error",
        }
    }

    /// What to do, as a clause.
    fn advice(&self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => {
                "check the token URL and the scope setting; if both are right, report this message to the bearer maintainers"
            }
            ErrorCode::InvalidClient => {
                "check the client id and secret in the Keys section of My Account on the developer platform; bearer does not retry this"
            }
            ErrorCode::UnauthorizedClient => {
                "check the client id and secret in the Keys section of My Account and ask the platform team whether the application may use client credentials; bearer does not retry this"
            }
            ErrorCode::InvalidGrant => {
                "bearer falls back to client credentials; if this keeps happening, make every process that uses these credentials share one token store"
            }
            ErrorCode::UnsupportedGrantType => {
                "check that the token URL is the provider's OAuth 2.0 token endpoint (…/oauth2/token) and that refresh tokens are enabled for the application"
            }
            ErrorCode::InvalidScope => {
                "remove the scope setting or ask for a scope the plan grants"
            }
            ErrorCode::Other(_) => "see the provider's documentation for this code",
        }
    }
}

impl fmt::Display for ErrorCode {
    /// The wire code (an unknown one sanitised: it is server text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Other(code) => f.write_str(&sanitize(code, 80)),
            known => f.write_str(known.as_str()),
        }
    }
}

/// An OAuth error answer from the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The HTTP status it came with.
    pub status: StatusCode,
    /// The `error` field.
    pub code: ErrorCode,
    /// The `error_description` field, sanitised when parsed (server text: control characters
    /// removed, token-like runs and secret values masked, at most 200 characters).
    pub description: Option<String>,
    /// The `error_uri` field, sanitised like the description.
    pub uri: Option<String>,
    /// The gateway's `X-Mashery-Error-Code`, when the answer had one.
    pub gateway_code: Option<GatewayCode>,
}

impl OAuthError {
    /// Recognises an OAuth error body, whatever the status and the content type: a JSON object,
    /// or a form-encoded body, with a non-blank string `error`. `gateway_code` is filled from
    /// `X-Mashery-Error-Code`. `None` for anything else, and for a body over
    /// [`MAX_BODY_BYTES`].
    pub fn from_response(response: &http::Response<Vec<u8>>) -> Option<OAuthError> {
        if response.body().len() > MAX_BODY_BYTES {
            return None;
        }
        let fields = decode_fields(response.headers(), response.body())?;
        Self::from_fields(response.status(), response.headers(), &fields)
    }

    /// Builds the error from decoded body fields, if they hold a non-blank string `error`.
    pub(crate) fn from_fields(
        status: StatusCode,
        headers: &HeaderMap,
        fields: &Map<String, Value>,
    ) -> Option<OAuthError> {
        // Blank once cleaned (nothing but control characters, say): not an error code.
        let code = ErrorCode::parse(fields.get("error")?.as_str()?);
        if code.as_str().trim().is_empty() {
            return None;
        }
        let text = |name: &str| {
            fields
                .get(name)
                .and_then(Value::as_str)
                .map(sanitize_text)
                .filter(|value| !value.is_empty())
        };
        Some(OAuthError {
            status,
            code,
            description: text("error_description"),
            uri: text("error_uri"),
            gateway_code: header_text(headers, &X_MASHERY_ERROR_CODE)
                .map(|c| GatewayCode::parse(&c)),
        })
    }

    /// The refresh token was refused (`invalid_grant`): drop it and ask with client credentials.
    pub fn is_refresh_token_refused(&self) -> bool {
        self.code == ErrorCode::InvalidGrant
    }

    /// Asking again cannot help until a person acts: the credentials are refused
    /// (`invalid_client`, `unauthorized_client`) or the application is inactive
    /// (gateway code `ERR_403_DEVELOPER_INACTIVE`).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::InvalidClient | ErrorCode::UnauthorizedClient
        ) || self.gateway_code == Some(GatewayCode::DeveloperInactive)
    }

    /// A passing failure worth retrying with backoff: a 5xx, 408 or 429 status, the RFC's
    /// `server_error`/`temporarily_unavailable` codes, or a transient gateway code (over QPS).
    pub fn is_transient(&self) -> bool {
        self.status.is_server_error()
            || self.status == StatusCode::REQUEST_TIMEOUT
            || self.status == StatusCode::TOO_MANY_REQUESTS
            || matches!(&self.code, ErrorCode::Other(code) if code == "server_error" || code == "temporarily_unavailable")
            || self
                .gateway_code
                .as_ref()
                .is_some_and(GatewayCode::is_transient)
    }

    /// The advice: the gateway's when its code says more than the OAuth code does.
    fn advice(&self) -> &'static str {
        match &self.gateway_code {
            Some(
                code @ (GatewayCode::DeveloperInactive
                | GatewayCode::DeveloperOverRate
                | GatewayCode::DeveloperOverQps
                | GatewayCode::ServiceOverQps
                | GatewayCode::ServiceNotFound
                | GatewayCode::Upstream(_)),
            ) => code.advice(),
            _ if self.is_transient() => {
                "the token endpoint is failing or overloaded: bearer retries with backoff; if it persists, check the provider's status"
            }
            _ => self.code.advice(),
        }
    }
}

impl fmt::Display for OAuthError {
    /// One sentence: what happened (status, code, the server's sanitised description, the gateway
    /// code) and what to do.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code.headline(),
            self.details(),
            self.advice()
        )
    }
}

impl OAuthError {
    /// Removes the client's own secrets from the server's text.
    pub(crate) fn scrub(&mut self, secrets: &crate::secret::KnownSecrets) {
        if let ErrorCode::Other(code) = &mut self.code {
            secrets.scrub(code);
        }
        for text in [&mut self.description, &mut self.uri].into_iter().flatten() {
            secrets.scrub(text);
        }
        if let Some(code) = &mut self.gateway_code {
            code.scrub(secrets);
        }
    }

    /// What the server said, in a few words: status, code, its sanitised description and the
    /// gateway code, such as ``HTTP 400 Bad Request, `invalid_grant`, server says "…"``.
    pub fn details(&self) -> impl fmt::Display + '_ {
        Details(self)
    }
}

struct Details<'a>(&'a OAuthError);

impl fmt::Display for Details<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = self.0;
        write!(f, "{}, `{}`", status_text(error.status), error.code)?;
        // Sanitised again: the fields are public and may have been set by hand.
        if let Some(description) = error.description.as_deref().map(sanitize_text) {
            write!(f, ", server says \"{description}\"")?;
        }
        if let Some(gateway_code) = &error.gateway_code {
            write!(f, ", gateway code {gateway_code}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}
