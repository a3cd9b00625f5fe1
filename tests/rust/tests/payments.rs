//! Card sales end to end: the core, the simulated reader in-process and the sandbox platform on
//! loopback. Approvals, every decline, a chip decline after approval, an answer lost after the
//! platform committed (retried under the same key: charged once), no answer at all (reversed),
//! and a reversal that has to wait for the platform.

use starpos_core::payments::receipt::ReceiptCopy;
use std::sync::{Arc, Mutex};

use serde_json::json;
use starpos_core::payments::{DeclineReason, ReversalReason, Sale, SaleListener, SaleStatus, SaleStep};
use starpos_core::reader::card::EntryMode;
use starpos_core::reader::controller::CardReader;
use starpos_core::{Error, StarPos};
use starpos_sandbox::reader::{Faults, SimLink, SimReader};
use starpos_sandbox::test_cards::test_card;
use starpos_sandbox::test_kit::ready_merchant;
use starpos_tests::{new_phone, World, PASSWORD};

const SERIAL: &str = "SP100-000555";

#[derive(Default)]
struct Steps(Mutex<Vec<SaleStep>>);

impl SaleListener for Steps {
    fn on_step(&self, step: SaleStep) {
        self.0.lock().unwrap().push(step);
    }
}

/// A merchant with real-name details, a settlement card and limits, and a connected reader.
async fn merchant(w: &World, device: &str) -> (StarPos, SimLink, CardReader) {
    let (c, _) = w.client(device);
    ready_merchant(&c, &w.dev, &new_phone(), PASSWORD).await.unwrap();

    let serial = starpos_tests::serial_for(device);
    let link = SimLink::new(SimReader::new(&serial), Faults::default());
    let reader = CardReader::new(Arc::new(link.clone()));
    starpos_sandbox::test_kit::pair_and_connect(&c, &reader, &serial).await.unwrap();
    (c, link, reader)
}

/// A merchant logging in on a new install has a settlement card on the platform but none listed
/// on this phone: the sale asks the platform instead of refusing with "bind a card".
#[tokio::test]
async fn a_merchant_new_to_this_install_sells_without_listing_cards_first() {
    let w = World::start().await;
    let (c, _) = w.client("fresh-install");
    let phone = new_phone();
    w.dev.ready_merchant(&phone, PASSWORD, c.device_id()).await.unwrap();
    c.account().login(phone, PASSWORD.into(), None).await.unwrap();
    c.merchant().profile().await.unwrap();
    assert!(c.merchant().cached_settlement_cards().unwrap().is_empty(), "nothing listed here yet");
    let (_link, reader) = starpos_tests::connected_reader(&c, SERIAL).await;
    let (sale, _) = sell(&c, &reader, 1_200).await;
    assert_eq!(sale.status, SaleStatus::Approved);
    assert_eq!(c.merchant().cached_settlement_cards().unwrap().len(), 1, "and now it is");
}

async fn sell(c: &StarPos, reader: &CardReader, amount: i64) -> (Sale, Vec<SaleStep>) {
    let steps = Arc::new(Steps::default());
    let sale =
        c.payments().start_sale(reader.clone(), amount, Some("测试".into()), steps.clone()).outcome().await.unwrap();
    let seen = steps.0.lock().unwrap().clone();
    (sale, seen)
}

