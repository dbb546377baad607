//! Token responses (RFC 6749 5.1), and the classification of a failed token request.
//!
//! ```
//! use bearer_protocol::wire::token::parse_token_response;
//! use std::time::Duration;
//!
//! let response = http::Response::builder()
//!     .status(200)
//!     .header("Content-Type", "application/json")
//!     .body(br#"{"access_token":"66mrpvtv4mvs6bz728nbaqmc","token_type":"bearer","expires_in":3600,"refresh_token":"99cg9yrxqazk8nu58xsrqn2pm"}"#.to_vec())
//!     .unwrap();
//! let token = parse_token_response(&response, Duration::from_secs(600)).unwrap();
//! assert_eq!(token.access_token.expose(), "66mrpvtv4mvs6bz728nbaqmc");
//! assert_eq!(token.expires_in, Duration::from_secs(3600));
//! assert!(token.expires_in_given);
//! ```

use crate::secret::{AccessToken, RefreshToken};
use crate::wire::MAX_BODY_BYTES;
use crate::wire::gateway::{GatewayCode, GatewayDenial, RetryAfter};
use crate::wire::oauth_error::OAuthError;
use crate::wire::support::{REDACTED, decode_fields, is_secret_key, sanitize};
use crate::wire::unexpected::UnexpectedResponse;
use serde_json::{Map, Value};
use std::fmt;
use std::time::Duration;

/// Longest token lifetime believed: a larger `expires_in` is cut to this (ten years).
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The fields [`TokenResponse`] interprets; all others go to [`TokenResponse::extra`].
const KNOWN_FIELDS: [&str; 5] = [
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "scope",
];

/// A successful token response.
///
/// `Debug` masks the tokens and every extra field whose name contains `token`, `secret` or
/// `password` (an `id_token`, say), and shows the other extra fields sanitised (an object or
/// an array as its sanitised JSON text).
#[derive(Clone)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: AccessToken,
    /// Lifetime from the moment the response was received: `expires_in`, or the configured
    /// default when the response has none.
    pub expires_in: Duration,
    /// Whether `expires_in` was in the response (false: the default was used).
    pub expires_in_given: bool,
    /// The new refresh token, if the response carried one.
    pub refresh_token: Option<RefreshToken>,
    /// The granted scope, if the response carried one, sanitised (server text).
    pub scope: Option<String>,
    /// Fields this crate does not interpret, kept as they came.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extra: Map<String, Value> = self
            .extra
            .iter()
            .map(|(key, value)| {
                let shown = match value {
                    Value::Null => Value::Null,
                    _ if is_secret_key(key) => Value::String(REDACTED.to_owned()),
                    Value::String(text) => Value::String(sanitize(text, 200)),
                    Value::Bool(_) | Value::Number(_) => value.clone(),
                    other => Value::String(sanitize(&other.to_string(), 200)),
                };
                (key.clone(), shown)
            })
            .collect();
        f.debug_struct("TokenResponse")
            .field("access_token", &self.access_token)
            .field("expires_in", &self.expires_in)
            .field("expires_in_given", &self.expires_in_given)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .field("extra", &extra)
            .finish()
    }
}

/// Why a token request did not produce a token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenEndpointError {
    /// An RFC 6749 5.2 error body (also when sent with status 200).
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// A gateway denial keyed on `X-Mashery-Error-Code`, without an OAuth error body.
    #[error(transparent)]
    Gateway(#[from] GatewayDenial),
    /// A well-formed token response whose `token_type` is not bearer (RFC 6749 7.1).
    #[error("the token endpoint issued a `{0}` token; only bearer tokens are supported")]
    UnsupportedTokenType(String),
    /// Anything else: a 5xx page, a truncated body, a body over the size cap, …
    #[error(transparent)]
    Unexpected(#[from] UnexpectedResponse),
}

impl TokenEndpointError {
    /// Removes the client's own secrets from the server's text it holds.
    pub(crate) fn scrub(&mut self, secrets: &crate::secret::KnownSecrets) {
        match self {
            TokenEndpointError::OAuth(error) => error.scrub(secrets),
            TokenEndpointError::Gateway(denial) => denial.scrub(secrets),
            TokenEndpointError::UnsupportedTokenType(token_type) => secrets.scrub(token_type),
            TokenEndpointError::Unexpected(unexpected) => unexpected.scrub(secrets),
        }
    }

    /// The refresh token was refused (`invalid_grant`): drop it and ask with client credentials.
    pub fn is_refresh_token_refused(&self) -> bool {
        matches!(self, TokenEndpointError::OAuth(error) if error.is_refresh_token_refused())
    }

    /// Asking again cannot help until a person acts: refused credentials, an inactive
    /// application, no service at the token URL, or a token type this crate cannot use.
    pub fn is_permanent(&self) -> bool {
        match self {
            TokenEndpointError::OAuth(error) => error.is_permanent(),
            TokenEndpointError::Gateway(denial) => denial.is_permanent(),
            TokenEndpointError::UnsupportedTokenType(_) => true,
            TokenEndpointError::Unexpected(_) => false,
        }
    }

    /// A passing failure worth retrying with backoff: 5xx, 408, 429, over QPS.
    pub fn is_transient(&self) -> bool {
        match self {
            TokenEndpointError::OAuth(error) => error.is_transient(),
            TokenEndpointError::Gateway(denial) => denial.is_transient(),
            TokenEndpointError::UnsupportedTokenType(_) => false,
            TokenEndpointError::Unexpected(unexpected) => unexpected.is_transient(),
        }
    }

    /// Over the queries per second (`ERR_403_DEVELOPER_OVER_QPS`, as a denial or with an
    /// OAuth body): denied before the token endpoint, so not counted by the gateway.
    pub fn is_over_qps(&self) -> bool {
        match self {
            TokenEndpointError::OAuth(error) => error
                .gateway_code
                .as_ref()
                .is_some_and(GatewayCode::is_over_qps),
            TokenEndpointError::Gateway(denial) => denial.code.is_over_qps(),
            _ => false,
        }
    }

    /// The day's quota is spent (`ERR_403_DEVELOPER_OVER_RATE`, as a denial or with an OAuth
    /// body): no token until the quota resets.
    pub fn is_quota_exhausted(&self) -> bool {
        match self {
            TokenEndpointError::OAuth(error) => error
                .gateway_code
                .as_ref()
                .is_some_and(|code| code.is_quota_exhausted()),
            TokenEndpointError::Gateway(denial) => denial.is_quota_exhausted(),
            _ => false,
        }
    }

    /// The gateway's `Retry-After`, when the error is a gateway denial that had one.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        match self {
            TokenEndpointError::Gateway(denial) => denial.retry_after,
            _ => None,
        }
    }
}

