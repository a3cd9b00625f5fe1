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

use crate::dev_client::DevClient;
use crate::{Sandbox, SandboxConfig};

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
        let c = starpos_core::onboarding::check_bank_card(card);
        match (c.valid, c.issuer_bank) {
            (true, Some(bank)) => println!("   card {}: {bank}, {}", c.masked, c.card_kind.as_str()),
            (true, None) => println!("   card {}: issuer unknown", c.masked),
            (false, _) => println!("   card {}: {}", c.masked, c.reason.unwrap_or_default()),
        }
    }
    for id in ["110105194912310021", "11010519491231002X"] {
        let c = starpos_core::onboarding::check_resident_id(id);
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
    for _ in 0..5 {
        explain(phone_b.account().login(phone.clone(), "Wrong2026pay".into(), None).await);
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

/// The simulated reader over the in-process Bluetooth link: paired through the platform,
/// connected by serial, a card read (blobs only), automatic reconnection after a drop, and a
/// firmware update whose link drops part-way through, then resumes.
async fn reader_demo(
    phone: &StarPos,
    dev: &DevClient,
    password: &str,
    data_dir: &std::path::Path,
) -> Result<(), String> {
    use ring::signature::KeyPair;
    use starpos_core::reader::controller::{CardReader, ReaderEvent, ReaderListener, ReaderState};
    use starpos_core::reader::firmware::{FirmwareImage, Progress};
    use starpos_protocol::reader::card::EntryModes;

    use crate::reader::{Faults, SimLink, SimReader};

    struct Narrator;
    impl ReaderListener for Narrator {
        fn on_event(&self, event: ReaderEvent) {
            match event {
                ReaderEvent::State(ReaderState::Reconnecting { attempt }) => {
                    println!("   [reader] link lost: reconnecting (attempt {attempt})")
                }
                ReaderEvent::State(state) => println!("   [reader] {state:?}"),
                ReaderEvent::Battery { percent, charging } => {
                    println!("   [reader] battery {percent}%{}", if charging { ", charging" } else { "" })
                }
                ReaderEvent::Prompt(p) => println!("   [reader] prompt: {p:?}"),
            }
        }
    }

    const SERIAL: &str = "SP100-000123";
    let fail = |e: &dyn std::fmt::Display| format!("reader demo failed: {e}");
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "key generation failed")?;
    let platform_key = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| "bad key")?;
    let firmware_key = platform_key.public_key().as_ref().to_vec();
    let link = SimLink::new(
        SimReader::with_firmware_key(SERIAL, firmware_key.clone()),
        Faults { mtu: 185, ..Faults::default() },
    );

    let paired = phone.readers().pair(SERIAL.into()).await.map_err(show)?;
    println!(
        "   paired {} ({}): the platform certified identity key {}…, pinned on this phone",
        paired.serial,
        paired.model,
        hex::encode(&paired.identity_public[..8])
    );
    let reader = CardReader::new(Arc::new(link.clone()));
    reader.set_listener(Arc::new(Narrator));
    let found = reader.scan(3_000).await.map_err(|e| fail(&e))?;
    for d in &found {
        println!("   found {} (signal {} dBm)", d.name, d.rssi);
    }
    let info = reader.connect_by_serial(SERIAL, &paired.identity_public, 3_000).await.map_err(|e| fail(&e))?;
    println!("   connected securely to {} {} firmware {}", info.model, info.serial, info.firmware);

    let read = reader.read_card(8_800, EntryModes::ALL, 30).await.map_err(|e| fail(&e))?;
    println!(
        "   card read for 88.00 yuan by {}: {} {} (AID {}), {} bytes of field 55 kept, track 2 encrypted ({} bytes)",
        read.entry_mode.as_str(),
        read.masked_pan,
        read.app_label,
        read.aid,
        read.field55.len(),
        read.encrypted_track2.len()
    );
    let pin = reader.enter_pin(&read, 30).await.map_err(|e| fail(&e))?;
    let opened = crate::test_cards::decrypt_card(&pin.ksn, &read.encrypted_track2, Some(&pin.pin_block))
        .map_err(|e| fail(&e))?;
    println!(
        "   the phone holds only a KSN and blobs; the platform, holding the BDK, opens them: card ending {}, PIN {}",
        &opened.pan[opened.pan.len() - 4..],
        if opened.pin.is_some() { "recovered for the issuer" } else { "missing" }
    );
    link.with_reader_mut(|r| r.cards.faults.leak_clear_pan = true);
    match reader.read_card(8_800, EntryModes::ALL, 30).await {
        Err(e) => println!("   a reader that leaks the clear card number is refused: {e}"),
        Ok(_) => println!("   (the leaky reader was not noticed)"),
    }
    link.with_reader_mut(|r| r.cards.faults.leak_clear_pan = false);
    sale_demo(phone, dev, &link, &reader, password, data_dir).await?;

    link.drop_link("the merchant walked away");
    reader.wait_for_state(|s| matches!(s, ReaderState::Reconnecting { .. })).await;
    reader.wait_for_state(|s| *s == ReaderState::Ready).await;

    let image = FirmwareImage::sign("2.0.0", (0..512 * 1024u32).map(|i| (i % 251) as u8).collect(), &platform_key);
    link.set_faults(Faults { mtu: 185, drop_after_writes: Some(900), ..Faults::default() });
    let mut last = u64::MAX;
    let mut bar = |p: Progress| {
        let pct = p.sent * 100 / p.total.max(1);
        if last == u64::MAX && p.resumed_from > 0 {
            println!("   resuming at {} of {} bytes", p.resumed_from, p.total);
        }
        if pct / 20 != last / 20 || p.sent == p.total {
            last = pct;
            println!("   [{:<20}] {:>3}%", "#".repeat((pct / 5) as usize), pct);
        }
    };
    match reader.update_firmware(&image, &firmware_key, &mut bar).await {
        Ok(()) => println!("   (the injected link drop did not happen)"),
        Err(e) => println!("   link dropped mid-update: {e}"),
    }
    link.set_faults(Faults { mtu: 185, ..Faults::default() });
    reader.wait_for_state(|s| *s == ReaderState::Ready).await;
    last = u64::MAX;
    let mut bar = |p: Progress| {
        let pct = p.sent * 100 / p.total.max(1);
        if last == u64::MAX {
            println!("   resuming at {} of {} bytes", p.resumed_from, p.total);
        }
        if pct / 20 != last / 20 || p.sent == p.total {
            last = pct;
            println!("   [{:<20}] {:>3}%", "#".repeat((pct / 5) as usize), pct);
        }
    };
    reader.update_firmware(&image, &firmware_key, &mut bar).await.map_err(|e| fail(&e))?;
    let info = reader.device_info().await.map_err(|e| fail(&e))?;
    println!("   firmware now {}", info.firmware);
    reader.disconnect().await;
    Ok(())
}

