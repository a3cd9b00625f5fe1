//! Account flows end to end: the core against a real sandbox server on loopback.

use starpos_core::platform::signing;
use starpos_core::{Error, SmsPurpose};
use starpos_sandbox::SandboxConfig;
use starpos_tests::{contains, files_under, new_phone, World, PASSWORD};

#[tokio::test]
async fn register_then_login_on_a_new_device_needs_an_sms_code() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, _) = w.client("phone-a");
    let registered = w.register(&a, &phone).await;

    let (b, _) = w.client("phone-b");
    assert_eq!(b.account().login(phone.clone(), PASSWORD.into(), None).await, Err(Error::DeviceVerificationRequired));
    b.account().request_sms_code(phone.clone(), SmsPurpose::Login).await.unwrap();
    let code = w.dev.sms_code(&phone, "login").await.unwrap();
    let session = b.account().login(phone.clone(), PASSWORD.into(), Some(code)).await.unwrap();
    assert_eq!(session.merchant_id, registered.merchant_id);
    assert_eq!(b.account().profile().await.unwrap().device_count, 2);

    // Once bound, the device logs in with the password alone.
    b.account().logout().await.unwrap();
    b.account().login(phone, PASSWORD.into(), None).await.unwrap();
}

#[tokio::test]
async fn seeded_merchant_logs_in_on_its_bound_device() {
    let w = World::start().await;
    let seed = &starpos_sandbox::platform::SEED_MERCHANT;
    let (c, _) = w.client(seed.device_id);
    let s = c.account().login(seed.phone.into(), seed.password.into(), None).await.unwrap();
    assert_eq!(s.merchant_id, seed.merchant_id);
}

#[tokio::test]
async fn racing_calls_refresh_an_expired_token_once() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, _) = w.client("racer");
    w.register(&a, &phone).await;
    // Several rounds: a call whose request crosses the refresh on the wire must not end the session.
    for round in 1..=10 {
        w.dev.expire_access(&phone).await.unwrap();
        let calls: Vec<_> = (0..10)
            .map(|_| {
                let a = a.clone();
                tokio::spawn(async move { a.account().profile().await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(w.dev.stats(&phone).await.unwrap()["refreshes"], round);
    }
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_family() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, store) = w.client("victim");
    w.register(&a, &phone).await;
    let stolen = stored_refresh_token(&store);

    a.account().refresh_session().await.unwrap(); // rotates: `stolen` is now spent
    let http = reqwest::Client::new();
    let replay = http
        .post(format!("{}v1/auth/refresh", w.sandbox.url()))
        .json(&serde_json::json!({ "refresh_token": stolen, "device_id": "victim" }))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    let body: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(body["code"], "refresh_token_reused");

    // The legitimate holder's next refresh finds the family revoked and is logged out cleanly.
    assert_eq!(a.account().refresh_session().await, Err(Error::SessionExpired));
    assert_eq!(a.current_session(), None);
    assert_eq!(store.keys(), Vec::<String>::new());
}

#[tokio::test]
async fn lockout_backs_off_and_says_until_when() {
    let w = World::start_with(SandboxConfig { lockout_base_secs: 60, ..SandboxConfig::default() }).await;
    let phone = new_phone();
    let (a, _) = w.client("locker");
    w.register(&a, &phone).await;
    a.account().logout().await.unwrap();

    for round in 0..2u64 {
        for left in (1..=4).rev() {
            assert_eq!(
                a.account().login(phone.clone(), "Wrong2026x".into(), None).await,
                Err(Error::WrongPassword { tries_left: left })
            );
        }
        match a.account().login(phone.clone(), "Wrong2026x".into(), None).await {
            Err(Error::AccountLocked { retry_after_secs, .. }) => assert_eq!(retry_after_secs, 60 << round),
            other => panic!("expected a lock, got {other:?}"),
        }
        assert!(matches!(
            a.account().login(phone.clone(), PASSWORD.into(), None).await,
            Err(Error::AccountLocked { .. })
        ));
        w.dev.advance_clock(60 << round).await.unwrap();
    }
    // After the lock the right password works and resets the back-off.
    a.account().login(phone, PASSWORD.into(), None).await.unwrap();
}

#[tokio::test]
async fn sms_codes_expire_after_five_minutes() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, _) = w.client("slow");
    a.account().request_sms_code(phone.clone(), SmsPurpose::Register).await.unwrap();
    let code = w.dev.sms_code(&phone, "register").await.unwrap();
    w.dev.advance_clock(301).await.unwrap();
    assert_eq!(a.account().register(phone.clone(), PASSWORD.into(), code).await, Err(Error::SmsCodeExpired));
    // A second request within the resend interval is refused with a wait time.
    a.account().request_sms_code(phone.clone(), SmsPurpose::Register).await.unwrap();
    assert!(matches!(
        a.account().request_sms_code(phone, SmsPurpose::Register).await,
        Err(Error::TooManyRequests { retry_after_secs }) if retry_after_secs > 0
    ));
}

