//! Sales by the customer's payment code (B scans C, issue #15) through the core against the
//! sandbox wallets: each behaviour the code's last two digits choose ends where docs/qr.md says,
//! with one charge or none; the customer who never confirms is reversed at the wallet's deadline;
//! the merchant's cancel reverses; a payment with no answer is queried, reversed, and the
//! reversal retried until the platform takes it; voids and refunds follow the wallets' rules.
//! History, statistics, the reconciliation with the platform's records and the receipt show them.

use starpos_core::payments::receipt::ReceiptCopy;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use starpos_core::history::Channel;
use starpos_core::payments::{
    DeclineReason, PaymentMethod, QrSchedule, ReversalReason, Sale, SaleListener, SaleStatus, SaleStep, WalletSchedule,
};
use starpos_core::qr::Wallet;
use starpos_core::{Error, InMemorySecureStore, StarPos};
use starpos_sandbox::test_kit::ready_merchant;
use starpos_sandbox::SandboxConfig;
use starpos_tests::{new_phone, SignedRequests, World, PASSWORD};

fn code(wallet: &str, behaviour: &str) -> String {
    starpos_tests::payment_code(wallet, behaviour)
}

/// The wallets' rules with queries every 100 ms; the deadlines stay the wallets' own (the
/// tests move the platform's clock past them).
fn quick() -> QrSchedule {
    let every = Duration::from_millis(100);
    let d = QrSchedule::default();
    QrSchedule {
        wechat: WalletSchedule { query_every: every, ..d.wechat },
        alipay: WalletSchedule { query_every: every, ..d.alipay },
        unionpay: WalletSchedule { query_every: every, ..d.unionpay },
        after_system_error: every,
        ..d
    }
}

async fn merchant(w: &World, device: &str) -> (StarPos, SignedRequests) {
    let store = Arc::new(InMemorySecureStore::new());
    let c = w.client_tuned(device, store.clone(), |config| config.qr_schedule = quick());
    ready_merchant(&c, &w.dev, &new_phone(), PASSWORD).await.unwrap();
    let app = SignedRequests::from_store(w, &store);
    (c, app)
}

#[derive(Default)]
struct Steps(Mutex<Vec<SaleStep>>);

impl SaleListener for Steps {
    fn on_step(&self, step: SaleStep) {
        self.0.lock().unwrap().push(step);
    }
}

impl Steps {
    fn seen(&self) -> Vec<SaleStep> {
        self.0.lock().unwrap().clone()
    }

