//! A response that is none of the expected shapes, described without leaking secrets.
//!
//! ```
//! use bearer_protocol::wire::unexpected::UnexpectedResponse;
//!
//! let response = http::Response::builder()
//!     .status(502)
//!     .header("Content-Type", "text/html")
//!     .body(b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec())
//!     .unwrap();
//! let error = UnexpectedResponse::from_response(&response, "not a token response");
//! assert_eq!(
//!     error.to_string(),
//!     "unexpected answer from the server: HTTP 502 Bad Gateway (text/html): not a token response; \
//!      body starts: `<html><body><h1>502 Bad Gateway</h1></body></html>`",
//! );
//! ```

use crate::wire::MAX_BODY_BYTES;
use crate::wire::support::{header_text, sanitize, snippet, status_text};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use std::fmt;

/// A response no parser could make sense of: status, content type and a short redacted snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnexpectedResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// What was wrong with it, as a short phrase.
    pub reason: String,
    /// The start of the body, at most a few dozen characters, with token-like strings masked.
    pub snippet: String,
}

impl UnexpectedResponse {
    /// Removes the client's own secrets from the server's text.
    pub(crate) fn scrub(&mut self, secrets: &crate::secret::KnownSecrets) {
        for text in [&mut self.reason, &mut self.snippet] {
            secrets.scrub(text);
        }
        if let Some(content_type) = &mut self.content_type {
            secrets.scrub(content_type);
        }
    }

    /// Describes `response`: its status, its content type (sanitised) and the start of its body
    /// (at most 80 characters, lossy UTF-8, control characters replaced by spaces, and redacted:
    /// runs of 8+ ASCII letters and digits mixing both, and the values of fields named like
    /// `*token*`, `*secret*` or `*password*`, become `[redacted]`). `reason` is a short phrase
    /// saying what was wrong.
    pub fn from_response(response: &http::Response<Vec<u8>>, reason: impl Into<String>) -> Self {
        UnexpectedResponse {
            status: response.status(),
            content_type: header_text(response.headers(), &CONTENT_TYPE)
                .map(|content_type| sanitize(&content_type, 80)),
            reason: reason.into(),
            snippet: snippet(response.body()),
        }
    }

    /// A response whose body is over [`MAX_BODY_BYTES`]: not read beyond its start.
    pub fn too_large(response: &http::Response<Vec<u8>>) -> Self {
        Self::from_response(
            response,
            format!(
                "the body is too large ({} bytes, more than the {MAX_BODY_BYTES} a token endpoint answer may have)",
                response.body().len()
            ),
        )
    }

    /// A passing failure worth retrying with backoff: a 5xx status, 408 or 429.
    pub fn is_transient(&self) -> bool {
        self.status.is_server_error()
            || self.status == StatusCode::REQUEST_TIMEOUT
            || self.status == StatusCode::TOO_MANY_REQUESTS
    }
}

impl fmt::Display for UnexpectedResponse {
    /// "unexpected answer from the server: HTTP 502 Bad Gateway (text/html): *reason*; body
    /// starts: \`*snippet*\`" (or "the body is empty").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unexpected answer from the server: {}",
            status_text(self.status)
        )?;
        match &self.content_type {
            Some(content_type) => write!(f, " ({})", sanitize(content_type, 80))?,
            None => f.write_str(" (no content type)")?,
        }
        write!(f, ": {}", self.reason)?;
        let snippet = snippet(self.snippet.as_bytes());
        if snippet.is_empty() {
            f.write_str("; the body is empty")
        } else {
            write!(f, "; body starts: `{snippet}`")
        }
    }
}

impl std::error::Error for UnexpectedResponse {}
