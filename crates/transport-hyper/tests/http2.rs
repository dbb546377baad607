//! HTTP/2 with the sandbox: the async transports' shared cases
//! (`tests/async_transport/http2.rs`, run by transport-reqwest too).

mod common;

use bearer_transport_hyper as transport;

include!("async_transport/http2.rs");
