//! Records and enums that cross the boundary, with their conversions from core types.

use starpos_core as core;

/// How the app configures StarPOS.
#[derive(Debug, Clone, uniffi::Record)]
pub struct StarPosConfig {
    /// `https://…`, or `http://` to loopback (the sandbox).
    pub platform_url: String,
    /// A folder StarPOS owns (its database). Never holds secrets.
    pub data_dir: String,
    /// A stable id of this installation, chosen by the app.
    pub device_id: String,
    /// SHA-256 pins (base64) of the platform's public keys, checked on the verified path; at
    /// least two (key in use and backup) unless the platform is on loopback.
    #[uniffi(default)]
    pub pinned_key_hashes: Vec<String>,
    /// Extra trusted root certificates (DER) for a private platform CA.
    #[uniffi(default)]
    pub extra_roots_der: Vec<Vec<u8>>,
}

impl From<StarPosConfig> for core::Config {
    fn from(c: StarPosConfig) -> Self {
        core::Config {
            platform_url: c.platform_url,
            data_dir: c.data_dir.into(),
            device_id: c.device_id,
            pinned_key_hashes: c.pinned_key_hashes,
            extra_roots_der: c.extra_roots_der,
            timeouts: Default::default(),
            qr_schedule: Default::default(),
        }
    }
}

/// The logged-in session, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Session {
    pub merchant_id: String,
    pub phone_masked: String,
    pub device_id: String,
    /// When the access token expires (platform time, unix seconds); refresh is automatic.
    pub access_expires_at: i64,
}

impl From<core::Session> for Session {
    fn from(s: core::Session) -> Self {
        Session {
            merchant_id: s.merchant_id,
            phone_masked: s.phone_masked,
            device_id: s.device_id,
            access_expires_at: s.access_expires_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SmsPurpose {
    Register,
    Login,
    /// Resetting a forgotten password (sent only to a phone with an account).
    ResetPassword,
}

impl From<SmsPurpose> for core::SmsPurpose {
    fn from(p: SmsPurpose) -> Self {
        match p {
            SmsPurpose::Register => core::SmsPurpose::Register,
            SmsPurpose::Login => core::SmsPurpose::Login,
            SmsPurpose::ResetPassword => core::SmsPurpose::ResetPassword,
        }
    }
}

/// A device bound to the account.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Device {
    pub device_id: String,
    /// When it was bound (platform time, unix seconds).
    pub bound_at: i64,
    /// Its last login or token refresh.
    pub last_used_at: Option<i64>,
    /// The device asking.
    pub this_device: bool,
}

impl From<core::account::Device> for Device {
    fn from(d: core::account::Device) -> Self {
        Device {
            device_id: d.device_id,
            bound_at: d.bound_at,
            last_used_at: d.last_used_at,
            this_device: d.this_device,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SmsCodeSent {
    pub expires_in_secs: u64,
    pub resend_after_secs: u64,
}

impl From<core::SmsCodeSent> for SmsCodeSent {
    fn from(s: core::SmsCodeSent) -> Self {
        SmsCodeSent { expires_in_secs: s.expires_in_secs, resend_after_secs: s.resend_after_secs }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Profile {
    pub merchant_id: String,
    pub phone_masked: String,
    pub device_count: u32,
    pub registered_at: i64,
}

impl From<core::Profile> for Profile {
    fn from(p: core::Profile) -> Self {
        Profile {
            merchant_id: p.merchant_id,
            phone_masked: p.phone_masked,
            device_count: p.device_count,
            registered_at: p.registered_at,
        }
    }
}
