//! The e-receipt page (issue #16 item 5): the QR code on a paper slip opens
//! `{platform}/r/{token}` with a token the platform made, never the sale's key; the page is the
//! customer's copy (the amount paid, no merchant fee, the masked card or the wallet, the
//! signature), follows the sale as it is voided or refunded, and answers 404 for any other
//! token. The page in a real browser is tests/python/test_e_receipt.py.

use starpos_core::payments::receipt::ReceiptCopy;
use std::sync::Arc;
use std::time::{Duration, Instant};

use starpos_core::payments::SignatureState;
use starpos_core::StarPos;
use starpos_sandbox::test_kit::{ready_merchant, sample_signature, Quiet};
use starpos_tests::{new_phone, payment_code, World, PASSWORD};

async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

async fn page(url: &str) -> String {
    let (status, headers, body) = get(url).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "private, no-store", "nobody between keeps a copy");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    String::from_utf8(body).unwrap()
}

fn token_of(url: &str, w: &World) -> String {
    let token = url.strip_prefix(&format!("{}r/", w.sandbox.url())).unwrap_or_else(|| panic!("{url}"));
    assert!(token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()), "128 random bits: {token}");
    token.to_string()
}

async fn until_uploaded(c: &StarPos, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.payments().sale(id.into()).unwrap().signature != SignatureState::Uploaded {
        assert!(Instant::now() < deadline, "the signature did not reach the platform");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_card_sale_s_page_shows_the_customer_copy_and_follows_the_void() {
    let w = World::start().await;
    let (c, _) = w.client("e-receipt");
    ready_merchant(&c, &w.dev, &new_phone(), PASSWORD).await.unwrap();
    let (_link, reader) = starpos_tests::connected_reader(&c, "SP100-000661").await;
    let sale = c.payments().start_sale(reader.clone(), 8_800, None, Arc::new(Quiet)).outcome().await.unwrap();
    assert!(sale.fee_fen > 0);
    c.payments().sign_sale(sale.id.clone(), sample_signature()).unwrap();
    let receipt = c.payments().receipt(sale.id.clone(), ReceiptCopy::Merchant, false).unwrap();
    let token = token_of(&receipt.e_receipt_url, &w);
    assert!(!receipt.e_receipt_url.contains(&sale.id), "the sale's key stays off the slip");
    assert_eq!(
        c.payments().receipt(sale.id.clone(), ReceiptCopy::Merchant, true).unwrap().e_receipt_url,
        receipt.e_receipt_url
    );
    assert!(receipt.to_text().contains(&receipt.e_receipt_url));
    // The customer's paper copy: the same link, the amount, no fee and no signature.
    let theirs = c.payments().receipt(sale.id.clone(), ReceiptCopy::Customer, false).unwrap();
    let text = theirs.to_text();
    assert!(text.contains("持卡人存根 CARDHOLDER COPY") && text.contains("RMB 88.00"), "{text}");
    assert!(!text.contains("手续费") && theirs.signature.is_none() && text.contains(&receipt.e_receipt_url));

    let html = page(&receipt.e_receipt_url).await;
    for needle in [
        "¥88.00",
        "交易成功 APPROVED",
        "持卡人存根 CUSTOMER COPY",
        receipt.masked_pan.as_str(),
        receipt.merchant_name.as_str(),
        receipt.terminal_id.as_str(),
        receipt.reference_number.as_str(),
        receipt.voucher_number.as_str(),
    ] {
        assert!(html.contains(needle), "missing {needle} in {html}");
    }
    assert!(!html.contains("手续费") && !html.contains(&starpos_core::money::yuan(sale.fee_fen)), "no merchant fee");
    assert!(!html.contains(&sale.id), "nor the sale's key");

    until_uploaded(&c, &sale.id).await;
    let html = page(&receipt.e_receipt_url).await;
    assert!(html.contains(&format!("src=\"/r/{token}/signature.png\"")), "{html}");
    let (status, headers, png) = get(&format!("{}/signature.png", receipt.e_receipt_url)).await;
    assert_eq!((status, headers["content-type"].to_str().unwrap()), (200, "image/png"));
    assert_eq!(Some(png), c.payments().signature_png(sale.id.clone()).unwrap(), "the phone's image, drawn again");

    c.payments().void_sale(sale.id.clone(), PASSWORD.into()).await.unwrap();
    let html = page(&receipt.e_receipt_url).await;
    assert!(html.contains("已撤销 VOIDED") && html.contains("撤销 VOID") && html.contains("-¥88.00"), "{html}");

    // Any other address: 404, with a page a customer can read.
    let base = w.sandbox.url();
    for other in [
        format!("{base}r/{}", "0".repeat(32)),
        format!("{base}r/{}", token.to_uppercase()),
        format!("{base}r/{}", sale.id),
        format!("{base}r/{token}x"),
    ] {
        let (status, _, body) = get(&other).await;
        assert_eq!(status, 404, "{other}");
        assert!(String::from_utf8(body).unwrap().contains("未找到该签购单"));
    }
    let (status, _, _) = get(&format!("{base}r/{}/signature.png", "0".repeat(32))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_qr_sale_s_page_shows_the_wallet_and_a_part_refund() {
    let w = World::start().await;
    let (c, _) = w.client("e-receipt-qr");
    ready_merchant(&c, &w.dev, &new_phone(), PASSWORD).await.unwrap();
    let code = payment_code("wechat", "00");
    let sale = c.qr().start_payment_code_sale(code, 6_000, None, Arc::new(Quiet)).outcome().await.unwrap();
    let receipt = c.payments().receipt(sale.id.clone(), ReceiptCopy::Merchant, false).unwrap();
    token_of(&receipt.e_receipt_url, &w);
    let html = page(&receipt.e_receipt_url).await;
    let txn = sale.wallet_txn.clone().unwrap();
    for needle in ["¥60.00", "微信支付 WeChat Pay", txn.as_str(), "交易成功 APPROVED"] {
        assert!(html.contains(needle), "missing {needle} in {html}");
    }
    assert!(!html.contains("signature.png"), "nothing signed");

    // Next business day: a refund of part of it shows on the same page.
    w.dev.advance_clock(86_400).await.unwrap();
    c.merchant().profile().await.unwrap();
    c.payments().refund_sale(sale.id.clone(), 2_500, PASSWORD.into()).await.unwrap();
    let html = page(&receipt.e_receipt_url).await;
    assert!(html.contains("已部分退货 PARTLY REFUNDED ¥25.00") && html.contains("退货 REFUND"), "{html}");
}
