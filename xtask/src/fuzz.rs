//! `cargo xtask fuzz [SECONDS]`: builds the libFuzzer targets in `fuzz/` with nightly Rust and
//! runs each for a bounded time from its seed corpus. `cargo xtask test` runs them briefly.
//!
//! Without cargo-fuzz: the flags it would pass are set here (sanitizer coverage, `--cfg
//! fuzzing`, debug assertions and overflow checks), so only a nightly toolchain is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd;

pub const TARGETS: &[&str] = &[
    "frame_decoder",
    "tlv_decode",
    "card_payloads",
    "reader_commands",
    "secure_open",
    "platform_bodies",
    "reader_handshake",
    "phone_parsers",
    "qr_codes",
];

const RUSTFLAGS: &str = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// A command free of the outer cargo's settings (this runs under `cargo run` on stable).
fn clean(program: &str) -> Command {
    let mut c = Command::new(program);
    for var in ["RUSTC", "RUSTC_WRAPPER", "RUSTUP_TOOLCHAIN", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO"] {
        c.env_remove(var);
    }
    c
}

/// The host triple of the nightly toolchain, or `None` when there is no nightly.
pub fn nightly_host() -> Option<String> {
    let out = clean("rustup").args(["run", "nightly", "rustc", "-vV"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("host: ").map(str::to_string))
}

fn build(root: &Path, host: &str, target_dir: &Path) -> Result<(), String> {
    let status = clean("rustup")
        .args(["run", "nightly", "cargo", "build", "--release", "--bins", "--manifest-path"])
        .arg(root.join("fuzz/Cargo.toml"))
        .args(["--target", host, "--target-dir"])
        .arg(target_dir)
        .env("RUSTFLAGS", RUSTFLAGS)
        .status()
        .map_err(|e| format!("cannot run cargo +nightly: {e}"))?;
    status.success().then_some(()).ok_or_else(|| "the fuzz targets did not build".to_string())
}

/// Runs one target for `secs` seconds; returns whether it ran clean and its final stats line.
fn run_target(root: &Path, bin: &Path, name: &str, secs: u64, work: &Path) -> (bool, String) {
    let fresh = work.join("corpus").join(name);
    let artifacts = work.join("artifacts").join(name);
    let _ = std::fs::create_dir_all(&fresh);
    let _ = std::fs::create_dir_all(&artifacts);
    let out = clean(bin.to_str().unwrap_or_default())
        .arg(format!("-max_total_time={secs}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .arg(&fresh)
        .arg(root.join("fuzz/corpus").join(name))
        .output();
    match out {
        Ok(out) => {
            let log = String::from_utf8_lossy(&out.stderr).to_string();
            let runs = log.lines().rfind(|l| l.starts_with("stat::number_of_executed_units")).unwrap_or("");
            let done = log.lines().rfind(|l| l.starts_with("Done ")).unwrap_or("").to_string();
            if !out.status.success() {
                eprintln!("{log}");
            }
            (out.status.success(), format!("{done} {runs}").trim().to_string())
        }
        Err(e) => (false, format!("cannot run {}: {e}", bin.display())),
    }
}

/// Builds and runs every target; `None` if there is no nightly toolchain.
pub fn run(secs: u64) -> Option<Vec<(String, bool)>> {
    let root = cmd::root();
    let Some(host) = nightly_host() else {
        println!("fuzz: no nightly toolchain (rustup toolchain install nightly --profile minimal)");
        return None;
    };
    let target_dir: PathBuf = cmd::target_dir().join("fuzz");
    if let Err(e) = build(&root, &host, &target_dir) {
        eprintln!("{e}");
        return Some(TARGETS.iter().map(|t| (t.to_string(), false)).collect());
    }
    let work = target_dir.join("work");
    let mut results = Vec::new();
    for name in TARGETS {
        let bin = target_dir.join(&host).join("release").join(name);
        let (ok, stats) = run_target(&root, &bin, name, secs, &work);
        println!("fuzz {name}: {} for {secs} s; {stats}", if ok { "clean" } else { "FAILED" });
        results.push((name.to_string(), ok));
    }
    Some(results)
}

#[cfg(test)]
mod tests {
    /// A target added to `fuzz/Cargo.toml` but not here would never run.
    #[test]
    fn every_fuzz_binary_is_run() {
        let manifest = include_str!("../../fuzz/Cargo.toml");
        let mut bins: Vec<&str> = manifest
            .split("[[bin]]")
            .skip(1)
            .filter_map(|section| section.lines().find_map(|l| l.trim().strip_prefix("name = ")))
            .map(|name| name.trim_matches('"'))
            .collect();
        let mut targets = super::TARGETS.to_vec();
        bins.sort_unstable();
        targets.sort_unstable();
        assert_eq!(bins, targets);
    }
}
