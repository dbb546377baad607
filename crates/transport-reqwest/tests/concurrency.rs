//! Single flight across tasks, cancellation of the task driving the token request, and the
//! background renewer of the reqwest client, against the sandbox on 127.0.0.1: the same cases
//! as the hyper client's (both run client-core's `Flight` and renewer), written once in
//! transport-hyper's `tests/async_transport/concurrency.rs`.

mod common;

use bearer_transport_reqwest as transport;

include!("../../transport-hyper/tests/async_transport/concurrency.rs");
