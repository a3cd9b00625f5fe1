//! The sandbox platform server (axum over its own SQLite state). The API is documented in
//! docs/platform-api.md; request and response bodies are `starpos_protocol::wire` types.

mod account_care;
mod accounts;
mod auth;
mod cards;
mod compression;
mod dev;
mod error;
mod faults;
mod history;
mod ledger;
mod merchant;
mod payments;
mod qr;
mod qr_orders;
mod qr_refunds;
mod readers;
mod receipt_page;
mod records;
mod regions;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

pub use records::onboarding::{RegistryCard, BANK_REGISTRY};
use state::State;
pub use state::SEED_MERCHANT;

/// Knobs of the sandbox. Defaults are the production-like values documented in
/// docs/platform-api.md; tests shorten some of them.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// SQLite file for the platform's state; `None` keeps it in memory.
    pub db_path: Option<PathBuf>,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    /// First lock-out after five wrong passwords; each further lock-out doubles it (max 24 h).
    pub lockout_base_secs: u64,
    pub sms_ttl_secs: u64,
    pub sms_resend_secs: u64,
    /// PBKDF2 iterations for stored passwords (low in the sandbox to keep tests quick).
    pub pbkdf2_iterations: u32,
    /// The platform's cap on uses of one card per day (5; the kill suite raises it).
    pub per_card_daily_cap: u32,
    /// How long a cross-province application waits for its review (platform time).
    pub cross_province_review_secs: i64,
    /// How long a simulated customer takes to confirm (or cancel) a QR payment on their phone
    /// (platform time; docs/test-cards.md, the sandbox wallets).
    pub qr_user_paying_secs: i64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            db_path: None,
            access_ttl_secs: 900,
            refresh_ttl_secs: 30 * 24 * 3600,
            lockout_base_secs: 300,
            sms_ttl_secs: 300,
            sms_resend_secs: 60,
            pbkdf2_iterations: 10_000,
            per_card_daily_cap: 5,
            cross_province_review_secs: 300,
            qr_user_paying_secs: 20,
        }
    }
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    /// Binds `listen` (use port 0 for any free port) and serves on the current tokio runtime.
    pub async fn start(config: SandboxConfig, listen: SocketAddr) -> std::io::Result<Sandbox> {
        let state = Arc::new(State::open(config).map_err(std::io::Error::other)?);
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(state);
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = served.await {
                tracing::error!(error = %e, "sandbox server stopped");
            }
        });
        tracing::info!(%addr, "sandbox platform listening");
        Ok(Sandbox { addr, stop: Some(stop), task: Some(task) })
    }

    /// Starts on a free loopback port.
    pub async fn start_local(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Self::start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for the core's `platform_url`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/v1/sms/request", post(accounts::request_sms))
        .route("/v1/accounts/register", post(accounts::register))
        .route("/v1/auth/login", post(accounts::login))
        .route("/v1/auth/refresh", post(accounts::refresh))
        .route("/v1/auth/logout", post(accounts::logout))
        .route("/v1/me", get(accounts::me))
        .route("/v1/account/password", post(account_care::change_password))
        .route("/v1/account/password/reset", post(account_care::reset_password))
        .route("/v1/devices", get(account_care::devices))
        .route("/v1/devices/unbind", post(account_care::unbind_device))
        .route("/v1/merchant/profile", get(merchant::profile))
        .route("/v1/limits", axum::routing::put(merchant::set_limits))
        .route("/v1/fees/quote", get(merchant::quote))
        .route("/v1/merchant/settlement", axum::routing::put(merchant::set_settlement))
        .route("/v1/merchant/real-name", post(cards::real_name))
        .route("/v1/cards", get(cards::list))
        .route("/v1/cards/bind", post(cards::start_binding))
        .route("/v1/cards/bind/confirm", post(cards::confirm_binding))
        .route("/v1/cards/default", post(cards::set_default))
        .route("/v1/cards/unbind", post(cards::unbind))
        .route("/v1/payments/authorize", post(payments::authorize))
        .route("/v1/payments/{key}", get(payments::get))
        .route("/v1/payments/{key}/reverse", post(payments::reverse))
        .route("/v1/payments/{key}/void", post(payments::void))
        .route("/v1/payments/{key}/refund", post(payments::refund))
        .route("/v1/payments/{key}/signature", post(payments::put_signature))
        .route("/v1/payments/{key}/signature.png", get(payments::signature_png))
        .route("/v1/adjustments/{key}/settle", post(payments::settle_adjustment))
        .route("/v1/transactions", get(history::transactions))
        .route("/v1/settlements", get(history::settlements))
        .route("/v1/merchant/cross-province", get(regions::status))
        .route("/v1/merchant/cross-province/applications", post(regions::apply))
        .route("/v1/qr/pay", post(qr::pay))
        .route("/v1/qr/payments/{key}", get(qr::get))
        .route("/v1/qr/payments/{key}/reverse", post(qr::reverse))
        .route("/v1/qr/orders", post(qr_orders::create))
        .route("/v1/qr/orders/{key}", get(qr_orders::get))
        .route("/v1/qr/orders/{key}/close", post(qr_orders::close))
        .route("/v1/qr/payments/{key}/void", post(qr_refunds::void))
        .route("/v1/qr/payments/{key}/refund", post(qr_refunds::refund))
        .route("/v1/ledger/anchor", get(ledger::get).put(ledger::put))
        .route("/v1/readers/pair", post(readers::pair))
        .route("/v1/readers/release", post(readers::release))
        .route("/r/{token}", get(receipt_page::page))
        .route("/r/{token}/signature.png", get(receipt_page::signature))
        .route("/dev/sms", get(dev::latest_sms))
        .route("/dev/sessions/expire-access", post(dev::expire_access))
        .route("/dev/stats", get(dev::stats))
        .route("/dev/clock/advance", post(dev::advance_clock))
        .route("/dev/faults", post(dev::set_faults))
        .route("/dev/payments/{key}", get(dev::payment))
        .route("/dev/payments", get(dev::payments_of))
        .route("/dev/adjustments", get(dev::adjustments_of))
        .route("/dev/ledger-flags", get(dev::ledger_flags))
        .route("/dev/transactions", post(dev::history::other_device_sale))
        .route("/dev/settlements/shortfall", post(dev::history::shortfall))
        .route("/dev/cross-province", post(dev::cross_province::dev_settings))
        .route("/dev/merchants/ready", post(dev::ready::ready_merchant))
        .route("/dev/readers/take-back", post(dev::take_reader_back))
        .route("/dev/qr/scan", post(dev::qr::customer_scans))
        .layer(axum::middleware::from_fn(compression::gzip_bodies))
        .layer(axum::middleware::map_response_with_state(state.clone(), state::stamp_server_time))
        .with_state(state)
}
