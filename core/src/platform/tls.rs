//! TLS for the platform connection: rustls on ring with the bundled web PKI roots (plus any
//! private roots the configuration adds), and optional pinning of the platform's public keys.
//!
//! A pin is the SHA-256 of a certificate's DER `SubjectPublicKeyInfo`, written in base64 (the
//! `pin-sha256` form of RFC 7469, with or without the `sha256/` prefix). The chain must first
//! pass normal web PKI validation; then a pinned key must sit on a *verified path* from the
//! server's certificate to a trusted root (the certificate itself, an intermediate that signed
//! it, or the root). Certificates the server merely sends along do not count: a mis-issued
//! certificate with the genuine pinned certificate appended as an unused extra is refused.
//! Pinning keys rather than certificates lets the platform renew certificates without an app
//! release as long as it keeps its key (or a pinned intermediate's); a second, backup pin lets
//! it move to a new key (a platform URL other than loopback needs at least two pins).

use std::sync::Arc;

use base64::Engine;
use ring::digest;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::Error;

use crate::error::PIN_FAILURE_MARKER;

/// Parses configured pins into raw SHA-256 values.
pub fn parse_pins(pins: &[String]) -> Result<Vec<[u8; 32]>, Error> {
    pins.iter()
        .map(|p| {
            let b64 = p.trim().strip_prefix("sha256/").unwrap_or(p.trim());
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| Error::invalid("pinned_key_hashes", "each pin must be base64 of a SHA-256"))?;
            raw.try_into().map_err(|_| Error::invalid("pinned_key_hashes", "each pin must be a 32-byte SHA-256"))
        })
        .collect()
}

/// The base64 pin of a DER certificate's public key, or `None` if the DER cannot be read.
pub fn pin_of_certificate(cert_der: &[u8]) -> Option<String> {
    let spki = starpos_protocol::der::spki_of(cert_der)?;
    Some(base64::engine::general_purpose::STANDARD.encode(digest::digest(&digest::SHA256, spki)))
}

/// Builds the rustls client configuration.
pub fn client_config(pins: Vec<[u8; 32]>, extra_roots_der: &[Vec<u8>]) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for der in extra_roots_der {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| Error::invalid("extra_roots_der", format!("not a usable CA certificate: {e}")))?;
    }
    let roots_for_paths = roots.clone();
    let algorithms = provider.signature_verification_algorithms.all;
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::InvalidConfig { reason: format!("TLS verifier: {e}") })?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidConfig { reason: format!("TLS versions: {e}") })?;
    let config = if pins.is_empty() {
        builder.with_webpki_verifier(webpki).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinningVerifier {
                inner: webpki,
                roots: Arc::new(roots_for_paths),
                algorithms,
                pins,
            }))
            .with_no_client_auth()
    };
    Ok(config)
}

/// Web PKI validation first, then the pin check on a verified path.
#[derive(Debug)]
struct PinningVerifier {
    inner: Arc<WebPkiServerVerifier>,
    roots: Arc<RootCertStore>,
    algorithms: &'static [&'static dyn rustls::pki_types::SignatureVerificationAlgorithm],
    pins: Vec<[u8; 32]>,
}

impl PinningVerifier {
    fn pinned(&self, spki_der: &[u8]) -> bool {
        let hash = digest::digest(&digest::SHA256, spki_der);
        self.pins.iter().any(|pin| pin.as_slice() == hash.as_ref())
    }

    /// Whether some path from `end_entity` through `intermediates` to a trusted root, with
    /// every signature checked, carries a pinned key. The path builder tries every candidate
    /// path and keeps the first the check accepts.
    fn pinned_path_exists(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> bool {
        let Ok(cert) = webpki::EndEntityCert::try_from(end_entity) else { return false };
        let check = |path: &webpki::VerifiedPath<'_>| {
            let mut on_path = std::iter::once(path.end_entity().subject_public_key_info())
                .chain(path.intermediate_certificates().map(|c| c.subject_public_key_info()))
                .chain(std::iter::once(webpki::spki_for_anchor(path.anchor())));
            if on_path.any(|spki| self.pinned(spki.as_ref())) {
                Ok(())
            } else {
                Err(webpki::Error::UnknownIssuer)
            }
        };
        cert.verify_for_usage(
            self.algorithms,
            &self.roots.roots,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            None,
            Some(&check),
        )
        .is_ok()
    }
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)?;
        if self.pinned_path_exists(end_entity, intermediates, now) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(PIN_FAILURE_MARKER.into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_with_or_without_prefix() {
        let pin = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let parsed = parse_pins(&[pin.clone(), format!("sha256/{pin}")]).unwrap();
        assert_eq!(parsed, vec![[1u8; 32], [1u8; 32]]);
        assert!(matches!(parse_pins(&["nope!".into()]), Err(Error::InvalidInput { .. })));
        assert!(matches!(parse_pins(&["AAAA".into()]), Err(Error::InvalidInput { .. })));
    }
}
