//! What the provider has received, for tests to compare with what their client sent.

use crate::platform::AppCounters;
use serde::Serialize;
use std::collections::BTreeMap;

/// Token requests by `grant_type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GrantCounts {
    /// `grant_type=client_credentials`
    pub client_credentials: u64,
    /// `grant_type=refresh_token`
    pub refresh_token: u64,
    /// Anything else: another or no grant type, or a body that could not be read.
    pub other: u64,
}

/// Counts since the provider started (or since the counters were last reset).
///
/// Every request to the token endpoint and to the API is counted here, whatever its answer,
/// including those answered by an injected fault; `applications` counts only the requests
/// attributed to an application (by its client credentials or its access token), and not those
/// replaced by a fault.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Requests to the token endpoint.
    pub token_requests: u64,
    /// The same, by grant type.
    pub token_requests_by_grant: GrantCounts,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Requests to the protected API.
    pub api_calls: u64,
    /// Answers replaced or altered by an injected fault.
    pub faults_injected: u64,
    /// Per application, keyed by client id.
    pub applications: BTreeMap<String, AppCounters>,
}

/// The provider's global counters (the per-application ones live with the applications).
#[derive(Debug, Clone, Default)]
pub(crate) struct Totals {
    pub(crate) token_requests: u64,
    pub(crate) by_grant: GrantCounts,
    pub(crate) tokens_issued: u64,
    pub(crate) api_calls: u64,
    pub(crate) faults_injected: u64,
}
