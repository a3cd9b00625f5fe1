//! A client for the sandbox's development endpoints, for the demo and the Rust tests: it plays
//! the merchant reading a text message, and the tester moving the platform's clock.

use serde_json::{json, Value};

pub struct DevClient {
    base: String,
    http: reqwest::Client,
}

impl DevClient {
    pub fn new(base_url: &str) -> Self {
        DevClient { base: base_url.trim_end_matches('/').to_string(), http: reqwest::Client::new() }
    }

    /// The SMS code last "sent" to `phone` for `purpose` (`register` or `login`).
    pub async fn sms_code(&self, phone: &str, purpose: &str) -> Result<String, String> {
        let v = self.get(&format!("/dev/sms?phone={phone}&purpose={purpose}")).await?;
        v["code"].as_str().map(str::to_string).ok_or_else(|| format!("no code in {v}"))
    }

    /// Makes `phone` a merchant ready to sell, with `device_id` bound (`POST /dev/merchants/ready`).
    pub async fn ready_merchant(&self, phone: &str, password: &str, device_id: &str) -> Result<Value, String> {
        self.post("/dev/merchants/ready", json!({ "phone": phone, "password": password, "device_id": device_id })).await
    }

    /// Expires the merchant's access tokens now.
    pub async fn expire_access(&self, phone: &str) -> Result<u64, String> {
        let v = self.post("/dev/sessions/expire-access", json!({ "phone": phone })).await?;
        Ok(v["expired"].as_u64().unwrap_or(0))
    }

    /// Counters: logins, refreshes, sessions, revoked_sessions, devices.
    pub async fn stats(&self, phone: &str) -> Result<Value, String> {
        self.get(&format!("/dev/stats?phone={phone}")).await
    }

    pub async fn advance_clock(&self, secs: i64) -> Result<(), String> {
        self.post("/dev/clock/advance", json!({ "secs": secs })).await.map(|_| ())
    }

    /// Sets the payment fault knobs: `drop_response_after_commit`, `fail_5xx`, `delay_ms`.
    pub async fn set_faults(&self, faults: Value) -> Result<(), String> {
        self.post("/dev/faults", faults).await.map(|_| ())
    }

    /// The platform's record of a payment: `{ "status", "amount_fen", "tombstone",
    /// "signature_bytes", "location" }`.
    pub async fn payment(&self, key: &str) -> Result<Value, String> {
        self.get(&format!("/dev/payments/{key}")).await
    }

    /// Every payment key of the merchant with `phone` and its platform status.
    pub async fn payments_of(&self, phone: &str) -> Result<Value, String> {
        self.get(&format!("/dev/payments?phone={phone}")).await
    }

    /// Every void and refund of the merchant with `phone`: key to `{ "payment_key", "kind",
    /// "amount_fen" }` or `"tombstone"`.
    pub async fn adjustments_of(&self, phone: &str) -> Result<Value, String> {
        self.get(&format!("/dev/adjustments?phone={phone}")).await
    }

    /// The ledger heads the platform refused for the merchant with `phone` (`flags`: device,
    /// anchored, claimed and previous entries) and the anchor it holds per device (`anchors`).
    pub async fn ledger_flags(&self, phone: &str) -> Result<Value, String> {
        self.get(&format!("/dev/ledger-flags?phone={phone}")).await
    }

    /// An approved sale the merchant made "on another device" (it reaches a phone by sync).
    pub async fn other_device_sale(&self, phone: &str, amount_fen: i64) -> Result<Value, String> {
        self.post("/dev/transactions", serde_json::json!({ "phone": phone, "amount_fen": amount_fen })).await
    }

    /// The "customer" scans a shown merchant QR with `wallet` and pays it (a late payment, after a
    /// close or the expiry, is given back: `refunded_late`); the order as it then stands.
    pub async fn customer_scans(&self, payload: &str, wallet: &str) -> Result<Value, String> {
        self.post("/dev/qr/scan", serde_json::json!({ "payload": payload, "wallet": wallet })).await
    }

    /// Makes the settlement batch of `business_day` pay `fen` short.
    pub async fn settlement_shortfall(&self, phone: &str, business_day: &str, fen: i64) -> Result<(), String> {
        let body = serde_json::json!({ "phone": phone, "business_day": business_day, "fen": fen });
        self.post("/dev/settlements/shortfall", body).await.map(|_| ())
    }

    /// Cross-province settings of a merchant: any of `location_policy`, `next_approve` with
    /// `next_reason`, `review_secs`, `registered_province` (see platform/regions.rs).
    pub async fn cross_province(&self, phone: &str, mut settings: Value) -> Result<(), String> {
        settings["phone"] = Value::from(phone);
        self.post("/dev/cross-province", settings).await.map(|_| ())
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.map_err(|e| e.to_string())?;
        Self::json(r).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let r = self.http.post(format!("{}{path}", self.base)).json(&body).send().await.map_err(|e| e.to_string())?;
        Self::json(r).await
    }

    async fn json(r: reqwest::Response) -> Result<Value, String> {
        let status = r.status();
        let v: Value = r.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(v)
        } else {
            Err(format!("{status}: {v}"))
        }
    }
}
