//! `starpos demo`: the whole product on one machine. A sandbox platform starts on loopback in
//! this process, and a merchant goes through what the app would do, step by step.

use std::path::PathBuf;
use std::sync::Arc;

use starpos_core::limits::Limits;
use starpos_core::onboarding::{CardElements, CardKind, RealName};
use starpos_core::{Config, Error, InMemorySecureStore, SmsPurpose, StarPos};
use starpos_protocol::fees::SettlementCycle;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::test_kit::DevClient;
use crate::{Sandbox, SandboxConfig};

mod cross_province;
mod history;
mod killed_app;
mod qr;
mod reader;
mod sales;

use cross_province::{cross_province_demo, Gps, GUANGZHOU};
use history::history_demo;
use killed_app::killed_app_demo;
use qr::qr_demo;
use reader::reader_demo;
use sales::sale_demo;

/// What a run used that must never reach the client's folder (for the test that checks it).
pub struct DemoReport {
    pub data_dir: PathBuf,
    pub secrets: Vec<String>,
}

/// Runs the demo. `app_exe` is the `starpos` binary, started as a separate app process for the
/// scene where the app is killed mid-sale (the demo command passes itself); `None` skips it.
pub async fn run(data_dir: Option<PathBuf>, app_exe: Option<PathBuf>) -> Result<DemoReport, String> {
    let data_dir = match data_dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("starpos-demo-{}", starpos_protocol::util::random_hex(4))),
    };
    std::fs::create_dir_all(data_dir.join("logs")).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    init_logs(&data_dir)?;

    // Cross-province applications are reviewed in 2 s here (minutes on a real platform).
    let config = SandboxConfig { cross_province_review_secs: 2, ..SandboxConfig::default() };
    let sandbox = Sandbox::start_local(config).await.map_err(|e| e.to_string())?;
    let dev = DevClient::new(&sandbox.url());
    println!("StarPOS demo");
    println!("  sandbox platform: {}", sandbox.url());
    println!("  client data:      {}", data_dir.display());
    println!();

    let phone =
        format!("139{:08}", u32::from_str_radix(&starpos_protocol::util::random_hex(4), 16).unwrap_or(0) % 100_000_000);
    let password = "Demo2026pay";
    let store = Arc::new(InMemorySecureStore::new());
    let phone_a = StarPos::new(Config::new(sandbox.url(), data_dir.join("phone-a"), "demo-phone-a"), store.clone())
        .map_err(show)?;

    step(1, "The merchant asks for an SMS code to register");
    let sent = phone_a.account().request_sms_code(phone.clone(), SmsPurpose::Register).await.map_err(show)?;
    let code = dev.sms_code(&phone, "register").await?;
    let mut secrets = vec![password.to_string(), phone.clone(), code.clone()];
    println!(
        "   code sent to {}; it expires in {} s (the sandbox shows it: {code})",
        starpos_protocol::util::mask_phone(&phone),
        sent.expires_in_secs
    );

    step(2, "A password that breaks the rules is refused before anything is sent");
    explain(phone_a.account().register(phone.clone(), "short".into(), code.clone()).await);

    step(3, "Registration with a good password and the code");
    let session = phone_a.account().register(phone.clone(), password.into(), code).await.map_err(show)?;
    println!(
        "   registered merchant {} ({}), logged in on device {}",
        session.merchant_id, session.phone_masked, session.device_id
    );

    step(4, "A second phone: login needs an SMS code because the device is new");
    let phone_b = StarPos::new(
        Config::new(sandbox.url(), data_dir.join("phone-b"), "demo-phone-b"),
        Arc::new(InMemorySecureStore::new()),
    )
    .map_err(show)?;
    explain(phone_b.account().login(phone.clone(), "Wrong2026pay".into(), None).await);
    explain(phone_b.account().login(phone.clone(), password.into(), None).await);
    phone_b.account().request_sms_code(phone.clone(), SmsPurpose::Login).await.map_err(show)?;
    let code = dev.sms_code(&phone, "login").await?;
    secrets.push(code.clone());
    let session = phone_b.account().login(phone.clone(), password.into(), Some(code)).await.map_err(show)?;
    println!("   logged in on {} with the SMS code; this device is now bound", session.device_id);

    step(5, "The access token expires; the next call refreshes it by itself");
    dev.expire_access(&phone).await?;
    let profile = phone_b.account().profile().await.map_err(show)?;
    let stats = dev.stats(&phone).await?;
    println!(
        "   profile of {}: {} devices bound; the platform counted {} refresh",
        profile.merchant_id, profile.device_count, stats["refreshes"]
    );

    step(6, "Onboarding: the form checks answer as the merchant types");
    for card in ["6222 0212 3456 7890 129", "6222 0212 3456 7890 128"] {
        let c = starpos_protocol::checks::check_bank_card(card);
        match (c.valid, c.issuer_bank) {
            (true, Some(bank)) => println!("   card {}: {bank}, {}", c.masked, c.card_kind.as_str()),
            (true, None) => println!("   card {}: issuer unknown", c.masked),
            (false, _) => println!("   card {}: {}", c.masked, c.reason.unwrap_or_default()),
        }
    }
    for id in ["110105194912310021", "11010519491231002X"] {
        let c = starpos_protocol::checks::check_resident_id(id);
        match c.birth_date {
            Some(born) => println!("   resident ID accepted (born {born})"),
            None => println!("   resident ID refused: {}", c.reason.unwrap_or_default()),
        }
    }

    step(7, "The merchant profile, a fee quote and daily limits");
    let profile = phone_b.merchant().profile().await.map_err(show)?;
    println!(
        "   merchant {} terminal {} registered in province {}, settles {}",
        profile.merchant_id,
        profile.terminal_id,
        profile.registered_province,
        profile.settlement_cycle.as_str()
    );
    for kind in [CardKind::Debit, CardKind::Credit] {
        let q = phone_b.merchant().quote_fee(1_000_000, kind, None).map_err(show)?;
        println!(
            "   10000.00 yuan by {} card: fee {} yuan, net {} yuan",
            kind.as_str(),
            yuan(q.fee_fen),
            yuan(q.net_fen)
        );
    }
    let too_high = Limits { daily_total_fen: profile.caps.daily_total_fen + 100, ..profile.caps };
    explain(phone_b.merchant().set_limits(too_high, None).await);
    let lower = Limits { daily_total_fen: 1_000_000, per_txn_fen: 500_000, per_card_daily_count: 3 };
    phone_b.merchant().set_limits(lower, None).await.map_err(show)?;
    explain(phone_b.merchant().set_limits(Limits { daily_total_fen: 2_000_000, ..lower }, None).await);
    phone_b
        .merchant()
        .set_limits(Limits { daily_total_fen: 2_000_000, ..lower }, Some(password.into()))
        .await
        .map_err(show)?;
    let left = phone_b.merchant().remaining_today().map_err(show)?;
    println!(
        "   limits set (raised with the password); today {} yuan remain, at most {} yuan per payment",
        yuan(left.daily_total_remaining_fen),
        yuan(left.max_next_payment_fen)
    );

    step(8, "Real-name details, then a settlement card verified by the bank and an SMS code");
    let card = crate::platform::BANK_REGISTRY[0].card_number;
    let id_number = crate::platform::BANK_REGISTRY[0].id_number;
    let reserved = crate::platform::BANK_REGISTRY[0].reserved_phone;
    secrets.extend([card.to_string(), id_number.to_string()]);
    let elements = |reserved_phone: &str| CardElements {
        card_number: card.into(),
        holder_name: "张三".into(),
        id_number: id_number.into(),
        reserved_phone: reserved_phone.into(),
    };
    explain(phone_b.merchant().start_card_binding(elements(reserved)).await);
    let real_name = RealName {
        holder_name: "张三".into(),
        id_number: id_number.into(),
        merchant_name: "星标便利店".into(),
        credit_code: None,
    };
    let profile = phone_b.merchant().submit_real_name(real_name).await.map_err(show)?;
    println!("   real-name details accepted for {}", profile.holder_name_masked.unwrap_or_default());
    explain(phone_b.merchant().start_card_binding(elements("13900139009")).await);
    let pending = phone_b.merchant().start_card_binding(elements(reserved)).await.map_err(show)?;
    let code = dev.sms_code(reserved, "bind_card").await?;
    secrets.push(code.clone());
    println!("   the bank knows card {}; code sent to {}", pending.card_masked, pending.phone_masked);
    let bound = phone_b.merchant().confirm_card_binding(pending.bind_id, code).await.map_err(show)?;
    println!(
        "   settlement card {} ({}, {}) bound{}",
        bound.masked,
        bound.issuer_bank.unwrap_or_default(),
        bound.card_kind,
        if bound.is_default { ", default for payouts" } else { "" }
    );
    let d0 = phone_b.merchant().set_settlement_cycle(SettlementCycle::D0).await.map_err(show)?;
    let q = phone_b.merchant().quote_fee(1_000_000, CardKind::Debit, None).map_err(show)?;
    println!(
        "   settlement switched to {}: 10000.00 yuan by debit card now costs {} yuan",
        d0.settlement_cycle.as_str(),
        yuan(q.fee_fen)
    );

    step(9, "Logout wipes the tokens from secure storage");
    phone_b.account().logout().await.map_err(show)?;
    println!("   logged out: session on this phone = {:?}", phone_b.current_session().map(|s| s.merchant_id));
    explain(phone_b.account().profile().await);

    step(10, "Five wrong passwords lock the account, and the error says until when");
    // Another merchant's account: a locked account refuses step-ups (voids, refunds) as well
    // as logins, and this demo's merchant has sales to void below.
    let other = if phone.ends_with('0') { format!("{}1", &phone[..10]) } else { format!("{}0", &phone[..10]) };
    dev.ready_merchant(&other, password, "demo-other-merchant").await?;
    for _ in 0..5 {
        explain(phone_b.account().login(other.clone(), "Wrong2026pay".into(), None).await);
    }

    step(11, "The card reader: pair, connect securely, read a card, survive drops, update its firmware");
    reader_demo(&phone_a, &dev, password, &data_dir).await?;

    step(13, "The app is killed in the middle of a sale; started again, it settles the sale");
    match app_exe {
        Some(exe) => killed_app_demo(&sandbox.url(), &dev, &data_dir, &exe, password, &mut secrets).await?,
        None => println!("   (skipped: no app binary to start)"),
    }

    // Phone A is still logged in: its tokens are in (in-memory) secure storage, never on disk.
    use starpos_core::SecureStore as _;
    if let Ok(Some(raw)) = store.get(starpos_core::account::SESSION_KEY) {
        if let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(&raw) {
            for key in ["access_token", "refresh_token", "signing_key_b64"] {
                if let Some(serde_json::Value::String(v)) = fields.get(key) {
                    secrets.push(v.clone());
                }
            }
        }
    }

    println!();
    println!("Done. The client's database and logs are in {}", data_dir.display());
    sandbox.stop().await;
    Ok(DemoReport { data_dir, secrets })
}

