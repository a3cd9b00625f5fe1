//! The e-receipt page (电子签购单) a customer opens from the QR code on a paper slip:
//! `/r/{token}`, public (the customer has no account), found by the payment's unguessable token
//! (records/receipts.rs). It is the customer's copy: merchant, terminal, time, the masked card or
//! the wallet, the amount paid, its status now (voided, refunded), reference numbers and the
//! signature. It never shows the merchant's fee, and no card data beyond the masked number.

use std::sync::Arc;

use axum::extract::{Path, State as St};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rusqlite::{OptionalExtension, Transaction};
use starpos_protocol::calendar::china_time;
use starpos_protocol::signature::Signature;
use starpos_protocol::wire::{PaymentWire, QrOrderWire, QrPaymentWire};

use starpos_core::money::yuan;

use super::error::{ApiError, ApiResult};
use super::records::receipts;
use super::state::State;

/// What the page shows, read from the platform's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub merchant_name: String,
    pub merchant_id: String,
    pub terminal_id: String,
    /// Unix seconds; shown in China Standard Time.
    pub at: i64,
    pub paid_with: PaidWith,
    pub amount_fen: i64,
    pub status: Status,
    pub reference_number: Option<String>,
    pub auth_code: Option<String>,
    pub batch_number: Option<String>,
    pub voucher_number: Option<String>,
    /// Voids and refunds, oldest first.
    pub adjustments: Vec<Adjustment>,
    pub signed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaidWith {
    Card { masked_pan: String, issuer_bank: Option<String> },
    Wallet { wallet: String, wallet_txn: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Approved,
    Voided,
    /// Refunded in part or in whole.
    Refunded {
        fen: i64,
        whole: bool,
    },
    /// Taken back by the platform (a lost answer, a cancelled QR payment): nothing was charged.
    Reversed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub void: bool,
    pub amount_fen: i64,
    pub at: i64,
}

pub async fn page(St(state): St<Arc<State>>, Path(token): Path<String>) -> ApiResult<Response> {
    let mut db = state.db();
    let tx = db.transaction()?;
    let view = match receipts::find(&tx, &token)? {
        Some((merchant_id, key)) => view_of(&tx, &merchant_id, &key)?,
        None => None,
    };
    drop(tx);
    drop(db);
    Ok(match view {
        Some(view) => html(StatusCode::OK, render(&view, &token)),
        None => html(StatusCode::NOT_FOUND, not_found()),
    })
}

/// The customer's signature on a card payment's receipt, as a PNG.
pub async fn signature(St(state): St<Arc<State>>, Path(token): Path<String>) -> ApiResult<Response> {
    let mut db = state.db();
    let tx = db.transaction()?;
    let strokes: Option<Vec<u8>> = match receipts::find(&tx, &token)? {
        Some((_, key)) => {
            tx.query_row("SELECT strokes FROM signatures WHERE payment_key = ?1", [&key], |r| r.get(0)).optional()?
        }
        None => None,
    };
    let Some(strokes) = strokes else {
        return Ok((StatusCode::NOT_FOUND, "no signature").into_response());
    };
    let png = Signature::decode(&strokes).map_err(|e| ApiError::internal(e.to_string()))?.render().png();
    let mut response = ([(header::CONTENT_TYPE, "image/png")], png).into_response();
    private(&mut response);
    Ok(response)
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    private(&mut response);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    );
    response
}

/// A receipt is the customer's and nobody else's: not cached by anyone between, not indexed, not
/// leaked through the Referer of a link.
fn private(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
}

