//! [`ReplayBody`]: which request bodies the [`BearerService`](crate::BearerService) may send
//! twice (to replay a call after a stale token, or after "over queries per second").

use bytes::Bytes;
use http_body_util::{Empty, Full};

/// A request body that may be copied to send a call again.
///
/// Implemented for the usual in-memory bodies (copies) and for streaming bodies (never
/// copied); implement it for a body type of your own: return `None` when the body cannot be
/// sent twice.
pub trait ReplayBody: Sized {
    /// A copy of the body, ready to be sent again, if the body can be sent twice.
    fn try_clone(&self) -> Option<Self>;
}

impl<D: Clone> ReplayBody for Full<D> {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl<D> ReplayBody for Empty<D> {
    fn try_clone(&self) -> Option<Self> {
        Some(Empty::new())
    }
}

macro_rules! replay_by_clone {
    ($($ty:ty),*) => {$(
        impl ReplayBody for $ty {
            fn try_clone(&self) -> Option<Self> {
                Some(self.clone())
            }
        }
    )*};
}

replay_by_clone!(Bytes, String, Vec<u8>);

macro_rules! replay_by_copy {
    ($($ty:ty),*) => {$(
        impl ReplayBody for $ty {
            fn try_clone(&self) -> Option<Self> {
                Some(*self)
            }
        }
    )*};
}

replay_by_copy!((), &'static str, &'static [u8]);

impl ReplayBody for hyper::body::Incoming {
    fn try_clone(&self) -> Option<Self> {
        None
    }
}

impl<D, E> ReplayBody for http_body_util::combinators::BoxBody<D, E> {
    fn try_clone(&self) -> Option<Self> {
        None
    }
}

impl<D, E> ReplayBody for http_body_util::combinators::UnsyncBoxBody<D, E> {
    fn try_clone(&self) -> Option<Self> {
        None
    }
}
