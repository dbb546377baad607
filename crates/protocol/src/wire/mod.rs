//! The provider's wire formats as pure functions: token request builders, and parsers of token
//! responses, OAuth error bodies, gateway denials, `WWW-Authenticate` challenges and quota
//! headers. They stand alone: the state machine uses them, and so can anyone else.

pub mod challenge;
pub mod gateway;
pub mod oauth_error;
pub mod quota;
pub mod request;
pub mod token;
pub mod unexpected;

pub(crate) mod support;

/// Largest response body the parsers read; a larger one is an unexpected response.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
