//! Could a request have reached the platform and been acted on? A money request (authorisation,
//! void, refund) that failed is final only if no attempt of it could have been processed:
//! every attempt either never left the phone (offline, the connection or TLS handshake failed,
//! the request could not be built) or was answered with a refusal the platform makes without
//! touching the payment. Anything else (a time-out, a reset mid-body, any 5xx, a 429, an HTML
//! page from a gateway, a garbled or unknown answer, an answer after which a token refresh
//! failed) leaves the outcome unknown: the core resolves it by key and reverses it. Reversing a
//! key the platform never processed costs nothing (it is tombstoned); treating an approval as
//! a refusal loses it, and the merchant's next try charges the customer twice.

use crate::error::InternalError;

/// Codes the platform answers, before processing, to the call as a whole (authentication,
/// signature, clock, replay): docs/platform-api.md.
const REFUSED_BEFORE_PROCESSING: &[&str] = &[
    "unauthorized",
    "access_token_expired",
    "session_revoked",
    "session_expired",
    "refresh_token_reused",
    "signature_invalid",
    "timestamp_stale",
    "nonce_replayed",
];

/// Codes a money request is answered with when the platform holds no payment under the key
/// and will not make one from this request: malformed requests (the same bytes are refused every
/// time), card data that fails the platform's checks (reader MAC, cryptogram, a swiped chip
/// card, a replayed card read, the chip amount, a reader not paired to the merchant), the merchant's limits, a key reversed before
/// it arrived or used by another request, the cross-province rule, a wrong step-up password or
/// a locked account, and a void or refund the sale (or its wallet's rules) does not allow.
const REFUSED_WITHOUT_PAYMENT: &[&str] = &[
    "invalid_request",
    "amount_mismatch",
    "reader_mac_invalid",
    "cryptogram_invalid",
    "chip_required",
    "card_read_replayed",
    "reader_not_paired",
    "limit_exceeded",
    "step_up_failed",
    "account_locked",
    "payment_reversed",
    "idempotency_conflict",
    "cross_province_not_approved",
    "location_required",
    "void_not_allowed",
    "refund_not_allowed",
    "refund_exceeds_remaining",
    "refund_window_passed",
    "too_many_refunds",
    "refund_too_soon",
    "not_adjustable",
];

/// What the attempts of one request came to, for [`Delivery::may_have_landed`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    attempts: u32,
    landed: bool,
}

/// One attempt's end, as far as "could the platform have acted on it" goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt<'a> {
    /// No byte of the request left the phone: connection refused, DNS, TLS handshake or pin
    /// failure, a request that could not be built.
    NotSent,
    /// The platform answered with this error code (`http_status` or `rate_limited` when the
    /// body was not the platform's JSON).
    Answered { status: u16, code: &'a str },
    /// Sent, and then no readable answer: a time-out, a reset, a body cut short or garbled.
    NoReadableAnswer,
    /// A success answer.
    Succeeded,
}

impl Delivery {
    /// Notes how one attempt ended.
    pub fn note(&mut self, attempt: Attempt<'_>) {
        self.attempts += 1;
        self.landed |= match attempt {
            Attempt::NotSent => false,
            Attempt::Answered { code, .. } => {
                !(REFUSED_BEFORE_PROCESSING.contains(&code) || REFUSED_WITHOUT_PAYMENT.contains(&code))
            }
            Attempt::NoReadableAnswer | Attempt::Succeeded => true,
        };
    }

    /// Notes an attempt from the client's own result.
    pub(crate) fn note_result<T>(&mut self, result: &Result<T, InternalError>) {
        self.note(match result {
            Ok(_) => Attempt::Succeeded,
            Err(e) => attempt_of(e),
        });
    }

    /// Whether any attempt may have been processed by the platform: if so, a failure is an
    /// unknown outcome, never a refusal.
    pub fn may_have_landed(&self) -> bool {
        self.landed
    }

