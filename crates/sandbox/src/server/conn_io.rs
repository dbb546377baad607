//! The socket under each connection ([`ConnIo`]): it notes activity for the watchdog, resets
//! itself when a fault asks for it, and closes gracefully when a request body was left unread.

use crate::limits::{Activity, OpenConnection};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How long a closing connection reads and drops what the client still sends.
const LINGER: Duration = Duration::from_secs(2);
/// How much a closing connection reads and drops at the most.
const LINGER_BYTES: usize = 4 << 20;

/// Per-connection state shared between the service and the socket wrapper.
#[derive(Debug, Default)]
pub(super) struct ConnControl {
    /// Reset the connection (a fault): every operation fails, the close sends a TCP RST.
    pub(super) reset: AtomicBool,
    /// A request body was left unread: closing discards what the client still sends first.
    pub(super) linger: AtomicBool,
    /// Bytes and requests, for the connection's watchdog.
    pub(super) activity: Arc<Activity>,
}

/// The TCP stream, able to reset itself: once `reset` is set, every operation fails and the
/// socket is closed with `SO_LINGER` 0, which sends a TCP RST. Its slot among the open
/// connections is given back before the client can see the connection end: when its write side
/// is shut down (the FIN), or else before the socket closes (fields drop in order).
///
/// Once `linger` is set (a body over the cap was left unread), shutting it down sends the FIN,
/// then reads and drops what the client still sends, until it closes, for up to 2 s or 4 MiB:
/// closing a socket with unread bytes sends a RST, which would make the client lose the answer
/// (or fail while still sending).
pub(super) struct ConnIo {
    /// The slot, until the write side is shut down.
    open: Option<OpenConnection>,
    tcp: TcpStream,
    control: Arc<ConnControl>,
    discarding: Option<Discarding>,
}

/// The lingering close in progress: until when, and how much more it reads.
struct Discarding {
    until: Pin<Box<tokio::time::Sleep>>,
    left: usize,
}

impl ConnIo {
    /// Wraps an accepted socket that holds the slot `open`.
    pub(super) fn new(tcp: TcpStream, open: OpenConnection, control: Arc<ConnControl>) -> Self {
        Self {
            open: Some(open),
            tcp,
            control,
            discarding: None,
        }
    }

    fn is_reset(&self) -> bool {
        self.control.reset.load(Ordering::SeqCst)
    }

    /// Notes bytes sent, for the watchdog.
    fn sent(&self, poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = &poll {
            if *n > 0 {
                self.control.activity.sent();
            }
        }
        poll
    }
}

impl ConnIo {
    /// Reads and drops what the client sends until it closes, 2 s pass or 4 MiB were read.
    fn poll_discard(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let discarding = self.discarding.get_or_insert_with(|| Discarding {
            until: Box::pin(tokio::time::sleep(LINGER)),
            left: LINGER_BYTES,
        });
        if discarding.until.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        let mut scratch = [0u8; 8192];
        while discarding.left > 0 {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.tcp).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    discarding.left = discarding.left.saturating_sub(buf.filled().len());
                }
                // The client closed (or broke off): done.
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(())
    }
}

/// The error of every operation on a reset connection.
fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "reset by the sandbox")
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if self.is_reset() {
            let _ = self.tcp.set_zero_linger();
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.control.activity.received();
        }
        poll
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        let poll = Pin::new(&mut this.tcp).poll_write(cx, buf);
        this.sent(poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        let poll = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        this.sent(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut this.tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        // Given back before the FIN: a client that read to the end may connect again at once.
        this.open = None;
        ready!(Pin::new(&mut this.tcp).poll_shutdown(cx))?;
        if this.control.linger.load(Ordering::SeqCst) {
            ready!(this.poll_discard(cx));
        }
        Poll::Ready(Ok(()))
    }
}
