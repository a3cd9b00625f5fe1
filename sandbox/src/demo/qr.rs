//! Scene: sales by the customer's payment code (付款码): one paid at once, one the customer
//! confirms with their password on their phone, one the wallet refuses, and the day's
//! statistics split by card and wallet.

use super::*;

pub(super) async fn qr_demo(phone: &StarPos, dev: &DevClient) -> Result<(), String> {
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
    let receipt = phone.payments().receipt(paid.id.clone(), false).map_err(show)?;
    for line in receipt.to_text().lines().filter(|l| l.starts_with("支付方式") || l.starts_with("交易单号")) {
        println!("   | {line}");
    }

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

    let today = phone.history().today_summary().map_err(show)?;
    let mut by_channel: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for b in today.breakdown.iter().filter(|b| b.totals.gross_fen > 0) {
        *by_channel.entry(b.channel.as_str()).or_default() += b.totals.gross_fen;
    }
    let line: Vec<String> = by_channel.iter().map(|(c, fen)| format!("{c} {} yuan", yuan(*fen))).collect();
    println!("   today by channel: {}", line.join(", "));
    Ok(())
}
