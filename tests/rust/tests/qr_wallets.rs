//! The sandbox wallets (issue #15 item 5) against the real sandbox, by signed requests of the
//! test's own making (the core's QR sales come next). Payments by the customer's payment code:
//! each behaviour the code's last two digits choose, single-use codes, idempotent retries,
//! reversal and the WeChat 15-second rule, a tombstone for a key reversed before it arrived.
//! Dynamic merchant QR orders: a payload the core's decoder accepts, paid by the "customer",
//! closed, expired, and paid late (given back).

use serde_json::{json, Value};
use starpos_sandbox::test_kit::ready_merchant;
use starpos_tests::{new_phone, SignedRequests, World, PASSWORD};

fn code(wallet: &str, behaviour: &str) -> String {
    starpos_tests::payment_code(wallet, behaviour)
}

fn pay_body(wallet: &str, code: &str, key: &str, amount_fen: i64) -> Value {
    json!({ "idempotency_key": key, "wallet": wallet, "payment_code": code, "amount_fen": amount_fen })
}

async fn merchant(w: &World) -> SignedRequests {
    let (c, store) = w.client("qr-merchant");
    ready_merchant(&c, &w.dev, &new_phone(), PASSWORD).await.unwrap();
    SignedRequests::from_store(w, &store)
}

fn key() -> String {
    starpos_core::util::random_hex(16)
}

#[tokio::test]
async fn each_wallet_behaviour_ends_where_the_code_says() {
    let w = World::start().await;
    let app = merchant(&w).await;
    for wallet in ["wechat", "alipay", "unionpay"] {
        assert_eq!(
            starpos_core::qr::classify_payment_code(&code(wallet, "00")).unwrap().as_str(),
            wallet,
            "the test's codes have the wallet's shape"
        );
    }

    // 00: paid at once, with the wallet's transaction number; a retry answers the same.
    let k = key();
    let body = pay_body("wechat", &code("wechat", "00"), &k, 1_234);
    let (status, paid) = app.send("POST", "/v1/qr/pay", Some(&body)).await;
    assert_eq!((status, paid["status"].as_str()), (200, Some("paid")), "{paid}");
    assert!(paid["wallet_txn"].is_string());
    assert_eq!(app.send("POST", "/v1/qr/pay", Some(&body)).await.1, paid, "a retry with the same key and body");
    // The same code again, under a new key: single-use.
    let reused = pay_body("wechat", body["payment_code"].as_str().unwrap(), &key(), 1_234);
    let (_, refused) = app.send("POST", "/v1/qr/pay", Some(&reused)).await;
    assert_eq!((refused["status"].as_str(), refused["reason"].as_str()), (Some("failed"), Some("code_used")));
    // The same key with another amount is a conflict, not a second payment.
    let other = pay_body("wechat", &code("wechat", "00"), &k, 9_999);
    assert_eq!(app.send("POST", "/v1/qr/pay", Some(&other)).await.1["code"], "idempotency_conflict");

    // 01 and 02: the customer confirms on their phone; queries see it until they have.
    let (k1, k2) = (key(), key());
    let (_, waiting) = app.send("POST", "/v1/qr/pay", Some(&pay_body("alipay", &code("alipay", "01"), &k1, 500))).await;
    assert_eq!(waiting["status"], "user_paying");
    app.send("POST", "/v1/qr/pay", Some(&pay_body("unionpay", &code("unionpay", "02"), &k2, 600))).await;
    assert_eq!(app.send("GET", &format!("/v1/qr/payments/{k1}"), None).await.1["status"], "user_paying");
    w.dev.advance_clock(21).await.unwrap();
    let (_, done) = app.send("GET", &format!("/v1/qr/payments/{k1}"), None).await;
    assert_eq!(done["status"], "paid");
    let (_, cancelled) = app.send("GET", &format!("/v1/qr/payments/{k2}"), None).await;
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["reason"].as_str()),
        (Some("failed"), Some("customer_cancelled"))
    );

    // 03 and 04: refused by the wallet, with the reason.
    for (digits, reason) in [("03", "insufficient_balance"), ("04", "code_used")] {
        let (_, p) =
            app.send("POST", "/v1/qr/pay", Some(&pay_body("alipay", &code("alipay", digits), &key(), 700))).await;
        assert_eq!((p["status"].as_str(), p["reason"].as_str()), (Some("failed"), Some(reason)));
    }

    // 05 and 06: an answer that says nothing (a system error, a gateway's page), yet the
    // wallet debited: only a query by key finds it paid.
    for digits in ["05", "06"] {
        let k = key();
        let (status, unclear) =
            app.send("POST", "/v1/qr/pay", Some(&pay_body("wechat", &code("wechat", digits), &k, 800))).await;
        assert!(status >= 500, "{status} {unclear}");
        assert_eq!(app.send("GET", &format!("/v1/qr/payments/{k}"), None).await.1["status"], "paid");
    }
}