/// Card sales on the journal: an approval with its receipt, declines, a limit, and an answer
/// that never comes back (reversed, never charged twice).
async fn sale_demo(
    phone: &StarPos,
    dev: &DevClient,
    link: &crate::reader::SimLink,
    reader: &starpos_core::reader::controller::CardReader,
    password: &str,
    data_dir: &std::path::Path,
) -> Result<(), String> {
    use starpos_core::payments::{SaleListener, SaleStatus, SaleStep, SignatureState};
    use starpos_core::platform::meter::NetworkType;

    use crate::test_cards::test_card;

    struct Steps;
    impl SaleListener for Steps {
        fn on_step(&self, step: SaleStep) {
            println!("   [sale] {step:?}");
        }
    }
    // This phone has not listed the merchant's cards or limits yet: fetch them once.
    phone.merchant().profile().await.map_err(show)?;
    phone.merchant().settlement_cards().await.map_err(show)?;

    let present = |name: &str| -> Result<(), String> {
        let card = test_card(name).ok_or("no such test card")?;
        link.with_reader_mut(|r| r.present(card));
        Ok(())
    };
    // The app reports where the phone is; every sale records it (sealed on the phone) and the
    // cross-province rules check it. The merchant is registered in Guangdong.
    let gps = Arc::new(Gps(std::sync::Mutex::new(GUANGZHOU)));
    phone.set_location_provider(gps.clone());
    phone.network().set_network_type(NetworkType::Mobile);

    present("chip-approve")?;
    let sale = phone
        .payments()
        .start_sale(reader.clone(), 12_800, Some("两杯咖啡".into()), Arc::new(Steps))
        .outcome()
        .await
        .map_err(show)?;
    let at = sale.location.map(|l| format!("{:.4}, {:.4}", l.latitude, l.longitude)).unwrap_or_default();
    println!("   sale of 128.00 yuan at ({at}): {:?}", sale.status);
    let signed = phone.payments().sign_sale(sale.id.clone(), demo_signature()).map_err(show)?;
    println!(
        "   the customer signs on the screen: {} bytes of strokes, signature {:?}; the receipt:",
        demo_signature().encode().len(),
        signed.signature
    );
    let receipt = phone.payments().receipt(sale.id.clone(), false).map_err(show)?;
    for line in receipt.to_text().lines() {
        println!("   | {line}");
    }
    let png = phone.payments().signature_png(sale.id.clone()).map_err(show)?.unwrap_or_default();
    println!(
        "   ({} bytes of ESC/POS in GB18030 for a receipt printer, the signature as a raster image; a {}-byte PNG for the e-receipt)",
        receipt.to_escpos().len(),
        png.len()
    );

    // The customer walks away before presenting a card: the merchant cancels.
    struct TellWhenWaiting(std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>);
    impl SaleListener for TellWhenWaiting {
        fn on_step(&self, step: SaleStep) {
            println!("   [sale] {step:?}");
            if step == SaleStep::WaitingForCard {
                if let Some(tx) = self.0.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    let _ = tx.send(());
                }
            }
        }
    }
    let (waiting_tx, waiting) = tokio::sync::oneshot::channel();
    let listener = Arc::new(TellWhenWaiting(std::sync::Mutex::new(Some(waiting_tx))));
    let cancelled = phone.payments().start_sale(reader.clone(), 2_000, None, listener);
    let _ = waiting.await;
    println!("   (the merchant taps Cancel on the sale's handle: {})", cancelled.cancel());
    explain(cancelled.outcome().await);

    for (card, amount) in [("insufficient-funds", 5_000), ("wrong-pin", 5_000)] {
        present(card)?;
        let sale =
            phone.payments().start_sale(reader.clone(), amount, None, Arc::new(Steps)).outcome().await.map_err(show)?;
        println!("   {card}: {:?}", sale.status);
    }
    present("chip-approve")?;
    explain(phone.payments().start_sale(reader.clone(), 600_000, None, Arc::new(Steps)).outcome().await);

    dev.set_faults(serde_json::json!({ "drop_response_after_commit": 100 })).await?;
    let lost =
        phone.payments().start_sale(reader.clone(), 3_300, None, Arc::new(Steps)).outcome().await.map_err(show)?;
    dev.set_faults(serde_json::json!({})).await?;
    match lost.status {
        SaleStatus::Reversed { reason } => {
            println!("   every answer lost after the platform committed: reversed ({reason}), not sent again")
        }
        other => println!("   lost answers: {other:?}"),
    }
    let left = phone.merchant().remaining_today().map_err(show)?;
    println!("   today's limit left: {} yuan (only the approved sale counts)", yuan(left.daily_total_remaining_fen));

    present("tap-approve")?;
    let tapped =
        phone.payments().start_sale(reader.clone(), 6_600, None, Arc::new(Steps)).outcome().await.map_err(show)?;
    explain(phone.payments().void_sale(tapped.id.clone(), "Wrong2026pw".into()).await);
    let voided = phone.payments().void_sale(tapped.id.clone(), password.into()).await.map_err(show)?;
    println!("   a 66.00 yuan tap voided the same day (password confirmed): {:?}", voided.status);
    explain(phone.payments().refund_sale(sale.id.clone(), 3_000, password.into()).await);
    dev.advance_clock(86_400).await?;
    phone.merchant().profile().await.map_err(show)?;
    let refunded = phone.payments().refund_sale(sale.id.clone(), 3_000, password.into()).await.map_err(show)?;
    println!(
        "   the next day the 128.00 sale is settled: 30.00 refunded ({} of {} yuan refunded so far)",
        yuan(refunded.refunded_fen),
        yuan(refunded.amount_fen)
    );
    explain(phone.payments().refund_sale(sale.id.clone(), 10_000, password.into()).await);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while phone.payments().sale(sale.id.clone()).map_err(show)?.signature != SignatureState::Uploaded
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let on_platform = dev.payment(&sale.id).await?;
    println!(
        "   the signature reached the platform in the background: {} bytes (compressed strokes, not an image)",
        on_platform["signature_bytes"]
    );
    history_demo(phone, data_dir).await?;
    step(12, "Cross-province: the merchant takes the reader from Guangdong to Hunan");
    present("chip-approve")?;
    cross_province_demo(phone, reader, &gps).await
}