#[tokio::test]
async fn an_approved_chip_sale_and_every_decline() {
    let w = World::start().await;
    let (c, link, reader) = merchant(&w, "seller").await;
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;

    let before_sale = c.diagnostics();
    let (sale, steps) = sell(&c, &reader, 10_000).await;
    assert_eq!(sale.status, SaleStatus::Approved);
    let after_sale = c.diagnostics();
    assert_eq!(after_sale.durable_commits - before_sale.durable_commits, 3, "a chip sale: three durable commits");
    assert_eq!(after_sale.platform_round_trips - before_sale.platform_round_trips, 1, "and one round trip");
    assert_eq!(
        steps,
        vec![SaleStep::WaitingForCard, SaleStep::WaitingForPin, SaleStep::Authorizing, SaleStep::CompletingOnCard]
    );
    assert_eq!((sale.fee_fen, sale.net_fen), (50, 9_950), "debit 0.5 %");
    assert_eq!(sale.masked_pan, "621700*********0015");
    assert_eq!(sale.issuer_bank.as_deref(), Some("中国建设银行"));
    assert_eq!(sale.entry_mode, Some(EntryMode::Insert));
    assert!(sale.auth_code.as_ref().is_some_and(|a| a.len() == 6));
    assert!(sale.reference_number.as_ref().is_some_and(|r| r.len() == 12));
    assert_eq!(sale.voucher_number.as_deref(), Some("000001"));
    assert_eq!(sale.note.as_deref(), Some("测试"));
    assert_eq!(w.dev.payment(&sale.id).await.unwrap()["status"], "approved");
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before - 10_000);
    assert_eq!(c.payments().sale(sale.id.clone()).unwrap(), sale);
    assert_eq!((sale.tvr.as_deref(), sale.tsi.as_deref()), (Some("0000000000"), Some("E800")));
    let receipt = c.payments().receipt(sale.id.clone(), ReceiptCopy::Merchant, false).unwrap();
    assert_eq!(receipt.merchant_name, "星标测试店");
    assert_eq!(receipt.voucher_number, "000001");
    let text = receipt.to_text();
    assert!(text.contains("RMB 100.00") && text.contains("TSI: E800"), "{text}");

    for (card, reason) in [
        ("insufficient-funds", DeclineReason::InsufficientFunds),
        ("wrong-pin", DeclineReason::WrongPin),
        ("expired", DeclineReason::CardExpired),
        ("refused", DeclineReason::CardRefused),
    ] {
        link.with_reader_mut(|r| r.present(test_card(card).unwrap()));
        let (sale, _) = sell(&c, &reader, 2_000).await;
        assert!(matches!(sale.status, SaleStatus::Declined { reason: r, .. } if r == reason), "{card}: {sale:?}");
        assert_eq!(w.dev.payment(&sale.id).await.unwrap()["status"], "declined");
        assert!(
            matches!(
                c.payments().receipt(sale.id.clone(), ReceiptCopy::Merchant, false),
                Err(Error::InvalidInput { .. })
            ),
            "no receipt"
        );
    }
    assert_eq!(
        c.merchant().remaining_today().unwrap().daily_total_remaining_fen,
        before - 10_000,
        "declines hold nothing"
    );

    // Swipe and small tap: no card confirmation, two commits.
    for card in ["swipe-approve", "tap-approve", "credit-approve"] {
        link.with_reader_mut(|r| r.present(test_card(card).unwrap()));
        let before_sale = c.diagnostics();
        let (sale, steps) = sell(&c, &reader, 3_000).await;
        assert_eq!(sale.status, SaleStatus::Approved, "{card}");
        let commits = c.diagnostics().durable_commits - before_sale.durable_commits;
        assert_eq!(commits, if card == "credit-approve" { 3 } else { 2 }, "{card}: commits");
        assert_eq!(steps.contains(&SaleStep::CompletingOnCard), card == "credit-approve");
    }
    let recent = c.payments().recent_sales(50).unwrap();
    assert_eq!(recent.len(), 8);
    assert_eq!(recent[0].entry_mode, Some(EntryMode::Insert), "newest first: the credit card");
    assert_eq!(recent[0].card_kind, starpos_core::onboarding::CardKind::Credit);
}

#[tokio::test]
async fn a_chip_decline_after_approval_is_reversed() {
    let w = World::start().await;
    let (c, link, reader) = merchant(&w, "chip").await;
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;
    link.with_reader_mut(|r| r.present(test_card("chip-decline-after-approval").unwrap()));
    let (sale, steps) = sell(&c, &reader, 5_000).await;
    assert_eq!(sale.status, SaleStatus::Reversed { reason: ReversalReason::ChipDeclined });
    assert!(steps.ends_with(&[SaleStep::CompletingOnCard, SaleStep::Reversing]));
    assert_eq!(w.dev.payment(&sale.id).await.unwrap()["status"], "reversed");
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before);
}