/// The page's view of the payment under `key`; `None` when there is nothing a customer paid
/// (a QR payment still being confirmed, or one that failed).
fn view_of(tx: &Transaction<'_>, merchant_id: &str, key: &str) -> ApiResult<Option<View>> {
    let (merchant_name, terminal_id): (String, String) =
        tx.query_row("SELECT merchant_name, terminal_id FROM merchants WHERE id = ?1", [merchant_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let shell = |at, paid_with, amount_fen| View {
        merchant_name: merchant_name.clone(),
        merchant_id: merchant_id.to_string(),
        terminal_id: terminal_id.clone(),
        at,
        paid_with,
        amount_fen,
        status: Status::Approved,
        reference_number: None,
        auth_code: None,
        batch_number: None,
        voucher_number: None,
        adjustments: vec![],
        signed: false,
    };
    let parse =
        |json: String| serde_json::from_str::<serde_json::Value>(&json).map_err(|e| ApiError::internal(e.to_string()));

    if let Some(json) = one(tx, "SELECT json FROM payments WHERE key = ?1", key)? {
        let p: PaymentWire = serde_json::from_value(parse(json)?).map_err(|e| ApiError::internal(e.to_string()))?;
        let card = PaidWith::Card { masked_pan: p.masked_pan.clone(), issuer_bank: p.issuer_bank.clone() };
        let mut view = shell(p.processed_at, card, p.amount_fen);
        view.reference_number = Some(p.reference_number.clone());
        view.auth_code = p.auth_code.clone();
        view.batch_number = Some(p.batch_number.clone());
        view.voucher_number = Some(p.voucher_number.clone());
        view.adjustments =
            adjustments(tx, "SELECT kind, amount_fen, created_at FROM adjustments WHERE payment_key = ?1", key)?;
        view.signed = one(tx, "SELECT 'signed' FROM signatures WHERE payment_key = ?1", key)?.is_some();
        view.status = match p.status.as_str() {
            "approved" => refunded(p.refunded_fen, p.amount_fen),
            "voided" => Status::Voided,
            "reversed" => Status::Reversed,
            _ => return Ok(None),
        };
        return Ok(Some(view));
    }
    let qr = match one(tx, "SELECT json FROM qr_payments WHERE key = ?1", key)? {
        Some(json) => {
            let p: QrPaymentWire =
                serde_json::from_value(parse(json)?).map_err(|e| ApiError::internal(e.to_string()))?;
            Some((p.status, p.paid_at, p.wallet, p.wallet_txn, p.amount_fen))
        }
        None => match one(tx, "SELECT json FROM qr_orders WHERE key = ?1", key)? {
            Some(json) => {
                let o: QrOrderWire =
                    serde_json::from_value(parse(json)?).map_err(|e| ApiError::internal(e.to_string()))?;
                Some((o.status, o.paid_at, o.wallet.unwrap_or_default(), o.wallet_txn, o.amount_fen))
            }
            None => None,
        },
    };
    let Some((status, Some(paid_at), wallet, wallet_txn, amount_fen)) = qr else { return Ok(None) };
    let mut view = shell(paid_at, PaidWith::Wallet { wallet, wallet_txn }, amount_fen);
    view.adjustments =
        adjustments(tx, "SELECT kind, amount_fen, created_at FROM qr_refunds WHERE payment_key = ?1", key)?;
    let refunded_fen: i64 = view.adjustments.iter().map(|a| a.amount_fen).sum();
    view.status = match status.as_str() {
        "paid" if view.adjustments.iter().any(|a| a.void) => Status::Voided,
        "paid" => refunded(refunded_fen, amount_fen),
        "reversed" => Status::Reversed,
        _ => return Ok(None),
    };
    Ok(Some(view))
}

fn refunded(fen: i64, amount_fen: i64) -> Status {
    if fen > 0 {
        Status::Refunded { fen, whole: fen >= amount_fen }
    } else {
        Status::Approved
    }
}

fn one(tx: &Transaction<'_>, sql: &str, key: &str) -> ApiResult<Option<String>> {
    Ok(tx.query_row(sql, [key], |r| r.get(0)).optional()?)
}

fn adjustments(tx: &Transaction<'_>, sql: &str, key: &str) -> ApiResult<Vec<Adjustment>> {
    let mut stmt = tx.prepare(&format!("{sql} ORDER BY created_at, rowid"))?;
    let rows = stmt.query_map([key], |r| {
        Ok(Adjustment { void: r.get::<_, String>(0)? == "void", amount_fen: r.get(1)?, at: r.get(2)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Text for HTML, with every character that could end an element or an attribute escaped:
/// the merchant's name is the merchant's own input.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn wallet_name(wallet: &str) -> &'static str {
    match wallet {
        "wechat" => "微信支付 WeChat Pay",
        "alipay" => "支付宝 Alipay",
        "unionpay" => "银联二维码 UnionPay QR",
        _ => "二维码 QR",
    }
}

const STYLE: &str = "body{margin:0;background:#f2f3f5;font:16px/1.5 -apple-system,'PingFang SC','Noto Sans CJK SC','WenQuanYi Zen Hei',sans-serif;color:#1d2129}
main{max-width:480px;margin:0 auto;padding:16px}
.slip{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:18px;margin:0 0 4px;text-align:center}
.copy{text-align:center;color:#86909c;font-size:13px;margin:0 0 16px}
.amount{text-align:center;font-size:34px;font-weight:600;margin:8px 0}
.status{text-align:center;margin:0 0 16px;font-weight:600}
.ok{color:#00a870}.void{color:#e34d59}.part{color:#ed7b2f}
dl{display:grid;grid-template-columns:auto 1fr;gap:6px 12px;margin:0;font-size:14px}
dt{color:#86909c}dd{margin:0;text-align:right;word-break:break-all}
h2{font-size:14px;color:#86909c;margin:16px 0 6px;font-weight:normal}
.sig{width:100%;max-width:384px;display:block;margin:0 auto;border:1px solid #e5e6eb;border-radius:6px}
footer{color:#86909c;font-size:12px;text-align:center;margin-top:16px}";

/// The page, in Chinese with English labels, readable on a phone without any script.
pub fn render(view: &View, token: &str) -> String {
    let (status_class, status_text) = match view.status {
        Status::Approved => ("ok", "交易成功 APPROVED".to_string()),
        Status::Voided => ("void", "已撤销 VOIDED".to_string()),
        Status::Refunded { whole: true, .. } => ("void", "已全额退货 REFUNDED".to_string()),
        Status::Refunded { fen, whole: false } => ("part", format!("已部分退货 PARTLY REFUNDED ¥{}", yuan(fen))),
        Status::Reversed => ("void", "已冲正 REVERSED · 未扣款 NOT CHARGED".to_string()),
    };
    let mut rows: Vec<(&str, String)> = vec![
        ("商户名称 Merchant", view.merchant_name.clone()),
        ("商户编号 Merchant No.", view.merchant_id.clone()),
        ("终端编号 Terminal", view.terminal_id.clone()),
        ("交易类型 Type", "消费 SALE".into()),
    ];
    match &view.paid_with {
        PaidWith::Card { masked_pan, issuer_bank } => {
            rows.push(("卡号 Card", masked_pan.clone()));
            if let Some(bank) = issuer_bank {
                rows.push(("发卡行 Issuer", bank.clone()));
            }
        }
        PaidWith::Wallet { wallet, wallet_txn } => {
            rows.push(("支付方式 Paid with", wallet_name(wallet).into()));
            if let Some(txn) = wallet_txn {
                rows.push(("交易单号 Wallet No.", txn.clone()));
            }
        }
    }
    for (label, value) in [
        ("批次号 Batch", &view.batch_number),
        ("凭证号 Voucher", &view.voucher_number),
        ("参考号 Reference", &view.reference_number),
        ("授权码 Auth code", &view.auth_code),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            rows.push((label, v.clone()));
        }
    }
    rows.push(("日期时间 Time", china_time(view.at)));
    let mut out = String::with_capacity(4096);
    out.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str("<meta name=\"robots\" content=\"noindex, nofollow\">");
    out.push_str(&format!("<title>电子签购单 E-Receipt · {}</title>", esc(&view.merchant_name)));
    out.push_str(&format!("<style>{STYLE}</style></head><body><main><div class=\"slip\">"));
    out.push_str("<h1>电子签购单 E-RECEIPT</h1><p class=\"copy\">持卡人存根 CUSTOMER COPY</p>");
    out.push_str(&format!("<p class=\"amount\" id=\"amount\">¥{}</p>", yuan(view.amount_fen)));
    out.push_str(&format!("<p class=\"status {status_class}\" id=\"status\">{}</p><dl>", esc(&status_text)));
    for (label, value) in rows {
        out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(label), esc(&value)));
    }
    out.push_str("</dl>");
    if !view.adjustments.is_empty() {
        out.push_str("<h2>撤销与退货 Voids and refunds</h2><dl id=\"adjustments\">");
        for a in &view.adjustments {
            let kind = if a.void { "撤销 VOID" } else { "退货 REFUND" };
            out.push_str(&format!("<dt>{kind} · {}</dt><dd>-¥{}</dd>", china_time(a.at), yuan(a.amount_fen)));
        }
        out.push_str("</dl>");
    }
    if view.signed {
        out.push_str("<h2>持卡人签名 Cardholder signature</h2>");
        out.push_str(&format!(
            "<img class=\"sig\" id=\"signature\" alt=\"持卡人签名 signature\" src=\"/r/{}/signature.png\">",
            esc(token)
        ));
    }
    out.push_str(
        "</div><footer>本页仅供持卡人查看 This page is for the cardholder only</footer></main></body></html>\n",
    );
    out
}

fn not_found() -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>未找到 Not found</title><style>{STYLE}</style></head><body><main><div class=\"slip\"><h1>未找到该签购单</h1><p class=\"copy\">No receipt at this address. Check the link on your slip, or ask the merchant.</p></div></main></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        View {
            merchant_name: "星标<script>alert(1)</script>便利店".into(),
            merchant_id: "M1".into(),
            terminal_id: "12345678".into(),
            at: 1_795_000_000,
            paid_with: PaidWith::Card {
                masked_pan: "622202******0128".into(), issuer_bank: Some("工商银行".into())
            },
            amount_fen: 12_345,
            status: Status::Refunded { fen: 2_345, whole: false },
            reference_number: Some("000000123456".into()),
            auth_code: Some("123456".into()),
            batch_number: Some("000001".into()),
            voucher_number: Some("000042".into()),
            adjustments: vec![Adjustment { void: false, amount_fen: 2_345, at: 1_795_090_000 }],
            signed: true,
        }
    }

    #[test]
    fn the_page_shows_the_customer_view_with_everything_escaped() {
        let page = render(&view(), "0123456789abcdef0123456789abcdef");
        assert!(page.contains("<p class=\"amount\" id=\"amount\">¥123.45</p>"), "{page}");
        assert!(page.contains("已部分退货 PARTLY REFUNDED ¥23.45"));
        assert!(page.contains("-¥23.45"));
        assert!(page.contains("622202******0128") && page.contains("持卡人存根 CUSTOMER COPY"));
        assert!(page.contains("src=\"/r/0123456789abcdef0123456789abcdef/signature.png\""));
        assert!(!page.contains("<script>") && page.contains("&lt;script&gt;"), "the merchant's name is text");
        assert!(!page.contains("手续费") && !page.contains("FEE"), "the customer's copy has no merchant fee");
        assert!(page.contains("2026-11-18 19:06:40"), "time in China Standard Time: {page}");
        let wallet = View {
            paid_with: PaidWith::Wallet {
                wallet: "alipay".into(),
                wallet_txn: Some("2026120122001400001234567890".into()),
            },
            status: Status::Voided,
            signed: false,
            ..view()
        };
        let page = render(&wallet, "0123456789abcdef0123456789abcdef");
        assert!(page.contains("支付宝 Alipay") && page.contains("已撤销 VOIDED") && !page.contains("signature.png"));
    }
}