#[tokio::test]
async fn existing_account_cannot_register_again() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, _) = w.client("first");
    w.register(&a, &phone).await;
    let (b, _) = w.client("second");
    assert_eq!(b.account().request_sms_code(phone, SmsPurpose::Register).await, Err(Error::AccountExists));
}

#[tokio::test]
async fn a_restarted_app_keeps_its_session() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, store) = w.client("restart");
    let session = w.register(&a, &phone).await;
    drop(a);
    let again = w.client_with("restart", store);
    assert_eq!(again.current_session().map(|s| s.merchant_id), Some(session.merchant_id));
    again.account().profile().await.unwrap();
}

#[tokio::test]
async fn logout_without_network_still_wipes_the_device() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, store) = w.client("offline");
    w.register(&a, &phone).await;
    let World { sandbox, dir, .. } = w;
    sandbox.stop().await;
    assert!(matches!(a.account().profile().await, Err(Error::Network { .. })));
    a.account().logout().await.unwrap();
    assert_eq!(a.current_session(), None);
    assert!(store.keys().is_empty());
    drop(dir);
}

#[tokio::test]
async fn nothing_secret_reaches_the_data_folder() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, store) = w.client("scan");
    a.account().request_sms_code(phone.clone(), SmsPurpose::Register).await.unwrap();
    let code = w.dev.sms_code(&phone, "register").await.unwrap();
    a.account().register(phone.clone(), PASSWORD.into(), code.clone()).await.unwrap();
    w.dev.expire_access(&phone).await.unwrap();
    a.account().profile().await.unwrap();
    let session_json = store_session(&store);
    let mut needles: Vec<Vec<u8>> = vec![PASSWORD.into(), code.into(), phone.clone().into()];
    for field in ["access_token", "refresh_token", "signing_key_b64"] {
        needles.push(session_json[field].as_str().unwrap().as_bytes().to_vec());
    }
    let files = files_under(w.dir.path());
    assert!(files.iter().any(|(p, _)| p.ends_with("starpos.sqlite3")));
    for (path, bytes) in files {
        for needle in &needles {
            assert!(!contains(&bytes, needle), "{} holds a secret or the clear phone number", path.display());
        }
    }
}