#[tokio::test]
async fn an_answer_lost_after_the_platform_committed_is_recovered_under_the_same_key() {
    let w = World::start().await;
    let (c, _link, reader) = merchant(&w, "lossy").await;
    // The first answer is lost after the platform committed; the retry under the same key
    // gets the same payment back instead of charging again.
    w.dev.set_faults(json!({ "drop_response_after_commit": 1 })).await.unwrap();
    let (sale, _) = sell(&c, &reader, 4_200).await;
    assert_eq!(sale.status, SaleStatus::Approved);
    assert_eq!(w.dev.payment(&sale.id).await.unwrap()["status"], "approved");
    assert_eq!(sale.voucher_number.as_deref(), Some("000001"), "one payment on the platform, not two");
}

#[tokio::test]
async fn no_answer_at_all_means_a_reversal_never_a_new_sale() {
    let w = World::start().await;
    let (c, _link, reader) = merchant(&w, "silent").await;
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;
    w.dev.set_faults(json!({ "drop_response_after_commit": 100 })).await.unwrap();
    let (sale, steps) = sell(&c, &reader, 6_600).await;
    assert_eq!(sale.status, SaleStatus::Reversed { reason: ReversalReason::NoAnswer });
    assert_eq!(steps.last(), Some(&SaleStep::Reversing));
    assert_eq!(w.dev.payment(&sale.id).await.unwrap()["status"], "reversed", "committed, then reversed");
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before);
    assert_eq!(c.payments().recent_sales(10).unwrap().len(), 1, "no second sale under a new key");
}

/// Whatever stands between phone and platform may fail after the platform committed: a gateway's
/// 502 or 504 page, a 429, a 401 page, a 500 with a code the core has never seen. None of these
/// says "refused", so each sale ends reversed (the customer is not charged), never "failed"
/// with an approval left standing on the platform.
#[tokio::test]
async fn every_unclear_answer_after_the_platform_committed_ends_reversed_never_failed() {
    let w = World::start().await;
    let (c, _link, reader) = merchant(&w, "behind-a-gateway").await;
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;
    let html = |status: u16, title: &str| json!({ "count": 100, "status": status, "body": format!("<html><title>{title}</title></html>") });
    let cases = [
        ("502 page", html(502, "502 Bad Gateway")),
        ("504 page", html(504, "504 Gateway Time-out")),
        ("429 page", html(429, "429 Too Many Requests")),
        ("401 page", html(401, "401 Authorization Required")),
        (
            "500 with another code",
            json!({ "count": 100, "status": 500, "content_type": "application/json", "body": "{\"code\":\"ledger_busy\",\"message\":\"try later\"}" }),
        ),
    ];
    for (i, (case, answer)) in cases.into_iter().enumerate() {
        w.dev.set_faults(json!({ "answer_after_commit": answer })).await.unwrap();
        let amount = 2_100 + i as i64;
        let (sale, _) = sell(&c, &reader, amount).await;
        w.dev.set_faults(json!({})).await.unwrap();
        assert_eq!(sale.status, SaleStatus::Reversed { reason: ReversalReason::NoAnswer }, "{case}");
        assert_eq!(w.dev.payment(&sale.id).await.unwrap()["status"], "reversed", "{case}: approved, then reversed");
    }
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before, "nothing held or spent");

    // One bad answer and then the retry gets through: the approval under the same key, once.
    w.dev.set_faults(json!({ "answer_after_commit": html(502, "502 Bad Gateway").as_object().map(|o| { let mut o = o.clone(); o["count"] = json!(1); o }) })).await.unwrap();
    let (sale, _) = sell(&c, &reader, 2_200).await;
    w.dev.set_faults(json!({})).await.unwrap();
    assert_eq!(sale.status, SaleStatus::Approved);
    assert_eq!(w.dev.payment(&sale.id).await.unwrap()["status"], "approved");
}

