//! bearer: call an OAuth 2.0 API of an "API key + secret" developer platform without thinking
//! about tokens, and without wasting the plan's daily quota.
//!
//! This facade re-exports the sans-IO core ([`protocol`]) and, behind features, the transports.

pub use bearer_protocol as protocol;
pub use bearer_protocol::{
    AccessToken, BudgetMode, ClientAuth, ClientId, ClientSecret, Config, ConfigError, Plan,
    RefreshToken,
};

/// The async client and tower layer, on hyper 1 and tokio (feature `hyper`).
#[cfg(feature = "hyper")]
pub use bearer_transport_hyper as hyper;

/// The blocking client and ureq middleware, on ureq 3 with rustls (feature `ureq`, on by
/// default).
#[cfg(feature = "ureq")]
pub use bearer_transport_ureq as ureq;

/// The blocking client (feature `ureq`): see [`ureq::Client`].
#[cfg(feature = "ureq")]
pub use bearer_transport_ureq::Client;
