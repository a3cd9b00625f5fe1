//! The failures the sandbox injects on request (`POST /dev/faults`), kept with the state so a
//! handler reads its budget without knowing who set it.

use axum::http::StatusCode;

use super::error::{ApiError, ApiResult};
use super::state::State;

/// Failures to inject, set through `POST /dev/faults`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PaymentFaults {
    /// Lose the next n answers to authorisations, voids and refunds after the platform
    /// committed (or found) them: the connection breaks mid-body.
    #[serde(default)]
    pub drop_response_after_commit: u32,
    /// Answer the next n authorisations or reversals with 503 before doing anything.
    #[serde(default)]
    pub fail_5xx: u32,
    /// Hold every authorisation this long before processing it.
    #[serde(default)]
    pub delay_ms: u64,
    /// Answer the next n authorisations, after committing them, with a body that cannot be
    /// read (as a carrier's proxy might mangle it).
    #[serde(default)]
    pub garble_response_after_commit: u32,
    /// Answer the next `count` authorisations, after committing them, with this answer instead
    /// of the payment: what a gateway or proxy between phone and platform sends when it fails
    /// after passing the request on (a 502 or 504 page, a 429, a 500 with another JSON code).
    #[serde(default)]
    pub answer_after_commit: Option<InjectedAnswer>,
    /// Answer the next n ledger anchor requests (`GET` or `PUT /v1/ledger/anchor`) with 503.
    #[serde(default)]
    pub fail_ledger_anchor: u32,
}

/// An answer in place of the platform's, for [`PaymentFaults::answer_after_commit`].
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct InjectedAnswer {
    pub count: u32,
    pub status: u16,
    /// `text/html` unless given.
    #[serde(default)]
    pub content_type: Option<String>,
    pub body: String,
}

impl PaymentFaults {
    /// Takes one injected answer from the budget if there is one.
    pub fn take_injected_answer(&mut self) -> Option<InjectedAnswer> {
        let injected = self.answer_after_commit.as_mut().filter(|a| a.count > 0)?;
        injected.count -= 1;
        Some(injected.clone())
    }
}

/// Takes one failed anchor request from the fault budget if there is one.
pub fn injected_anchor_failure(state: &State) -> ApiResult<()> {
    let mut faults = state.payment_faults();
    if faults.fail_ledger_anchor > 0 {
        faults.fail_ledger_anchor -= 1;
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "injected anchor failure"));
    }
    Ok(())
}

/// Takes one 5xx from the fault budget if there is one.
pub fn injected_5xx(state: &State) -> ApiResult<()> {
    let mut faults = state.payment_faults();
    if faults.fail_5xx > 0 {
        faults.fail_5xx -= 1;
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "injected 5xx"));
    }
    Ok(())
}
