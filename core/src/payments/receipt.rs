//! Receipts (签购单) for approved sales: structured data, plain text for the screen and for
//! sharing, and ESC/POS bytes in GB18030 for a Bluetooth receipt printer, with a QR code for the
//! e-receipt. Reprinting builds the same receipt again from the journal, marked as a reprint.

use super::signature::Bitmap;
use super::Sale;
use crate::qr::Wallet;
use crate::reader::card::EntryMode;
use starpos_protocol::calendar::china_time;

/// Characters per line on a 58 mm printer (a Chinese character takes two).
pub const WIDTH: usize = 32;

/// Which copy of the slip, as paper slips come in two: the merchant keeps the signed one with
/// the fee and net (商户存根); the customer's (持卡人存根) shows what was paid, without the
/// merchant's fee and without the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptCopy {
    Merchant,
    Customer,
}

/// How a slip is printed: which copy, and whether it is a reprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Print {
    pub copy: ReceiptCopy,
    pub reprint: bool,
}

impl Print {
    pub const MERCHANT: Print = Print { copy: ReceiptCopy::Merchant, reprint: false };
    pub const CUSTOMER: Print = Print { copy: ReceiptCopy::Customer, reprint: false };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub merchant_name: String,
    pub merchant_number: String,
    pub terminal_id: String,
    /// 消费 SALE.
    pub transaction_type: String,
    pub masked_pan: String,
    pub issuer_bank: Option<String>,
    pub card_kind: String,
    /// `S` swipe, `I` insert, `C` contactless, `F` fallback swipe; empty for a QR payment.
    pub entry_mode: String,
    /// A QR payment's wallet as printed (微信支付, 支付宝, 银联二维码) and its transaction number;
    /// the receipt then shows these where a card's number would be.
    pub wallet: Option<String>,
    pub wallet_txn: Option<String>,
    pub batch_number: String,
    pub voucher_number: String,
    pub reference_number: String,
    pub auth_code: String,
    /// `YYYY-MM-DD HH:MM:SS`, China Standard Time.
    pub date_time: String,
    pub amount_fen: i64,
    pub fee_fen: i64,
    pub net_fen: i64,
    pub aid: String,
    pub app_label: String,
    pub tvr: String,
    pub tsi: String,
    /// The e-receipt page the printed QR code opens, `{platform}/r/{token}` with the platform's
    /// unguessable token; empty (and no QR code printed) when the platform gave none.
    pub e_receipt_url: String,
    /// The customer's signature, printed above the acknowledgement on the merchant's copy;
    /// `None` when not signed, and on the customer's copy.
    pub signature: Option<Bitmap>,
    pub copy: ReceiptCopy,
    pub reprint: bool,
}

/// `12345` fen as `123.45`.
pub use crate::money::yuan;