    async fn wait_for(&self, step: SaleStep) {
        for _ in 0..500 {
            if self.seen().contains(&step) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("never heard {step:?}: {:?}", self.seen());
    }
}

async fn sell(c: &StarPos, code: &str, amount_fen: i64) -> (Result<Sale, Error>, Vec<SaleStep>) {
    let steps = Arc::new(Steps::default());
    let outcome = c.qr().start_payment_code_sale(code.into(), amount_fen, None, steps.clone()).outcome().await;
    (outcome, steps.seen())
}

/// The platform's record of the QR payment under `key`.
async fn on_platform(app: &SignedRequests, key: &str) -> serde_json::Value {
    app.send("GET", &format!("/v1/qr/payments/{key}"), None).await.1
}

#[tokio::test]
async fn each_wallet_behaviour_ends_in_its_documented_state_with_one_charge_or_none() {
    let w = World::start().await;
    let (c, app) = merchant(&w, "qr-behaviours").await;
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;

    // 00: paid at once, with the wallet's number and the platform's QR fee (0.38%).
    let (sale, steps) = sell(&c, &code("wechat", "00"), 10_000).await;
    let sale = sale.unwrap();
    assert_eq!(sale.status, SaleStatus::Approved);
    assert_eq!((sale.method, sale.wallet, sale.entry_mode), (PaymentMethod::CustomerCode, Some(Wallet::WeChat), None));
    assert_eq!((sale.fee_fen, sale.net_fen), (38, 9_962));
    let platform = on_platform(&app, &sale.id).await;
    assert_eq!(platform["status"], "paid");
    assert_eq!(sale.wallet_txn.as_deref(), platform["wallet_txn"].as_str());
    assert_eq!(steps, [SaleStep::Authorizing], "nothing to wait for");
    let receipt = c.payments().receipt(sale.id.clone(), ReceiptCopy::Merchant, false).unwrap().to_text();
    assert!(receipt.contains("支付方式: 微信支付"), "{receipt}");
    assert!(receipt.contains(sale.wallet_txn.as_deref().unwrap()) && !receipt.contains("卡号"), "{receipt}");

    // 03 and 04: refused by the wallet, with the reason; nothing held.
    let (sale, _) = sell(&c, &code("alipay", "03"), 500).await;
    assert!(matches!(sale.unwrap().status, SaleStatus::Declined { reason: DeclineReason::InsufficientFunds, .. }));
    let (sale, _) = sell(&c, &code("unionpay", "04"), 500).await;
    assert!(matches!(sale.unwrap().status, SaleStatus::Declined { reason: DeclineReason::PaymentCodeUsed, .. }));

    // 05: the wallet answers a system error but debits: the query finds it paid.
    let (sale, _) = sell(&c, &code("wechat", "05"), 700).await;
    let sale = sale.unwrap();
    assert_eq!(sale.status, SaleStatus::Approved, "found by the query");
    // 06: paid, and the answer is lost (a gateway's 502 page): queried, found, charged once.
    let (sale6, _) = sell(&c, &code("alipay", "06"), 800).await;
    let sale6 = sale6.unwrap();
    assert_eq!(sale6.status, SaleStatus::Approved);
    assert_eq!(on_platform(&app, &sale6.id).await["status"], "paid");

    // 01 and 02: the customer confirms on their phone; the app hears it and waits.
    let steps = Arc::new(Steps::default());
    let paying = c.qr().start_payment_code_sale(code("alipay", "01"), 900, None, steps.clone());
    steps.wait_for(SaleStep::WaitingForCustomer).await;
    w.dev.advance_clock(21).await.unwrap();
    assert_eq!(paying.outcome().await.unwrap().status, SaleStatus::Approved);
    let steps = Arc::new(Steps::default());
    let cancelling = c.qr().start_payment_code_sale(code("unionpay", "02"), 1_000, None, steps.clone());
    steps.wait_for(SaleStep::WaitingForCustomer).await;
    w.dev.advance_clock(21).await.unwrap();
    let cancelled = cancelling.outcome().await.unwrap();
    assert!(matches!(cancelled.status, SaleStatus::Declined { reason: DeclineReason::CustomerCancelled, .. }));

    // The same code twice: single-use, the second is refused by the wallet.
    let once = code("wechat", "00");
    assert_eq!(sell(&c, &once, 100).await.0.unwrap().status, SaleStatus::Approved);
    let again = sell(&c, &once, 100).await.0.unwrap();
    assert!(matches!(again.status, SaleStatus::Declined { reason: DeclineReason::PaymentCodeUsed, .. }));

    // What is no payment code is refused before anything is journalled or sent.
    let journalled = c.payments().recent_sales(100).unwrap().len();
    for bad in ["", "https://example.com/pay", "1234567890"] {
        assert!(matches!(sell(&c, bad, 100).await.0, Err(Error::InvalidPaymentCode { .. })), "{bad:?}");
    }
    assert!(matches!(sell(&c, &code("wechat", "00"), 999_999_999_999).await.0, Err(Error::LimitExceeded { .. })));
    assert_eq!(c.payments().recent_sales(100).unwrap().len(), journalled);

    // The day's limit holds exactly what was paid.
    let paid = 10_000 + 700 + 800 + 900 + 100;
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before - paid);
    // Statistics split by wallet; card sales would stand beside them.
    let today = c.history().today_summary().unwrap();
    let by = |channel: Channel| -> i64 {
        today.breakdown.iter().filter(|b| b.channel == channel).map(|b| b.totals.gross_fen).sum()
    };
    assert_eq!((by(Channel::WeChat), by(Channel::Alipay), by(Channel::UnionPay)), (10_800, 1_700, 0));
    assert_eq!(today.totals.gross_fen, paid);
    // The platform's records and settlement agree with the phone's, transaction by transaction.
    let report = c.history().reconcile(today.from_day.clone(), today.from_day.clone()).await.unwrap();
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!(report.batches.iter().map(|b| b.expected_net_fen).sum::<i64>(), today.totals.net_fen);
    // The bill export names each wallet; the printer's receipt carries the wallet's number.
    struct Quiet;
    impl starpos_core::history::ExportProgress for Quiet {
        fn on_progress(&self, _: u64, _: u64) {}
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("账单.csv");
    let filter = starpos_core::history::Filter::default();
    c.history().export_transactions(filter, path.to_string_lossy().into(), Arc::new(Quiet)).outcome().await.unwrap();
    let csv = std::fs::read_to_string(&path).unwrap();
    for (label, count) in [(",消费,成功,微信,", 3), (",消费,成功,支付宝,", 2), (",消费,失败,银联二维码,", 2)]
    {
        assert_eq!(csv.matches(label).count(), count, "{label} in {csv}");
    }
    let first = c.payments().recent_sales(100).unwrap().into_iter().find(|s| s.amount_fen == 10_000).unwrap();
    let printed = c.payments().receipt(first.id.clone(), ReceiptCopy::Merchant, false).unwrap().to_escpos();
    let txn = first.wallet_txn.unwrap();
    assert!(printed.windows(txn.len()).any(|w| w == txn.as_bytes()), "the ESC/POS receipt prints the wallet's number");
}

#[tokio::test]
async fn a_customer_who_never_confirms_is_reversed_at_the_wallets_deadline() {
    let w = World::start_with(SandboxConfig { qr_user_paying_secs: 3_600, ..SandboxConfig::default() }).await;
    let (c, app) = merchant(&w, "qr-deadline").await;
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;
    let steps = Arc::new(Steps::default());
    let sale = c.qr().start_payment_code_sale(code("wechat", "01"), 2_000, None, steps.clone());
    steps.wait_for(SaleStep::WaitingForCustomer).await;
    assert!(!sale.is_finished(), "waiting for the customer");
    // WeChat's rule: about 45 s, then reverse.
    w.dev.advance_clock(46).await.unwrap();
    let sale = sale.outcome().await.unwrap();
    assert_eq!(sale.status, SaleStatus::Reversed { reason: ReversalReason::CustomerTimedOut });
    let platform = on_platform(&app, &sale.id).await;
    assert_eq!(
        (platform["status"].as_str(), platform["reason"].as_str()),
        (Some("closed"), Some("closed_by_merchant"))
    );
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before, "nothing held");
    assert_eq!(steps.seen().last(), Some(&SaleStep::Reversing));
}

