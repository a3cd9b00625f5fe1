//! docs/api.md stays true: every method the FFI exports is listed under its object with the
//! right async mark, and every method the page lists exists.

use std::collections::BTreeSet;
use std::path::Path;

/// (object, method, async) for everything `#[uniffi::export]`ed in `bindings/src`; top-level
/// functions belong to the object "functions".
fn exported() -> BTreeSet<(String, String, bool)> {
    let mut found = BTreeSet::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let mut i = 0;
            while i < lines.len() {
                if lines[i].trim() != "#[uniffi::export]" {
                    i += 1;
                    continue;
                }
                let next = lines[i + 1].trim_start();
                if let Some(rest) = next.strip_prefix("impl ") {
                    let name = rest.trim_end_matches(" {").trim();
                    // The handles are one macro: its methods belong to each handle.
                    let objects: Vec<String> = if name == "$name" {
                        ["SaleHandle", "ExportHandle", "SyncHandle"].map(String::from).to_vec()
                    } else {
                        vec![name.to_string()]
                    };
                    let mut j = i + 2;
                    while j < lines.len() && !lines[j].starts_with('}') {
                        let line = lines[j].trim_start();
                        for (prefix, is_async) in [("pub async fn ", true), ("pub fn ", false)] {
                            if let Some(sig) = line.strip_prefix(prefix) {
                                let method = sig.split('(').next().unwrap().to_string();
                                for o in &objects {
                                    found.insert((o.clone(), method.clone(), is_async));
                                }
                            }
                        }
                        j += 1;
                    }
                    i = j;
                } else if let Some(sig) = next.strip_prefix("pub fn ") {
                    found.insert(("functions".into(), sig.split('(').next().unwrap().into(), false));
                    i += 2;
                } else {
                    i += 1;
                }
            }
        }
    }
    found
}

/// (object, method, async) for every row of docs/api.md; a section's objects are the names
/// in backticks in its `##` heading.
fn documented() -> BTreeSet<(String, String, bool)> {
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md")).unwrap();
    let mut objects: Vec<String> = Vec::new();
    let mut rows = BTreeSet::new();
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            objects = heading.split('`').skip(1).step_by(2).map(String::from).collect();
            continue;
        }
        let Some(rest) = line.strip_prefix("| `") else { continue };
        let Some((call, tail)) = rest.split_once('`') else { continue };
        let Some(method) = call.split('(').next().filter(|_| call.contains('(')) else { continue };
        let is_async = tail.split('|').nth(1).is_some_and(|c| c.trim() == "async");
        for o in &objects {
            rows.insert((o.clone(), method.to_string(), is_async));
        }
    }
    rows
}

#[test]
fn the_api_page_lists_exactly_what_the_ffi_exports() {
    let code = exported();
    let page = documented();
    let missing: Vec<_> = code.difference(&page).collect();
    let stale: Vec<_> = page.difference(&code).collect();
    assert!(code.len() > 70, "the parser found the exports: {}", code.len());
    assert!(missing.is_empty(), "exported but not in docs/api.md (or with another async mark): {missing:?}");
    assert!(stale.is_empty(), "in docs/api.md but not exported: {stale:?}");
}

#[test]
fn no_client_is_a_grab_bag() {
    let code = exported();
    for object in code.iter().map(|(o, _, _)| o).collect::<BTreeSet<_>>() {
        let methods = code.iter().filter(|(o, _, _)| o == object).count();
        assert!(methods <= 15, "{object} has {methods} methods: split it");
    }
}
