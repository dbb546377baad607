//! A response body, read whole, readable as bytes, text or JSON.

use crate::error::Error;
use serde::de::DeserializeOwned;
use std::fmt;

/// The whole body of an API response (at most the client's `max_response_bytes`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Body(Vec<u8>);

/// The response type of a client's `send`: the status, the headers and the whole body.
pub type Response = http::Response<Body>;

impl Body {
    /// Wraps bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.0).map_err(|error| Error::Decode {
            expected: "UTF-8 text",
            reason: error.to_string(),
        })
    }

    /// The body parsed as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.0).map_err(|error| Error::Decode {
            expected: "the expected JSON",
            reason: error.to_string(),
        })
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Body({} bytes)", self.0.len())
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
