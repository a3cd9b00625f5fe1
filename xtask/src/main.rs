//! `cargo xtask <task>`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `test`: format check, clippy (warnings denied), every Rust test, bindings, then the
//!   Python and Kotlin binding tests against a real sandbox process; ends with one line
//!   `N passed, N failed`.
//! - `bindings`: builds the library and writes Python, Kotlin (Android and JVM flavours) and
//!   Swift bindings under `target/bindings/`.
//! - `kill-suite [RUNS]`: the payment kill suite (sandbox/tests/kill_suite.rs) with RUNS runs
//!   (default 2000); `test` runs it with 200 as part of the Rust tests.
//! - `fuzz [SECONDS]`: runs the libFuzzer targets in `fuzz/` for SECONDS each (default 300);
//!   `test` runs them for 10 s each and fails without a nightly toolchain.

mod bindings;
mod cmd;
mod fuzz;
mod tally;

use std::process::ExitCode;

use tally::Tally;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("bindings") => bindings::generate().map(|_| true),
        Some("kill-suite") => match args.get(1).map(|s| s.parse::<u64>()).unwrap_or(Ok(2000)) {
            Ok(runs) => {
                let runs = runs.to_string();
                cmd::run(
                    &cmd::root(),
                    "cargo",
                    &["test", "-p", "starpos-sandbox", "--test", "kill_suite", "--", "--nocapture"],
                    &[("STARPOS_KILL_RUNS", runs.as_str())],
                )
                .map(|_| true)
            }
            Err(_) => Err("usage: cargo xtask kill-suite [RUNS]".into()),
        },
        Some("fuzz") => match args.get(1).map(|s| s.parse::<u64>()).unwrap_or(Ok(300)) {
            Ok(secs) => Ok(fuzz::run(secs).is_some_and(|r| r.iter().all(|(_, ok)| *ok))),
            Err(_) => Err("usage: cargo xtask fuzz [SECONDS]".into()),
        },
        _ => {
            eprintln!("usage: cargo xtask test | bindings | fuzz [SECONDS] | kill-suite [RUNS]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn test() -> Result<bool, String> {
    let mut tally = Tally::default();
    let root = cmd::root();

    cmd::section("format check");
    tally.check("cargo fmt --check", cmd::run(&root, "cargo", &["fmt", "--all", "--", "--check"], &[]).is_ok());

    cmd::section("clippy, warnings denied");
    tally.check(
        "cargo clippy",
        cmd::run(&root, "cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], &[]).is_ok(),
    );
    // The history benchmark and its data generator build only with this feature.
    tally.check(
        "cargo clippy (bench data)",
        cmd::run(
            &root,
            "cargo",
            &["clippy", "-p", "starpos-core", "--all-targets", "--features", "bench-data", "--", "-D", "warnings"],
            &[],
        )
        .is_ok(),
    );

    // The platform and the reader simulator build without the test kit (issue #13).
    tally.check(
        "cargo clippy (sandbox without the test kit)",
        cmd::run(
            &root,
            "cargo",
            &["clippy", "-p", "starpos-sandbox", "--no-default-features", "--lib", "--", "-D", "warnings"],
            &[],
        )
        .is_ok(),
    );

    cmd::section("dependency policy: no OpenSSL, no aws-lc; no aes in the phone library");
    let tree = cmd::capture(&root, "cargo", &["tree", "--workspace", "-e", "normal,build,dev", "--prefix", "none"]);
    let banned: Vec<&str> = tree
        .text
        .lines()
        .filter(|l| ["openssl", "aws-lc", "native-tls"].iter().any(|b| l.to_ascii_lowercase().contains(b)))
        .collect();
    if !banned.is_empty() {
        eprintln!("banned crates in the tree: {banned:?}");
    }
    tally.check("dependency policy", tree.ok && banned.is_empty());
    // The phone holds no card-data keys, so its library links no raw block cipher (the DUKPT and
    // PIN-block code is the sandbox's HSM side).
    let phone = cmd::capture(&root, "cargo", &["tree", "-p", "starpos-ffi", "-e", "normal", "--prefix", "none"]);
    let key_side: Vec<&str> = phone.text.lines().filter(|l| l.starts_with("aes ")).collect();
    if !key_side.is_empty() {
        eprintln!("the phone library links {key_side:?}");
    }
    tally.check("phone library without aes", phone.ok && key_side.is_empty());

    cmd::section("Rust tests");
    let out = cmd::run_capture(&root, "cargo", &["test", "--workspace"], &[]);
    tally.add("cargo test", tally::from_cargo(&out.text), out.ok);

    cmd::section("fuzz targets, 10 s each");
    match fuzz::run(10) {
        Some(results) => {
            for (name, ok) in results {
                tally.check(&format!("fuzz {name}"), ok);
            }
        }
        // The parsers of untrusted bytes are part of what this command proves: without a
        // nightly toolchain that proof is missing, which is a failure, not a skip.
        None => tally.check("fuzz (needs a nightly toolchain: rustup toolchain install nightly)", false),
    }

    cmd::section("bindings");
    let generated = bindings::generate();
    tally.check("bindings", generated.is_ok());
    if let Err(e) = &generated {
        eprintln!("{e}");
    }
    // No Swift compiler here: check that the Swift bindings hold the API the app will call.
    let swift = std::fs::read_to_string(cmd::target_dir().join("bindings/swift/StarPOS.swift")).unwrap_or_default();
    let swift_api = ["class StarPos", "func login(", "func checkBankCard(", "protocol SecureStore"];
    let missing: Vec<&str> = swift_api.iter().copied().filter(|needle| !swift.contains(needle)).collect();
    if !missing.is_empty() {
        eprintln!("Swift bindings lack {missing:?}");
    }
    tally.check("swift bindings present", missing.is_empty());
    tally.check(
        "sandbox binary",
        cmd::run(&root, "cargo", &["build", "--package", "starpos-sandbox", "--bin", "starpos"], &[]).is_ok(),
    );

    if generated.is_ok() {
        let sandbox = cmd::Sandbox::start()?;
        let reader = cmd::SimReaderProcess::start()?;
        let env = [
            ("STARPOS_SANDBOX_URL", sandbox.url.as_str()),
            ("STARPOS_READER_ADDR", reader.addr.as_str()),
            ("STARPOS_READER_IDENTITY", reader.identity.as_str()),
            ("STARPOS_READER_FIRMWARE_KEY", reader.firmware_key.as_str()),
            ("STARPOS_READER_FIRMWARE", reader.firmware.as_str()),
        ];
        println!("sandbox platform at {}", sandbox.url);

        cmd::section("Python binding tests");
        let target = cmd::target_dir();
        let py_dir = target.join("bindings/python");
        let py_env =
            [env[0], env[1], env[2], env[3], env[4], ("STARPOS_PY_BINDINGS", py_dir.to_str().unwrap_or_default())];
        let out = cmd::run_capture(
            &root,
            "python3",
            &["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/python"],
            &py_env,
        );
        tally.add("pytest", tally::from_pytest(&out.text), out.ok);

        cmd::section("Kotlin binding tests (JVM)");
        let repo = format!("-Dmaven.repo.local={}", target.join("m2").display());
        let bindings = format!("-Dbindings.dir={}", target.join("bindings/kotlin-jvm").display());
        let native = format!("-Dnative.dir={}", target.join("debug").display());
        let out = cmd::run_capture(
            &root.join("tests/kotlin"),
            "mvn",
            &["-B", "--no-transfer-progress", &repo, &bindings, &native, "-DfailIfNoTests=true", "test"],
            &env,
        );
        tally.add("kotlin", tally::from_surefire(&out.text), out.ok);
        drop(sandbox);
        drop(reader);
    }

    println!();
    tally.report();
    Ok(tally.failed == 0)
}
