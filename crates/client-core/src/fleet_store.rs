//! The fleet seam: a store several processes share, which executes the steps of the protocol's
//! [`Coordinator`](bearer_protocol::fleet::Coordinator) (read the record, take the lease, write
//! if the generation is still the one read, release, wait for a change).

use crate::store::StoreError;
use bearer_protocol::Credential;
use bearer_protocol::fleet::{LeaseId, LeaseOutcome, Record};
use std::time::Duration;

/// How a [`FleetStore::write`] ended.
#[derive(Debug, Clone)]
pub enum WriteOutcome {
    /// The record was replaced.
    Written,
    /// Refused: the generation moved, or the lease the write required is no longer the
    /// writer's. Carries the record as it now is.
    Conflict(Option<Record>),
}

/// A store the processes using one credential share (a file on one host, Redis for a fleet):
/// one [`Record`] per [`Credential`] and one renewal lease. Each method is one atomic step;
/// an `Err` means the store did not answer, and the client then works alone until it does
/// (a store outage is never an application outage).
///
/// Implementations: `bearer_store::FileStore` and `bearer_store::RedisStore`. The methods
/// block; an async client calls them off its reactor.
pub trait FleetStore: Send + Sync {
    /// The record of `credential`, if any. A record that cannot be read back (corrupt, of
    /// another format) is set aside and reported through [`take_notice`](Self::take_notice),
    /// and `None` is returned.
    fn read(&self, credential: &Credential) -> Result<Option<Record>, StoreError>;

    /// Takes the renewal lease for `holder` for `ttl` if nobody holds it, and reads the record
    /// in the same atomic step.
    fn take_lease(
        &self,
        credential: &Credential,
        holder: LeaseId,
        ttl: Duration,
    ) -> Result<(Option<Record>, LeaseOutcome), StoreError>;

    /// Replaces the record with `record` if its generation is still `expected` (0: no record
    /// yet) and, when `lease` is given, that holder still holds the lease.
    fn write(
        &self,
        credential: &Credential,
        expected: u64,
        lease: Option<LeaseId>,
        record: &Record,
    ) -> Result<WriteOutcome, StoreError>;

    /// Deletes the lease if `holder` still holds it.
    fn release(&self, credential: &Credential, holder: LeaseId) -> Result<(), StoreError>;

    /// Returns once the record's generation is no longer `generation` or the lease is gone, or
    /// after `timeout`, whichever comes first; woken by the store, not by polling in a tight
    /// loop.
    fn wait(
        &self,
        credential: &Credential,
        generation: u64,
        timeout: Duration,
    ) -> Result<(), StoreError>;

    /// Something the store recovered from since last asked (a corrupt record set aside), for
    /// the client's events. No secret in it.
    fn take_notice(&self) -> Option<String> {
        None
    }
}

/// A store shared with other code (`Arc<dyn FleetStore>` included).
impl<S: FleetStore + ?Sized> FleetStore for std::sync::Arc<S> {
    fn read(&self, credential: &Credential) -> Result<Option<Record>, StoreError> {
        (**self).read(credential)
    }

    fn take_lease(
        &self,
        credential: &Credential,
        holder: LeaseId,
        ttl: Duration,
    ) -> Result<(Option<Record>, LeaseOutcome), StoreError> {
        (**self).take_lease(credential, holder, ttl)
    }

    fn write(
        &self,
        credential: &Credential,
        expected: u64,
        lease: Option<LeaseId>,
        record: &Record,
    ) -> Result<WriteOutcome, StoreError> {
        (**self).write(credential, expected, lease, record)
    }

    fn release(&self, credential: &Credential, holder: LeaseId) -> Result<(), StoreError> {
        (**self).release(credential, holder)
    }

    fn wait(
        &self,
        credential: &Credential,
        generation: u64,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        (**self).wait(credential, generation, timeout)
    }

    fn take_notice(&self) -> Option<String> {
        (**self).take_notice()
    }
}
