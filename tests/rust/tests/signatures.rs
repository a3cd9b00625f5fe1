//! E-signatures: the customer signs an approved sale, the receipt shows it (text, PNG,
//! ESC/POS raster), the compressed strokes reach the platform in the background (and wait while
//! it is out of reach), and the platform renders the same image.

use starpos_core::payments::receipt::ReceiptCopy;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use starpos_core::payments::{SaleStatus, SignatureState};
use starpos_core::reader::controller::CardReader;
use starpos_core::{Error, StarPos};
use starpos_sandbox::reader::SimLink;
use starpos_sandbox::test_cards::test_card;
use starpos_sandbox::test_kit::ready_merchant;
use starpos_sandbox::test_kit::{sample_signature, Quiet};
use starpos_tests::{new_phone, World, PASSWORD};

const SERIAL: &str = "SP100-000557";

async fn merchant(w: &World, device: &str) -> (StarPos, SimLink, CardReader) {
    let (c, _) = w.client(device);
    ready_merchant(&c, &w.dev, &new_phone(), PASSWORD).await.unwrap();
    let (link, reader) = starpos_tests::connected_reader(&c, SERIAL).await;
    (c, link, reader)
}

async fn until_uploaded(c: &StarPos, id: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while c.payments().sale(id.into()).unwrap().signature != SignatureState::Uploaded {
        assert!(Instant::now() < deadline, "the signature did not reach the platform");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_signed_sale_prints_the_signature_and_the_platform_gets_the_strokes() {
    let w = World::start().await;
    let (c, _link, reader) = merchant(&w, "signer").await;
    let sale = c.payments().start_sale(reader.clone(), 8_800, None, Arc::new(Quiet)).outcome().await.unwrap();
    assert_eq!(sale.signature, SignatureState::NotSigned);
    assert!(!c
        .payments()
        .receipt(sale.id.clone(), ReceiptCopy::Merchant, false)
        .unwrap()
        .to_text()
        .contains("E-SIGNED"));

    let before = c.diagnostics();
    let signed = c.payments().sign_sale(sale.id.clone(), sample_signature()).unwrap();
    assert_eq!(c.diagnostics().durable_commits - before.durable_commits, 1, "one commit, the upload follows");
    assert!(matches!(signed.signature, SignatureState::Queued | SignatureState::Uploaded));

    // The receipt is ready at once, signature included.
    let receipt = c.payments().receipt(sale.id.clone(), ReceiptCopy::Merchant, false).unwrap();
    assert!(receipt.to_text().contains("[电子签名 E-SIGNED]"));
    let image = receipt.signature.clone().unwrap();
    assert!(image.ink_count() > 500 && image.width == 384 && image.height == 128, "{}x{}", image.width, image.height);
    let raster = image.escpos_raster();
    assert!(receipt.to_escpos().windows(raster.len()).any(|win| win == &raster[..]));
    assert_eq!(c.payments().signature_png(sale.id.clone()).unwrap().unwrap(), image.png());

    until_uploaded(&c, &sale.id, Duration::from_secs(10)).await;
    let on_platform = w.dev.payment(&sale.id).await.unwrap();
    let sent = on_platform["signature_bytes"].as_u64().unwrap();
    assert_eq!(sent as usize, sample_signature().encode().len(), "the compressed strokes, as kept");
    assert!(sent < 1_200, "{sent} bytes for 450 points: far below an image");

    // Once only; and only approved sales are signed.
    assert!(matches!(c.payments().sign_sale(sale.id.clone(), sample_signature()), Err(Error::InvalidInput { .. })));
}

#[tokio::test]
async fn signatures_wait_for_the_platform_and_bad_ones_are_refused_on_the_phone() {
    let w = World::start().await;
    let (c, link, reader) = merchant(&w, "offline-signer").await;
    let sale = c.payments().start_sale(reader.clone(), 6_600, None, Arc::new(Quiet)).outcome().await.unwrap();
    w.dev.set_faults(json!({ "fail_5xx": 1000 })).await.unwrap();
    c.payments().sign_sale(sale.id.clone(), sample_signature()).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        c.payments().sale(sale.id.clone()).unwrap().signature,
        SignatureState::Queued,
        "kept while the platform fails"
    );
    // The platform comes back: the background loop's next attempt (5 s back-off) gets through.
    w.dev.set_faults(json!({})).await.unwrap();
    until_uploaded(&c, &sale.id, Duration::from_secs(20)).await;
    assert!(w.dev.payment(&sale.id).await.unwrap()["signature_bytes"].as_u64().unwrap() > 0);

    // Checked before anything is kept.
    let mut outside = sample_signature();
    outside.strokes[1][3].x = 5_000;
    let other = c.payments().start_sale(reader.clone(), 1_000, None, Arc::new(Quiet)).outcome().await.unwrap();
    assert!(
        matches!(c.payments().sign_sale(other.id.clone(), outside), Err(Error::InvalidInput { ref field, .. }) if field == "signature")
    );
    assert_eq!(c.payments().sale(other.id.clone()).unwrap().signature, SignatureState::NotSigned);

    link.with_reader_mut(|r| r.present(test_card("insufficient-funds").unwrap()));
    let declined = c.payments().start_sale(reader, 1_000, None, Arc::new(Quiet)).outcome().await.unwrap();
    assert!(matches!(declined.status, SaleStatus::Declined { .. }));
    assert!(matches!(c.payments().sign_sale(declined.id, sample_signature()), Err(Error::InvalidInput { .. })));
}
