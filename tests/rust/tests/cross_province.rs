//! Selling outside the registered province: the phone refuses before the card is read, the
//! merchant applies, the platform reviews (pending, then approved or rejected with a reason),
//! and the sale goes through once approved; the platform enforces the same rule on its side;
//! without a position, the platform's location policy decides.

use std::sync::{Arc, Mutex};

use serde_json::json;
use starpos_core::location::{Location, LocationProvider};
use starpos_core::payments::SaleStatus;
use starpos_core::regions::ApplicationStatus;
use starpos_core::{Error, StarPos};
use starpos_sandbox::test_kit::ready_merchant;
use starpos_sandbox::test_kit::Quiet;
use starpos_tests::{new_phone, World, PASSWORD};

const SERIAL: &str = "SP100-000771";
const GUANGZHOU: Location = Location { latitude: 23.1291, longitude: 113.2644, accuracy_m: 8.0 };
const CHANGSHA: Location = Location { latitude: 28.2282, longitude: 112.9388, accuracy_m: 8.0 };
const NANNING: Location = Location { latitude: 22.8170, longitude: 108.3669, accuracy_m: 8.0 };
const SEOUL: Location = Location { latitude: 37.5665, longitude: 126.9780, accuracy_m: 8.0 };

/// The phone's GPS, moved by the test.
#[derive(Default)]
struct Gps(Mutex<Option<Location>>);
impl Gps {
    fn at(&self, l: Option<Location>) {
        *self.0.lock().unwrap() = l;
    }
}
impl LocationProvider for Gps {
    fn current_location(&self) -> Option<Location> {
        *self.0.lock().unwrap()
    }
}

async fn merchant(w: &World, device: &str) -> (StarPos, String, Arc<Gps>) {
    let (c, _) = w.client(device);
    let phone = new_phone();
    ready_merchant(&c, &w.dev, &phone, PASSWORD).await.unwrap();
    let gps = Arc::new(Gps::default());
    c.set_location_provider(gps.clone());
    (c, phone, gps)
}

