//! Account care (issue #16 item 7) through the core against the sandbox: the password changed
//! with the old one (wrong tries count toward the lock-out; the account's other sessions end),
//! a forgotten password reset with an SMS code (the lock-out ends, every session ends, the new
//! password logs in), the bound devices listed with their last use and one unbound with the
//! password (its session ends, its next login needs an SMS code), and a new login ending the same
//! device's earlier session.

use starpos_core::account::SmsPurpose;
use starpos_core::{Error, StarPos};
use starpos_tests::{new_phone, SignedRequests, World, PASSWORD};

const NEW_PASSWORD: &str = "Fresh2027pw";

async fn login_with_sms(w: &World, c: &StarPos, phone: &str, password: &str) {
    c.account().request_sms_code(phone.into(), SmsPurpose::Login).await.unwrap();
    let code = w.dev.sms_code(phone, "login").await.unwrap();
    c.account().login(phone.into(), password.into(), Some(code)).await.unwrap();
}

#[tokio::test]
async fn a_changed_password_ends_the_other_sessions() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, _) = w.client("care-a");
    w.register(&a, &phone).await;
    let (b, _) = w.client("care-b");
    login_with_sms(&w, &b, &phone, PASSWORD).await;

    assert!(matches!(
        a.account().change_password("Wrong2026pw".into(), NEW_PASSWORD.into()).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "password"
    ));
    assert!(matches!(
        a.account().change_password(PASSWORD.into(), "short1".into()).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "new_password"
    ));
    assert!(
        matches!(
            a.account().change_password(PASSWORD.into(), format!("pw{phone}")).await,
            Err(Error::InvalidInput { ref field, .. }) if field == "new_password"
        ),
        "the platform checks the rule's phone part"
    );
    a.account().change_password(PASSWORD.into(), NEW_PASSWORD.into()).await.unwrap();

    // This device's session goes on; the other one's ended.
    a.account().profile().await.unwrap();
    assert_eq!(b.account().profile().await.unwrap_err(), Error::SessionExpired);
    assert!(matches!(b.account().login(phone.clone(), PASSWORD.into(), None).await, Err(Error::WrongPassword { .. })));
    b.account().login(phone.clone(), NEW_PASSWORD.into(), None).await.unwrap();

    // Wrong old passwords count toward the lock-out like any step-up: the fifth in a row locks.
    for _ in 0..4 {
        let _ = a.account().change_password("Wrong2026pw".into(), "Another2027pw".into()).await;
    }
    assert!(matches!(
        a.account().change_password("Wrong2026pw".into(), "Another2027pw".into()).await,
        Err(Error::AccountLocked { .. })
    ));
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_an_sms_code_even_when_locked() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, _) = w.client("reset-a");
    w.register(&a, &phone).await;
    let (other, _) = w.client("reset-other");
    login_with_sms(&w, &other, &phone, PASSWORD).await;
    a.account().logout().await.unwrap();
    for _ in 0..5 {
        let _ = a.account().login(phone.clone(), "Forgot2026pw".into(), None).await;
    }
    assert!(matches!(a.account().login(phone.clone(), PASSWORD.into(), None).await, Err(Error::AccountLocked { .. })));

    // No account, no code.
    assert!(matches!(
        a.account().request_sms_code(new_phone(), SmsPurpose::ResetPassword).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "phone"
    ));
    a.account().request_sms_code(phone.clone(), SmsPurpose::ResetPassword).await.unwrap();
    let code = w.dev.sms_code(&phone, "reset_password").await.unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        a.account().reset_password(phone.clone(), wrong.into(), NEW_PASSWORD.into()).await,
        Err(Error::SmsCodeWrong { .. })
    ));
    a.account().reset_password(phone.clone(), code.clone(), NEW_PASSWORD.into()).await.unwrap();
    assert_eq!(
        a.account().reset_password(phone.clone(), code, NEW_PASSWORD.into()).await,
        Err(Error::SmsCodeExpired),
        "a code works once"
    );

    // Every session ended; the lock-out with the old password; the new one logs in.
    assert_eq!(other.account().profile().await.unwrap_err(), Error::SessionExpired);
    assert!(matches!(a.account().login(phone.clone(), PASSWORD.into(), None).await, Err(Error::WrongPassword { .. })));
    a.account().login(phone.clone(), NEW_PASSWORD.into(), None).await.unwrap();
}

#[tokio::test]
async fn devices_are_listed_and_one_is_unbound_with_the_password() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, _) = w.client("devices-a");
    w.register(&a, &phone).await;
    let (b, _) = w.client("devices-b");
    login_with_sms(&w, &b, &phone, PASSWORD).await;

    let listed = a.account().devices().await.unwrap();
    let mut ids: Vec<(&str, bool)> = listed.iter().map(|d| (d.device_id.as_str(), d.this_device)).collect();
    ids.sort();
    assert_eq!(ids, [("devices-a", true), ("devices-b", false)]);
    assert!(listed.iter().all(|d| d.last_used_at.is_some_and(|t| t >= d.bound_at)), "{listed:?}");

    assert!(matches!(
        a.account().unbind_device("devices-a".into(), PASSWORD.into()).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "device_id"
    ));
    assert!(matches!(
        a.account().unbind_device("devices-z".into(), PASSWORD.into()).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "device_id"
    ));
    assert!(matches!(
        a.account().unbind_device("devices-b".into(), "Wrong2026pw".into()).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "password"
    ));
    b.account().profile().await.unwrap();
    a.account().unbind_device("devices-b".into(), PASSWORD.into()).await.unwrap();
    assert_eq!(b.account().profile().await.unwrap_err(), Error::SessionExpired);
    assert_eq!(
        b.account().login(phone.clone(), PASSWORD.into(), None).await.unwrap_err(),
        Error::DeviceVerificationRequired,
        "an unbound device needs an SMS code again"
    );
    let listed = a.account().devices().await.unwrap();
    assert_eq!(listed.iter().map(|d| d.device_id.as_str()).collect::<Vec<_>>(), ["devices-a"]);
}

#[tokio::test]
async fn a_new_login_ends_the_same_device_s_earlier_session() {
    let w = World::start().await;
    let phone = new_phone();
    let store = std::sync::Arc::new(starpos_core::InMemorySecureStore::new());
    let a = w.client_with("relogin", store.clone());
    w.register(&a, &phone).await;
    let earlier = SignedRequests::from_store(&w, &store);
    assert_eq!(earlier.send("GET", "/v1/me", None).await.0, 200);
    a.account().login(phone.clone(), PASSWORD.into(), None).await.unwrap();
    let (status, answer) = earlier.send("GET", "/v1/me", None).await;
    assert_eq!((status, answer["code"].as_str()), (401, Some("session_revoked")), "{answer}");
    a.account().profile().await.unwrap();
}
