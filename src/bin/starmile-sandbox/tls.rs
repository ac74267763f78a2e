//! HTTPS: certificates from PEM files, or a throw-away CA generated at start.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::cli::TlsSource;

type CertifiedKey = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

pub fn acceptor(source: &TlsSource) -> Result<TlsAcceptor, String> {
    let (chain, key) = match source {
        TlsSource::Files { cert, key } => load_pem(cert, key)?,
        TlsSource::SelfSigned { dir } => self_signed(dir)?,
    };
    // An explicit provider: relying on the process default would break as
    // soon as another dependency enables a second crypto backend. ring is
    // deprecated only for lacking post-quantum key exchange, which a
    // loopback test server does not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS certificate or key rejected: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn load_pem(cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read a private key from {}: {e}", key.display()))?;
    Ok((chain, key))
}

/// Generates a CA and a server certificate signed by it, writes the CA (only
/// the certificate, never a key) to `dir/ca.pem` for clients to trust.
/// A separate CA, rather than one self-signed leaf, is what real deployments
/// look like, and webpki refuses a CA certificate used as a server's.
fn self_signed(dir: &Path) -> Result<CertifiedKey, String> {
    let failed = |e: rcgen::Error| format!("cannot generate certificates: {e}");

    let ca_key = KeyPair::generate().map_err(failed)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Starmile Sandbox CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).map_err(failed)?;

    let server_key = KeyPair::generate().map_err(failed)?;
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let mut params = CertificateParams::new(names).map_err(failed)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = params
        .signed_by(&server_key, &ca, &ca_key)
        .map_err(failed)?;

    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join("ca.pem"), ca.pem()))
        .map_err(|e| format!("cannot write {}: {e}", dir.join("ca.pem").display()))?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    Ok((vec![server.der().clone()], key))
}