#[tokio::test]
async fn a_reversal_the_platform_cannot_take_yet_is_retried_until_acknowledged() {
    let w = World::start().await;
    let (c, _link, reader) = merchant(&w, "patient").await;
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;
    // The platform is down: the authorisation gets 503s (never processed), and so do the
    // first reversal attempts.
    w.dev.set_faults(json!({ "fail_5xx": 100 })).await.unwrap();
    let (sale, _) = sell(&c, &reader, 7_700).await;
    assert_eq!(sale.status, SaleStatus::ReversalPending { reason: ReversalReason::NoAnswer });
    assert_eq!(
        c.merchant().remaining_today().unwrap().daily_total_remaining_fen,
        before - 7_700,
        "held until resolved"
    );

    assert!(c.payments().needing_attention().unwrap().is_empty(), "not yet: the core is still on it");
    let told = Arc::new(Told::default());
    c.payments().set_attention_listener(Some(told.clone()));
    assert_eq!(told.lists(), vec![Vec::<String>::new()], "told at once: nothing yet");
    // A quarter of an hour later (platform time, learnt from any answer) the merchant is told.
    w.dev.advance_clock(16 * 60).await.unwrap();
    let _ = c.merchant().profile().await;
    let attention = c.payments().needing_attention().unwrap();
    assert_eq!(attention.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [sale.id.as_str()]);
    // Without asking: the worker's next retry (still refused) tells the listener.
    let pushed = told.wait_for(|lists| lists.len() >= 2).await;
    assert_eq!(pushed[1], vec![sale.id.clone()], "pushed once the sale crossed the line: {pushed:?}");
    // And it is in the alert feed, once, however many passes see it.
    let alerts = c.alerts().list(false, 10).unwrap();
    let about: Vec<_> = alerts.iter().map(|a| (a.kind, a.subject.as_str())).collect();
    assert_eq!(about, [(starpos_core::alerts::AlertKind::PaymentNeedsAttention, sale.id.as_str())]);

    w.dev.set_faults(json!({})).await.unwrap();
    w.dev.advance_clock(60).await.unwrap();
    let settled = c.payments().resolve_pending().await.unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].status, SaleStatus::Reversed { reason: ReversalReason::NoAnswer });
    let platform = w.dev.payment(&sale.id).await.unwrap();
    assert_eq!((platform["status"].as_str(), platform["tombstone"].as_bool()), (Some("none"), Some(true)));
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before);
    assert!(c.payments().resolve_pending().await.unwrap().is_empty());
    assert!(c.payments().needing_attention().unwrap().is_empty(), "kept only until resolved");
    assert_eq!(told.lists().last(), Some(&Vec::new()), "and the app is told it resolved");
    assert_eq!(told.lists().len(), 3, "told only when the list changed: {:?}", told.lists());
}

/// What an app's attention listener heard: each list, as sale ids.
#[derive(Default)]
struct Told(Mutex<Vec<Vec<String>>>);

impl starpos_core::payments::AttentionListener for Told {
    fn on_needs_attention(&self, sales: Vec<Sale>) {
        self.0.lock().unwrap().push(sales.into_iter().map(|s| s.id).collect());
    }
}

impl Told {
    fn lists(&self) -> Vec<Vec<String>> {
        self.0.lock().unwrap().clone()
    }

