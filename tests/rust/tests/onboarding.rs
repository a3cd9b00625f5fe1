//! Merchant profile, fee quotes and limits against a real sandbox on loopback.

use starpos_core::limits::{LimitKind, Limits};
use starpos_core::onboarding::fees::SettlementCycle;
use starpos_core::onboarding::{check_credit_code, CardKind};
use starpos_core::Error;
use starpos_tests::{new_phone, World, PASSWORD};

#[tokio::test]
async fn profile_is_fetched_and_kept_for_offline_use() {
    let w = World::start().await;
    let seed = &starpos_sandbox::platform::SEED_MERCHANT;
    let (c, _) = w.client(seed.device_id);
    c.account().login(seed.phone.into(), seed.password.into(), None).await.unwrap();
    assert_eq!(c.merchant().quote_fee(100, CardKind::Debit, None), Err(Error::ProfileNotLoaded));
    let p = c.merchant().profile().await.unwrap();
    assert_eq!(p.merchant_id.len(), 15);
    assert_eq!(p.terminal_id.len(), 8);
    assert_eq!(p.registered_province, "44");
    assert!(check_credit_code(p.credit_code.as_deref().unwrap()).valid);
    assert_eq!(p.limits, p.caps, "a new merchant's limits start at the caps");

    let World { sandbox, dir, .. } = w;
    sandbox.stop().await; // offline from here on
    assert_eq!(c.merchant().cached_profile().unwrap(), Some(p.clone()));
    assert_eq!(c.merchant().quote_fee(1_000_000, CardKind::Debit, None).unwrap().fee_fen, 2_000);
    assert_eq!(c.merchant().remaining_today().unwrap().daily_total_remaining_fen, p.limits.daily_total_fen);
    drop(dir);
}

#[tokio::test]
async fn the_core_quotes_exactly_what_the_platform_charges() {
    let w = World::start().await;
    let (c, _) = w.client("quoter");
    w.register(&c, &new_phone()).await;
    c.merchant().profile().await.unwrap();
    for amount in [1, 83, 84, 250, 9_999, 100_000, 399_999, 400_000, 400_001, 2_000_000] {
        for kind in [CardKind::Debit, CardKind::Credit, CardKind::Prepaid, CardKind::Unknown] {
            for cycle in [SettlementCycle::T1, SettlementCycle::D0] {
                let local = c.merchant().quote_fee(amount, kind, Some(cycle)).unwrap();
                let platform = c.merchant().quote_fee_online(amount, kind, cycle).await.unwrap();
                assert_eq!(local, platform, "{amount} {kind:?} {cycle:?}");
                assert_eq!(local.fee_fen + local.net_fen, amount);
            }
        }
    }
    assert!(matches!(c.merchant().quote_fee(0, CardKind::Debit, None), Err(Error::InvalidInput { .. })));
}

#[tokio::test]
async fn limits_stay_under_the_caps_and_raising_needs_the_password() {
    let w = World::start().await;
    let (c, _) = w.client("limiter");
    w.register(&c, &new_phone()).await;

    // Without a cached profile the platform itself refuses a limit above its cap.
    let too_high = Limits { daily_total_fen: 6_000_000, per_txn_fen: 1_000, per_card_daily_count: 1 };
    assert_eq!(
        c.merchant().set_limits(too_high, Some(PASSWORD.into())).await,
        Err(Error::LimitAboveCap { limit: LimitKind::DailyTotal, requested: 6_000_000, cap: 5_000_000 })
    );
    let profile = c.merchant().profile().await.unwrap();
    let over_card = Limits { per_card_daily_count: 9, ..profile.caps };
    assert_eq!(
        c.merchant().set_limits(over_card, None).await,
        Err(Error::LimitAboveCap { limit: LimitKind::PerCardDailyCount, requested: 9, cap: 5 })
    );

    // Lowering needs no step-up.
    let low = Limits { daily_total_fen: 100_000, per_txn_fen: 50_000, per_card_daily_count: 2 };
    assert_eq!(c.merchant().set_limits(low, None).await.unwrap(), low);
    let remaining = c.merchant().remaining_today().unwrap();
    assert_eq!((remaining.daily_total_remaining_fen, remaining.max_next_payment_fen), (100_000, 50_000));

    // Raising does.
    let higher = Limits { daily_total_fen: 200_000, ..low };
    assert_eq!(c.merchant().set_limits(higher, None).await, Err(Error::StepUpRequired));
    assert!(matches!(
        c.merchant().set_limits(higher, Some("Wrong2026x".into())).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "password"
    ));
    assert_eq!(c.merchant().set_limits(higher, Some(PASSWORD.into())).await.unwrap(), higher);
    assert_eq!(c.merchant().profile().await.unwrap().limits, higher, "the platform keeps them");
    assert_eq!(c.merchant().cached_profile().unwrap().unwrap().limits, higher);
}

#[tokio::test]
async fn the_merchant_chooses_d0_and_quotes_follow() {
    let w = World::start().await;
    let (c, _) = w.client("d0");
    w.register(&c, &new_phone()).await;
    c.merchant().profile().await.unwrap();
    assert_eq!(c.merchant().quote_fee(1_000_000, CardKind::Credit, None).unwrap().fee_fen, 6_000);
    let p = c.merchant().set_settlement_cycle(SettlementCycle::D0).await.unwrap();
    assert_eq!(p.settlement_cycle, SettlementCycle::D0);
    // The cached profile follows: the default quote now carries the D0 surcharge (5 bp).
    assert_eq!(c.merchant().quote_fee(1_000_000, CardKind::Credit, None).unwrap().fee_fen, 6_500);
    assert_eq!(c.merchant().profile().await.unwrap().settlement_cycle, SettlementCycle::D0);
}
