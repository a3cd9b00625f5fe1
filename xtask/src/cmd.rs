//! Running commands: streamed to the terminal, optionally captured for counting.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The workspace root (this crate lives in `xtask/`). Read from the environment `cargo run`
/// sets, not baked in at compile time: one binary in a shared target folder may serve clones.
pub fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let manifest = manifest.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// Cargo's target folder: `CARGO_TARGET_DIR` if set, else `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

pub fn section(name: &str) {
    println!("\n==> {name}");
}

/// Runs a command, its output going straight to ours.
pub fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed ({status})", args.join(" ")))
    }
}

pub struct Captured {
    pub ok: bool,
    pub text: String,
}

/// Runs a command, echoing its stdout and stderr line by line while keeping stdout's text.
pub fn run_capture(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Captured {
    let child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot run {program}: {e}");
            return Captured { ok: false, text: String::new() };
        }
    };
    let mut text = String::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            text.push_str(&line);
            text.push('\n');
        }
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    Captured { ok, text }
}

/// A sandbox platform process on a free loopback port, stopped on drop.
pub struct Sandbox {
    child: Child,
    pub url: String,
}

impl Sandbox {
    pub fn start() -> Result<Sandbox, String> {
        let binary = target_dir().join("debug/starpos");
        let mut child = Command::new(&binary)
            .args(["sandbox", "serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut out = child.stdout.take().ok_or("sandbox has no stdout")?;
        let mut first = Vec::new();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).map_err(|e| e.to_string())? == 1 && byte[0] != b'\n' {
            first.push(byte[0]);
        }
        let url = String::from_utf8_lossy(&first).trim().to_string();
        if !url.starts_with("http://") {
            let _ = child.kill();
            return Err(format!("sandbox did not print its address (got {url:?})"));
        }
        Ok(Sandbox { child, url })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command quietly and returns its stdout.
pub fn capture(dir: &Path, program: &str, args: &[&str]) -> Captured {
    match Command::new(program).args(args).current_dir(dir).stderr(Stdio::inherit()).output() {
        Ok(out) => Captured { ok: out.status.success(), text: String::from_utf8_lossy(&out.stdout).into_owned() },
        Err(e) => {
            eprintln!("cannot run {program}: {e}");
            Captured { ok: false, text: String::new() }
        }
    }
}

/// The simulated card reader on loopback TCP (`starpos sandbox reader`), stopped on drop.
pub struct SimReaderProcess {
    child: Child,
    pub addr: String,
    pub identity: String,
    pub firmware_key: String,
    /// A signed test firmware package the reader accepts.
    pub firmware: String,
}

impl SimReaderProcess {
    pub fn start() -> Result<SimReaderProcess, String> {
        let binary = target_dir().join("debug/starpos");
        let firmware = target_dir().join("sim-firmware.spfw").to_string_lossy().into_owned();
        let mut child = Command::new(&binary)
            .args(["sandbox", "reader", "--listen", "127.0.0.1:0", "--firmware-out", &firmware])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut out = BufReader::new(child.stdout.take().ok_or("reader has no stdout")?);
        let mut addr = String::new();
        let mut identity = String::new();
        let mut key = String::new();
        let read =
            out.read_line(&mut addr).and_then(|_| out.read_line(&mut identity)).and_then(|_| out.read_line(&mut key));
        let addr = addr.trim().to_string();
        let identity = identity.trim().strip_prefix("identity=").unwrap_or_default().to_string();
        let firmware_key = key.trim().strip_prefix("firmware_key=").unwrap_or_default().to_string();
        if read.is_err() || !addr.starts_with("tcp://") || identity.is_empty() || firmware_key.is_empty() {
            let _ = child.kill();
            return Err(format!("simulated reader did not announce itself (got {addr:?})"));
        }
        Ok(SimReaderProcess { child, addr, identity, firmware_key, firmware })
    }
}

impl Drop for SimReaderProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
