//! QR payments' offline part (issue #15): the QR the phone draws for a merchant-presented
//! payload reads back, with an independent decoder (rqrr), to the payload it was made from,
//! whose CRC the decoder of the payload agrees with.

use starpos_core::payments::receipt::ReceiptCopy;
use starpos_core::qr::{self, DataObject, Initiation, MerchantAccount, MerchantQrInput};
use starpos_core::Error;

fn payload() -> String {
    qr::encode_merchant_qr(&MerchantQrInput {
        initiation: Initiation::Dynamic,
        accounts: vec![MerchantAccount {
            id: "26".into(),
            guid: Some("com.starpos.sandbox".into()),
            value: String::new(),
            fields: vec![DataObject::new("01", "ord_0123456789abcdef")],
        }],
        category_code: "5411".into(),
        currency: 156,
        amount_fen: Some(8_800),
        country: "CN".into(),
        name: "星标测试店".into(),
        city: "深圳".into(),
        additional: vec![DataObject::new("05", "ord_0123456789abcdef")],
        alternate_language: vec![],
    })
    .unwrap()
}

/// Reads a one-bit greyscale PNG and decodes the QR codes in it with rqrr.
fn read_back(png_bytes: &[u8]) -> Vec<String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Grayscale, png::BitDepth::One));
    let (w, h) = (info.width as usize, info.height as usize);
    let row = info.line_size;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        if buf[y * row + x / 8] & (0x80 >> (x % 8)) != 0 {
            255
        } else {
            0
        }
    });
    image.detect_grids().into_iter().map(|grid| grid.decode().unwrap().1).collect()
}

#[test]
fn the_qr_the_phone_draws_reads_back_to_its_payload() {
    let payload = payload();
    for module_px in [2, 4, 8] {
        let png_bytes = qr::qr_png(&payload, module_px).unwrap();
        assert_eq!(read_back(&png_bytes), vec![payload.clone()], "at {module_px} px a module");
    }
    let decoded = qr::decode_merchant_qr(&read_back(&qr::qr_png(&payload, 4).unwrap())[0]).unwrap();
    assert_eq!((decoded.amount_fen, decoded.name.as_str()), (Some(8_800), "星标测试店"));
    let (side, modules) = qr::qr_modules(&payload).unwrap();
    assert_eq!(modules.len(), side * side);
    assert!(modules[..side * 4].iter().all(|dark| !dark), "the quiet zone is light");
}

#[test]
fn a_module_size_or_payload_it_cannot_draw_is_refused() {
    assert!(matches!(qr::qr_png("x", 0), Err(Error::InvalidInput { .. })));
    assert!(matches!(qr::qr_png("x", 33), Err(Error::InvalidInput { .. })));
    assert!(matches!(qr::qr_png(&"x".repeat(5_000), 4), Err(Error::InvalidInput { .. })));
}

/// Sales by a dynamic QR the phone shows (C scans B), against the sandbox: the platform's code
/// is checked before it is shown, it reads back from the phone's image with an independent
/// decoder, and the "customer" (the sandbox's `/dev/qr/scan`) pays it from that. Then the cancel
/// and its race, the expiry, a late payment given back, and an order a restarted app closes.
mod shown {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use starpos_core::history::Channel;
    use starpos_core::payments::{PaymentMethod, QrSchedule, ReversalReason, SaleListener, SaleStatus, SaleStep};
    use starpos_core::qr::{self, Wallet};
    use starpos_core::{Error, InMemorySecureStore, StarPos};
    use starpos_sandbox::test_kit::ready_merchant;
    use starpos_tests::{new_phone, World, PASSWORD};

    /// Polls every 100 ms (a test's clock moves when it says so).
    fn quick(first: Duration) -> QrSchedule {
        QrSchedule { order_first_poll: first, order_poll_every: Duration::from_millis(100), ..QrSchedule::default() }
    }

    async fn merchant(w: &World, device: &str, first_poll: Duration) -> (StarPos, Arc<InMemorySecureStore>) {
        let store = Arc::new(InMemorySecureStore::new());
        let c = w.client_tuned(device, store.clone(), |config| config.qr_schedule = quick(first_poll));
        ready_merchant(&c, &w.dev, &new_phone(), PASSWORD).await.unwrap();
        (c, store)
    }

    #[derive(Default)]
    struct Steps(Mutex<Vec<SaleStep>>);

    impl SaleListener for Steps {
        fn on_step(&self, step: SaleStep) {
            self.0.lock().unwrap().push(step);
        }
    }

