//! Scene: sales by the customer's payment code (付款码): one paid at once (then half refunded),
//! one the customer confirms with their password on their phone, one the wallet refuses; a
//! dynamic QR the phone shows (printed to the terminal, scannable) that the customer pays, and
//! one cancelled and paid late (given back); then the day's statistics split by card and wallet.

use super::*;

pub(super) async fn qr_demo(phone: &StarPos, dev: &DevClient, password: &str) -> Result<(), String> {
    use starpos_core::payments::{SaleListener, SaleStep};

    /// Prints each step and says when the customer is confirming on their phone.
    struct Steps(tokio::sync::watch::Sender<bool>);
    impl SaleListener for Steps {
        fn on_step(&self, step: SaleStep) {
            println!("   [sale] {step:?}");
            if step == SaleStep::WaitingForCustomer {
                self.0.send_replace(true);
            }
        }
    }
    let listener = || Arc::new(Steps(tokio::sync::watch::channel(false).0));
    // The sandbox wallets read the code's last two digits (docs/qr.md): 00 paid at once, 01 the
    // customer confirms on their phone, 03 insufficient balance.
    let code = |prefix: &str, len: usize, behaviour: &str| {
        let digits: String = starpos_protocol::util::random_hex(16)
            .bytes()
            .map(|b| char::from(b'0' + b % 10))
            .take(len - prefix.len() - 2)
            .collect();
        format!("{prefix}{digits}{behaviour}")
    };

    let paid = phone
        .qr()
        .start_payment_code_sale(code("13", 18, "00"), 3_600, Some("奶茶".into()), listener())
        .outcome()
        .await
        .map_err(show)?;
    println!(
        "   WeChat Pay code scanned, 36.00 yuan: {:?}, wallet transaction {}, fee {} yuan at the QR rate",
        paid.status,
        paid.wallet_txn.as_deref().unwrap_or("?"),
        yuan(paid.fee_fen)
    );
    let receipt = phone
        .payments()
        .receipt(paid.id.clone(), starpos_core::payments::receipt::ReceiptCopy::Merchant, false)
        .map_err(show)?;
    for line in receipt.to_text().lines().filter(|l| l.starts_with("支付方式") || l.starts_with("交易单号")) {
        println!("   | {line}");
    }
    // Half of it refunded by the wallet's rules (the password confirms); WeChat Pay takes a
    // second refund of the same payment only a minute later.
    let refunded = phone.payments().refund_sale(paid.id.clone(), 1_800, password.into()).await.map_err(show)?;
    println!(
        "   18.00 yuan of it refunded: {} of {} yuan refunded so far",
        yuan(refunded.refunded_fen),
        yuan(refunded.amount_fen)
    );
    explain(phone.payments().refund_sale(paid.id.clone(), 100, password.into()).await);

    let steps = listener();
    let mut waiting = steps.0.subscribe();
    let sale = phone.qr().start_payment_code_sale(code("28", 18, "01"), 5_800, None, steps.clone());
    let _ = waiting.wait_for(|w| *w).await;
    println!("   the app says: confirm the payment on your phone (the customer types their Alipay password)");
    // The sandbox customer takes 20 s; the demo moves the platform's clock rather than wait.
    dev.advance_clock(21).await?;
    let confirmed = sale.outcome().await.map_err(show)?;
    println!("   Alipay, 58.00 yuan, confirmed on the customer's phone: {:?}", confirmed.status);

    let refused = phone
        .qr()
        .start_payment_code_sale(code("62", 19, "03"), 9_900, None, listener())
        .outcome()
        .await
        .map_err(show)?;
    println!("   UnionPay code, 99.00 yuan: {:?}", refused.status);
    explain(
        phone.qr().start_payment_code_sale("https://example.com/pay".into(), 100, None, listener()).outcome().await,
    );

    // The other way round: the phone shows a dynamic QR and the customer's wallet scans it.
    let shown = phone.qr().show_order(4_200, Some("两份早餐".into()), None, listener()).await.map_err(show)?;
    println!("   the phone shows a QR for 42.00 yuan (scan it with any QR reader; the payload is checked first):");
    for line in terminal_qr(&shown.order().payload)? {
        println!("   {line}");
    }
    println!("   payload: {}", shown.order().payload);
    let scanned = dev.customer_scans(&shown.order().payload, "wechat").await?;
    let sale = shown.outcome().await.map_err(show)?;
    println!(
        "   the customer's WeChat scanned it and paid ({}): {:?}, wallet transaction {}",
        scanned["status"].as_str().unwrap_or("?"),
        sale.status,
        sale.wallet_txn.as_deref().unwrap_or("?")
    );
    let cancelled = phone.qr().show_order(1_500, None, None, listener()).await.map_err(show)?;
    cancelled.cancel();
    let ended = cancelled.outcome().await.map_err(show)?;
    let late = dev.customer_scans(&cancelled.order().payload, "alipay").await?;
    println!(
        "   a QR the merchant cancelled: {:?}; the customer scans it anyway: {} (the platform gives it back)",
        ended.status,
        late["status"].as_str().unwrap_or("?")
    );

    let today = phone.history().today_summary().map_err(show)?;
    let mut by_channel: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for b in today.breakdown.iter().filter(|b| b.totals.gross_fen > 0) {
        *by_channel.entry(b.channel.as_str()).or_default() += b.totals.gross_fen;
    }
    let line: Vec<String> = by_channel.iter().map(|(c, fen)| format!("{c} {} yuan", yuan(*fen))).collect();
    println!("   today by channel: {}", line.join(", "));
    Ok(())
}

/// A QR code as lines of text for a terminal, two modules a character (half blocks). Light
/// modules are drawn and dark ones left blank, which reads right on the usual dark terminal:
/// QR readers want dark modules on a light ground, quiet zone included.
fn terminal_qr(payload: &str) -> Result<Vec<String>, String> {
    let (side, dark) = starpos_core::qr::qr_modules(payload).map_err(show)?;
    let light = |x: usize, y: usize| y < side && !dark[y * side + x];
    Ok((0..side)
        .step_by(2)
        .map(|y| {
            (0..side)
                .map(|x| match (light(x, y), light(x, y + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                })
                .collect()
        })
        .collect())
}
