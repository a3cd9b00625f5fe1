//! TLS to the platform: a private CA is accepted only when configured, and key pinning refuses a
//! valid certificate whose key is not pinned. The server is a real TLS listener on loopback.

use std::sync::Arc;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};
use rustls::pki_types::CertificateDer;
use starpos_core::{Config, Error, InMemorySecureStore, SmsPurpose, StarPos};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct TlsPlatform {
    url: String,
    ca_der: Vec<u8>,
    leaf_der: Vec<u8>,
    leaf_spki_der: Vec<u8>,
}

const SMS_SENT: &str = r#"{"expires_in":300,"resend_after":60}"#;

/// A CA, a `localhost` certificate it signs, and a TLS server that answers every request with a
/// successful SMS response.
async fn tls_platform() -> TlsPlatform {
    let ca = Ca::new();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = ca.sign_localhost(&leaf_key);
    let (port, _) = serve(vec![leaf.clone()], &leaf_key, ok_answer(SMS_SENT)).await;
    TlsPlatform {
        url: format!("https://localhost:{port}/"),
        ca_der: ca.der.clone(),
        leaf_der: leaf.to_vec(),
        leaf_spki_der: leaf_key.subject_public_key_info(),
    }
}

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: Vec<u8>,
    spki_der: Vec<u8>,
}

impl Ca {
    fn new() -> Ca {
        let key = KeyPair::generate().unwrap();
        let spki_der = key.subject_public_key_info();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        Ca { issuer: Issuer::new(params, key), der: cert.der().to_vec(), spki_der }
    }

    fn sign_localhost(&self, key: &KeyPair) -> CertificateDer<'static> {
        CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(key, &self.issuer)
            .unwrap()
            .der()
            .clone()
    }
}

fn ok_answer(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A TLS server on loopback presenting `chain` (signed with `key`) and answering every request
/// with `response`; answers its port and a count of requests it read.
async fn serve(
    chain: Vec<CertificateDer<'static>>,
    key: &KeyPair,
    response: String,
) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, response, counted) = (acceptor.clone(), response.clone(), counted.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = vec![0u8; 8192];
                if tls.read(&mut buf).await.unwrap_or(0) > 0 {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, hits)
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

fn client_for(url: &str, ca_der: &[u8], pins: Vec<String>, dir: &std::path::Path) -> StarPos {
    let mut config = Config::new(url.to_string(), dir, "tls-device");
    config.extra_roots_der = vec![ca_der.to_vec()];
    config.pinned_key_hashes = pins;
    StarPos::new(config, Arc::new(InMemorySecureStore::new())).unwrap()
}

/// A certificate mis-issued for the platform's name by a trusted CA, with the genuine pinned
/// certificate appended as an unused extra: the pinned key is not on the path that was
/// verified, so the connection is refused.
#[tokio::test]
async fn a_pinned_certificate_appended_to_an_unpinned_chain_is_refused() {
    let ca = Ca::new();
    let genuine_key = KeyPair::generate().unwrap();
    let genuine = ca.sign_localhost(&genuine_key);
    let rogue_key = KeyPair::generate().unwrap();
    let rogue = ca.sign_localhost(&rogue_key);
    let (port, _) = serve(vec![rogue, genuine], &rogue_key, ok_answer(SMS_SENT)).await;
    let dir = tempfile::tempdir().unwrap();
    let pins = vec![pin_of(&genuine_key.subject_public_key_info()), pin_of(b"backup key")];
    let c = client_for(&format!("https://localhost:{port}/"), &ca.der, pins, dir.path());
    assert_eq!(
        c.account().request_sms_code("13800138000".into(), SmsPurpose::Login).await,
        Err(Error::UntrustedPlatform)
    );
}

/// The platform moves to its backup key: the app pinned both, so it keeps working; a pin on the
/// CA that signed the path counts too.
#[tokio::test]
async fn the_backup_pin_carries_the_app_through_a_key_rotation() {
    let ca = Ca::new();
    let retired = KeyPair::generate().unwrap();
    let backup = KeyPair::generate().unwrap();
    let (port, _) = serve(vec![ca.sign_localhost(&backup)], &backup, ok_answer(SMS_SENT)).await;
    let url = format!("https://localhost:{port}/");
    let dir = tempfile::tempdir().unwrap();
    let pins = vec![pin_of(&retired.subject_public_key_info()), pin_of(&backup.subject_public_key_info())];
    let c = client_for(&url, &ca.der, pins, dir.path());
    c.account().request_sms_code("13800138000".into(), SmsPurpose::Login).await.unwrap();
    let by_ca = client_for(&url, &ca.der, vec![pin_of(&ca.spki_der)], &dir.path().join("ca"));
    by_ca.account().request_sms_code("13800138000".into(), SmsPurpose::Login).await.unwrap();
    let retired_only =
        client_for(&url, &ca.der, vec![pin_of(&retired.subject_public_key_info())], &dir.path().join("old"));
    assert_eq!(
        retired_only.account().request_sms_code("13800138000".into(), SmsPurpose::Login).await,
        Err(Error::UntrustedPlatform)
    );
}

/// The platform never redirects; a redirect (a captive portal, a hijacked route) is not followed
/// with the app's signed request.
#[tokio::test]
async fn a_redirect_is_not_followed() {
    let ca = Ca::new();
    let key = KeyPair::generate().unwrap();
    let moved = "HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    let (port, hits) = serve(vec![ca.sign_localhost(&key)], &key, moved.into()).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client_for(&format!("https://localhost:{port}/"), &ca.der, vec![], dir.path());
    assert!(c.account().request_sms_code("13800138000".into(), SmsPurpose::Login).await.is_err());
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1, "one request, no second one to the redirect");
}

/// A platform that is not on loopback must be pinned, with a backup: the client is not built.
#[test]
fn a_remote_platform_without_two_pins_is_refused_at_construction() {
    let dir = tempfile::tempdir().unwrap();
    for pins in [vec![], vec![pin_of(b"one key")]] {
        let config =
            Config { pinned_key_hashes: pins, ..Config::new("https://pay.example.com/", dir.path(), "remote") };
        assert!(matches!(StarPos::new(config, Arc::new(InMemorySecureStore::new())), Err(Error::InvalidConfig { .. })));
    }
}