#[tokio::test]
async fn refused_in_hunan_until_the_application_is_approved_then_sold_there() {
    let w = World::start().await;
    let (c, phone, gps) = merchant(&w, "traveller").await;
    let (_link, reader) = starpos_tests::connected_reader(&c, SERIAL).await;

    gps.at(Some(GUANGZHOU));
    let home = c.payments().start_sale(reader.clone(), 1_000, None, Arc::new(Quiet)).outcome().await.unwrap();
    assert_eq!(home.status, SaleStatus::Approved);
    assert_eq!(home.province.as_deref(), Some("44"));
    assert_eq!(w.dev.payment(&home.id).await.unwrap()["province"], "44");

    // Moved to Changsha: refused before the card is read, naming both provinces.
    gps.at(Some(CHANGSHA));
    assert_eq!(c.regions().current_province().unwrap().code, "43");
    let paid_before = w.dev.payments_of(&phone).await.unwrap().as_object().unwrap().len();
    let refused = c.payments().start_sale(reader.clone(), 2_000, None, Arc::new(Quiet)).outcome().await.unwrap_err();
    match &refused {
        Error::CrossProvinceNotApproved { here, registered } => {
            assert_eq!((here.code.as_str(), here.name.as_str()), ("43", "湖南省"));
            assert_eq!((registered.code.as_str(), registered.name_en.as_str()), ("44", "Guangdong"));
        }
        other => panic!("expected a cross-province refusal, got {other:?}"),
    }
    assert!(refused.to_string().contains("apply_cross_province"), "{refused}");
    assert_eq!(w.dev.payments_of(&phone).await.unwrap().as_object().unwrap().len(), paid_before, "nothing sent");

    // Bad applications are refused with the field named.
    for (code, reason, days, field) in [
        ("99", "fair", 3, "province"),
        ("44", "fair", 3, "province"),
        ("43", "x", 3, "reason"),
        ("43", "fair", 0, "days"),
    ] {
        let e = c.regions().apply_cross_province(code.into(), reason.into(), days).await.unwrap_err();
        assert!(matches!(&e, Error::InvalidInput { field: f, .. } if f == field), "{code} {reason} {days}: {e:?}");
    }

    // Apply: pending first, and still refused while pending.
    let filed = c.regions().apply_cross_province("43".into(), "长沙秋季展销会 trade fair".into(), 7).await.unwrap();
    assert_eq!((filed.status, filed.province.code.as_str(), filed.days), (ApplicationStatus::Pending, "43", 7));
    assert!(matches!(
        c.payments().start_sale(reader.clone(), 2_000, None, Arc::new(Quiet)).outcome().await,
        Err(Error::CrossProvinceNotApproved { .. })
    ));
    let cached = c.regions().cross_province_status().unwrap().unwrap();
    assert_eq!(cached.applications[0].id, filed.id, "the application is cached at once");

    // The review's time passes on the platform's clock: approved for 7 days.
    w.dev.advance_clock(301).await.unwrap();
    let status = c.regions().refresh_cross_province().await.unwrap();
    let approved = &status.applications[0];
    assert_eq!(approved.status, ApplicationStatus::Approved);
    assert_eq!(approved.valid_until.unwrap() - approved.decided_at.unwrap(), 7 * 86_400);

    let away = c.payments().start_sale(reader.clone(), 2_000, None, Arc::new(Quiet)).outcome().await.unwrap();
    assert_eq!(away.status, SaleStatus::Approved);
    assert_eq!(away.province.as_deref(), Some("43"), "the sale records where it happened");
    assert_eq!(w.dev.payment(&away.id).await.unwrap()["province"], "43");
    // The history keeps it too, inside the hash chain.
    assert_eq!(c.history().transaction(away.id.clone()).unwrap().unwrap().province.as_deref(), Some("43"));
    assert_eq!(c.history().transaction(home.id.clone()).unwrap().unwrap().province.as_deref(), Some("44"));
    assert_eq!(c.history().verify_journal().unwrap().problem, None);
    struct NoProgress;
    impl starpos_core::history::ExportProgress for NoProgress {
        fn on_progress(&self, _: u64, _: u64) {}
    }
    let csv = w.dir.path().join("bill.csv");
    c.history()
        .export_transactions(Default::default(), csv.to_string_lossy().into(), Arc::new(NoProgress))
        .outcome()
        .await
        .unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.lines().next().unwrap().ends_with(",交易编号,省份"), "{text}");
    assert!(text.lines().any(|l| l.contains(&away.id) && l.ends_with(",湖南省")), "{text}");

    // Approved for Hunan only: Guangxi is still refused.
    gps.at(Some(NANNING));
    assert!(matches!(
        c.payments().start_sale(reader.clone(), 2_000, None, Arc::new(Quiet)).outcome().await,
        Err(Error::CrossProvinceNotApproved { here, .. }) if here.code == "45"
    ));

    // A rejected application says why.
    w.dev
        .cross_province(&phone, json!({ "next_approve": false, "next_reason": "营业执照经营范围不含广西" }))
        .await
        .unwrap();
    c.regions().apply_cross_province("45".into(), "南宁批发市场".into(), 3).await.unwrap();
    w.dev.advance_clock(301).await.unwrap();
    let status = c.regions().refresh_cross_province().await.unwrap();
    let rejected = status.applications.iter().find(|a| a.province.code == "45").unwrap();
    assert_eq!(rejected.status, ApplicationStatus::Rejected);
    assert_eq!(rejected.decision_reason.as_deref(), Some("营业执照经营范围不含广西"));

    // The approval runs out after its days.
    gps.at(Some(CHANGSHA));
    w.dev.advance_clock(7 * 86_400).await.unwrap();
    c.regions().refresh_cross_province().await.unwrap();
    assert!(matches!(
        c.payments().start_sale(reader.clone(), 2_000, None, Arc::new(Quiet)).outcome().await,
        Err(Error::CrossProvinceNotApproved { .. })
    ));
}

