//! Scene: card sales on the journal: an approval with its receipt and signature, a cancel at the
//! reader, declines, a limit, a lost answer reversed, a void and a refund; then sales by payment
//! code (`qr`) and the history.

use super::*;

/// Card sales on the journal: an approval with its receipt, declines, a limit, and an answer
/// that never comes back (reversed, never charged twice).
pub(super) async fn sale_demo(
    phone: &StarPos,
    dev: &DevClient,
    link: &crate::reader::SimLink,
    reader: &starpos_core::reader::controller::CardReader,
    password: &str,
    data_dir: &std::path::Path,
) -> Result<(), String> {
    use starpos_core::payments::{SaleListener, SaleStatus, SaleStep, SignatureState};
    use starpos_core::platform::meter::NetworkType;

    use crate::test_cards::test_card;

    struct Steps;
    impl SaleListener for Steps {
        fn on_step(&self, step: SaleStep) {
            println!("   [sale] {step:?}");
        }
    }
    // This phone has not listed the merchant's cards or limits yet: fetch them once.
    phone.merchant().profile().await.map_err(show)?;
    phone.merchant().settlement_cards().await.map_err(show)?;

    let present = |name: &str| -> Result<(), String> {
        let card = test_card(name).ok_or("no such test card")?;
        link.with_reader_mut(|r| r.present(card));
        Ok(())
    };
    // The app reports where the phone is; every sale records it (sealed on the phone) and the
    // cross-province rules check it. The merchant is registered in Guangdong.
    let gps = Arc::new(Gps(std::sync::Mutex::new(GUANGZHOU)));
    phone.set_location_provider(gps.clone());
    phone.network().set_network_type(NetworkType::Mobile);

    present("chip-approve")?;
    let sale = phone
        .payments()
        .start_sale(reader.clone(), 12_800, Some("两杯咖啡".into()), Arc::new(Steps))
        .outcome()
        .await
        .map_err(show)?;
    let at = sale.location.map(|l| format!("{:.4}, {:.4}", l.latitude, l.longitude)).unwrap_or_default();
    println!("   sale of 128.00 yuan at ({at}): {:?}", sale.status);
    let signed = phone.payments().sign_sale(sale.id.clone(), crate::test_kit::sample_signature()).map_err(show)?;
    println!(
        "   the customer signs on the screen: {} bytes of strokes, signature {:?}; the receipt:",
        crate::test_kit::sample_signature().encode().len(),
        signed.signature
    );
    let receipt = phone
        .payments()
        .receipt(sale.id.clone(), starpos_core::payments::receipt::ReceiptCopy::Merchant, false)
        .map_err(show)?;
    for line in receipt.to_text().lines() {
        println!("   | {line}");
    }
    let png = phone.payments().signature_png(sale.id.clone()).map_err(show)?.unwrap_or_default();
    println!(
        "   ({} bytes of ESC/POS in GB18030 for a receipt printer, the signature as a raster image; a {}-byte PNG for the e-receipt)",
        receipt.to_escpos().len(),
        png.len()
    );
    // The customer scans the slip's QR code: the platform's page, the customer's copy.
    let page = reqwest::get(&receipt.e_receipt_url).await.map_err(|e| e.to_string())?;
    let status = page.status();
    let html = page.text().await.map_err(|e| e.to_string())?;
    let shows = |needle: &str| if html.contains(needle) { "shown" } else { "MISSING" };
    println!(
        "   the customer opens {}: HTTP {status}, {} bytes of HTML; amount ¥128.00 {}, merchant fee {}",
        receipt.e_receipt_url,
        html.len(),
        shows("¥128.00"),
        if html.contains("手续费") { "SHOWN (wrong)" } else { "not shown (the customer's copy)" }
    );

    // The customer walks away before presenting a card: the merchant cancels.
    struct TellWhenWaiting(std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>);
    impl SaleListener for TellWhenWaiting {
        fn on_step(&self, step: SaleStep) {
            println!("   [sale] {step:?}");
            if step == SaleStep::WaitingForCard {
                if let Some(tx) = self.0.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    let _ = tx.send(());
                }
            }
        }
    }
    let (waiting_tx, waiting) = tokio::sync::oneshot::channel();
    let listener = Arc::new(TellWhenWaiting(std::sync::Mutex::new(Some(waiting_tx))));
    let cancelled = phone.payments().start_sale(reader.clone(), 2_000, None, listener);
    let _ = waiting.await;
    println!("   (the merchant taps Cancel on the sale's handle: {})", cancelled.cancel());
    explain(cancelled.outcome().await);

    for (card, amount) in [("insufficient-funds", 5_000), ("wrong-pin", 5_000)] {
        present(card)?;
        let sale =
            phone.payments().start_sale(reader.clone(), amount, None, Arc::new(Steps)).outcome().await.map_err(show)?;
        println!("   {card}: {:?}", sale.status);
    }
    present("chip-approve")?;
    explain(phone.payments().start_sale(reader.clone(), 600_000, None, Arc::new(Steps)).outcome().await);

    dev.set_faults(serde_json::json!({ "drop_response_after_commit": 100 })).await?;
    let lost =
        phone.payments().start_sale(reader.clone(), 3_300, None, Arc::new(Steps)).outcome().await.map_err(show)?;
    dev.set_faults(serde_json::json!({})).await?;
    match lost.status {
        SaleStatus::Reversed { reason } => {
            println!("   every answer lost after the platform committed: reversed ({reason}), not sent again")
        }
        other => println!("   lost answers: {other:?}"),
    }
    let left = phone.merchant().remaining_today().map_err(show)?;
    println!("   today's limit left: {} yuan (only the approved sale counts)", yuan(left.daily_total_remaining_fen));

    present("tap-approve")?;
    let tapped =
        phone.payments().start_sale(reader.clone(), 6_600, None, Arc::new(Steps)).outcome().await.map_err(show)?;
    explain(phone.payments().void_sale(tapped.id.clone(), "Wrong2026pw".into()).await);
    let voided = phone.payments().void_sale(tapped.id.clone(), password.into()).await.map_err(show)?;
    println!("   a 66.00 yuan tap voided the same day (password confirmed): {:?}", voided.status);
    explain(phone.payments().refund_sale(sale.id.clone(), 3_000, password.into()).await);
    dev.advance_clock(86_400).await?;
    phone.merchant().profile().await.map_err(show)?;
    let refunded = phone.payments().refund_sale(sale.id.clone(), 3_000, password.into()).await.map_err(show)?;
    println!(
        "   the next day the 128.00 sale is settled: 30.00 refunded ({} of {} yuan refunded so far)",
        yuan(refunded.refunded_fen),
        yuan(refunded.amount_fen)
    );
    explain(phone.payments().refund_sale(sale.id.clone(), 10_000, password.into()).await);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while phone.payments().sale(sale.id.clone()).map_err(show)?.signature != SignatureState::Uploaded
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let on_platform = dev.payment(&sale.id).await?;
    println!(
        "   the signature reached the platform in the background: {} bytes (compressed strokes, not an image)",
        on_platform["signature_bytes"]
    );
    qr_demo(phone, dev, password).await?;
    history_demo(phone, data_dir).await?;
    step(12, "Cross-province: the merchant takes the reader from Guangdong to Hunan");
    present("chip-approve")?;
    cross_province_demo(phone, reader, &gps).await
}