    /// How many attempts were made (0: the request never went out, e.g. offline).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

fn attempt_of(e: &InternalError) -> Attempt<'_> {
    match e {
        InternalError::Http(e) if e.is_connect() || e.is_builder() => Attempt::NotSent,
        InternalError::PinMismatch => Attempt::NotSent,
        InternalError::Platform { status, body } => Attempt::Answered { status: *status, code: &body.code },
        // Time-outs, resets, bodies cut short, unreadable JSON and anything unforeseen.
        _ => Attempt::NoReadableAnswer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(attempts: &[Attempt<'_>]) -> bool {
        let mut d = Delivery::default();
        for a in attempts {
            d.note(*a);
        }
        d.may_have_landed()
    }

    const fn answered(status: u16, code: &str) -> Attempt<'_> {
        Attempt::Answered { status, code }
    }

    /// Every way a money request can end, and whether it is final (false) or unknown (true).
    #[test]
    fn a_failure_is_final_only_when_nothing_could_have_been_processed() {
        let table: &[(&str, &[Attempt<'_>], bool)] = &[
            ("offline before the first attempt", &[], false),
            ("connection refused three times", &[Attempt::NotSent, Attempt::NotSent, Attempt::NotSent], false),
            ("TLS handshake failed", &[Attempt::NotSent], false),
            ("time-out", &[Attempt::NoReadableAnswer], true),
            ("reset mid-body", &[Attempt::NoReadableAnswer], true),
            ("garbled body", &[Attempt::NoReadableAnswer], true),
            ("502 HTML from a gateway", &[answered(502, "http_status")], true),
            ("504 HTML from a gateway", &[answered(504, "http_status")], true),
            ("503 from the platform", &[answered(503, "unavailable")], true),
            ("500 JSON with another code", &[answered(500, "internal")], true),
            ("5xx JSON with a code never seen", &[answered(500, "brand_new_code")], true),
            ("429 from a gateway", &[answered(429, "rate_limited")], true),
            ("401 HTML from a gateway", &[answered(401, "http_status")], true),
            ("TLS failure on a retry after a time-out", &[Attempt::NoReadableAnswer, Attempt::NotSent], true),
            ("refused after a 5xx", &[answered(503, "unavailable"), answered(403, "location_required")], true),
            ("access token expired, then the refresh failed", &[answered(401, "access_token_expired")], false),
            (
                "time-out, then 401, then the refresh failed",
                &[Attempt::NoReadableAnswer, answered(401, "access_token_expired")],
                true,
            ),
            (
                "expired, refreshed, then a time-out",
                &[answered(401, "access_token_expired"), Attempt::NoReadableAnswer],
                true,
            ),
            ("stale clock, then refused", &[answered(401, "timestamp_stale"), answered(400, "amount_mismatch")], false),
            ("cross-province refusal", &[answered(403, "cross_province_not_approved")], false),
            ("location required", &[answered(403, "location_required")], false),
            ("malformed request", &[answered(400, "invalid_request")], false),
            ("key reversed before it arrived", &[answered(409, "payment_reversed")], false),
            ("key used by another request", &[answered(409, "idempotency_conflict")], false),
            ("refund over what remains", &[answered(400, "refund_exceeds_remaining")], false),
            ("the reader's MAC does not verify", &[answered(422, "reader_mac_invalid")], false),
            ("a replayed card read", &[answered(409, "card_read_replayed")], false),
            ("over the merchant's daily total", &[answered(422, "limit_exceeded")], false),
            ("a wrong step-up password", &[answered(401, "step_up_failed")], false),
            ("a time-out, then a limit refusal", &[Attempt::NoReadableAnswer, answered(422, "limit_exceeded")], true),
            ("connect failed, then refused", &[Attempt::NotSent, answered(400, "invalid_request")], false),
            ("an answer", &[Attempt::Succeeded], true),
        ];
        for (case, attempts, unknown) in table {
            assert_eq!(after(attempts), *unknown, "{case}");
        }
    }

    #[test]
    fn every_listed_code_is_documented_as_a_platform_code() {
        let doc = include_str!("../../../docs/platform-api.md");
        for code in REFUSED_BEFORE_PROCESSING.iter().chain(REFUSED_WITHOUT_PAYMENT) {
            assert!(doc.contains(&format!("| `{code}` |")), "{code} is not in docs/platform-api.md's table");
        }
    }
}
