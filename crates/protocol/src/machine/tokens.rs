//! The tokens the machine holds, in the shape a store persists and a caller attaches.

use crate::config::Config;
use crate::secret::{AccessToken, ClientId, RefreshToken};
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Tokens as a store persists them, so that a restarted process keeps its refresh token.
///
/// Serialises to JSON such as
/// `{"access_token":"…","refresh_token":"…","expires_at":1700000000,"scope":null,
/// "token_url":"https://…/oauth2/token","client_id":"ysszm2yk7gp5r9ernuaurgcc"}`
/// (`expires_at` in seconds since the Unix epoch). They name the credential they were issued
/// to, so that a store shared by mistake never feeds one application's tokens to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token, if the provider issued one.
    pub refresh_token: Option<RefreshToken>,
    /// When the access token expires.
    #[serde(with = "unix_seconds")]
    pub expires_at: SystemTime,
    /// The granted scope, if the provider said.
    #[serde(default)]
    pub scope: Option<String>,
    /// The credential they were issued to.
    #[serde(flatten)]
    pub issued_to: Credential,
}

/// Which credential tokens belong to: the token endpoint and the client id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// The token endpoint that issued them.
    pub token_url: String,
    /// The application they were issued to.
    pub client_id: ClientId,
}

impl Credential {
    /// The credential a configuration names.
    pub fn of(config: &Config) -> Self {
        Self {
            token_url: config.token_url().to_string(),
            client_id: config.client_id().clone(),
        }
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client id {} at {}", self.client_id, self.token_url)
    }
}

/// Saved tokens that were issued to another credential than the client's: they are not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the saved tokens were issued to {saved}, not to this client ({expected}); they are not used, and the next tokens replace them"
)]
pub struct ForeignTokens {
    /// The credential the tokens name.
    pub saved: Credential,
    /// The client's own.
    pub expected: Credential,
}

/// An access token ready to attach, as `Authorization: Bearer <token>`.
///
/// It remembers which tokens it came from, so that a 401 for a token that was already replaced
/// does not cause another renewal.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub(crate) header: HeaderValue,
    /// Shared, so that handing out a clone never allocates (the hot path).
    pub(crate) token: Arc<AccessToken>,
    pub(crate) generation: u64,
    pub(crate) expires_at: SystemTime,
}

impl Bearer {
    /// The `Authorization` header value, `Bearer <token>`, marked sensitive.
    pub fn header_value(&self) -> &HeaderValue {
        &self.header
    }
    /// The access token alone, for programs that call through another library.
    pub fn access_token(&self) -> &AccessToken {
        &self.token
    }
    /// When the token expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

/// Shortest time a token is used for, whatever its `expires_in` said: a token that expires
/// at once still serves the call it was fetched for (and those made along with it) instead of
/// making the next caller fetch again at once.
pub const MIN_LIFETIME: Duration = Duration::from_secs(1);

/// What the machine holds: the current tokens and when to renew them.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) bearer: Bearer,
    pub(crate) refresh_token: Option<RefreshToken>,
    pub(crate) issued_to: Credential,
    pub(crate) renew_at: SystemTime,
    /// Handed out until then: the expiry, or [`MIN_LIFETIME`] after the token arrived.
    pub(crate) usable_until: SystemTime,
    pub(crate) lifetime: Duration,
    pub(crate) scope: Option<String>,
    /// The request that brought these tokens (`None`: restored from a store).
    pub(crate) from_request: Option<u64>,
}

impl Held {
    /// `Some` when the access token is a valid header value (printable ASCII). `arrived_at`:
    /// when the token arrived from the token endpoint (`None`: restored from a store).
    pub(crate) fn new(
        tokens: StoredTokens,
        generation: u64,
        lifetime: Duration,
        leeway: Duration,
        from_request: Option<u64>,
        arrived_at: Option<SystemTime>,
    ) -> Option<Self> {
        let mut header =
            HeaderValue::try_from(format!("Bearer {}", tokens.access_token.expose())).ok()?;
        header.set_sensitive(true);
        // Share the bytes once now, so that handing out clones later never allocates.
        let header = header.clone();
        let leeway = leeway.min(lifetime / 2);
        let floor = arrived_at.map(|at| at + MIN_LIFETIME);
        let at_least = |at: SystemTime| floor.map_or(at, |floor| at.max(floor));
        let renew_at = at_least(
            tokens
                .expires_at
                .checked_sub(leeway)
                .unwrap_or(tokens.expires_at),
        );
        let usable_until = at_least(tokens.expires_at);
        Some(Self {
            bearer: Bearer {
                header,
                token: Arc::new(tokens.access_token),
                generation,
                expires_at: tokens.expires_at,
            },
            refresh_token: tokens.refresh_token,
            issued_to: tokens.issued_to,
            renew_at,
            usable_until,
            lifetime,
            scope: tokens.scope,
            from_request,
        })
    }

    pub(crate) fn stored(&self) -> StoredTokens {
        StoredTokens {
            access_token: AccessToken::clone(&self.bearer.token),
            refresh_token: self.refresh_token.clone(),
            expires_at: self.bearer.expires_at,
            scope: self.scope.clone(),
            issued_to: self.issued_to.clone(),
        }
    }
}

pub(crate) mod unix_seconds {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let secs = match at.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_secs() as i64,
            Err(before) => -(before.duration().as_secs() as i64),
        };
        s.serialize_i64(secs)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let secs = i64::deserialize(d)?;
        let magnitude = Duration::from_secs(secs.unsigned_abs());
        let at = if secs >= 0 {
            UNIX_EPOCH.checked_add(magnitude)
        } else {
            UNIX_EPOCH.checked_sub(magnitude)
        };
        at.ok_or_else(|| serde::de::Error::custom("a time is out of range"))
    }
}
