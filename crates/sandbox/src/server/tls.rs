//! TLS for the sandbox: a test certificate authority generated at start-up (rcgen), a server
//! certificate it signs for `127.0.0.1`, `::1` and `localhost`, served with rustls (ring, no
//! OpenSSL). Clients trust the CA's PEM from [`Sandbox::ca_pem`](crate::Sandbox::ca_pem).

use crate::error::SandboxError;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A generated CA and the server configuration whose certificate it signed.
struct TestTls {
    ca_pem: String,
    server_config: Arc<ServerConfig>,
}

fn tls_error(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Tls(e.to_string())
}

fn generate() -> Result<TestTls, SandboxError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "bearer-sandbox test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(tls_error)?;
    let ca = ca_params.self_signed(&ca_key).map_err(tls_error)?;

    // `sandbox.test` names (never resolved: RFC 2606) are for tests that reach the sandbox
    // through a proxy, by a name that is not loopback.
    let mut leaf_params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        "sandbox.test".to_owned(),
        "api.sandbox.test".to_owned(),
    ])
    .map_err(tls_error)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "bearer-sandbox");
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().map_err(tls_error)?;
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .map_err(tls_error)?;

    let chain = vec![leaf.der().clone(), CertificateDer::from(ca.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server_config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TestTls {
        ca_pem: ca.pem(),
        server_config: Arc::new(server_config),
    })
}

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The acceptor of a fresh test CA's server certificate, and the CA's PEM.
pub(crate) fn acceptor() -> Result<(TlsAcceptor, String), SandboxError> {
    let tls = generate()?;
    Ok((TlsAcceptor::from(tls.server_config), tls.ca_pem))
}

/// The TLS stream over `io` once the handshake is done; `None` when it failed or took longer
/// than 10 s.
pub(crate) async fn handshake<I>(acceptor: &TlsAcceptor, io: I) -> Option<TlsStream<I>>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
        Ok(Ok(stream)) => Some(stream),
        _ => None,
    }
}
