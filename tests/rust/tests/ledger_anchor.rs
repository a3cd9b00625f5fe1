//! Anchored ledger (issue #16 item 6): each sync sends the ledger chain's head to the platform,
//! which keeps it and refuses (and flags) a later head that does not extend it; the phone keeps
//! the accepted head in secure storage, and `verify_journal` finds a ledger cut short of it or
//! rewritten under it, which the chain alone cannot (both leave a chain that checks out).

use std::sync::Arc;

use serde_json::json;
use starpos_core::history::Problem;
use starpos_core::{InMemorySecureStore, StarPos};
use starpos_sandbox::test_kit::{ready_merchant, Quiet};
use starpos_tests::{new_phone, SignedRequests, World, PASSWORD};

struct NoProgress;
impl starpos_core::history::SyncProgress for NoProgress {
    fn on_page(&self, _added: u64, _seen: u64) {}
}

async fn sync(c: &StarPos) -> starpos_core::history::SyncSummary {
    c.history().sync(Arc::new(NoProgress)).outcome().await.unwrap()
}

/// A merchant on `device` with `sales` card sales made; the client, its store and phone.
async fn seller(w: &World, device: &str, sales: &[i64]) -> (StarPos, Arc<InMemorySecureStore>, String) {
    let store = Arc::new(InMemorySecureStore::new());
    let c = w.client_with(device, store.clone());
    let phone = new_phone();
    ready_merchant(&c, &w.dev, &phone, PASSWORD).await.unwrap();
    let (_link, reader) = starpos_tests::connected_reader(&c, &starpos_tests::serial_for(device)).await;
    for &amount in sales {
        c.payments().start_sale(reader.clone(), amount, None, Arc::new(Quiet)).outcome().await.unwrap();
    }
    reader.disconnect().await;
    (c, store, phone)
}

fn tamper(w: &World, device: &str, sql: &str) {
    let db = w.dir.path().join(device).join(starpos_core::storage::DB_FILE_NAME);
    rusqlite::Connection::open(db).unwrap().execute_batch(sql).unwrap();
}

#[tokio::test]
async fn a_ledger_cut_below_its_anchor_is_found_on_the_phone_and_refused_by_the_platform() {
    let w = World::start().await;
    let (c, store, phone) = seller(&w, "anchor-cut", &[1_000, 2_000, 3_000]).await;
    let synced = sync(&c).await;
    assert_eq!((synced.anchored_entries, synced.journal_problem), (Some(3), None));
    assert_eq!(w.dev.ledger_flags(&phone).await.unwrap(), json!({ "flags": [], "anchors": { "anchor-cut": 3 } }));
    assert_eq!(c.history().verify_journal().unwrap().problem, None);
    // Nothing new: the same head again is accepted.
    assert_eq!(sync(&c).await.anchored_entries, Some(3));
    // The anchor cannot be reached (the platform retries nothing here, the client retries a
    // 503 a few times): the sync still succeeds, without an anchor this time.
    w.dev.set_faults(json!({ "fail_ledger_anchor": 100 })).await.unwrap();
    let unanchored = sync(&c).await;
    assert_eq!((unanchored.anchored_entries, unanchored.journal_problem), (None, None));
    w.dev.set_faults(json!({})).await.unwrap();
    assert_eq!(sync(&c).await.anchored_entries, Some(3), "and the next sync anchors");
    drop(c);

    // The newest two rows are cut from the file: the chain that is left checks out.
    tamper(&w, "anchor-cut", "DELETE FROM history WHERE id >= 2");
    let without_anchor = w.client_with("anchor-cut", Arc::new(InMemorySecureStore::new()));
    assert_eq!(without_anchor.history().verify_journal().unwrap().problem, None, "the chain alone cannot tell");
    drop(without_anchor);
    let c = w.client_with("anchor-cut", store.clone());
    let check = c.history().verify_journal().unwrap();
    assert_eq!((check.entries, check.problem), (1, Some(Problem::Truncated { anchored: 3, found: 1 })));

    // The next sync says so, and the platform refuses the shorter head and flags it.
    let synced = sync(&c).await;
    assert_eq!(synced.journal_problem, Some(Problem::Truncated { anchored: 3, found: 1 }));
    assert_eq!(synced.anchored_entries, None);
    let seen = w.dev.ledger_flags(&phone).await.unwrap();
    assert_eq!(seen["anchors"]["anchor-cut"], 3, "the anchor stays where it was");
    assert_eq!(seen["flags"].as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen["flags"][0]["claimed_entries"], 1);
}

#[tokio::test]
async fn a_ledger_rewritten_with_a_chain_that_checks_out_is_found_against_the_anchor() {
    let w = World::start().await;
    let (a, a_store, a_phone) = seller(&w, "anchor-rewrite", &[1_500, 2_500]).await;
    assert_eq!(sync(&a).await.anchored_entries, Some(2));
    // Another phone's ledger, three entries, its chain whole.
    let (b, _, _) = seller(&w, "anchor-other", &[100, 200, 300]).await;
    drop((a, b));
    let other = w.dir.path().join("anchor-other").join(starpos_core::storage::DB_FILE_NAME);
    tamper(
        &w,
        "anchor-rewrite",
        &format!(
            "ATTACH '{}' AS other; DELETE FROM history; INSERT INTO history SELECT * FROM other.history;",
            other.display()
        ),
    );
    let a = w.client_with("anchor-rewrite", a_store.clone());
    let check = a.history().verify_journal().unwrap();
    assert_eq!((check.entries, check.problem), (3, Some(Problem::Rewritten { anchored: 2 })));
    let synced = sync(&a).await;
    assert_eq!(synced.journal_problem, Some(Problem::Rewritten { anchored: 2 }));
    let seen = w.dev.ledger_flags(&a_phone).await.unwrap();
    assert_eq!((seen["anchors"]["anchor-rewrite"].clone(), seen["flags"].as_array().unwrap().len()), (json!(2), 1));
}

