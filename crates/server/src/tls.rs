//! HTTPS: the certificate the server presents, loaded from PEM files or generated
//! self-signed, as a rustls server configuration.
//!
//! Real eSCL scanners almost all present self-signed certificates, so clients that speak
//! `_uscans` (macOS, Windows, Mopria, sane-airscan) accept them; `--tls-self-signed` is
//! therefore a sane default for a LAN, and `--tls-cert`/`--tls-key` take a real one.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// "the certificate file" or "the key file".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The certificate PEM holds no usable certificate.
    #[error("{0}: no certificate found; expected PEM blocks `-----BEGIN CERTIFICATE-----`")]
    NoCertificate(String),
    /// The key PEM holds no usable private key.
    #[error(
        "{0}: no private key found; expected a PEM block `-----BEGIN PRIVATE KEY-----` \
         (PKCS#8), `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY`"
    )]
    NoKey(String),
    /// rustls refused the certificate and key (e.g. they do not belong together).
    #[error("the certificate and key cannot be used: {0}")]
    Rejected(#[source] rustls::Error),
    /// A self-signed certificate could not be made.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[source] rcgen::Error),
    /// No host name to put in a self-signed certificate.
    #[error("a self-signed certificate needs at least one host name or IP address")]
    NoNames,
}

/// A certificate chain and its key, ready to serve HTTPS. Cheap to clone.
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) server: Arc<rustls::ServerConfig>,
    /// The leaf certificate, PEM, for printing or handing to clients as a trust anchor.
    certificate_pem: String,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// From PEM text: `cert_pem` holds the leaf certificate first, then any intermediates;
    /// `key_pem` the private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<TlsConfig, TlsError> {
        Self::from_pem_named(cert_pem, "the certificate", key_pem, "the key")
    }

    /// From a certificate file and a key file (PEM), as `--tls-cert` and `--tls-key` give.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                what,
                path: path.to_path_buf(),
                source,
            })
        };
        let cert_pem = read("the certificate file", cert)?;
        let key_pem = read("the key file", key)?;
        Self::from_pem_named(
            &cert_pem,
            &cert.display().to_string(),
            &key_pem,
            &key.display().to_string(),
        )
    }

    fn from_pem_named(
        cert_pem: &[u8],
        cert_name: &str,
        key_pem: &[u8],
        key_name: &str,
    ) -> Result<TlsConfig, TlsError> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .filter_map(Result::ok)
            .collect();
        if chain.is_empty() {
            return Err(TlsError::NoCertificate(cert_name.to_string()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|_| TlsError::NoKey(key_name.to_string()))?;
        let certificate_pem = pem_of(&chain[0]);
        Self::build(chain, key, certificate_pem)
    }

    /// A new self-signed certificate (ECDSA P-256) for `names`: host names and IP addresses
    /// as clients will reach the server (`scanner.local`, `192.0.2.7`, `localhost`). Each
    /// call makes a new key.
    pub fn self_signed(names: &[String]) -> Result<TlsConfig, TlsError> {
        if names.is_empty() {
            return Err(TlsError::NoNames);
        }
        let made =
            rcgen::generate_simple_self_signed(names.to_vec()).map_err(TlsError::Generate)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
        let certificate_pem = made.cert.pem();
        Self::build(vec![made.cert.der().clone()], key, certificate_pem)
    }

    fn build(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        certificate_pem: String,
    ) -> Result<TlsConfig, TlsError> {
        // The provider is named rather than taken from the process default, so that another
        // crate enabling a second rustls provider cannot make this ambiguous.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rejected)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Rejected)?;
        // eSCL is HTTP/1.1 only; saying so lets ALPN-speaking clients settle at once.
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            server: Arc::new(server),
            certificate_pem,
        })
    }

    /// The leaf certificate as PEM: what a client can be told to trust (`curl --cacert`).
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }
}

fn pem_of(der: &CertificateDer<'_>) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_round_trips_through_pem() {
        let t = TlsConfig::self_signed(&["localhost".into(), "127.0.0.1".into()]).unwrap();
        assert!(t
            .certificate_pem()
            .starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(matches!(
            TlsConfig::self_signed(&[]),
            Err(TlsError::NoNames)
        ));
    }

    #[test]
    fn bad_pem_gets_clear_errors() {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert = made.cert.pem();
        let key = made.signing_key.serialize_pem();
        let ok = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(ok.certificate_pem(), cert.replace("\r\n", "\n"));
        let e = TlsConfig::from_pem(key.as_bytes(), key.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no certificate found"), "{e}");
        let e = TlsConfig::from_pem(cert.as_bytes(), cert.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no private key found"), "{e}");
        // A key that is not the certificate's.
        let other = rcgen::KeyPair::generate().unwrap().serialize_pem();
        let e = TlsConfig::from_pem(cert.as_bytes(), other.as_bytes()).unwrap_err();
        assert!(matches!(e, TlsError::Rejected(_)), "{e}");
        let e =
            TlsConfig::from_pem_files(Path::new("/nonexistent/c.pem"), Path::new("k")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot read the certificate file /nonexistent/c.pem"),
            "{e}"
        );
    }
}
