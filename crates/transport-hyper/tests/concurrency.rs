//! Single flight across tasks, cancellation of the task driving the token request, and the
//! background renewer, against the sandbox on 127.0.0.1: the async transports' shared cases
//! (`tests/async_transport/concurrency.rs`, run by transport-reqwest too).

mod common;

use bearer_transport_hyper as transport;

include!("async_transport/concurrency.rs");
