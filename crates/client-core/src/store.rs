//! The persistence seam: where a client saves tokens whenever they change.
//!
//! Refresh tokens rotate: once new tokens arrive, the previous refresh token is void at the
//! provider. A transport with a store saves the new tokens *before* it hands the new access
//! token out, so that a crash right after a renewal never leaves the process holding only a
//! void refresh token.

use bearer_protocol::StoredTokens;
use std::error::Error as StdError;

/// An error a store reports; its message must not contain a secret.
pub type StoreError = Box<dyn StdError + Send + Sync>;

/// Somewhere tokens are kept across processes (a file, a keyring, a database row).
///
/// ```
/// use bearer_client_core::{StoreError, TokenStore};
/// use bearer_protocol::StoredTokens;
/// use std::sync::Mutex;
///
/// #[derive(Default)]
/// struct InMemory(Mutex<Option<String>>);
///
/// impl TokenStore for InMemory {
///     fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
///         let saved = self.0.lock().unwrap();
///         Ok(match saved.as_deref() {
///             Some(json) => Some(serde_json::from_str(json)?),
///             None => None,
///         })
///     }
///     fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
///         *self.0.lock().unwrap() = Some(serde_json::to_string(tokens)?);
///         Ok(())
///     }
/// }
/// ```
pub trait TokenStore: Send + Sync {
    /// The tokens saved last, if any; called once when a client starts.
    fn load(&self) -> Result<Option<StoredTokens>, StoreError>;
    /// Saves tokens that just changed; called before the new access token is used.
    fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError>;
}