fn yuan(fen: i64) -> String {
    starpos_core::money::yuan(fen)
}

fn step(n: u32, what: &str) {
    println!("{n}. {what}");
}

/// Prints a refused operation the way an app would explain it.
fn explain<T>(result: Result<T, Error>) {
    match result {
        Ok(_) => println!("   (unexpectedly accepted)"),
        Err(Error::AccountLocked { locked_until_unix, retry_after_secs }) => {
            let until = time::OffsetDateTime::from_unix_timestamp(locked_until_unix)
                .map(|t| t.to_offset(time::macros::offset!(+8)))
                .ok()
                .and_then(|t| t.format(time::macros::format_description!("[hour]:[minute]:[second]")).ok())
                .unwrap_or_default();
            println!("   refused: account locked until {until} China time ({retry_after_secs} s from now)");
        }
        Err(e) => println!("   refused: {e}"),
    }
}

fn show(e: Error) -> String {
    format!("demo failed: {e}")
}

/// The client's log goes to DATA_DIR/logs/starpos.log (core only: the sandbox's log, which
/// shows SMS codes like a real phone's inbox would, stays out of the client's folder).
fn init_logs(data_dir: &std::path::Path) -> Result<(), String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("logs").join("starpos.log"))
        .map_err(|e| format!("cannot open log: {e}"))?;
    let client = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .with_filter(tracing_subscriber::filter::Targets::new().with_target("starpos_core", tracing::Level::DEBUG));
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(tracing_subscriber::filter::Targets::new().with_target("starpos_sandbox", tracing::Level::ERROR));
    // A second init (tests calling run twice) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(client).with(console).try_init();
    Ok(())
}