#[tokio::test]
async fn the_platform_takes_only_heads_that_extend_its_anchor() {
    let w = World::start().await;
    let (c, store, phone) = seller(&w, "anchor-raw", &[4_000]).await;
    assert_eq!(sync(&c).await.anchored_entries, Some(1));
    let app = SignedRequests::from_store(&w, &store);
    let (_, held) = app.send("GET", "/v1/ledger/anchor", None).await;
    let head = held["anchor"]["head"].as_str().unwrap().to_string();
    let id = held["anchor"]["ledger_id"].as_str().unwrap().to_string();
    assert_eq!(held["anchor"]["entries"], 1);
    let other = "ab".repeat(32);

    // What a modified app might send: each refused with the same code, and flagged.
    for (body, why) in [
        (json!({ "ledger_id": id, "entries": 5, "head": other }), "no previous hash: not shown to extend"),
        (
            json!({ "ledger_id": id, "entries": 5, "head": other, "previous_entries": 1, "previous_hash": other }),
            "another entry 1",
        ),
        (
            json!({ "ledger_id": id, "entries": 5, "head": other, "previous_entries": 0, "previous_hash": other }),
            "another position",
        ),
        (
            json!({ "ledger_id": id, "entries": 1, "head": other, "previous_entries": 1, "previous_hash": head }),
            "entry 1 changed",
        ),
    ] {
        let (status, answer) = app.send("PUT", "/v1/ledger/anchor", Some(&body)).await;
        assert_eq!((status, answer["code"].as_str()), (409, Some("ledger_not_extended")), "{why}: {answer}");
    }
    for body in [
        json!({ "ledger_id": id, "entries": 0, "head": other }),
        json!({ "ledger_id": id, "entries": 2, "head": "AB".repeat(32) }),
        json!({ "ledger_id": "not hex", "entries": 2, "head": other }),
    ] {
        let (status, answer) = app.send("PUT", "/v1/ledger/anchor", Some(&body)).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some("invalid_request")), "{answer}");
    }
    let seen = w.dev.ledger_flags(&phone).await.unwrap();
    assert_eq!((seen["flags"].as_array().unwrap().len(), seen["anchors"]["anchor-raw"].clone()), (4, json!(1)));

    // One that extends it is taken.
    let body = json!({ "ledger_id": id, "entries": 2, "head": other, "previous_entries": 1, "previous_hash": head });
    let (status, answer) = app.send("PUT", "/v1/ledger/anchor", Some(&body)).await;
    assert_eq!((status, answer["anchor"]["entries"].as_u64()), (200, Some(2)), "{answer}");
}

#[tokio::test]
async fn a_reinstall_starts_a_new_series_and_a_kept_anchor_of_another_ledger_says_replaced() {
    let w = World::start().await;
    let (c, store, phone) = seller(&w, "anchor-reinstall", &[1_000, 2_000]).await;
    assert_eq!(sync(&c).await.anchored_entries, Some(2));
    drop(c);

    // The app is removed and installed again: a new database on the same device, and (as on
    // Android) its secure storage gone with it. The first sync anchors the new ledger; the
    // platform notes the change of ledger for review, and refuses nothing.
    std::fs::remove_dir_all(w.dir.path().join("anchor-reinstall")).unwrap();
    let fresh = Arc::new(InMemorySecureStore::new());
    let c = w.client_with("anchor-reinstall", fresh.clone());
    c.account().login(phone.clone(), PASSWORD.into(), None).await.unwrap_or_else(|e| panic!("{e:?}"));
    let synced = sync(&c).await;
    assert_eq!((synced.anchored_entries, synced.journal_problem), (Some(2), None), "its own sales, synced back");
    assert_eq!(c.history().verify_journal().unwrap().problem, None);
    let seen = w.dev.ledger_flags(&phone).await.unwrap();
    let kinds: Vec<&str> = seen["flags"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["replaced"]);
    drop(c);

    // The same, but the earlier anchor survived in secure storage (as the iOS Keychain keeps
    // items across a reinstall, unless the shell clears them): the phone says replaced.
    std::fs::remove_dir_all(w.dir.path().join("anchor-reinstall")).unwrap();
    let c = w.client_with("anchor-reinstall", store.clone());
    c.account().login(phone.clone(), PASSWORD.into(), None).await.unwrap_or_else(|e| panic!("{e:?}"));
    let synced = sync(&c).await;
    assert_eq!(synced.journal_problem, Some(Problem::Replaced { anchored: 2 }));
    assert_eq!(c.history().verify_journal().unwrap().problem, Some(Problem::Replaced { anchored: 2 }));
}