impl Receipt {
    /// The receipt of an approved sale, with the merchant's names and numbers.
    pub fn of(
        sale: &Sale,
        merchant_name: &str,
        merchant_number: &str,
        terminal_id: &str,
        platform_url: &str,
        signature: Option<Bitmap>,
        print: Print,
    ) -> Receipt {
        let entry_mode = match sale.entry_mode {
            // A fallback swipe is printed as such, as issuers and acquirers mark it.
            Some(EntryMode::Swipe) if sale.fallback => "F",
            Some(EntryMode::Swipe) => "S",
            Some(EntryMode::Tap) => "C",
            Some(EntryMode::Insert) => "I",
            None => "",
        };
        let wallet = sale.wallet.map(|w| {
            match w {
                Wallet::WeChat => "微信支付",
                Wallet::Alipay => "支付宝",
                Wallet::UnionPay => "银联二维码",
            }
            .to_string()
        });
        Receipt {
            merchant_name: merchant_name.into(),
            merchant_number: merchant_number.into(),
            terminal_id: terminal_id.into(),
            transaction_type: "消费 SALE".into(),
            masked_pan: sale.masked_pan.clone(),
            issuer_bank: sale.issuer_bank.clone(),
            card_kind: sale.card_kind.as_str().into(),
            entry_mode: entry_mode.into(),
            wallet,
            wallet_txn: sale.wallet_txn.clone(),
            batch_number: sale.batch_number.clone().unwrap_or_default(),
            voucher_number: sale.voucher_number.clone().unwrap_or_default(),
            reference_number: sale.reference_number.clone().unwrap_or_default(),
            auth_code: sale.auth_code.clone().unwrap_or_default(),
            date_time: china_time(sale.created_at),
            amount_fen: sale.amount_fen,
            fee_fen: sale.fee_fen,
            net_fen: sale.net_fen,
            aid: sale.aid.clone(),
            app_label: sale.app_label.clone(),
            tvr: sale.tvr.clone().unwrap_or_default(),
            tsi: sale.tsi.clone().unwrap_or_default(),
            e_receipt_url: sale
                .receipt_token
                .as_ref()
                .map(|token| format!("{}/r/{token}", platform_url.trim_end_matches('/')))
                .unwrap_or_default(),
            signature: signature.filter(|_| print.copy == ReceiptCopy::Merchant),
            copy: print.copy,
            reprint: print.reprint,
        }
    }

    /// The receipt's lines, each at most [`WIDTH`] columns.
    fn lines(&self) -> Vec<String> {
        let mut l = vec![
            format!("商户名称: {}", self.merchant_name),
            format!("商户编号: {}", self.merchant_number),
            format!("终端编号: {}", self.terminal_id),
        ];
        match &self.wallet {
            Some(wallet) => {
                l.push(format!("支付方式: {wallet}"));
                // The wallets' numbers run to 28 digits or more: on a line of their own when
                // they would not fit beside the label (10 columns).
                let txn = self.wallet_txn.as_deref().unwrap_or("");
                if txn.len() + 10 <= WIDTH {
                    l.push(format!("交易单号: {txn}"));
                } else {
                    l.push("交易单号:".into());
                    l.push(txn.into());
                }
            }
            None => l.push(format!("卡号: {} ({})", self.masked_pan, self.entry_mode)),
        }
        if let Some(bank) = &self.issuer_bank {
            l.push(format!("发卡行: {bank}"));
        }
        l.extend([
            format!("交易类型: {}", self.transaction_type),
            format!("批次号: {}  凭证号: {}", self.batch_number, self.voucher_number),
            format!("参考号: {}", self.reference_number),
            format!("授权码: {}", self.auth_code),
            format!("日期时间: {}", self.date_time),
            format!("金额 AMOUNT: RMB {}", yuan(self.amount_fen)),
        ]);
        // The merchant's fee is the merchant's business, not the customer's.
        if self.copy == ReceiptCopy::Merchant {
            l.push(format!("手续费 FEE: RMB {}", yuan(self.fee_fen)));
            l.push(format!("净额 NET: RMB {}", yuan(self.net_fen)));
        }
        if !self.aid.is_empty() {
            l.push(format!("AID: {}", self.aid));
            l.push(format!("APP: {}", self.app_label));
        }
        if !self.tvr.is_empty() || !self.tsi.is_empty() {
            l.push(format!("TVR: {}  TSI: {}", self.tvr, self.tsi));
        }
        l
    }

    fn header(&self) -> Vec<String> {
        let copy = match self.copy {
            ReceiptCopy::Merchant => "商户存根 MERCHANT COPY",
            ReceiptCopy::Customer => "持卡人存根 CARDHOLDER COPY",
        };
        let mut h = vec!["签购单 POS SLIP".to_string(), copy.to_string()];
        if self.reprint {
            h.push("重打印 REPRINT".into());
        }
        h
    }

