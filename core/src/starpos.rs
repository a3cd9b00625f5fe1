//! [`StarPos`], the one object an app holds: construction, the session, and the per-domain
//! clients it hands out ([`crate::clients`]). Each operation runs on the core's runtime (see
//! [`crate::runtime`]), so it can be awaited from any thread.

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use crate::account::{Accounts, Session};
use crate::clients::{Account, History, Merchant, Network, Payments, Readers, Regions};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::location::{Location, LocationProvider};
use crate::onboarding::{Cards, Merchant as MerchantBook};
use crate::platform::wire::MeResponse;
use crate::platform::PlatformClient;
use crate::readers::Readers as ReaderBook;
use crate::secure_store::SecureStore;
use crate::storage::Db;

/// What the core has done since it started, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diagnostics {
    pub durable_commits: u64,
    pub platform_round_trips: u64,
}

/// The merchant's profile as the platform knows it.
pub type Profile = MeResponse;

/// The app's handle on StarPOS. Cheap to clone; every clone and every client it hands out
/// share one database, one platform client and one background worker.
#[derive(Clone)]
pub struct StarPos {
    inner: Arc<Inner>,
}

/// What every client reaches: one of each per `StarPos`.
pub(crate) struct Inner {
    pub(crate) accounts: Accounts,
    pub(crate) merchant: MerchantBook,
    pub(crate) cards: Cards,
    pub(crate) readers: ReaderBook,
    pub(crate) payments: crate::payments::Payments,
    pub(crate) history: crate::history::History,
    pub(crate) platform_url: String,
    pub(crate) db: Arc<Db>,
    pub(crate) platform: Arc<PlatformClient>,
    /// The background worker is running (see [`crate::worker`]).
    pub(crate) working: AtomicBool,
    /// Wakes the background worker (the network is back).
    pub(crate) wake: tokio::sync::Notify,
    /// Where the phone is, as the app reports it.
    location: RwLock<Option<Arc<dyn LocationProvider>>>,
    /// The app's listener for sales needing attention, and what it was last told.
    pub(crate) attention: crate::payments::AttentionWatch,
    /// The merchant's alert feed and the app's listener for it.
    pub(crate) alerts: crate::alerts::Alerts,
}

impl Inner {
    pub(crate) fn merchant_id(&self) -> Result<String> {
        self.accounts.current_session().map(|s| s.merchant_id).ok_or(Error::NotLoggedIn)
    }

    pub(crate) fn current_location(&self) -> Option<Location> {
        let provider = self.location.read().unwrap_or_else(|p| p.into_inner()).clone();
        provider.and_then(|p| p.current_location())
    }
}

/// The one way a client runs async work: on the core's runtime, with its own reference to the
/// shared state (the caller's future may be polled by a foreign executor).
pub(crate) async fn on_runtime<T, F, Fut>(inner: &Arc<Inner>, work: F) -> Result<T>
where
    F: FnOnce(Arc<Inner>) -> Fut,
    Fut: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    crate::runtime::run(work(inner.clone())).await
}

impl StarPos {
    /// Opens the database, restores any session kept in secure storage, and prepares the
    /// platform client. Does no network I/O.
    pub fn new(config: Config, secure_store: Arc<dyn SecureStore>) -> Result<StarPos> {
        if config.device_id.trim().is_empty() || config.device_id.len() > 128 {
            return Err(Error::invalid("device_id", "give a stable id of 1 to 128 characters"));
        }
        let platform = Arc::new(PlatformClient::new(
            &config.platform_url,
            &config.pinned_key_hashes,
            &config.extra_roots_der,
            config.timeouts,
        )?);
        // Upgrades run here, data steps included (the journal key for sealing older rows is in
        // the secure store).
        let upgrade = crate::storage::schema::Upgrade { secure_store: Some(secure_store.as_ref()) };
        let db = Arc::new(Db::open_upgrading(&config.data_dir, &upgrade)?);
        platform.meter().attach(db.clone());
        let merchant = MerchantBook::new(db.clone(), platform.clone());
        let cards = Cards::new(db.clone());
        let readers = ReaderBook::new(db.clone(), secure_store.clone());
        let payments = crate::payments::Payments::new(db.clone(), secure_store.clone(), config.qr_schedule);
        let history = crate::history::History::new(db.clone(), secure_store.clone());
        let alerts = crate::alerts::Alerts::new(db.clone());
        let accounts = Accounts::new(platform.clone(), db.clone(), secure_store, config.device_id)?;
        let platform_url = config.platform_url.clone();
        Ok(StarPos {
            inner: Arc::new(Inner {
                accounts,
                merchant,
                cards,
                readers,
                payments,
                history,
                platform_url,
                db,
                platform,
                working: AtomicBool::new(false),
                wake: tokio::sync::Notify::new(),
                location: RwLock::new(None),
                attention: Default::default(),
                alerts,
            }),
        })
    }

    /// The stable id of this install, as the app configured it (the platform binds devices by it).
    pub fn device_id(&self) -> &str {
        self.inner.accounts.device_id()
    }

    /// The session on this device, if logged in (no network I/O).
    pub fn current_session(&self) -> Option<Session> {
        self.inner.accounts.current_session()
    }

    /// SMS codes, registration, login, token refresh, logout.
    pub fn account(&self) -> Account {
        Account::new(self.inner.clone())
    }

    /// The merchant: profile, settlement cycle, fees, limits, real name, settlement cards.
    pub fn merchant(&self) -> Merchant {
        Merchant::new(self.inner.clone())
    }

    /// Pairing card readers and the list of paired ones.
    pub fn readers(&self) -> Readers {
        Readers::new(self.inner.clone())
    }

    /// Card sales, voids, refunds, signatures, receipts and the payments a stopped app left.
    pub fn payments(&self) -> Payments {
        Payments::new(self.inner.clone())
    }

    /// QR payments: the customer's payment code scanned, or a dynamic QR shown.
    pub fn qr(&self) -> crate::clients::Qr {
        crate::clients::Qr::new(self.inner.clone())
    }

    /// Transaction pages, statistics, exports, sync, reconciliation and the chain check.
    pub fn history(&self) -> History {
        History::new(self.inner.clone())
    }

    /// The merchant's alert feed: list, mark read, a listener for new alerts.
    pub fn alerts(&self) -> crate::clients::AlertFeed {
        crate::clients::AlertFeed::new(self.inner.clone())
    }

    /// Where the phone is and the cross-province rules.
    pub fn regions(&self) -> Regions {
        Regions::new(self.inner.clone())
    }

    /// Network type, reachability, data usage and the data saver.
    pub fn network(&self) -> Network {
        Network::new(self.inner.clone())
    }

    /// Tells the core where to ask for the phone's position; each sale records it (and the
    /// cross-province rules use it).
    pub fn set_location_provider(&self, provider: Arc<dyn LocationProvider>) {
        *self.inner.location.write().unwrap_or_else(|p| p.into_inner()) = Some(provider);
    }

    /// Counters for diagnostics: durable SQLite commits and platform round trips since this
    /// object was made (the payment tests hold a sale to its budget with them).
    pub fn diagnostics(&self) -> Diagnostics {
        Diagnostics {
            durable_commits: self.inner.db.commits(),
            platform_round_trips: self.inner.platform.round_trips(),
        }
    }
}
