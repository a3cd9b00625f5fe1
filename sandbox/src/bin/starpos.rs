//! `starpos`: the development command.
//!
//! ```text
//! starpos demo [--data-dir DIR]
//! starpos sandbox serve [--listen ADDR] [--db FILE] [--access-ttl-secs N]
//!                       [--lockout-base-secs N] [--sms-resend-secs N]
//! starpos sandbox reader [--listen ADDR] [--serial SERIAL]
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use starpos_sandbox::{demo, Sandbox, SandboxConfig};

const USAGE: &str = "usage:
  starpos demo [--data-dir DIR]
  starpos sandbox serve [--listen ADDR] [--db FILE] [--access-ttl-secs N] [--lockout-base-secs N] [--sms-resend-secs N]
  starpos sandbox reader [--listen ADDR] [--serial SERIAL]";

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
        Some("demo") => parse_demo(&args[1..]).and_then(|dir| runtime.block_on(demo::run(dir)).map(|_| ())),
        Some("sandbox") if args.get(1).map(String::as_str) == Some("serve") => {
            parse_serve(&args[2..]).and_then(|(listen, config)| runtime.block_on(serve(listen, config)))
        }
        Some("sandbox") if args.get(1).map(String::as_str) == Some("reader") => {
            parse_reader(&args[2..]).and_then(|(listen, serial)| runtime.block_on(serve_reader(listen, serial)))
        }
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
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    // The sandbox has no authentication on its development endpoints (SMS codes): loopback only.
    if !listen.ip().is_loopback() {
        return Err(format!("--listen {listen}: the sandbox listens on loopback addresses only"));
    }
    Ok((listen, config))
}

fn parse_reader(args: &[String]) -> Result<(SocketAddr, String), String> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().map_err(|_| "bad default address")?;
    let mut serial = "SP100-000123".to_string();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--listen" => listen = value.parse().map_err(|_| format!("--listen: not an address: {value}"))?,
            "--serial" => serial = value.clone(),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if !listen.ip().is_loopback() {
        return Err(format!("--listen {listen}: the simulated reader listens on loopback addresses only"));
    }
    Ok((listen, serial))
}

/// The simulated reader on loopback TCP. Prints `tcp://ADDR` first, then `identity=HEX` (the
/// reader's identity key, which a phone pins at pairing).
async fn serve_reader(listen: SocketAddr, serial: String) -> Result<(), String> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let reader = starpos_sandbox::reader::SimReader::new(&serial);
    let mut out = std::io::stdout();
    let _ = writeln!(out, "tcp://{addr}");
    let _ = writeln!(out, "identity={}", hex::encode(reader.identity_public()));
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