/// Reads the answer to a token request.
///
/// - A body over [`MAX_BODY_BYTES`] is [`Unexpected`](TokenEndpointError::Unexpected).
/// - **2xx**: the body is a JSON object (whatever the content type says: `application/json`,
///   `text/plain`, mislabelled `text/html`, none) or a form-encoded body. With a string `error`
///   it is an [`OAuth`](TokenEndpointError::OAuth) error (RFC 6749 error in a 200). Otherwise:
///   - `access_token`: required, a non-empty string of visible ASCII (it goes in a header);
///   - `token_type`: compared case-insensitively with `bearer`; another type is
///     [`UnsupportedTokenType`](TokenEndpointError::UnsupportedTokenType). A **missing** (or
///     null) `token_type` is taken as bearer: RFC 6749 requires it, but real servers omit it,
///     and bearer is the only type they issue;
///   - `expires_in`: an integer, a non-negative number (rounded down) or a numeric string
///     (trimmed), capped at [`MAX_EXPIRES_IN`]; missing, null or a blank string means
///     `default_lifetime` with `expires_in_given == false`; negative or non-numeric is
///     unexpected;
///   - `refresh_token`: a string; empty (or not a string) counts as absent;
///   - `scope`: a string (or an array of strings, joined with spaces); empty counts as absent;
///   - every other field goes to `extra` (form-encoded values as strings).
///
///   A 2xx body that is none of this is unexpected, or a gateway denial when
///   `X-Mashery-Error-Code` is present.
/// - **Otherwise**: an OAuth error body whatever the content type (with the gateway code of
///   `X-Mashery-Error-Code`), else a [`Gateway`](TokenEndpointError::Gateway) denial when
///   `X-Mashery-Error-Code` is present, else unexpected (an HTML 502 page, an empty 500, …).
pub fn parse_token_response(
    response: &http::Response<Vec<u8>>,
    default_lifetime: Duration,
) -> Result<TokenResponse, TokenEndpointError> {
    let body = response.body();
    if body.len() > MAX_BODY_BYTES {
        return Err(UnexpectedResponse::too_large(response).into());
    }
    let status = response.status();
    let unexpected = |reason: &str| -> TokenEndpointError {
        UnexpectedResponse::from_response(response, reason).into()
    };
    if !status.is_success() {
        if let Some(error) = OAuthError::from_response(response) {
            return Err(error.into());
        }
        if let Some(denial) = GatewayDenial::from_response(response) {
            return Err(denial.into());
        }
        return Err(unexpected(failure_reason(response)));
    }
    let Some(fields) = decode_fields(response.headers(), body) else {
        if let Some(denial) = GatewayDenial::from_response(response) {
            return Err(denial.into());
        }
        return Err(unexpected(undecodable_reason(body)));
    };
    if let Some(error) = OAuthError::from_fields(status, response.headers(), &fields) {
        return Err(error.into());
    }
    read_token_fields(fields, default_lifetime).map_err(|problem| match problem {
        FieldProblem::TokenType(token_type) => TokenEndpointError::UnsupportedTokenType(token_type),
        FieldProblem::Unexpected(reason) => {
            GatewayDenial::from_response(response).map_or_else(|| unexpected(reason), Into::into)
        }
    })
}