#[tokio::test]
async fn the_merchants_cancel_while_the_customer_confirms_reverses_the_payment() {
    let w = World::start_with(SandboxConfig { qr_user_paying_secs: 3_600, ..SandboxConfig::default() }).await;
    let (c, app) = merchant(&w, "qr-cancel").await;
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;
    let steps = Arc::new(Steps::default());
    let handle = c.qr().start_payment_code_sale(code("alipay", "01"), 3_000, None, steps.clone());
    steps.wait_for(SaleStep::WaitingForCustomer).await;
    assert!(handle.cancel(), "a payment still being confirmed can be cancelled");
    let sale = handle.outcome().await.unwrap();
    assert_eq!(sale.status, SaleStatus::Reversed { reason: ReversalReason::MerchantCancelled });
    assert_eq!(on_platform(&app, &sale.id).await["status"], "closed");
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before, "nothing held");
}

#[tokio::test]
async fn a_payment_without_an_answer_is_reversed_and_the_reversal_retried_until_taken() {
    let w = World::start().await;
    let (c, app) = merchant(&w, "qr-no-answer").await;
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;
    // The platform answers 503 to every payment and reversal: a 503 might have been processed,
    // so the payment is looked up (never there), and reversed; the reversal waits.
    w.dev.set_faults(json!({ "fail_5xx": 1_000 })).await.unwrap();
    let (sale, _) = sell(&c, &code("unionpay", "00"), 4_000).await;
    let sale = sale.unwrap();
    assert_eq!(sale.status, SaleStatus::ReversalPending { reason: ReversalReason::NoAnswer });
    assert_eq!(
        c.merchant().remaining_today().unwrap().daily_total_remaining_fen,
        before - 4_000,
        "held until resolved"
    );

    w.dev.set_faults(json!({})).await.unwrap();
    let settled = c.payments().resolve_pending().await.unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].status, SaleStatus::Reversed { reason: ReversalReason::NoAnswer });
    // The key is tombstoned: the lost payment can never be made under it.
    assert_eq!(on_platform(&app, &sale.id).await["code"], "payment_not_found");
    let late = app
        .send(
            "POST",
            "/v1/qr/pay",
            Some(&json!({ "idempotency_key": sale.id, "wallet": "unionpay", "payment_code": code("unionpay", "00"), "amount_fen": 4_000 })),
        )
        .await
        .1;
    assert_eq!(late["code"], "payment_reversed");
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before);
}

