//! What the server sends back: [`SandboxBody`], a whole body or a truncated one, and [`Abort`],
//! the error that makes hyper drop the connection.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long a truncated body's connection stays open after the partial body, so it is flushed.
const TRUNCATE_LINGER: Duration = Duration::from_millis(50);

/// The error that makes hyper drop a connection (a reset, a truncated body, a broken request).
#[derive(Debug)]
pub(crate) struct Abort;

impl fmt::Display for Abort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection aborted by the sandbox")
    }
}

impl std::error::Error for Abort {}

/// A response body: all of it, or the first half followed by an error (truncation).
pub(super) struct SandboxBody {
    data: Option<Bytes>,
    len: usize,
    cut: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl SandboxBody {
    /// All of `body`.
    pub(super) fn full(body: Vec<u8>) -> Self {
        Self {
            len: body.len(),
            data: Some(Bytes::from(body)),
            cut: None,
        }
    }

    /// The length of what it sends.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The first half of it, then an error that cuts the connection (after a short linger, so
    /// the half is flushed).
    pub(super) fn truncated(self) -> Self {
        let data = self.data.unwrap_or_default();
        let half = data.slice(..data.len() / 2);
        Self {
            len: half.len(),
            data: Some(half),
            cut: Some(Box::pin(tokio::time::sleep(TRUNCATE_LINGER))),
        }
    }
}

impl Body for SandboxBody {
    type Data = Bytes;
    type Error = Abort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Abort>>> {
        let this = self.get_mut();
        if let Some(data) = this.data.take() {
            if !data.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
        }
        match &mut this.cut {
            // Wait so the partial body is flushed, then fail so the connection is cut.
            Some(sleep) => match sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.cut = None;
                    Poll::Ready(Some(Err(Abort)))
                }
                Poll::Pending => Poll::Pending,
            },
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.cut.is_none() && self.data.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        if self.cut.is_some() {
            SizeHint::default()
        } else {
            SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
        }
    }
}
