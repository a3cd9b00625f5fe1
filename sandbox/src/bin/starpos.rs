//! `starpos`: the development command.
//!
//! ```text
//! starpos demo [--data-dir DIR]
//! starpos sandbox serve [--listen ADDR] [--db FILE] [--access-ttl-secs N]
//!                       [--lockout-base-secs N] [--sms-resend-secs N] [--cross-province-review-secs N]
//! starpos sandbox reader [--listen ADDR] [--serial SERIAL] [--card TEST_CARD] [--firmware-out FILE]
//! starpos sandbox sell --platform URL --reader ADDR --serial SERIAL --data-dir DIR
//!                      --store FILE --device ID --amount FEN [--resolve-only]
//!                      [--void SALE_ID | --refund SALE_ID | --payment-code CODE | --show-qr MS]
//!                      [--password PW] [--qr-query-ms N]
//! ```
//!
//! `sandbox sell` plays an app for the kill suite (sandbox/tests/kill_suite.rs): it resolves
//! what an earlier, killed run left unfinished, then (unless `--resolve-only`) makes one sale
//! (by card, by the customer's `--payment-code`, or by a dynamic QR it shows and prints as
//! `order PAYLOAD`, cancelled after `--show-qr` milliseconds if unpaid), or voids a sale, or
//! refunds `--amount` of one. It prints `resolved N` once the earlier run is
//! settled and `step NAME` as the sale moves on, so the suite can aim its kill at a step.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use starpos_sandbox::{demo, Sandbox, SandboxConfig};

const USAGE: &str = "usage:
  starpos demo [--data-dir DIR]
  starpos sandbox serve [--listen ADDR] [--db FILE] [--access-ttl-secs N] [--lockout-base-secs N] [--sms-resend-secs N] [--cross-province-review-secs N]
  starpos sandbox reader [--listen ADDR] [--serial SERIAL] [--card TEST_CARD] [--firmware-out FILE]
  starpos sandbox sell --platform URL --reader ADDR --serial SERIAL --data-dir DIR --store FILE --device ID --amount FEN [--resolve-only] [--void SALE_ID | --refund SALE_ID | --payment-code CODE | --show-qr MS] [--password PW] [--qr-query-ms N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("demo") => parse_demo(&args[1..])
            .and_then(|dir| runtime.block_on(demo::run(dir, std::env::current_exe().ok())).map(|_| ())),
        Some("sandbox") if args.get(1).map(String::as_str) == Some("serve") => {
            parse_serve(&args[2..]).and_then(|(listen, config)| runtime.block_on(serve(listen, config)))
        }
        Some("sandbox") if args.get(1).map(String::as_str) == Some("reader") => {
            parse_reader(&args[2..]).and_then(|a| runtime.block_on(serve_reader(a)))
        }
        Some("sandbox") if args.get(1).map(String::as_str) == Some("sell") => runtime.block_on(sell(&args[2..])),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_demo(args: &[String]) -> Result<Option<PathBuf>, String> {
    match args {
        [] => Ok(None),
        [flag, dir] if flag == "--data-dir" => Ok(Some(PathBuf::from(dir))),
        _ => Err(USAGE.to_string()),
    }
}

fn parse_serve(args: &[String]) -> Result<(SocketAddr, SandboxConfig), String> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().map_err(|_| "bad default address")?;
    let mut config = SandboxConfig::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || value.parse::<u64>().map_err(|_| format!("{flag}: not a number: {value}"));
        match flag.as_str() {
            "--listen" => listen = value.parse().map_err(|_| format!("--listen: not an address: {value}"))?,
            "--db" => config.db_path = Some(PathBuf::from(value)),
            "--access-ttl-secs" => config.access_ttl_secs = number()?,
            "--lockout-base-secs" => config.lockout_base_secs = number()?,
            "--sms-resend-secs" => config.sms_resend_secs = number()?,
            "--cross-province-review-secs" => config.cross_province_review_secs = number()?.min(i64::MAX as u64) as i64,
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    // The sandbox has no authentication on its development endpoints (SMS codes): loopback only.
    if !listen.ip().is_loopback() {
        return Err(format!("--listen {listen}: the sandbox listens on loopback addresses only"));
    }
    Ok((listen, config))
}

struct ReaderArgs {
    listen: SocketAddr,
    serial: String,
    card: &'static starpos_sandbox::test_cards::TestCard,
    firmware_out: Option<PathBuf>,
}

fn parse_reader(args: &[String]) -> Result<ReaderArgs, String> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().map_err(|_| "bad default address")?;
    let mut serial = "SP100-000123".to_string();
    let mut firmware_out = None;
    let mut card = &starpos_sandbox::test_cards::TEST_CARDS[0];
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--listen" => listen = value.parse().map_err(|_| format!("--listen: not an address: {value}"))?,
            "--serial" => serial = value.clone(),
            "--card" => {
                card = starpos_sandbox::test_cards::test_card(value).ok_or_else(|| {
                    let names: Vec<&str> = starpos_sandbox::test_cards::TEST_CARDS.iter().map(|c| c.name).collect();
                    format!("--card: no test card {value}; one of {}", names.join(", "))
                })?
            }
            "--firmware-out" => firmware_out = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if !listen.ip().is_loopback() {
        return Err(format!("--listen {listen}: the simulated reader listens on loopback addresses only"));
    }
    Ok(ReaderArgs { listen, serial, card, firmware_out })
}