const GUANGZHOU: starpos_core::location::Location =
    starpos_core::location::Location { latitude: 23.129_163, longitude: 113.264_435, accuracy_m: 12.0 };
const CHANGSHA: starpos_core::location::Location =
    starpos_core::location::Location { latitude: 28.228_209, longitude: 112.938_814, accuracy_m: 15.0 };

/// The phone's position as the app's location provider reports it; the demo moves it.
struct Gps(std::sync::Mutex<starpos_core::location::Location>);
impl starpos_core::location::LocationProvider for Gps {
    fn current_location(&self) -> Option<starpos_core::location::Location> {
        Some(*self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Refused in Hunan, an application, its review, the sale once approved; then the data used.
async fn cross_province_demo(
    phone: &StarPos,
    reader: &starpos_core::reader::controller::CardReader,
    gps: &Gps,
) -> Result<(), String> {
    use starpos_core::payments::{SaleListener, SaleStep};
    use starpos_core::regions::ApplicationStatus;
    struct Quiet;
    impl SaleListener for Quiet {
        fn on_step(&self, _: SaleStep) {}
    }
    let rules = phone.regions().refresh_cross_province().await.map_err(show)?;
    println!("   registered in {} ({}); the phone reports Changsha now", rules.registered.name, rules.registered.code);
    *gps.0.lock().unwrap_or_else(|p| p.into_inner()) = CHANGSHA;
    let here = phone.regions().current_province().ok_or("Changsha is in no province")?;
    println!("   province_at(28.2282, 112.9388) = {} {} ({}), found offline", here.name, here.name_en, here.code);
    explain(phone.payments().start_sale(reader.clone(), 8_800, None, Arc::new(Quiet)).outcome().await);
    let filed = phone
        .regions()
        .apply_cross_province(here.code.clone(), "长沙秋季展销会 (trade fair)".into(), 7)
        .await
        .map_err(show)?;
    println!("   apply_cross_province({}, 7 days): {:?}", filed.province.code, filed.status);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let decided = loop {
        let status = phone.regions().refresh_cross_province().await.map_err(show)?;
        let a = status.applications.into_iter().find(|a| a.id == filed.id).ok_or("the application vanished")?;
        if a.status != ApplicationStatus::Pending || std::time::Instant::now() > deadline {
            break a;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let days = decided.valid_until.zip(decided.decided_at).map_or(0, |(u, d)| (u - d) / 86_400);
    println!("   the platform reviewed it: {:?}, valid for {days} days", decided.status);
    let sale =
        phone.payments().start_sale(reader.clone(), 8_800, None, Arc::new(Quiet)).outcome().await.map_err(show)?;
    println!(
        "   sale of 88.00 yuan in Changsha: {:?}, recorded in province {}",
        sale.status,
        sale.province.as_deref().unwrap_or("?")
    );

    let usage = phone.network().data_usage_month(None).map_err(show)?;
    println!(
        "   data used this month on mobile: {} requests, {} bytes up, {} bytes down; the largest kinds:",
        usage.mobile.requests, usage.mobile.bytes_up, usage.mobile.bytes_down
    );
    for k in usage.kinds.iter().take(4) {
        println!(
            "     {:<28} {:>3} requests {:>7} bytes up {:>7} bytes down",
            k.kind, k.usage.requests, k.usage.bytes_up, k.usage.bytes_down
        );
    }
    Ok(())
}

/// The records on the phone, offline: today's summary, a filtered page, a bill export, and the
/// ledger's hash chain checked.
async fn history_demo(phone: &StarPos, data_dir: &std::path::Path) -> Result<(), String> {
    use starpos_core::history::{ExportProgress, Filter, Status};

    let today = phone.history().today_summary().map_err(show)?;
    let t = today.totals;
    println!(
        "   today ({}): {} sales {} yuan, {} voids/refunds {} yuan, fees {} yuan, net {} yuan",
        today.from_day,
        t.sales,
        yuan(t.gross_fen),
        t.refunds,
        yuan(t.refunded_fen),
        yuan(t.fee_fen),
        yuan(t.net_fen)
    );
    let month = phone.history().month_statistics(today.from_day.clone()).map_err(show)?;
    println!("   this month ({} to {}): net {} yuan", month.from_day, month.to_day, yuan(month.totals.net_fen));
    let filter = Filter { statuses: vec![Status::Approved], ..Filter::default() };
    let page = phone.history().transactions(filter, None, 5).map_err(show)?;
    println!("   history, approved only, newest first (a page of 5):");
    for t in &page.items {
        println!(
            "     {} {:<6} {:<8} {:>10} yuan  card …{}",
            t.business_day,
            t.kind.as_str(),
            t.status.as_str(),
            yuan(t.amount_fen),
            t.last4.as_deref().unwrap_or("----")
        );
    }
    struct Dots;
    impl ExportProgress for Dots {
        fn on_progress(&self, done: u64, total: u64) {
            if done == total {
                println!("   [export] {done} of {total} rows");
            }
        }
    }
    // Kept with the rest of the demo's files (under --data-dir when given).
    let exports = data_dir.join("exports");
    std::fs::create_dir_all(&exports).map_err(|e| format!("cannot create {}: {e}", exports.display()))?;
    let path = exports.join(format!("账单-{}.csv", phone.history().today_summary().map_err(show)?.from_day));
    let summary = phone
        .history()
        .export_transactions(Filter::default(), path.to_string_lossy().into(), Arc::new(Dots))
        .outcome()
        .await
        .map_err(show)?;
    println!(
        "   exported {} transactions ({} bytes, UTF-8 with BOM for Excel) to {}",
        summary.rows,
        summary.bytes,
        path.display()
    );
    let check = phone.history().verify_journal().map_err(show)?;
    println!("   the ledger's hash chain checks out over {} entries: {:?}", check.entries, check.problem);

    struct Pages;
    impl starpos_core::history::SyncProgress for Pages {
        fn on_page(&self, _: u64, _: u64) {}
    }
    let synced = phone.history().sync(Arc::new(Pages)).outcome().await.map_err(show)?;
    println!(
        "   history sync: {} events from the platform, {} new to this phone (its own are already here)",
        synced.seen, synced.added
    );
    let report = phone.history().reconcile(month.from_day.clone(), month.to_day.clone()).await.map_err(show)?;
    for b in &report.batches {
        println!(
            "   settlement {} ({}): platform {} yuan, phone {} yuan, paid {} yuan{}",
            b.business_day,
            b.cycle.as_str(),
            yuan(b.expected_net_fen),
            yuan(b.phone_net_fen),
            yuan(b.paid_fen),
            if b.paid_at.is_some() { "" } else { " (not due yet)" }
        );
    }
    println!("   reconciliation: {} mismatches", report.mismatches.len());
    for m in &report.mismatches {
        println!("     {:?} {}: {}", m.kind, m.business_day, m.reason);
    }
    Ok(())
}

/// A signature as a phone canvas would report it: three strokes sampled every 8 ms.
fn demo_signature() -> starpos_core::payments::signature::Signature {
    use starpos_core::payments::signature::{Point, Signature};
    let mut t = 0;
    let strokes = (0..3u32)
        .map(|s| {
            (0..140u32)
                .map(|i| {
                    t += 8;
                    let wave = (f64::from(i) / 7.0 + f64::from(s)).sin() * 70.0;
                    Point { x: 80 + s * 300 + i * 2, y: (170.0 + wave) as u32, t_ms: t }
                })
                .collect()
        })
        .collect();
    Signature { width: 1080, height: 360, strokes }
}

/// Another merchant's app runs as its own process (`starpos sandbox sell`), with its journal in
/// its data folder and its tokens in a file standing in for the Keychain. The platform is slow,
/// so the sale is journalled and sent when the process is killed (SIGKILL). The app starts
/// again, and resolves the sale by asking the platform under the same key.
async fn killed_app_demo(
    url: &str,
    dev: &DevClient,
    data_dir: &std::path::Path,
    exe: &std::path::Path,
    password: &str,
    secrets: &mut Vec<String>,
) -> Result<(), String> {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use crate::file_store::FileSecureStore;
    use crate::reader::{tcp, SimReader};

    let serial = "SP100-000777";
    let device = "demo-phone-c";
    let app_data = data_dir.join("phone-c");
    // The stand-in Keychain lives outside the data folder, as the real one does.
    let keychain_dir =
        std::env::temp_dir().join(format!("starpos-demo-keychain-{}", starpos_protocol::util::random_hex(4)));
    std::fs::create_dir_all(&keychain_dir).map_err(|e| e.to_string())?;
    let keychain = keychain_dir.join("secure-store.json");
    let merchant =
        format!("138{:08}", u32::from_str_radix(&starpos_protocol::util::random_hex(4), 16).unwrap_or(0) % 100_000_000);
    secrets.push(merchant.clone());
    let open =
        || StarPos::new(Config::new(url, &app_data, device), Arc::new(FileSecureStore::new(&keychain))).map_err(show);
    crate::fixtures::ready_merchant(&open()?, dev, &merchant, password).await?;

    let sim = SimReader::new(serial);
    let identity = hex::encode(sim.identity_public());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let reader_addr = listener.local_addr().map_err(|e| e.to_string())?.to_string();
    let reader_task = tokio::spawn(tcp::serve(listener, Arc::new(std::sync::Mutex::new(sim))));

    dev.set_faults(serde_json::json!({ "delay_ms": 1_500 })).await?;
    let mut app = Command::new(exe)
        .args(["sandbox", "sell", "--platform", url, "--reader", &reader_addr, "--serial", serial])
        .args(["--identity", &identity, "--device", device, "--amount", "4200"])
        .arg("--data-dir")
        .arg(&app_data)
        .arg("--store")
        .arg(&keychain)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    // Wait until the sale is journalled and on its way, then kill the process.
    let db_path = app_data.join(starpos_core::storage::DB_FILE_NAME);
    let deadline = Instant::now() + Duration::from_secs(10);
    let journalled = loop {
        let sending = rusqlite::Connection::open_with_flags(&db_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|db| {
                db.query_row("SELECT COUNT(*) FROM payments WHERE state = 'sending'", [], |r| r.get::<_, i64>(0))
            })
            .unwrap_or(0);
        if sending > 0 || Instant::now() > deadline {
            break sending > 0;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let _ = app.kill();
    let _ = app.wait();
    dev.set_faults(serde_json::json!({})).await?;
    println!(
        "   a 42.00 yuan sale was {} when the app process was killed (SIGKILL)",
        if journalled { "journalled and sent" } else { "not yet journalled" }
    );

    let restarted = open()?;
    let settled = restarted.payments().resolve_pending().await.map_err(show)?;
    for sale in &settled {
        println!("   started again: sale {}… settled as {:?} under its original key", &sale.id[..8], sale.status);
        if let Ok(p) = dev.payment(&sale.id).await {
            match p["status"].as_str() {
                Some("none") => println!(
                    "   the platform agrees: no payment under that key, and the key is refused for good, so the slow request still on its way can never charge"
                ),
                Some(status) => println!("   the platform agrees: {status}"),
                None => {}
            }
        }
    }
    if settled.is_empty() {
        println!("   started again: nothing was left unfinished");
    }
    let left = restarted.merchant().remaining_today().map_err(show)?;
    println!("   nothing charged, nothing held: {} yuan of today's limit left", yuan(left.daily_total_remaining_fen));
    reader_task.abort();
    let _ = std::fs::remove_dir_all(&keychain_dir);
    Ok(())
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