    async fn wait_for(&self, done: impl Fn(&[Vec<String>]) -> bool) -> Vec<Vec<String>> {
        for _ in 0..300 {
            if done(&self.lists()) {
                return self.lists();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("not told in 30 s: {:?}", self.lists())
    }
}

#[tokio::test]
async fn sales_are_refused_before_any_card_is_read_when_they_cannot_succeed() {
    let w = World::start().await;
    let (c, _) = w.client("unready");
    w.register(&c, &new_phone()).await;
    c.merchant().profile().await.unwrap();
    let link = SimLink::new(SimReader::new(SERIAL), Faults::default());
    let reader = CardReader::new(Arc::new(link.clone()));
    starpos_sandbox::test_kit::pair_and_connect(&c, &reader, SERIAL).await.unwrap();
    let steps = Arc::new(Steps::default());
    assert_eq!(
        c.payments().start_sale(reader.clone(), 100, None, steps.clone()).outcome().await,
        Err(Error::SettlementCardRequired)
    );

    let (c, link, reader) = merchant(&w, "limited").await;
    let cap = c.merchant().remaining_today().unwrap().max_next_payment_fen;
    assert!(matches!(
        c.payments().start_sale(reader.clone(), cap + 1, None, steps.clone()).outcome().await,
        Err(Error::LimitExceeded { .. })
    ));
    assert!(matches!(
        c.payments().start_sale(reader.clone(), 0, None, steps.clone()).outcome().await,
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(link.with_reader(|r| r.cards.reads), 0, "no card was asked for");
    link.set_faults(Faults { drop_after_writes: Some(0), ..Faults::default() });
    assert!(matches!(c.payments().start_sale(reader.clone(), 100, None, steps).outcome().await, Err(Error::LinkLost)));
    assert!(c.payments().recent_sales(10).unwrap().is_empty(), "nothing journalled when the card was never read");
}

#[tokio::test]
async fn void_the_same_day_refund_after_settlement_never_twice() {
    let w = World::start().await;
    let (c, _link, reader) = merchant(&w, "adjuster").await;
    let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;
    let (first, _) = sell(&c, &reader, 10_000).await;
    let (second, _) = sell(&c, &reader, 8_000).await;

    assert!(matches!(
        c.payments().void_sale(first.id.clone(), "Wrong2026pw".into()).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "password"
    ));
    let voided = c.payments().void_sale(first.id.clone(), PASSWORD.into()).await.unwrap();
    assert_eq!(voided.status, SaleStatus::Voided);
    assert_eq!(w.dev.payment(&first.id).await.unwrap()["status"], "voided");
    assert_eq!(
        c.merchant().remaining_today().unwrap().daily_total_remaining_fen,
        before - 8_000,
        "the void gives the limit back"
    );
    assert!(matches!(c.payments().void_sale(first.id.clone(), PASSWORD.into()).await, Err(Error::InvalidInput { .. })));
    assert!(matches!(
        c.payments().receipt(first.id.clone(), ReceiptCopy::Merchant, false),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(c.payments().refund_sale(second.id.clone(), 1_000, PASSWORD.into()).await, Err(Error::RefundNotAllowed));

    // The next business day the sale is settled: no void, refunds up to what remains.
    w.dev.advance_clock(86_400).await.unwrap();
    c.merchant().profile().await.unwrap(); // any answer carries the platform's time
    assert_eq!(c.payments().void_sale(second.id.clone(), PASSWORD.into()).await, Err(Error::VoidNotAllowed));
    // The platform refunds but every answer is lost: the outcome is unknown, the refund stays
    // journalled...
    w.dev.set_faults(json!({ "drop_response_after_commit": 100 })).await.unwrap();
    assert!(c.payments().refund_sale(second.id.clone(), 3_000, PASSWORD.into()).await.is_err());
    w.dev.set_faults(json!({})).await.unwrap();
    // ...and no other refund of the sale starts while it is unanswered (it would get a key of
    // its own, and both could apply):
    assert_eq!(
        c.payments().refund_sale(second.id.clone(), 2_000, PASSWORD.into()).await,
        Err(Error::AdjustmentUnanswered { kind: "refund".into(), amount_fen: 3_000 })
    );
    // ...so the retry uses the same key and the platform answers the refund it already made:
    // refunded once, not twice.
    let refunded = c.payments().refund_sale(second.id.clone(), 3_000, PASSWORD.into()).await.unwrap();
    assert_eq!((refunded.status.clone(), refunded.refunded_fen), (SaleStatus::Approved, 3_000));
    assert_eq!(
        c.payments().refund_sale(second.id.clone(), 5_001, PASSWORD.into()).await,
        Err(Error::RefundExceedsRemaining { remaining_fen: 5_000 })
    );
    assert_eq!(c.payments().refund_sale(second.id.clone(), 5_000, PASSWORD.into()).await.unwrap().refunded_fen, 8_000);
    assert_eq!(
        c.payments().refund_sale(second.id.clone(), 1, PASSWORD.into()).await,
        Err(Error::RefundExceedsRemaining { remaining_fen: 0 })
    );
}

#[tokio::test]
async fn pending_reversals_are_finished_in_the_background() {
    let w = World::start().await;
    let (c, _link, reader) = merchant(&w, "background").await;
    w.dev.set_faults(json!({ "fail_5xx": 1000 })).await.unwrap();
    let (first, _) = sell(&c, &reader, 1_100).await;
    let (second, _) = sell(&c, &reader, 2_200).await;
    for sale in [&first, &second] {
        assert!(matches!(sale.status, SaleStatus::ReversalPending { .. }));
    }
    w.dev.set_faults(json!({})).await.unwrap();
    // Nobody calls resolve_pending_payments: the core's own loop (2 s, then doubling; each
    // reversal due 5 s after it went pending) finishes both.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let done = [&first, &second]
            .iter()
            .all(|s| matches!(c.payments().sale(s.id.clone()).unwrap().status, SaleStatus::Reversed { .. }));
        if done {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the background loop did not finish the reversals");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn voids_left_without_an_answer_are_settled_on_restart() {
    let w = World::start().await;
    let (c, store) = w.client("restarted-voider");
    let phone = new_phone();
    ready_merchant(&c, &w.dev, &phone, PASSWORD).await.unwrap();
    let reader = CardReader::new(Arc::new(SimLink::new(SimReader::new(SERIAL), Faults::default())));
    starpos_sandbox::test_kit::pair_and_connect(&c, &reader, SERIAL).await.unwrap();
    let (applied, _) = sell(&c, &reader, 4_000).await;
    let (never_arrived, _) = sell(&c, &reader, 5_000).await;

    // One void is applied but its answer lost; the other never gets past the platform's door.
    w.dev.set_faults(json!({ "drop_response_after_commit": 100 })).await.unwrap();
    assert!(c.payments().void_sale(applied.id.clone(), PASSWORD.into()).await.is_err());
    w.dev.set_faults(json!({ "fail_5xx": 1000 })).await.unwrap();
    assert!(c.payments().void_sale(never_arrived.id.clone(), PASSWORD.into()).await.is_err());
    w.dev.set_faults(json!({})).await.unwrap();
    drop(c);

    // The app starts again: without the password it cannot resend, so it asks the platform to
    // settle each: the applied one stands, the other is given up for good.
    let c = w.client_with("restarted-voider", store);
    let settled = c.payments().resolve_pending().await.unwrap();
    assert_eq!(settled.len(), 2);
    assert_eq!(c.payments().sale(applied.id.clone()).unwrap().status, SaleStatus::Voided);
    assert_eq!(c.payments().sale(never_arrived.id.clone()).unwrap().status, SaleStatus::Approved);
    let adjustments = w.dev.adjustments_of(&phone).await.unwrap();
    let statuses: Vec<&serde_json::Value> = adjustments.as_object().unwrap().values().collect();
    assert_eq!(statuses.iter().filter(|v| v["kind"] == "void").count(), 1);
    assert_eq!(statuses.iter().filter(|v| **v == "tombstone").count(), 1, "the lost request can never apply now");
    // The merchant voids it again, under a new key.
    assert_eq!(
        c.payments().void_sale(never_arrived.id.clone(), PASSWORD.into()).await.unwrap().status,
        SaleStatus::Voided
    );
    let remaining = c.merchant().remaining_today().unwrap();
    assert_eq!(remaining.daily_total_remaining_fen, remaining.limits.daily_total_fen, "both voids gave the limit back");
}