/// The simulated reader on loopback TCP. Prints `tcp://ADDR` first, then `identity=HEX` (the
/// reader's identity key, which a phone pins at pairing) and `firmware_key=HEX` (the sandbox
/// platform's firmware-signing key, burnt into the reader). With `--firmware-out FILE` it also
/// writes a signed 256 KiB test firmware package (version 2.0.0) there. Card reads are answered
/// with the test card given by `--card` (default `chip-approve`; docs/test-cards.md).
async fn serve_reader(args: ReaderArgs) -> Result<(), String> {
    use ring::signature::KeyPair;
    let listen = args.listen;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
        .map_err(|_| "cannot make a firmware key")?;
    let platform = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| "bad firmware key")?;
    let firmware_key = platform.public_key().as_ref().to_vec();
    if let Some(path) = &args.firmware_out {
        let image = starpos_protocol::reader::firmware::FirmwareImage::sign(
            "2.0.0",
            (0..256 * 1024u32).map(|i| (i % 253) as u8).collect(),
            &platform,
        );
        std::fs::write(path, image.to_package()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let mut reader = starpos_sandbox::reader::SimReader::with_firmware_key(&args.serial, firmware_key.clone());
    reader.present(args.card);
    let mut out = std::io::stdout();
    let _ = writeln!(out, "tcp://{addr}");
    let _ = writeln!(out, "identity={}", hex::encode(reader.identity_public()));
    let _ = writeln!(out, "firmware_key={}", hex::encode(&firmware_key));
    let _ = out.flush();
    let reader = std::sync::Arc::new(std::sync::Mutex::new(reader));
    tokio::select! {
        _ = starpos_sandbox::reader::tcp::serve(listener, reader) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

async fn serve(listen: SocketAddr, config: SandboxConfig) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let sandbox = Sandbox::start(config, listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    // The first line of output is the address, for scripts and tests that start us.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", sandbox.url());
    let _ = out.flush();
    let _ = tokio::signal::ctrl_c().await;
    sandbox.stop().await;
    Ok(())
}

/// One run of the app for the kill suite: resolve, then sell once. Prints `resolved N` and
/// `sale ID STATUS` lines.
async fn sell(args: &[String]) -> Result<(), String> {
    use std::collections::HashMap;
    use std::sync::Arc;

    use starpos_core::reader::controller::CardReader;

    /// Each step on its own line as it happens (stdout is line-buffered).
    struct PrintSteps;
    impl starpos_core::payments::SaleListener for PrintSteps {
        fn on_step(&self, step: starpos_core::payments::SaleStep) {
            println!("step {step:?}");
        }
    }

    let mut opts: HashMap<&str, &str> = HashMap::new();
    let mut resolve_only = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--resolve-only" {
            resolve_only = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        opts.insert(flag.trim_start_matches("--"), value);
    }
    let need = |k: &str| opts.get(k).copied().ok_or_else(|| format!("--{k} is required\n{USAGE}"));
    let store = Arc::new(starpos_sandbox::test_kit::file_store::FileSecureStore::new(need("store")?));
    let mut config = starpos_core::Config::new(need("platform")?, need("data-dir")?, need("device")?);
    if let Some(ms) = opts.get("qr-query-ms") {
        // The kill suite's sandbox customer confirms in a second: ask that often.
        let every = std::time::Duration::from_millis(ms.parse().map_err(|_| "--qr-query-ms: not a number")?);
        let s = &mut config.qr_schedule;
        for w in [&mut s.wechat, &mut s.alipay, &mut s.unionpay] {
            w.query_every = every;
        }
        s.after_system_error = every;
        s.order_first_poll = every;
        s.order_poll_every = every;
    }
    let client = starpos_core::StarPos::new(config, store).map_err(|e| e.to_string())?;
    let settled = client.payments().resolve_pending().await.map_err(|e| format!("resolve: {e}"))?;
    println!("resolved {}", settled.len());
    if resolve_only {
        return Ok(());
    }
    let amount: i64 = need("amount")?.parse().map_err(|_| "--amount: not a number")?;
    let password = opts.get("password").copied().unwrap_or_default().to_string();
    let adjusted = match (opts.get("void"), opts.get("refund")) {
        (Some(id), _) => Some(client.payments().void_sale(id.to_string(), password).await),
        (None, Some(id)) => Some(client.payments().refund_sale(id.to_string(), amount, password).await),
        (None, None) => None,
    };
    if let Some(result) = adjusted {
        match result {
            Ok(sale) => println!("adjusted {} {:?} refunded {}", sale.id, sale.status, sale.refunded_fen),
            Err(e) => println!("refused {e}"),
        }
        return Ok(());
    }
    if let Some(ms) = opts.get("show-qr") {
        // A dynamic QR the customer may pay (the kill suite plays them); the merchant cancels
        // after `ms` if they have not.
        let ms: u64 = ms.parse().map_err(|_| "--show-qr: milliseconds")?;
        let shown = match client.qr().show_order(amount, None, None, Arc::new(PrintSteps)).await {
            Ok(shown) => shown,
            Err(e) => {
                println!("refused {e}");
                return Ok(());
            }
        };
        println!("order {}", shown.order().payload);
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(ms)) => {
                shown.cancel();
            }
            _ = shown.outcome() => {}
        }
        match shown.outcome().await {
            Ok(sale) => println!("sale {} {:?}", sale.id, sale.status),
            Err(e) => println!("refused {e}"),
        }
        return Ok(());
    }
    if let Some(code) = opts.get("payment-code") {
        match client.qr().start_payment_code_sale(code.to_string(), amount, None, Arc::new(PrintSteps)).outcome().await
        {
            Ok(sale) => println!("sale {} {:?}", sale.id, sale.status),
            Err(e) => println!("refused {e}"),
        }
        return Ok(());
    }
    let serial = need("serial")?;
    let paired = client.readers().paired().map_err(|e| format!("readers: {e}"))?;
    if !paired.iter().any(|r| r.serial == serial) {
        client.readers().pair(serial.into()).await.map_err(|e| format!("pair: {e}"))?;
    }
    let link = starpos_sandbox::reader::tcp_link::TcpPhoneLink::new(need("reader")?, serial, 185);
    let reader = CardReader::new(Arc::new(link));
    client.readers().connect(reader.clone(), serial.into(), 500).await.map_err(|e| format!("reader: {e}"))?;
    match client.payments().start_sale(reader.clone(), amount, None, Arc::new(PrintSteps)).outcome().await {
        Ok(sale) => println!("sale {} {:?}", sale.id, sale.status),
        Err(e) => println!("refused {e}"),
    }
    reader.disconnect().await;
    Ok(())
}