/// Why the fields of a 2xx body are not a usable token response.
enum FieldProblem {
    TokenType(String),
    Unexpected(&'static str),
}

fn read_token_fields(
    mut fields: Map<String, Value>,
    default_lifetime: Duration,
) -> Result<TokenResponse, FieldProblem> {
    let access_token = match fields.get("access_token") {
        None | Some(Value::Null) => {
            return Err(FieldProblem::Unexpected(
                "not a token response: no access_token",
            ));
        }
        Some(Value::String(token)) if token.is_empty() => {
            return Err(FieldProblem::Unexpected("the access_token is empty"));
        }
        Some(Value::String(token)) if !token.bytes().all(|b| b.is_ascii_graphic()) => {
            return Err(FieldProblem::Unexpected(
                "the access_token has characters that cannot go in an HTTP header",
            ));
        }
        Some(Value::String(token)) => AccessToken::new(token.as_str()),
        Some(_) => return Err(FieldProblem::Unexpected("the access_token is not a string")),
    };
    match fields.get("token_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind.trim().eq_ignore_ascii_case("bearer") => {}
        Some(Value::String(kind)) => {
            return Err(FieldProblem::TokenType(sanitize(kind.trim(), 40)));
        }
        Some(other) => return Err(FieldProblem::TokenType(sanitize(&other.to_string(), 40))),
    }
    let expires_in = read_expires_in(fields.get("expires_in"))?;
    let refresh_token = match fields.get("refresh_token") {
        Some(Value::String(token)) if !token.is_empty() => Some(RefreshToken::new(token.as_str())),
        _ => None,
    };
    let scope = match fields.get("scope") {
        Some(Value::String(scope)) => Some(sanitize(scope.trim(), 200)),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        // Something else (an object, say) stays in `extra`.
        _ => None,
    };
    let scope_read = scope.is_some();
    let scope = scope.filter(|scope| !scope.is_empty());
    fields.retain(|key, _| match key.as_str() {
        "scope" => !scope_read,
        other => !KNOWN_FIELDS.contains(&other),
    });
    Ok(TokenResponse {
        access_token,
        expires_in: expires_in.unwrap_or(default_lifetime),
        expires_in_given: expires_in.is_some(),
        refresh_token,
        scope,
        extra: fields,
    })
}

/// `expires_in` as a lifetime; `Ok(None)` when absent.
fn read_expires_in(value: Option<&Value>) -> Result<Option<Duration>, FieldProblem> {
    const NEGATIVE: FieldProblem = FieldProblem::Unexpected("the expires_in is negative");
    const NOT_A_NUMBER: FieldProblem = FieldProblem::Unexpected("the expires_in is not a number");
    let seconds = |float: f64| -> Result<Option<Duration>, FieldProblem> {
        if float.is_nan() {
            Err(NOT_A_NUMBER)
        } else if float < 0.0 {
            Err(NEGATIVE)
        } else if float >= MAX_EXPIRES_IN.as_secs_f64() {
            Ok(Some(MAX_EXPIRES_IN))
        } else {
            // In range and non-negative: the cast only drops the fraction.
            Ok(Some(Duration::from_secs(float.floor() as u64)))
        }
    };
    let whole = |secs: u64| Ok(Some(Duration::from_secs(secs).min(MAX_EXPIRES_IN)));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => match (number.as_u64(), number.as_i64(), number.as_f64()) {
            (Some(secs), _, _) => whole(secs),
            (None, Some(_), _) => Err(NEGATIVE),
            (None, None, Some(float)) => seconds(float),
            (None, None, None) => Err(NOT_A_NUMBER),
        },
        Some(Value::String(text)) => {
            let text = text.trim();
            if text.is_empty() {
                Ok(None)
            } else if let Ok(secs) = text.parse::<u64>() {
                whole(secs)
            } else if is_digits(text.strip_prefix('+').unwrap_or(text)) {
                // Digits, but too many for u64.
                Ok(Some(MAX_EXPIRES_IN))
            } else {
                match text.parse::<f64>() {
                    Ok(float) if float.is_finite() => seconds(float),
                    _ => Err(NOT_A_NUMBER),
                }
            }
        }
        Some(_) => Err(NOT_A_NUMBER),
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// What is wrong with a 2xx body that does not decode.
fn undecodable_reason(body: &[u8]) -> &'static str {
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() {
        "empty body where a token response was expected"
    } else if trimmed.starts_with(b"{") {
        "the JSON body is truncated or malformed"
    } else if trimmed.starts_with(b"[") || trimmed.starts_with(b"\"") {
        "the JSON body is not an object"
    } else {
        "not a token response (neither a JSON object nor a form-encoded body)"
    }
}

/// What is wrong with a non-2xx answer that is neither an OAuth error nor a gateway denial.
fn failure_reason(response: &http::Response<Vec<u8>>) -> &'static str {
    let status = response.status();
    if status.is_redirection() {
        "the token endpoint redirected the request: check the token URL (https, exact path)"
    } else if status == http::StatusCode::NOT_FOUND
        || status == http::StatusCode::METHOD_NOT_ALLOWED
    {
        "no token endpoint at this address: check the token URL"
    } else if status.is_server_error() {
        "a server error without an OAuth error body: the provider is failing, retry later"
    } else if response.body().trim_ascii().is_empty() {
        "an error status with an empty body"
    } else {
        "an error status without an OAuth error body"
    }
}