    /// The acknowledgement under the signature (the merchant's copy), or the customer's note.
    fn footer(&self) -> [&'static str; 2] {
        match self.copy {
            ReceiptCopy::Merchant => ["本人确认以上交易", "I ACKNOWLEDGE THE ABOVE"],
            ReceiptCopy::Customer => ["请妥善保管", "PLEASE KEEP FOR YOUR RECORDS"],
        }
    }

    const SIGNATURE_TITLE: &'static str = "持卡人签名 CARDHOLDER SIGNATURE";

    /// Plain text for the screen or for sharing.
    pub fn to_text(&self) -> String {
        let rule = "-".repeat(WIDTH);
        let mut out = String::new();
        for h in self.header() {
            out.push_str(&center(&h));
            out.push('\n');
        }
        out.push_str(&rule);
        out.push('\n');
        for line in self.lines() {
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(&rule);
        out.push('\n');
        if self.copy == ReceiptCopy::Merchant {
            out.push_str(Self::SIGNATURE_TITLE);
            out.push('\n');
            // Text cannot show the drawing: say whether there is one (the image is in the
            // e-receipt and on the printed slip).
            out.push_str(if self.signature.is_some() { "[电子签名 E-SIGNED]\n" } else { "\n" });
        }
        for f in self.footer() {
            out.push_str(f);
            out.push('\n');
        }
        if !self.e_receipt_url.is_empty() {
            out.push_str(&format!("电子签购单 E-RECEIPT: {}\n", self.e_receipt_url));
        }
        out
    }

    /// ESC/POS bytes for a 58 mm printer: Chinese in GB18030, the e-receipt as a native QR
    /// code, then feed and cut.
    pub fn to_escpos(&self) -> Vec<u8> {
        let mut p = EscPos::default();
        p.init();
        p.align(Align::Center);
        p.bold(true);
        let header = self.header();
        p.text(&format!("{}\n", header[0]));
        p.bold(false);
        for line in &header[1..] {
            p.text(&format!("{line}\n"));
        }
        p.align(Align::Left);
        p.text(&format!("{}\n", "-".repeat(WIDTH)));
        for line in self.lines() {
            p.text(&format!("{line}\n"));
        }
        p.text(&format!("{}\n", "-".repeat(WIDTH)));
        if self.copy == ReceiptCopy::Merchant {
            p.text(&format!("{}\n", Self::SIGNATURE_TITLE));
            match &self.signature {
                Some(image) => {
                    p.align(Align::Center);
                    p.0.extend(image.escpos_raster());
                    p.align(Align::Left);
                }
                None => p.text("\n\n"),
            }
        }
        for f in self.footer() {
            p.text(&format!("{f}\n"));
        }
        if !self.e_receipt_url.is_empty() {
            p.align(Align::Center);
            p.qr(&self.e_receipt_url, 4);
        }
        p.cut();
        p.0
    }
}

/// Display width: CJK and other wide characters take two columns.
fn columns(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn center(s: &str) -> String {
    let pad = WIDTH.saturating_sub(columns(s)) / 2;
    format!("{}{s}", " ".repeat(pad))
}

#[derive(Debug, Clone, Copy)]
pub enum Align {
    Left = 0,
    Center = 1,
}

/// The ESC/POS commands receipts use.
#[derive(Default)]
pub struct EscPos(pub Vec<u8>);

impl EscPos {
    /// ESC @.
    pub fn init(&mut self) {
        self.0.extend_from_slice(&[0x1B, 0x40]);
    }

    /// ESC a n.
    pub fn align(&mut self, a: Align) {
        self.0.extend_from_slice(&[0x1B, 0x61, a as u8]);
    }

    /// ESC E n.
    pub fn bold(&mut self, on: bool) {
        self.0.extend_from_slice(&[0x1B, 0x45, on as u8]);
    }

    /// Text in GB18030 (which encodes every Unicode character; ASCII stays ASCII).
    pub fn text(&mut self, s: &str) {
        let (bytes, _, _) = encoding_rs::GB18030.encode(s);
        self.0.extend_from_slice(&bytes);
    }

    /// A native QR code (GS ( k): model 2, module `size` 1-16, error correction L, store, print.
    pub fn qr(&mut self, data: &str, size: u8) {
        let gs_k = |body: &[u8]| {
            let n = body.len() as u16;
            let mut v = vec![0x1D, 0x28, 0x6B, (n & 0xFF) as u8, (n >> 8) as u8];
            v.extend_from_slice(body);
            v
        };
        self.0.extend(gs_k(&[0x31, 0x41, 0x32, 0x00]));
        self.0.extend(gs_k(&[0x31, 0x43, size.clamp(1, 16)]));
        self.0.extend(gs_k(&[0x31, 0x45, 0x30]));
        let mut store = vec![0x31, 0x50, 0x30];
        store.extend_from_slice(&data.as_bytes()[..data.len().min(7_000)]);
        self.0.extend(gs_k(&store));
        self.0.extend(gs_k(&[0x31, 0x51, 0x30]));
    }

    /// Feed six lines (ESC d 6), then a full cut (GS V 0).
    pub fn cut(&mut self) {
        self.0.extend_from_slice(&[0x1B, 0x64, 0x06, 0x1D, 0x56, 0x00]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vector(name: &str) -> Vec<u8> {
        let all: Value = serde_json::from_str(include_str!("../../tests/data/escpos.json")).unwrap();
        let v = all.as_array().unwrap().iter().find(|v| v["name"] == name).unwrap_or_else(|| panic!("{name}"));
        hex::decode(v["expected"]["bytes_hex"].as_str().unwrap()).unwrap()
    }

    #[test]
    fn commands_match_python_escpos() {
        let mut p = EscPos::default();
        p.init();
        assert_eq!(p.0, vector("initialize printer (ESC @)"));
        let mut p = EscPos::default();
        p.align(Align::Center);
        assert_eq!(p.0, vector("align center"));
        let mut p = EscPos::default();
        p.bold(true);
        assert_eq!(p.0, vector("bold on"));
        let mut p = EscPos::default();
        p.cut();
        assert_eq!(p.0, vector("full cut (default: feeds 6 lines first)"));
        let mut p = EscPos::default();
        p.text("收款 ¥10.00\n");
        assert_eq!(p.0, vector("Chinese text (library picks the encoding itself)"));
        let mut p = EscPos::default();
        p.text("Hello\n");
        assert_eq!(p.0, vector("plain ASCII text")[3..], "after python-escpos's ESC t 0");
    }

    #[test]
    fn qr_codes_match_python_escpos_including_long_payloads() {
        let all: Value = serde_json::from_str(include_str!("../../tests/data/escpos.json")).unwrap();
        let mut checked = 0;
        for v in all.as_array().unwrap() {
            let ops = v["input"]["ops"].as_array().unwrap();
            let [op] = &ops[..] else { continue };
            if op[0] != "qr" || op[1]["ec"].as_u64().unwrap_or(0) != 0 {
                continue;
            }
            let size = op[1]["size"].as_u64().unwrap_or(3) as u8;
            let mut p = EscPos::default();
            p.qr(op[1]["content"].as_str().unwrap(), size);
            assert_eq!(hex::encode_upper(&p.0), v["expected"]["bytes_hex"].as_str().unwrap(), "{}", v["name"]);
            checked += 1;
        }
        assert_eq!(checked, 3, "hello, a 64-character EMV string, a 300-byte payload");
    }

    fn sale() -> Sale {
        Sale {
            id: "0123456789abcdef0123456789abcdef".into(),
            status: super::super::SaleStatus::Approved,
            amount_fen: 12_345,
            fee_fen: 62,
            net_fen: 12_283,
            masked_pan: "621700*********0015".into(),
            card_kind: crate::onboarding::CardKind::Debit,
            issuer_bank: Some("中国建设银行".into()),
            entry_mode: Some(EntryMode::Insert),
            method: crate::payments::PaymentMethod::Card,
            wallet: None,
            wallet_txn: None,
            app_label: "CCB DEBIT".into(),
            aid: "A000000333010101".into(),
            auth_code: Some("123456".into()),
            reference_number: Some("000000123456".into()),
            batch_number: Some("000001".into()),
            voucher_number: Some("000042".into()),
            note: None,
            created_at: 1_795_000_000,
            tvr: Some("0000000000".into()),
            tsi: Some("E800".into()),
            refunded_fen: 0,
            location: None,
            province: None,
            fallback: false,
            receipt_token: Some("5f1c0e9a7b3d42e8a6c1f0b9d8e7a6c5".into()),
            signature: super::super::SignatureState::NotSigned,
        }
    }

    /// The sample merchant's slip of `sale`.
    fn slip(sale: &Sale, signature: Option<Bitmap>, print: Print) -> Receipt {
        Receipt::of(sale, "星标便利店", "898440358120001", "12345678", "https://pay.example/", signature, print)
    }

    #[test]
    fn a_receipt_has_every_field_and_fits_the_paper() {
        let r = slip(&sale(), None, Print::MERCHANT);
        let text = r.to_text();
        for needle in [
            "星标便利店",
            "898440358120001",
            "12345678",
            "621700*********0015 (I)",
            "中国建设银行",
            "消费 SALE",
            "批次号: 000001  凭证号: 000042",
            "参考号: 000000123456",
            "授权码: 123456",
            "RMB 123.45",
            "RMB 0.62",
            "RMB 122.83",
            "AID: A000000333010101",
            "APP: CCB DEBIT",
            "TVR: 0000000000  TSI: E800",
            "https://pay.example/r/5f1c0e9a7b3d42e8a6c1f0b9d8e7a6c5",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(text.lines().filter(|l| !l.starts_with("电子签购单")).all(|l| columns(l) <= WIDTH), "{text}");
        assert!(!text.contains("6217001234567890015"));
        let reprint = slip(&sale(), None, Print { reprint: true, ..Print::MERCHANT });
        assert!(reprint.to_text().contains("重打印 REPRINT"));
        assert!(!text.contains(&sale().id), "the URL carries the platform's token, not the sale's key");
        let before_tokens = Sale { receipt_token: None, ..sale() };
        let old = slip(&before_tokens, None, Print::MERCHANT);
        assert!(old.e_receipt_url.is_empty() && !old.to_text().contains("E-RECEIPT"), "no link without a token");
        assert!(!old.to_escpos().windows(3).any(|w| w == [0x1D, 0x28, 0x6B]), "and no QR code printed");

        let bytes = r.to_escpos();
        assert!(bytes.starts_with(&[0x1B, 0x40]));
        assert!(bytes.ends_with(&[0x1B, 0x64, 0x06, 0x1D, 0x56, 0x00]));
        let (gb, _, _) = encoding_rs::GB18030.encode("商户名称: 星标便利店\n");
        assert!(bytes.windows(gb.len()).any(|w| w == &gb[..]), "Chinese in GB18030");
        let (decoded, _, bad) = encoding_rs::GB18030.decode(&bytes);
        assert!(!bad && decoded.contains("净额 NET: RMB 122.83"));
    }

    #[test]
    fn a_qr_receipt_shows_the_wallet_and_its_number_instead_of_a_card() {
        let qr = Sale {
            masked_pan: String::new(),
            issuer_bank: None,
            entry_mode: None,
            method: crate::payments::PaymentMethod::CustomerCode,
            wallet: Some(Wallet::Alipay),
            wallet_txn: Some("2026120122001400001234567890".into()),
            app_label: String::new(),
            aid: String::new(),
            auth_code: None,
            reference_number: None,
            batch_number: None,
            voucher_number: None,
            tvr: None,
            tsi: None,
            ..sale()
        };
        let text = slip(&qr, None, Print::MERCHANT).to_text();
        assert!(text.contains("支付方式: 支付宝"), "{text}");
        assert!(text.contains("交易单号:\n2026120122001400001234567890\n"), "a long number on its own line: {text}");
        assert!(!text.contains("卡号") && !text.contains("AID") && !text.contains("TVR"), "{text}");
        assert!(text.lines().filter(|l| !l.starts_with("电子签购单")).all(|l| columns(l) <= WIDTH), "{text}");
    }

    #[test]
    fn a_signed_receipt_prints_the_signature_as_a_raster_image() {
        use super::super::signature::{Point, Signature};
        let drawn = Signature {
            width: 600,
            height: 200,
            strokes: vec![vec![Point { x: 10, y: 100, t_ms: 0 }, Point { x: 590, y: 120, t_ms: 500 }]],
        };
        let image = drawn.render();
        let raster = image.escpos_raster();
        let r = slip(&sale(), Some(image), Print::MERCHANT);
        assert!(r.to_text().contains("[电子签名 E-SIGNED]"));
        let bytes = r.to_escpos();
        let at = bytes.windows(raster.len()).position(|w| w == &raster[..]).expect("the raster image is printed");
        let (title, _, _) = encoding_rs::GB18030.encode("持卡人签名 CARDHOLDER SIGNATURE\n");
        let title_at = bytes.windows(title.len()).position(|w| w == &title[..]).unwrap();
        let (ack, _, _) = encoding_rs::GB18030.encode("本人确认以上交易");
        let ack_at = bytes.windows(ack.len()).position(|w| w == &ack[..]).unwrap();
        assert!(title_at < at && at < ack_at, "under its title, above the acknowledgement");
        let unsigned = slip(&sale(), None, Print::MERCHANT);
        assert!(!unsigned.to_text().contains("E-SIGNED"));
    }

    #[test]
    fn the_customer_s_copy_has_no_fee_and_no_signature() {
        use super::super::signature::{Point, Signature};
        let drawn = Signature { width: 600, height: 200, strokes: vec![vec![Point { x: 10, y: 100, t_ms: 0 }]] };
        let copy = |print| slip(&sale(), Some(drawn.render()), print);
        let customer = copy(Print::CUSTOMER);
        let text = customer.to_text();
        assert!(text.contains("持卡人存根 CARDHOLDER COPY") && text.contains("RMB 123.45"), "{text}");
        assert!(!text.contains("手续费") && !text.contains("NET") && !text.contains("RMB 0.62"), "{text}");
        assert!(customer.signature.is_none() && !text.contains("持卡人签名") && !text.contains("本人确认"), "{text}");
        assert!(
            text.contains("请妥善保管") && text.contains("https://pay.example/r/"),
            "the e-receipt is the customer's"
        );
        let printed = customer.to_escpos();
        let (decoded, _, _) = encoding_rs::GB18030.decode(&printed);
        assert!(decoded.contains("持卡人存根") && !decoded.contains("手续费"));
        let merchant = copy(Print::MERCHANT).to_text();
        assert!(merchant.contains("商户存根 MERCHANT COPY") && merchant.contains("手续费 FEE: RMB 0.62"));
        assert!(merchant.contains("[电子签名 E-SIGNED]") && merchant.contains("本人确认以上交易"));
        let again = copy(Print { copy: ReceiptCopy::Customer, reprint: true }).to_text();
        assert!(again.contains("持卡人存根 CARDHOLDER COPY\n") && again.contains("重打印 REPRINT"), "{again}");
    }

    #[test]
    fn yuan_formats_fen_exactly() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(12_345), "123.45");
        assert_eq!(yuan(-1_001), "-10.01");
        assert_eq!(yuan(i64::MIN), "-92233720368547758.08");
    }
}
