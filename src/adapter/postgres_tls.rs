//! TLS for PostgreSQL connections, with rustls (no system OpenSSL), giving
//! the profile's `sslmode` libpq's meaning:
//! - `disable`: never TLS;
//! - `allow`, `prefer` (the default): TLS when the server offers it;
//! - `require`: TLS always; the certificate is checked only when
//!   `sslrootcert` names the authority to check it against;
//! - `verify-ca`: the certificate must chain to `sslrootcert` (or, without
//!   it, to the public web's authorities);
//! - `verify-full`: as verify-ca, and it must name the host.

use std::path::Path;
use std::sync::Arc;

use postgres::config::SslMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How a profile's connections are secured: the client's mode and the TLS
/// connector (unused with `disable`).
pub struct TlsSettings {
    pub mode: SslMode,
    pub connector: MakeRustlsConnect,
}

/// The settings for `sslmode` and `sslrootcert`, or what is wrong with them.
pub fn settings(sslmode: Option<&str>, root_cert: Option<&Path>) -> Result<TlsSettings, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = || -> Result<Arc<RootCertStore>, String> {
        let mut store = RootCertStore::empty();
        match root_cert {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
                for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                    let cert = cert.map_err(|e| {
                        format!(
                            "sslrootcert {} is not PEM certificates: {e}",
                            path.display()
                        )
                    })?;
                    store.add(cert).map_err(|e| {
                        format!(
                            "sslrootcert {} holds a bad certificate: {e}",
                            path.display()
                        )
                    })?;
                }
                if store.is_empty() {
                    return Err(format!(
                        "sslrootcert {} holds no certificate",
                        path.display()
                    ));
                }
            }
            None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        Ok(Arc::new(store))
    };
    let web_pki = |roots: Arc<RootCertStore>| {
        WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| format!("cannot check certificates: {e}"))
    };
    let (mode, verifier): (SslMode, Arc<dyn ServerCertVerifier>) = match sslmode.unwrap_or("prefer")
    {
        "disable" => (SslMode::Disable, Arc::new(AnyCertificate(provider.clone()))),
        "allow" | "prefer" => (SslMode::Prefer, Arc::new(AnyCertificate(provider.clone()))),
        "require" if root_cert.is_none() => {
            (SslMode::Require, Arc::new(AnyCertificate(provider.clone())))
        }
        "require" | "verify-ca" => (SslMode::Require, Arc::new(AnyHostName(web_pki(roots()?)?))),
        "verify-full" => (SslMode::Require, web_pki(roots()?)?),
        other => {
            return Err(format!(
                "sslmode '{other}' is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ))
        }
    };
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(TlsSettings {
        mode,
        connector: MakeRustlsConnect::new(config),
    })
}

/// `require` without a root certificate: any certificate, as libpq takes it
/// (the connection is encrypted, the server not authenticated). Signatures
/// are still checked, so the handshake is sound.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain is checked, the host name is not.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_libpq() {
        assert!(matches!(
            settings(None, None).unwrap().mode,
            SslMode::Prefer
        ));
        assert!(matches!(
            settings(Some("disable"), None).unwrap().mode,
            SslMode::Disable
        ));
        assert!(matches!(
            settings(Some("verify-full"), None).unwrap().mode,
            SslMode::Require
        ));
        let err = settings(Some("verify_full"), None).err().unwrap();
        assert!(err.contains("not one of"), "{err}");
        let err = settings(Some("verify-ca"), Some(Path::new("/no/such/root.crt")))
            .err()
            .unwrap();
        assert!(err.contains("cannot read sslrootcert"), "{err}");
    }
}
