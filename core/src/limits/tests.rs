use std::sync::Arc;

use super::*;

fn book_db() -> (tempfile::TempDir, Arc<Db>) {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path()).unwrap());
    LimitBook::new(&db)
        .store("M", &Limits { daily_total_fen: 10_000, per_txn_fen: 4_000, per_card_daily_count: 2 }, 0)
        .unwrap();
    (dir, db)
}

#[test]
fn business_day_is_china_standard_time() {
    // 2026-11-28T15:59:59Z is 23:59:59 in Beijing; one second later it is the 29th there.
    assert_eq!(business_day(1_795_881_599), "2026-11-28");
    assert_eq!(business_day(1_795_881_600), "2026-11-29");
}

#[test]
fn each_limit_refuses_with_what_remains() {
    let (_d, db) = book_db();
    let book = LimitBook::new(&db);
    let day = "2026-11-28";
    assert_eq!(
        book.reserve("M", day, 4_001, "card-a", 0),
        Err(Error::LimitExceeded { limit: LimitKind::PerTransaction, attempted: 4_001, remaining: 4_000 })
    );
    let r1 = book.reserve("M", day, 4_000, "card-a", 0).unwrap();
    let _r2 = book.reserve("M", day, 4_000, "card-a", 0).unwrap();
    assert_eq!(
        book.reserve("M", day, 100, "card-a", 0),
        Err(Error::LimitExceeded { limit: LimitKind::PerCardDailyCount, attempted: 1, remaining: 0 })
    );
    assert_eq!(
        book.reserve("M", day, 2_001, "card-b", 0),
        Err(Error::LimitExceeded { limit: LimitKind::DailyTotal, attempted: 2_001, remaining: 2_000 })
    );
    book.release(r1).unwrap();
    assert_eq!(book.remaining("M", day).unwrap().daily_total_remaining_fen, 6_000);
    assert!(book.release(r1).is_err(), "a reservation closes once");
    // Another day starts from zero.
    assert_eq!(book.remaining("M", "2026-11-29").unwrap().max_next_payment_fen, 4_000);
}

#[test]
fn unknown_limits_and_bad_amounts_are_refused() {
    let (_d, db) = book_db();
    let book = LimitBook::new(&db);
    assert_eq!(book.reserve("other", "d", 1, "c", 0), Err(Error::ProfileNotLoaded));
    assert!(matches!(book.reserve("M", "d", 0, "c", 0), Err(Error::InvalidInput { .. })));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Any mix of concurrent reserve / commit / release from several threads never holds more
    /// than the daily total, and each card never more than its daily count.
    #[test]
    fn no_interleaving_exceeds_a_limit(
        plans in proptest::collection::vec(proptest::collection::vec((1i64..3_000, 0u8..3, 0u8..3), 1..12), 2..5)
    ) {
        let (_d, db) = book_db();
        let threads: Vec<_> = plans
            .into_iter()
            .map(|plan| {
                let db = db.clone();
                std::thread::spawn(move || {
                    let book = LimitBook::new(&db);
                    for (amount, card, outcome) in plan {
                        if let Ok(r) = book.reserve("M", "day", amount, &format!("card-{card}"), 0) {
                            match outcome {
                                0 => book.commit(r).unwrap(),
                                1 => book.release(r).unwrap(),
                                _ => {} // left open, as a payment still in flight
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (held, worst_card): (i64, i64) = db
            .with(|c| {
                let held = c.query_row(
                    "SELECT COALESCE(SUM(amount_fen), 0) FROM limit_reservations WHERE state <> 'released'",
                    [],
                    |r| r.get(0),
                )?;
                let worst = c.query_row(
                    "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM limit_reservations
                     WHERE state <> 'released' GROUP BY card_key)",
                    [],
                    |r| r.get(0),
                )?;
                Ok((held, worst))
            })
            .unwrap();
        proptest::prop_assert!(held <= 10_000, "held {held}");
        proptest::prop_assert!(worst_card <= 2, "a card used {worst_card} times");
        // The roll-ups the checks read agree with the reservations they summarise.
        let (rolled, rolled_worst): (i64, i64) = db
            .with(|c| {
                let rolled = c.query_row("SELECT COALESCE(SUM(held_fen), 0) FROM limit_days", [], |r| r.get(0))?;
                let worst = c.query_row("SELECT COALESCE(MAX(uses), 0) FROM limit_card_days", [], |r| r.get(0))?;
                Ok((rolled, worst))
            })
            .unwrap();
        proptest::prop_assert_eq!(rolled, held);
        proptest::prop_assert_eq!(rolled_worst, worst_card);
    }
}
