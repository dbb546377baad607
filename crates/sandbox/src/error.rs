//! Errors of the in-process API (the HTTP routes turn them into JSON answers).

use crate::platform::AppStatus;

/// Why an operation on the provider's platform was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// No application has this id or client id.
    #[error("no application has the id or client id `{0}`")]
    UnknownApplication(String),
    /// The client id is already taken by another application.
    #[error("an application with client id `{0}` already exists; choose another client id")]
    DuplicateClientId(String),
    /// The username is already registered.
    #[error("the username `{0}` is already registered; choose another")]
    UsernameTaken(String),
    /// A field has a value the platform does not accept.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The field's name.
        field: &'static str,
        /// What is wrong and what would be accepted.
        reason: String,
    },
    /// The application's status does not allow the action.
    #[error("application `{id}` is {status}, so it cannot be {action}")]
    InvalidTransition {
        /// The application's id.
        id: String,
        /// Its current status.
        status: AppStatus,
        /// The refused action, as a past participle ("approved", "rejected", "disabled").
        action: &'static str,
    },
}

/// Why the sandbox server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// Binding or configuring the listening socket failed.
    #[error("the sandbox could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Starting the background runtime thread failed.
    #[error("the sandbox could not start its runtime: {0}")]
    Runtime(std::io::Error),
    /// Generating the test certificate authority or the TLS configuration failed.
    #[error("the sandbox could not set up TLS: {0}")]
    Tls(String),
    /// A start-up application was refused.
    #[error("the sandbox could not create a start-up application: {0}")]
    Provider(#[from] ProviderError),
}
