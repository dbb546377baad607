//! Reading a request body under the cap: never more than one byte past it is kept or read.

use super::response_body::Abort;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;

/// A request body as read.
#[derive(Debug, Default)]
pub(super) struct RequestBody {
    /// What was read: all of it, or (over the cap) at most the cap plus one byte.
    pub(super) bytes: Vec<u8>,
    /// The body is larger than the cap (declared or sent); the rest of it was not read.
    pub(super) over_limit: bool,
}

/// Reads the body of a request with these headers, up to `max` bytes. A declared length over
/// `max` is refused without reading anything; otherwise reading stops at `max + 1` bytes. An
/// error when the client broke off mid-body.
pub(super) async fn read(
    headers: &HeaderMap,
    body: &mut Incoming,
    max: usize,
) -> Result<RequestBody, Abort> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Ok(RequestBody {
            bytes: Vec::new(),
            over_limit: true,
        });
    }
    let mut read = RequestBody::default();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(Abort);
        };
        if let Ok(data) = frame.into_data() {
            let room = (max + 1).saturating_sub(read.bytes.len());
            read.bytes.extend_from_slice(&data[..data.len().min(room)]);
            if read.bytes.len() > max {
                read.over_limit = true;
                break;
            }
        }
    }
    Ok(read)
}
