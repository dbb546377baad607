//! HTTP/2 with the sandbox, for the reqwest client's token requests and API calls alike: the
//! same cases as the hyper client's, written once in transport-hyper's
//! `tests/async_transport/http2.rs`.

mod common;

use bearer_transport_reqwest as transport;

include!("../../transport-hyper/tests/async_transport/http2.rs");
