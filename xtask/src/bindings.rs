//! `cargo xtask bindings`: library, generator, and the generated Python, Kotlin and Swift.

use std::path::PathBuf;

use crate::cmd::{root, run, target_dir};

#[cfg(target_os = "macos")]
const LIB: &str = "libstarpos_ffi.dylib";
#[cfg(not(target_os = "macos"))]
const LIB: &str = "libstarpos_ffi.so";

/// Builds and generates; returns the output folder.
pub fn generate() -> Result<PathBuf, String> {
    let root = root();
    // The generator first: building it turns on uniffi's CLI feature for starpos-ffi, so the
    // plain library is built (relinked) after it, and is what the bindings load.
    run(
        &root,
        "cargo",
        &["build", "--package", "starpos-ffi", "--features", "bindgen", "--bin", "uniffi-bindgen"],
        &[],
    )?;
    run(&root, "cargo", &["build", "--package", "starpos-ffi", "--lib"], &[])?;
    let lib = target_dir().join("debug").join(LIB);
    let bindgen = target_dir().join("debug/uniffi-bindgen");
    let out = target_dir().join("bindings");
    let lib_s = lib.to_str().ok_or("non-UTF-8 path")?;
    let jvm_config = root.join("bindings/uniffi-jvm.toml");
    let jvm_config = jvm_config.to_str().ok_or("non-UTF-8 path")?;
    for (language, dir, extra) in [
        ("python", "python", None),
        ("kotlin", "kotlin", None),
        ("kotlin", "kotlin-jvm", Some(jvm_config)),
        ("swift", "swift", None),
    ] {
        let dir = out.join(dir);
        let dir_s = dir.to_str().ok_or("non-UTF-8 path")?;
        let mut args = vec!["generate", "--library", lib_s, "--language", language, "--out-dir", dir_s, "--no-format"];
        if let Some(config) = extra {
            args.extend(["--config", config]);
        }
        run(&root, bindgen.to_str().ok_or("non-UTF-8 path")?, &args, &[])?;
    }
    // Python imports `starpos` with the library beside it.
    std::fs::copy(&lib, out.join("python").join(LIB)).map_err(|e| format!("copy library: {e}"))?;
    println!("bindings written to {}", out.display());
    Ok(out)
}
