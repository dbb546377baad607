//! bearer: call an OAuth 2.0 API of an "API key + secret" developer platform without thinking
//! about tokens, and without wasting the plan's daily quota.
//!
//! This facade re-exports the sans-IO core ([`protocol`]) and, behind features, the transports.

pub use bearer_protocol as protocol;
pub use bearer_protocol::{
    AccessToken, BudgetMode, ClientAuth, ClientId, ClientSecret, Config, ConfigError, Plan,
    RefreshToken,
};
