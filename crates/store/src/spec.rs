//! [`StoreSpec`]: a fleet store named by a string, as `BEARER_STORE` or a `--store` flag
//! gives it.

use bearer_client_core::{FleetStore, StoreError};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

/// A fleet store named by a string: `file:` (the user's cache directory), `file:DIR`, or
/// `redis://[USER][:PASSWORD]@HOST[:PORT][/DB]` (also `redis+unix:///PATH?db=N`).
///
/// ```
/// use bearer_store::StoreSpec;
///
/// let spec: StoreSpec = "file:/var/cache/my-app".parse()?;
/// assert_eq!(spec, StoreSpec::File(Some("/var/cache/my-app".into())));
/// assert_eq!("file:".parse::<StoreSpec>()?, StoreSpec::File(None));
/// assert!("redis://127.0.0.1:6379/0".parse::<StoreSpec>().is_ok());
/// assert!("s3://bucket".parse::<StoreSpec>().is_err());
/// # Ok::<(), bearer_store::SpecError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// A [`FileStore`](crate::FileStore) in this directory (`None`: the user's cache directory).
    File(Option<PathBuf>),
    /// A Redis store at this URL.
    Redis(String),
}

/// A store name that is neither `file:…` nor `redis://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a store is `file:`, `file:DIRECTORY` or `redis://HOST:PORT/DB`, not {:?}",
            self.0
        )
    }
}

impl std::error::Error for SpecError {}

impl FromStr for StoreSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        if let Some(dir) = spec.strip_prefix("file:") {
            return Ok(Self::File((!dir.is_empty()).then(|| PathBuf::from(dir))));
        }
        if ["redis://", "redis+unix://"]
            .iter()
            .any(|scheme| spec.starts_with(scheme))
        {
            return Ok(Self::Redis(spec.to_owned()));
        }
        // A Redis URL may carry a password: never repeat more than its scheme.
        let shown = spec.split_once("://").map_or(spec, |(scheme, _)| scheme);
        Err(SpecError(shown.to_owned()))
    }
}

impl StoreSpec {
    /// Opens the store (a Redis store needs this crate's `redis` feature).
    pub fn open(&self) -> Result<Arc<dyn FleetStore>, StoreError> {
        match self {
            Self::File(None) => Ok(Arc::new(crate::FileStore::in_cache_dir()?)),
            Self::File(Some(dir)) => Ok(Arc::new(crate::FileStore::new(dir)?)),
            #[cfg(feature = "redis")]
            Self::Redis(url) => Ok(Arc::new(crate::RedisStore::open(url)?)),
            #[cfg(not(feature = "redis"))]
            Self::Redis(_) => Err("a Redis store needs bearer-store's `redis` feature".into()),
        }
    }
}
