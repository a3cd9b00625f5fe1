//! `starpos demo`: the whole product on one machine. A sandbox platform starts on loopback in
//! this process, and a merchant goes through what the app would do, step by step.

use std::path::PathBuf;
use std::sync::Arc;

use starpos_core::{Config, Error, InMemorySecureStore, SmsPurpose, StarPos};
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

pub async fn run(data_dir: Option<PathBuf>) -> Result<DemoReport, String> {
    let data_dir = match data_dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("starpos-demo-{}", starpos_core::util::random_hex(4))),
    };
    std::fs::create_dir_all(data_dir.join("logs")).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    init_logs(&data_dir)?;

    let sandbox = Sandbox::start_local(SandboxConfig::default()).await.map_err(|e| e.to_string())?;
    let dev = DevClient::new(&sandbox.url());
    println!("StarPOS demo");
    println!("  sandbox platform: {}", sandbox.url());
    println!("  client data:      {}", data_dir.display());
    println!();

    let phone =
        format!("139{:08}", u32::from_str_radix(&starpos_core::util::random_hex(4), 16).unwrap_or(0) % 100_000_000);
    let password = "Demo2026pay";
    let store = Arc::new(InMemorySecureStore::new());
    let phone_a = StarPos::new(Config::new(sandbox.url(), data_dir.join("phone-a"), "demo-phone-a"), store.clone())
        .map_err(show)?;

    step(1, "The merchant asks for an SMS code to register");
    let sent = phone_a.request_sms_code(phone.clone(), SmsPurpose::Register).await.map_err(show)?;
    let code = dev.sms_code(&phone, "register").await?;
    let mut secrets = vec![password.to_string(), phone.clone(), code.clone()];
    println!(
        "   code sent to {}; it expires in {} s (the sandbox shows it: {code})",
        starpos_core::util::mask_phone(&phone),
        sent.expires_in_secs
    );

    step(2, "A password that breaks the rules is refused before anything is sent");
    explain(phone_a.register(phone.clone(), "short".into(), code.clone()).await);

    step(3, "Registration with a good password and the code");
    let session = phone_a.register(phone.clone(), password.into(), code).await.map_err(show)?;
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
    explain(phone_b.login(phone.clone(), "Wrong2026pay".into(), None).await);
    explain(phone_b.login(phone.clone(), password.into(), None).await);
    phone_b.request_sms_code(phone.clone(), SmsPurpose::Login).await.map_err(show)?;
    let code = dev.sms_code(&phone, "login").await?;
    secrets.push(code.clone());
    let session = phone_b.login(phone.clone(), password.into(), Some(code)).await.map_err(show)?;
    println!("   logged in on {} with the SMS code; this device is now bound", session.device_id);

    step(5, "The access token expires; the next call refreshes it by itself");
    dev.expire_access(&phone).await?;
    let profile = phone_b.profile().await.map_err(show)?;
    let stats = dev.stats(&phone).await?;
    println!(
        "   profile of {}: {} devices bound; the platform counted {} refresh",
        profile.merchant_id, profile.device_count, stats["refreshes"]
    );

    step(6, "Logout wipes the tokens from secure storage");
    phone_b.logout().await.map_err(show)?;
    println!("   logged out: session on this phone = {:?}", phone_b.current_session().map(|s| s.merchant_id));
    explain(phone_b.profile().await);

    step(7, "Five wrong passwords lock the account, and the error says until when");
    for _ in 0..5 {
        explain(phone_b.login(phone.clone(), "Wrong2026pay".into(), None).await);
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