#[tokio::test]
async fn qr_payments_are_voided_and_refunded_by_the_wallets_rules() {
    let w = World::start().await;
    let store = Arc::new(InMemorySecureStore::new());
    let c = w.client_tuned("qr-refunds", store.clone(), |config| config.qr_schedule = quick());
    let phone = new_phone();
    ready_merchant(&c, &w.dev, &phone, PASSWORD).await.unwrap();
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;

    // A void on the day: the whole payment, the fee and the day's limit given back.
    let sale = sell(&c, &code("alipay", "00"), 5_000).await.0.unwrap();
    assert!(matches!(
        c.payments().void_sale(sale.id.clone(), "Wrong2026pw".into()).await,
        Err(Error::InvalidInput { .. })
    ));
    let voided = c.payments().void_sale(sale.id.clone(), PASSWORD.into()).await.unwrap();
    assert_eq!(voided.status, SaleStatus::Voided);
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before);
    assert!(c.payments().refund_sale(sale.id.clone(), 100, PASSWORD.into()).await.is_err(), "nothing left to refund");

    // Partial refunds of a WeChat payment (a shown QR's sale goes the same way), each under its
    // own key; WeChat takes them a minute apart.
    let sale = sell(&c, &code("wechat", "00"), 10_000).await.0.unwrap();
    let refunded = c.payments().refund_sale(sale.id.clone(), 3_000, PASSWORD.into()).await.unwrap();
    assert_eq!((refunded.status.clone(), refunded.refunded_fen), (SaleStatus::Approved, 3_000));
    match c.payments().refund_sale(sale.id.clone(), 2_000, PASSWORD.into()).await {
        Err(Error::WalletRefundRefused { retry_after_secs, .. }) => assert!((1..=60).contains(&retry_after_secs)),
        other => panic!("a second WeChat refund within the minute: {other:?}"),
    }
    w.dev.advance_clock(61).await.unwrap();
    assert_eq!(c.payments().refund_sale(sale.id.clone(), 7_000, PASSWORD.into()).await.unwrap().refunded_fen, 10_000);
    assert!(matches!(
        c.payments().refund_sale(sale.id.clone(), 1, PASSWORD.into()).await,
        Err(Error::RefundExceedsRemaining { remaining_fen: 0 })
    ));
    // The platform's records agree, refunds included, and the statistics count them by wallet.
    let today = c.history().today_summary().unwrap();
    let wechat = today.breakdown.iter().find(|b| b.channel == Channel::WeChat).unwrap().totals;
    assert_eq!((wechat.gross_fen, wechat.refunds, wechat.refunded_fen), (10_000, 2, 10_000));
    let report = c.history().reconcile(today.from_day.clone(), today.from_day.clone()).await.unwrap();
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);

    // Alipay refunds a payment within 3 months of it, not after.
    let old = sell(&c, &code("alipay", "00"), 800).await.0.unwrap();
    w.dev.advance_clock(91 * 86_400).await.unwrap();
    c.account().login(phone, PASSWORD.into(), None).await.unwrap();
    assert!(matches!(
        c.payments().refund_sale(old.id.clone(), 800, PASSWORD.into()).await,
        Err(Error::WalletRefundRefused { .. })
    ));
    assert_eq!(c.payments().sale(old.id).unwrap().refunded_fen, 0);
}