#[tokio::test]
async fn the_platform_enforces_the_rule_even_when_the_phone_thinks_it_may_sell() {
    let w = World::start().await;
    let (c, phone, gps) = merchant(&w, "stale").await;
    let (_link, reader) = starpos_tests::connected_reader(&c, SERIAL).await;
    gps.at(Some(GUANGZHOU));
    c.regions().refresh_cross_province().await.unwrap();
    // The platform moves the merchant to Guangxi; the phone's cached rules still say Guangdong.
    w.dev.cross_province(&phone, json!({ "registered_province": "45" })).await.unwrap();
    let e = c.payments().start_sale(reader.clone(), 1_500, None, Arc::new(Quiet)).outcome().await.unwrap_err();
    match e {
        Error::CrossProvinceNotApproved { here, registered } => {
            assert_eq!((here.code, registered.code), ("44".into(), "45".into()))
        }
        other => panic!("expected the platform's refusal, got {other:?}"),
    }
    // Nothing charged, nothing held: the day's limit is whole again.
    let remaining = c.merchant().remaining_today().unwrap();
    assert_eq!(remaining.daily_total_remaining_fen, remaining.limits.daily_total_fen, "{remaining:?}");
}

#[tokio::test]
async fn without_a_position_the_platforms_location_policy_decides() {
    let w = World::start().await;
    let (c, phone, gps) = merchant(&w, "nofix").await;
    let (_link, reader) = starpos_tests::connected_reader(&c, SERIAL).await;

    // Default policy: allow and flag.
    gps.at(None);
    let flagged = c.payments().start_sale(reader.clone(), 1_200, None, Arc::new(Quiet)).outcome().await.unwrap();
    assert_eq!((flagged.status.clone(), flagged.province.clone()), (SaleStatus::Approved, None));
    let seen = w.dev.payment(&flagged.id).await.unwrap();
    assert_eq!((seen["flag"].as_str(), seen["province"].is_null()), (Some("no_location"), true));

    gps.at(Some(SEOUL));
    let abroad = c.payments().start_sale(reader.clone(), 1_300, None, Arc::new(Quiet)).outcome().await.unwrap();
    assert_eq!(w.dev.payment(&abroad.id).await.unwrap()["flag"], "outside_china");

    // Policy: refuse. The platform refuses even before the phone has heard of the change...
    w.dev.cross_province(&phone, json!({ "location_policy": "refuse" })).await.unwrap();
    gps.at(None);
    assert!(matches!(
        c.payments().start_sale(reader.clone(), 1_400, None, Arc::new(Quiet)).outcome().await,
        Err(Error::LocationRequired { .. })
    ));
    // ...and after a refresh the phone refuses by itself, abroad too.
    let status = c.regions().refresh_cross_province().await.unwrap();
    assert_eq!(status.location_policy, starpos_core::regions::LocationPolicy::Refuse);
    gps.at(Some(SEOUL));
    let e = c.payments().start_sale(reader.clone(), 1_400, None, Arc::new(Quiet)).outcome().await.unwrap_err();
    assert!(matches!(&e, Error::LocationRequired { reason } if reason.contains("outside China")), "{e:?}");

    // Back to "allow and flag" on the platform: the phone's cached rules say refuse, so it asks
    // once before refusing, and sells.
    w.dev.cross_province(&phone, json!({ "location_policy": "allow_and_flag" })).await.unwrap();
    gps.at(None);
    let allowed = c.payments().start_sale(reader.clone(), 1_500, None, Arc::new(Quiet)).outcome().await.unwrap();
    assert_eq!(allowed.status, SaleStatus::Approved);
}
