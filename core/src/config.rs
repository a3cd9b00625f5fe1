//! What the app tells the core when it starts.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    /// The platform's base URL: `https://…`, or `http://` to a loopback address (the sandbox).
    pub platform_url: String,
    /// A folder the core owns: its SQLite database lives here. Never holds secrets.
    pub data_dir: PathBuf,
    /// A stable identifier of this phone installation, chosen by the app (e.g. a UUID kept in
    /// secure storage). The platform binds accounts to devices by it.
    pub device_id: String,
    /// SHA-256 pins (base64) of the platform's public keys, checked on the verified path. A
    /// platform URL other than loopback needs at least two (the key in use and a backup), or
    /// construction fails with `InvalidConfig`; the sandbox on loopback may have none.
    pub pinned_key_hashes: Vec<String>,
    /// Extra trusted root certificates (DER), for a private platform CA.
    pub extra_roots_der: Vec<Vec<u8>>,
    /// How long to wait for the platform; the defaults suit 2G to Wi-Fi (docs/network.md).
    /// Tests shorten them.
    pub timeouts: crate::platform::Timeouts,
    /// How long a QR payment may wait for the customer, and how often it is queried, per
    /// wallet; the defaults are the wallets' published rules (docs/qr.md). Tests shorten them.
    pub qr_schedule: crate::payments::QrSchedule,
}

impl Config {
    pub fn new(platform_url: impl Into<String>, data_dir: impl Into<PathBuf>, device_id: impl Into<String>) -> Self {
        Config {
            platform_url: platform_url.into(),
            data_dir: data_dir.into(),
            device_id: device_id.into(),
            pinned_key_hashes: Vec::new(),
            extra_roots_der: Vec::new(),
            timeouts: crate::platform::Timeouts::default(),
            qr_schedule: crate::payments::QrSchedule::default(),
        }
    }
}
