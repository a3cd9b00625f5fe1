//! The demo runs end to end, and leaves no password, SMS code, token or clear phone number in
//! the client's data folder (databases, WAL files, logs), and no card data: no test card's
//! number and no Luhn-valid run of 13 to 19 digits anywhere.

#[tokio::test(flavor = "multi_thread")]
async fn demo_runs_and_leaves_no_secret_behind() {
    let dir = tempfile::tempdir().unwrap();
    let report = starpos_sandbox::demo::run(Some(dir.path().to_path_buf()), Some(env!("CARGO_BIN_EXE_starpos").into()))
        .await
        .expect("demo runs");
    assert!(report.secrets.len() >= 9, "password, phone, three codes, card and ID numbers, the kept session's tokens");
    let log = std::fs::read_to_string(dir.path().join("logs/starpos.log")).expect("the client logged");
    assert!(log.contains("logged in"), "the log records what happened");
    let mut files = 0;
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            if let Some(found) = starpos_sandbox::test_kit::card_scan::card_data_in(&bytes, &[]) {
                panic!("{} holds {found}", path.display());
            }
            for secret in &report.secrets {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{} contains a secret",
                    path.display()
                );
            }
        }
    }
    assert!(files >= 3, "two databases and a log");
    let exports: Vec<_> =
        std::fs::read_dir(dir.path().join("exports")).expect("the bill export is kept").flatten().collect();
    assert_eq!(exports.len(), 1, "the bill export stays under --data-dir");
}
