//! Scene: another app process is killed (SIGKILL) mid-sale and the sale is settled when it
//! starts again.

use super::*;

/// Another merchant's app runs as its own process (`starpos sandbox sell`), with its journal in
/// its data folder and its tokens in a file standing in for the Keychain. The platform is slow,
/// so the sale is journalled and sent when the process is killed (SIGKILL). The app starts
/// again, and resolves the sale by asking the platform under the same key.
pub(super) async fn killed_app_demo(
    url: &str,
    dev: &DevClient,
    data_dir: &std::path::Path,
    exe: &std::path::Path,
    password: &str,
    secrets: &mut Vec<String>,
) -> Result<(), String> {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use crate::reader::{tcp, SimReader};
    use crate::test_kit::file_store::FileSecureStore;

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
    crate::test_kit::ready_merchant(&open()?, dev, &merchant, password).await?;

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
