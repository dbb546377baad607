//! bearer-store: where the processes using one credential share their tokens, renewals and
//! the day's counts, so that one token request renews for all of them and a rotated refresh
//! token is never lost.
//!
//! - [`FileStore`]: one host (command-line tools, cron jobs, several workers): a JSON file per
//!   credential, replaced atomically, and a lock file held while one process renews.
//! - `RedisStore` (feature `redis`): a fleet of hosts sharing a Redis server: a hash per
//!   credential written by compare-and-swap scripts, a lease Redis expires itself, waiters
//!   woken by pub/sub, and optionally the tokens encrypted at rest.
//!
//! Each implements [`FleetStore`], which a client takes with its builder's `fleet_store`:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use bearer_store::FileStore;
//! # let config = bearer_protocol::Config::builder("https://api.example.com/oauth2/token", "ysszm2yk7gp5r9ernuaurgcc", "w9t7t48g7H").build()?;
//! // In the user's cache directory (`$XDG_CACHE_HOME/bearer` on Linux), one file per credential.
//! let store = FileStore::in_cache_dir()?;
//! # let _ = (store, config);
//! # Ok(()) }
//! ```

mod file;
mod key;
#[cfg(feature = "redis")]
mod redis;
mod spec;

#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
pub use bearer_client_core::{FleetStore, StoreError, WriteOutcome};
pub use file::FileStore;
pub use spec::{SpecError, StoreSpec};
