//! Scene: pairing the reader, a card read, a dropped link ridden out, a firmware update through
//! another drop; then the sales and the history on that reader.

use super::*;

/// The simulated reader over the in-process Bluetooth link: paired through the platform,
/// connected by serial, a card read (blobs only), automatic reconnection after a drop, and a
/// firmware update whose link drops part-way through, then resumes.
pub(super) async fn reader_demo(
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
    let info = phone.readers().connect(reader.clone(), SERIAL.into(), 3_000).await.map_err(show)?;
    println!(
        "   connected securely to {} {} firmware {}: the reader proved its pinned identity, the phone its platform certificate",
        info.model, info.serial, info.firmware
    );

    let read = reader.read_card(8_800, EntryModes::ALL, false, 30).await.map_err(|e| fail(&e))?;
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
    match reader.read_card(8_800, EntryModes::ALL, false, 30).await {
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
