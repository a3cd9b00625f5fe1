//! TLS to the platform: a private CA is accepted only when configured, and key pinning refuses a
//! valid certificate whose key is not pinned. The server is a real TLS listener on loopback.

use std::sync::Arc;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};
use starpos_core::{Config, Error, InMemorySecureStore, SmsPurpose, StarPos};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct TlsPlatform {
    url: String,
    ca_der: Vec<u8>,
    leaf_der: Vec<u8>,
    leaf_spki_der: Vec<u8>,
}

/// A CA, a `localhost` certificate it signs, and a TLS server that answers every request with a
/// successful SMS response.
async fn tls_platform() -> TlsPlatform {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&leaf_key, &issuer).unwrap();

    let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = vec![0u8; 8192];
                let _ = tls.read(&mut buf).await;
                let body = r#"{"expires_in":300,"resend_after":60}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    TlsPlatform {
        url: format!("https://localhost:{port}/"),
        ca_der: ca_cert.der().to_vec(),
        leaf_der: leaf.der().to_vec(),
        leaf_spki_der: leaf_key.subject_public_key_info(),
    }
}

fn client(p: &TlsPlatform, roots: bool, pins: Vec<String>, dir: &std::path::Path) -> StarPos {
    let mut config = Config::new(p.url.clone(), dir, "tls-device");
    if roots {
        config.extra_roots_der = vec![p.ca_der.clone()];
    }
    config.pinned_key_hashes = pins;
    StarPos::new(config, Arc::new(InMemorySecureStore::new())).unwrap()
}

fn pin_of(spki_der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, spki_der))
}

#[tokio::test]
async fn pin_of_certificate_reads_the_subject_public_key() {
    let p = tls_platform().await;
    assert_eq!(starpos_core::platform::tls::pin_of_certificate(&p.leaf_der), Some(pin_of(&p.leaf_spki_der)));
}

#[tokio::test]
async fn a_private_ca_works_only_when_configured() {
    let p = tls_platform().await;
    let dir = tempfile::tempdir().unwrap();
    let trusted = client(&p, true, vec![], dir.path());
    trusted.account().request_sms_code("13800138000".into(), SmsPurpose::Login).await.unwrap();
    let untrusted = client(&p, false, vec![], &dir.path().join("b"));
    assert_eq!(
        untrusted.account().request_sms_code("13800138000".into(), SmsPurpose::Login).await,
        Err(Error::UntrustedPlatform)
    );
}

#[tokio::test]
async fn pinning_accepts_the_pinned_key_and_refuses_any_other() {
    let p = tls_platform().await;
    let dir = tempfile::tempdir().unwrap();
    let pinned = client(&p, true, vec![format!("sha256/{}", pin_of(&p.leaf_spki_der))], dir.path());
    pinned.account().request_sms_code("13800138000".into(), SmsPurpose::Login).await.unwrap();

    let other = pin_of(b"some other key");
    let wrong = client(&p, true, vec![other], &dir.path().join("b"));
    assert_eq!(
        wrong.account().request_sms_code("13800138000".into(), SmsPurpose::Login).await,
        Err(Error::UntrustedPlatform)
    );
}
