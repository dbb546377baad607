//! Naming transport failures for the state machine, the same for every transport: a refused
//! certificate or TLS set-up (permanent: retrying cannot help), and the kinds of I/O errors.

use bearer_protocol::{CertificateProblem, TransportFailureKind};
use rustls::{CertificateError, Error as TlsError};
use std::error::Error as StdError;
use std::io;

/// The kind of failure when `error`, or one of its sources, is a rustls error: a refused
/// certificate says which problem, anything else rustls refused is
/// [`TransportFailureKind::Tls`]. `None` when rustls is not involved.
pub fn tls_failure_kind(error: &(dyn StdError + 'static)) -> Option<TransportFailureKind> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<TlsError>() {
            return Some(kind_of(tls));
        }
        // An `io::Error`'s `source` skips the error it wraps: follow the wrapped one instead.
        current = match error.downcast_ref::<io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => error.source(),
        };
    }
    None
}

/// The kind of an I/O error of a socket: no connection, a time-out, a broken connection.
pub fn io_failure_kind(error: &io::Error) -> TransportFailureKind {
    use io::ErrorKind as K;
    match error.kind() {
        K::TimedOut | K::WouldBlock => TransportFailureKind::TimedOut,
        K::ConnectionRefused
        | K::AddrNotAvailable
        | K::NotFound
        | K::HostUnreachable
        | K::NetworkUnreachable => TransportFailureKind::Connect,
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
            TransportFailureKind::Interrupted
        }
        _ => TransportFailureKind::Other,
    }
}

/// The kind of a rustls error.
pub fn kind_of(error: &TlsError) -> TransportFailureKind {
    let TlsError::InvalidCertificate(certificate) = error else {
        return TransportFailureKind::Tls;
    };
    let problem = match certificate {
        CertificateError::UnknownIssuer => CertificateProblem::UnknownIssuer,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            CertificateProblem::NameMismatch
        }
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => CertificateProblem::Expired,
        _ => CertificateProblem::Other,
    };
    TransportFailureKind::Certificate(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_problems_are_named_through_wrapping_errors() {
        // As tokio-rustls and hyper-rustls hand it over: twice wrapped.
        let wrapped = io::Error::other(io::Error::new(
            io::ErrorKind::InvalidData,
            TlsError::InvalidCertificate(CertificateError::UnknownIssuer),
        ));
        assert_eq!(
            tls_failure_kind(&wrapped),
            Some(TransportFailureKind::Certificate(
                CertificateProblem::UnknownIssuer
            ))
        );
        let name = TlsError::InvalidCertificate(CertificateError::NotValidForName);
        assert_eq!(
            kind_of(&name),
            TransportFailureKind::Certificate(CertificateProblem::NameMismatch)
        );
        let expired = TlsError::InvalidCertificate(CertificateError::Expired);
        assert_eq!(
            kind_of(&expired),
            TransportFailureKind::Certificate(CertificateProblem::Expired)
        );
        assert_eq!(
            kind_of(&TlsError::HandshakeNotComplete),
            TransportFailureKind::Tls
        );
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(tls_failure_kind(&reset), None);
    }
}