#[tokio::test]
async fn reversals_give_back_close_and_leave_tombstones() {
    let w = World::start().await;
    let app = merchant(&w).await;
    let reason = json!({ "reason": "timeout" });

    // WeChat: no reverse within 15 s of the debit; after, it is given back (idempotently).
    let k = key();
    app.send("POST", "/v1/qr/pay", Some(&pay_body("wechat", &code("wechat", "00"), &k, 1_000))).await;
    let path = format!("/v1/qr/payments/{k}/reverse");
    let (status, too_soon) = app.send("POST", &path, Some(&reason)).await;
    assert_eq!((status, too_soon["code"].as_str()), (409, Some("reverse_too_soon")), "{too_soon}");
    assert!(too_soon["retry_after"].as_u64().is_some_and(|s| (1..=15).contains(&s)));
    w.dev.advance_clock(16).await.unwrap();
    assert_eq!(app.send("POST", &path, Some(&reason)).await.1["status"], "reversed");
    assert_eq!(app.send("POST", &path, Some(&reason)).await.1["status"], "reversed", "again: the same");

    // Alipay, the customer still confirming: the payment is closed, and stays closed after the
    // time the customer would have taken.
    let k = key();
    app.send("POST", "/v1/qr/pay", Some(&pay_body("alipay", &code("alipay", "01"), &k, 1_100))).await;
    let (_, closed) = app.send("POST", &format!("/v1/qr/payments/{k}/reverse"), Some(&reason)).await;
    assert_eq!(closed["status"], "closed");
    w.dev.advance_clock(30).await.unwrap();
    assert_eq!(app.send("GET", &format!("/v1/qr/payments/{k}"), None).await.1["status"], "closed");

    // A key reversed before its payment arrived: the payment is refused when it comes.
    let k = key();
    assert_eq!(app.send("POST", &format!("/v1/qr/payments/{k}/reverse"), Some(&reason)).await.1["status"], "closed");
    let (status, late) =
        app.send("POST", "/v1/qr/pay", Some(&pay_body("unionpay", &code("unionpay", "00"), &k, 1_200))).await;
    assert_eq!((status, late["code"].as_str()), (409, Some("payment_reversed")));
    assert_eq!(app.send("GET", &format!("/v1/qr/payments/{k}"), None).await.0, 404);

    // A code of the wrong wallet, or no payment code at all, is refused before anything.
    let wrong = pay_body("alipay", &code("wechat", "00"), &key(), 100);
    let (status, refused) = app.send("POST", "/v1/qr/pay", Some(&wrong)).await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("payment_code")));
}

#[tokio::test]
async fn a_dynamic_qr_order_is_paid_closed_or_given_back_when_paid_late() {
    let w = World::start().await;
    let app = merchant(&w).await;
    let order = |amount: i64| json!({ "idempotency_key": key(), "amount_fen": amount });

    // The order's payload is a dynamic code for its amount that the phone's decoder accepts.
    let body = order(8_800);
    let (status, open) = app.send("POST", "/v1/qr/orders", Some(&body)).await;
    assert_eq!((status, open["status"].as_str()), (200, Some("open")), "{open}");
    let payload = open["payload"].as_str().unwrap();
    let qr = starpos_core::qr::decode_merchant_qr(payload).unwrap();
    assert_eq!((qr.amount_fen, qr.currency), (Some(8_800), 156));
    assert_eq!(qr.accounts[0].guid.as_deref(), Some("com.starpos.sandbox"));
    assert_eq!(app.send("POST", "/v1/qr/orders", Some(&body)).await.1, open, "a retry gets the same order");

    // A tampered payload (another amount, its CRC made good again) is not paid.
    let tampered = payload.replacen("540588.00", "540511.00", 1);
    let tampered =
        format!("{}{:04X}", &tampered[..tampered.len() - 4], starpos_core::qr::crc16(&tampered[..tampered.len() - 4]));
    assert!(w.dev.customer_scans(&tampered, "wechat").await.unwrap_err().contains("amount_mismatch"));

    // The customer pays; the phone's poll sees it; a second scan is refused; a close keeps it.
    let paid = w.dev.customer_scans(payload, "alipay").await.unwrap();
    assert_eq!((paid["status"].as_str(), paid["wallet"].as_str()), (Some("paid"), Some("alipay")));
    let path = format!("/v1/qr/orders/{}", body["idempotency_key"].as_str().unwrap());
    assert_eq!(app.send("GET", &path, None).await.1["status"], "paid");
    assert!(w.dev.customer_scans(payload, "alipay").await.unwrap_err().contains("order_paid"));
    assert_eq!(app.send("POST", &format!("{path}/close"), Some(&json!({}))).await.1["status"], "paid");

    // Closed by the merchant, then paid: the money goes back.
    let body = order(1_500);
    let (_, open) = app.send("POST", "/v1/qr/orders", Some(&body)).await;
    let path = format!("/v1/qr/orders/{}", body["idempotency_key"].as_str().unwrap());
    assert_eq!(app.send("POST", &format!("{path}/close"), Some(&json!({}))).await.1["status"], "closed");
    let late = w.dev.customer_scans(open["payload"].as_str().unwrap(), "wechat").await.unwrap();
    assert_eq!(late["status"], "refunded_late");
    assert_eq!(app.send("GET", &path, None).await.1["status"], "refunded_late");

    // Not paid in time: expired (a short expiry, then the clock moves on).
    let body = json!({ "idempotency_key": key(), "amount_fen": 900, "expires_in_secs": 60 });
    app.send("POST", "/v1/qr/orders", Some(&body)).await;
    w.dev.advance_clock(61).await.unwrap();
    let path = format!("/v1/qr/orders/{}", body["idempotency_key"].as_str().unwrap());
    assert_eq!(app.send("GET", &path, None).await.1["status"], "expired");
    let bad = json!({ "idempotency_key": key(), "amount_fen": 900, "expires_in_secs": 5 });
    assert_eq!(app.send("POST", "/v1/qr/orders", Some(&bad)).await.1["field"], "expires_in_secs");
}
