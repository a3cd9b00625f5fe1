//! Real-name details and settlement-card binding against a real sandbox with its bank registry.

use starpos_core::onboarding::{CardElements, RealName};
use starpos_core::{Error, SmsPurpose};
use starpos_tests::{contains, files_under, new_phone, World, PASSWORD};

const CARD: &str = "6222 0212 3456 7890 128"; // sandbox registry: 张三, ICBC debit
const CARD2: &str = "6225881234567898"; // sandbox registry: 张三, CMB debit
const ID: &str = "11010519491231002X";
const RESERVED: &str = "13900139000";

fn real_name() -> RealName {
    RealName {
        holder_name: "张三".into(), id_number: ID.into(), merchant_name: "星标测试店".into(), credit_code: None
    }
}

fn elements(card: &str) -> CardElements {
    CardElements {
        card_number: card.into(),
        holder_name: "张三".into(),
        id_number: ID.into(),
        reserved_phone: RESERVED.into(),
    }
}

#[tokio::test]
async fn a_merchant_binds_lists_switches_and_unbinds_settlement_cards() {
    let w = World::start().await;
    let phone = new_phone();
    let (c, store) = w.client("binder");
    w.register(&c, &phone).await;

    assert_eq!(c.merchant().start_card_binding(elements(CARD)).await, Err(Error::RealNameRequired));
    let bad_id = RealName { id_number: "110105194912310021".into(), ..real_name() };
    assert!(
        matches!(c.merchant().submit_real_name(bad_id).await, Err(Error::InvalidInput { ref field, .. }) if field == "id_number")
    );
    let profile = c.merchant().submit_real_name(real_name()).await.unwrap();
    assert!(profile.real_name_verified);
    assert_eq!(profile.holder_name_masked.as_deref(), Some("*三"));

    // The bank does not know this phone for the card.
    let wrong_phone = CardElements { reserved_phone: "13900139009".into(), ..elements(CARD) };
    assert_eq!(c.merchant().start_card_binding(wrong_phone).await, Err(Error::CardDetailsMismatch));
    // Someone else's card.
    let other = CardElements { holder_name: "李四".into(), id_number: "440524198001010013".into(), ..elements(CARD) };
    assert_eq!(c.merchant().start_card_binding(other).await, Err(Error::CardHolderMismatch));
    // A typo is caught on the phone.
    assert!(matches!(
        c.merchant().start_card_binding(elements("6222021234567890129")).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "card_number"
    ));

    let pending = c.merchant().start_card_binding(elements(CARD)).await.unwrap();
    assert_eq!(pending.card_masked, "622202*********0128");
    assert_eq!(pending.phone_masked, "139****9000");
    let code = w.dev.sms_code(RESERVED, "bind_card").await.unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        c.merchant().confirm_card_binding(pending.bind_id.clone(), wrong.into()).await,
        Err(Error::SmsCodeWrong { tries_left: 2 })
    );
    let first = c.merchant().confirm_card_binding(pending.bind_id, code.clone()).await.unwrap();
    assert!(first.is_default);
    assert_eq!(first.issuer_bank.as_deref(), Some("中国工商银行"));
    assert_eq!(first.card_kind, "debit");
    assert_eq!(c.merchant().start_card_binding(elements(CARD)).await, Err(Error::CardAlreadyBound));

    let pending = c.merchant().start_card_binding(elements(CARD2)).await.unwrap();
    let code2 = w.dev.sms_code(RESERVED, "bind_card").await.unwrap();
    let second = c.merchant().confirm_card_binding(pending.bind_id, code2).await.unwrap();
    assert!(!second.is_default);
    let cards = c.merchant().set_default_card(second.card_id.clone()).await.unwrap();
    assert_eq!(cards.iter().find(|k| k.is_default).map(|k| k.card_id.clone()), Some(second.card_id.clone()));
    assert_eq!(c.merchant().cached_settlement_cards().unwrap(), cards);

    // Unbinding needs the password; the remaining card becomes the default.
    assert!(matches!(
        c.merchant().unbind_card(second.card_id.clone(), "Wrong2026x".into()).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "password"
    ));
    let left = c.merchant().unbind_card(second.card_id, PASSWORD.into()).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].is_default && left[0].card_id == first.card_id);
    assert_eq!(c.merchant().settlement_cards().await.unwrap(), left);
    assert_eq!(c.merchant().submit_real_name(real_name()).await, Err(Error::RealNameLocked));

    // No full card number or ID number anywhere in the client's folder; only masked forms.
    let needles = [b"6222021234567890128".to_vec(), b"6225881234567898".to_vec(), ID.as_bytes().to_vec()];
    let files = files_under(w.dir.path());
    assert!(files.iter().any(|(_, bytes)| contains(bytes, b"622202*********0128")), "the masked card is kept");
    for (path, bytes) in files {
        for needle in &needles {
            assert!(!contains(&bytes, needle), "{} holds a full card or ID number", path.display());
        }
    }
    // Nor in the secure store, which only holds the session.
    assert_eq!(store.keys(), vec![starpos_core::account::SESSION_KEY.to_string()]);
    let _ = SmsPurpose::Login;
}

#[tokio::test]
async fn a_binding_expires_with_its_code() {
    let w = World::start().await;
    let (c, _) = w.client("late");
    w.register(&c, &new_phone()).await;
    c.merchant().submit_real_name(real_name()).await.unwrap();
    let pending = c.merchant().start_card_binding(elements(CARD)).await.unwrap();
    let code = w.dev.sms_code(RESERVED, "bind_card").await.unwrap();
    w.dev.advance_clock(301).await.unwrap();
    assert_eq!(c.merchant().confirm_card_binding(pending.bind_id, code).await, Err(Error::CardBindingExpired));
}
