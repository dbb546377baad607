//! What a running sandbox's tasks share ([`Shared`]), and how it is set up before the server
//! runs ([`Prepared`]: the provider with its first applications, the bound socket, TLS).

use super::config::SandboxConfig;
use super::tls;
use crate::clock::SandboxClock;
use crate::error::SandboxError;
use crate::hold::Changes;
use crate::limits::{ConnCounters, ConnectionLimits};
use crate::provider::Provider;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::{Arc, Mutex, PoisonError};
use tokio_rustls::TlsAcceptor;

/// What the server's tasks share.
pub(crate) struct Shared {
    pub(super) provider: Mutex<Provider>,
    pub(super) clock: SandboxClock,
    pub(super) max_body: usize,
    /// Wakes held answers and the tests waiting for them.
    pub(crate) changes: Changes,
    pub(super) limits: ConnectionLimits,
    pub(super) connections: Arc<ConnCounters>,
    /// Connections are TLS: requests carry [`http::uri::Scheme::HTTPS`] in their extensions.
    pub(super) tls: bool,
}

impl Shared {
    /// Runs `f` on the provider, under its lock.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Provider) -> R) -> R {
        // The provider never panics on input; if it did, its state is still usable.
        let mut provider = self.provider.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut provider)
    }
}

/// Everything prepared before the server runs: the bound socket, the provider, TLS.
pub(super) struct Prepared {
    pub(super) listener: StdListener,
    pub(super) addr: SocketAddr,
    pub(super) shared: Arc<Shared>,
    pub(super) acceptor: Option<TlsAcceptor>,
    pub(super) ca_pem: Option<String>,
    pub(super) admin_key: String,
    pub(super) tls: bool,
}

impl Prepared {
    pub(super) fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        let mut provider = Provider::new(config.provider.clone());
        for keys in config.apps {
            provider.create_app(Some(keys))?;
        }
        let (acceptor, ca_pem) = match config.tls {
            true => tls::acceptor().map(|(acceptor, pem)| (Some(acceptor), Some(pem)))?,
            false => (None, None),
        };
        let bind_error = |source| SandboxError::Bind {
            addr: config.addr,
            source,
        };
        let listener = StdListener::bind(config.addr).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok(Self {
            listener,
            addr,
            admin_key: provider.admin_key().to_owned(),
            shared: Arc::new(Shared {
                provider: Mutex::new(provider),
                clock: config.clock,
                max_body: config.provider.max_body_bytes,
                changes: Changes::default(),
                limits: config.limits,
                connections: Arc::default(),
                tls: config.tls,
            }),
            acceptor,
            ca_pem,
            tls: config.tls,
        })
    }

    /// A handle of the bound socket, for the accept loop.
    pub(super) fn listener(&self) -> Result<StdListener, SandboxError> {
        self.listener
            .try_clone()
            .map_err(|source| self.bind_error(source))
    }

    /// The error of a socket that cannot be listened on.
    pub(super) fn bind_error(&self, source: io::Error) -> SandboxError {
        SandboxError::Bind {
            addr: self.addr,
            source,
        }
    }
}