/// Raw signed requests: the sandbox refuses a replayed nonce, an altered request and a stale
/// timestamp.
#[tokio::test]
async fn signed_requests_cannot_be_replayed_or_altered() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, store) = w.client("signer");
    w.register(&a, &phone).await;
    let s = store_session(&store);
    let token = s["access_token"].as_str().unwrap().to_string();
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD.decode(s["signing_key_b64"].as_str().unwrap()).unwrap();
    let http = reqwest::Client::new();
    let now = starpos_core::util::unix_now();
    let send = |path: &'static str, signed_path: &'static str, ts: i64, nonce: &'static str| {
        let sig = signing::sign(&key, "GET", signed_path, ts, nonce, b"");
        http.get(format!("{}{}", w.sandbox.url(), path.trim_start_matches('/')))
            .bearer_auth(&token)
            .header("x-starpos-timestamp", ts.to_string())
            .header("x-starpos-nonce", nonce)
            .header("x-starpos-signature", sig)
            .send()
    };
    let code = |r: reqwest::Response| async move {
        (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap()["code"].clone())
    };
    assert_eq!(send("/v1/me", "/v1/me", now, "0123456789abcdef01").await.unwrap().status(), 200);
    assert_eq!(
        code(send("/v1/me", "/v1/me", now, "0123456789abcdef01").await.unwrap()).await,
        (401, "nonce_replayed".into())
    );
    assert_eq!(
        code(send("/v1/me?x=1", "/v1/me", now, "0123456789abcdef02").await.unwrap()).await,
        (401, "signature_invalid".into())
    );
    assert_eq!(
        code(send("/v1/me", "/v1/me", now - 600, "0123456789abcdef03").await.unwrap()).await,
        (401, "timestamp_stale".into())
    );
}

/// The phone's clock is not trusted: a phone ten minutes fast still signs acceptable requests
/// because the core follows the platform's clock.
#[tokio::test]
async fn a_wrong_phone_clock_does_not_break_signing() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, _) = w.client("skewed");
    w.register(&a, &phone).await;
    w.dev.advance_clock(3600).await.unwrap(); // the platform is now an hour "ahead" of the phone
    a.account().request_sms_code(new_phone(), SmsPurpose::Register).await.unwrap(); // any answer carries the time
    a.account().profile().await.unwrap();
}

fn store_session(store: &starpos_core::InMemorySecureStore) -> serde_json::Value {
    use starpos_core::SecureStore;
    let raw = store.get(starpos_core::account::SESSION_KEY).unwrap().expect("session stored");
    serde_json::from_slice(&raw).unwrap()
}

fn stored_refresh_token(store: &starpos_core::InMemorySecureStore) -> String {
    store_session(store)["refresh_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn concurrent_wrong_passwords_cannot_outrun_the_lockout() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, _) = w.client("storm");
    w.register(&a, &phone).await;
    a.account().logout().await.unwrap();
    let tries: Vec<_> = (0..12)
        .map(|_| {
            let (a, phone) = (a.clone(), phone.clone());
            tokio::spawn(async move { a.account().login(phone, "Wrong2026x".into(), None).await })
        })
        .collect();
    let (mut wrong, mut locked) = (0, 0);
    for t in tries {
        match t.await.unwrap() {
            Err(Error::WrongPassword { .. }) => wrong += 1,
            Err(Error::AccountLocked { .. }) => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((wrong, locked), (4, 8), "exactly five guesses were checked");
    assert!(matches!(a.account().login(phone, PASSWORD.into(), None).await, Err(Error::AccountLocked { .. })));
}

#[tokio::test]
async fn logout_with_an_expired_token_still_revokes_the_session() {
    let w = World::start().await;
    let phone = new_phone();
    let (a, _) = w.client("idle");
    w.register(&a, &phone).await;
    w.dev.expire_access(&phone).await.unwrap();
    a.account().logout().await.unwrap();
    assert_eq!(w.dev.stats(&phone).await.unwrap()["revoked_sessions"], 1);
}

#[tokio::test]
async fn malformed_requests_get_the_documented_error_body() {
    let w = World::start().await;
    let http = reqwest::Client::new();
    for (body, content_type) in [("{not json", "application/json"), ("{}", "application/json"), ("{}", "text/plain")] {
        let r = http
            .post(format!("{}v1/auth/login", w.sandbox.url()))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error());
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["code"], "invalid_request", "{body} as {content_type}");
    }
}