    #[tokio::test]
    async fn the_customer_pays_the_code_the_phone_shows() {
        let w = World::start().await;
        let (c, _) = merchant(&w, "qr-shown", Duration::from_millis(100)).await;
        let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;
        let steps = Arc::new(Steps::default());
        let shown = c.qr().show_order(2_500, Some("一份套餐".into()), None, steps.clone()).await.unwrap();
        let order = shown.order().clone();
        assert_eq!(order.amount_fen, 2_500);
        let decoded = qr::decode_merchant_qr(&order.payload).unwrap();
        assert_eq!((decoded.amount_fen, decoded.currency), (Some(2_500), 156));
        // What the customer's camera sees is the phone's image, read by another decoder.
        let seen = super::read_back(&qr::qr_png(&order.payload, 6).unwrap());
        assert_eq!(seen, vec![order.payload.clone()]);
        assert!(!shown.is_finished(), "waiting for the customer");

        let paid = w.dev.customer_scans(&seen[0], "alipay").await.unwrap();
        assert_eq!(paid["status"], "paid");
        let sale = shown.outcome().await.unwrap();
        assert_eq!(sale.status, SaleStatus::Approved);
        assert_eq!(
            (sale.method, sale.wallet, sale.id.as_str()),
            (PaymentMethod::MerchantQr, Some(Wallet::Alipay), order.sale_id.as_str())
        );
        assert_eq!(sale.wallet_txn.as_deref(), paid["wallet_txn"].as_str());
        assert_eq!(
            (sale.fee_fen, sale.net_fen),
            (paid["fee_fen"].as_i64().unwrap(), paid["net_fen"].as_i64().unwrap())
        );
        assert_eq!(steps.0.lock().unwrap().first(), Some(&SaleStep::WaitingForCustomer));
        assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before - 2_500);
        let receipt = c.payments().receipt(sale.id.clone(), super::ReceiptCopy::Merchant, false).unwrap().to_text();
        assert!(receipt.contains("支付方式: 支付宝"), "{receipt}");
        let today = c.history().today_summary().unwrap();
        assert_eq!(
            today.breakdown.iter().find(|b| b.channel == Channel::Alipay).map(|b| b.totals.gross_fen),
            Some(2_500)
        );
        let report = c.history().reconcile(today.from_day.clone(), today.from_day.clone()).await.unwrap();
        assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);

        // An expiry out of range, and an amount over the limit, are refused before any order.
        assert!(matches!(c.qr().show_order(100, None, Some(30), steps.clone()).await, Err(Error::InvalidInput { .. })));
        assert!(matches!(
            c.qr().show_order(999_999_999_999, None, None, steps.clone()).await,
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[tokio::test]
    async fn a_cancel_closes_the_order_and_a_payment_after_it_is_given_back() {
        let w = World::start().await;
        let (c, _) = merchant(&w, "qr-cancel-shown", Duration::from_millis(100)).await;
        let before = c.merchant().remaining_today().unwrap().daily_total_remaining_fen;
        let shown = c.qr().show_order(1_800, None, None, Arc::new(Steps::default())).await.unwrap();
        assert!(shown.cancel(), "the merchant cancels while the code is shown");
        let sale = shown.outcome().await.unwrap();
        assert_eq!(sale.status, SaleStatus::Reversed { reason: ReversalReason::MerchantCancelled });
        // The customer scans the code anyway: their wallet debits, and the platform gives it back.
        let late = w.dev.customer_scans(&shown.order().payload, "wechat").await.unwrap();
        assert_eq!(late["status"], "refunded_late");
        assert_eq!(c.payments().sale(sale.id.clone()).unwrap().status, sale.status, "never kept");
        assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, before);
        assert!(!shown.cancel(), "nothing left to cancel");
    }

    #[tokio::test]
    async fn a_payment_that_races_the_cancel_is_kept() {
        let w = World::start().await;
        // The first look is 10 s away: the customer pays, then the merchant presses cancel.
        let (c, _) = merchant(&w, "qr-race", Duration::from_secs(10)).await;
        let shown = c.qr().show_order(3_300, None, None, Arc::new(Steps::default())).await.unwrap();
        w.dev.customer_scans(&shown.order().payload, "unionpay").await.unwrap();
        assert!(shown.cancel());
        let sale = shown.outcome().await.unwrap();
        assert_eq!(sale.status, SaleStatus::Approved, "paid before the close: kept, and the merchant is told");
        assert_eq!(sale.wallet, Some(Wallet::UnionPay));
    }

    #[tokio::test]
    async fn an_order_nobody_paid_expires_and_one_a_stopped_app_left_is_closed() {
        let w = World::start().await;
        let (c, store) = merchant(&w, "qr-expiry", Duration::from_millis(100)).await;
        let shown = c.qr().show_order(900, None, Some(60), Arc::new(Steps::default())).await.unwrap();
        w.dev.advance_clock(61).await.unwrap();
        let sale = shown.outcome().await.unwrap();
        assert_eq!(sale.status, SaleStatus::Reversed { reason: ReversalReason::CustomerTimedOut });
        assert_eq!(w.dev.customer_scans(&shown.order().payload, "alipay").await.unwrap()["status"], "refunded_late");

        // The app shows a code and stops (a second instance on the same data stands for the
        // restarted app): nobody shows the code any more, so recovery closes the order.
        let left = c.qr().show_order(700, None, None, Arc::new(Steps::default())).await.unwrap();
        let restarted = w.client_with("qr-expiry", store);
        let settled = restarted.payments().resolve_pending().await.unwrap();
        assert_eq!(settled.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [left.order().sale_id.as_str()]);
        assert_eq!(settled[0].status, SaleStatus::Reversed { reason: ReversalReason::Recovery });
        assert_eq!(w.dev.customer_scans(&left.order().payload, "wechat").await.unwrap()["status"], "refunded_late");
    }
}
