//! Selling outside the registered province. The rule (docs/regions.md): a card or QR payment
//! made in another province needs the payment institution's approval for cross-province
//! business there; where the position is unknown (no fix, or outside China), the platform's
//! location policy decides. [`decide`] is that rule, used by the phone before the card is read
//! and by the sandbox platform before it authorises, so the two cannot drift apart.

use std::sync::Arc;

use reqwest::Method;
use rusqlite::OptionalExtension;

use super::{province, Province};
use crate::account::Accounts;
use crate::error::{Error, InternalError};
use crate::location::Location;
use crate::outbox;
use crate::platform::wire::{ApplyCrossProvinceRequest, CrossProvinceApplicationWire, CrossProvinceWire};
use crate::storage::Db;
pub use starpos_protocol::cross_province::{decide, Decision, LocationPolicy, FLAG_NO_LOCATION, FLAG_OUTSIDE_CHINA};

/// A cached answer older than this is refreshed before a payment when the platform is
/// reachable (an approval may have expired or a policy changed); if it is not, the cache decides
/// and the platform checks again anyway.
const STALE_AFTER_SECS: i64 = 3600;
/// How long the guard waits for fresh rules when it has cached ones to fall back on: a dead
/// link must not hold a sale for the client's full time-outs (45 s with retries).
const GUARD_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationStatus {
    /// Filed, not yet reviewed.
    Pending,
    Approved,
    /// See `decision_reason`.
    Rejected,
    /// Made offline, not yet sent: it goes when the link returns.
    Queued,
}

/// An application for cross-province business in one province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossProvinceApplication {
    pub id: String,
    pub province: Province,
    pub reason: String,
    pub days: u32,
    pub status: ApplicationStatus,
    pub decision_reason: Option<String>,
    pub submitted_at: i64,
    pub decided_at: Option<i64>,
    /// An approval lasts until then (unix seconds, platform time).
    pub valid_until: Option<i64>,
}

/// The platform's cross-province rules for the merchant, as last fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossProvinceStatus {
    pub registered: Province,
    pub location_policy: LocationPolicy,
    /// Newest first.
    pub applications: Vec<CrossProvinceApplication>,
    /// When this was fetched (platform time).
    pub fetched_at: i64,
}

impl CrossProvinceStatus {
    /// Whether cross-province business in `code` is approved at `now`.
    pub fn approved_in(&self, code: &str, now: i64) -> bool {
        self.applications.iter().any(|a| {
            a.province.code == code && a.status == ApplicationStatus::Approved && a.valid_until.is_some_and(|u| u > now)
        })
    }
}

/// The phone's side: fetches and caches the platform's rules, files applications, and guards
/// each payment.
pub(crate) struct CrossProvince {
    db: Arc<Db>,
    /// The rules last read for the guard, with the JSON they were parsed from: a sale reads the
    /// cached row and compares it instead of parsing it again (the profile fetch writes the
    /// cache too, so the row, not this memo, says what is current).
    memo: std::sync::Mutex<Option<(String, String, CrossProvinceStatus)>>,
}

impl CrossProvince {
    pub fn new(db: Arc<Db>) -> Self {
        CrossProvince { db, memo: std::sync::Mutex::new(None) }
    }

    /// Fetches the rules and applications from the platform and caches them.
    pub async fn refresh(&self, accounts: &Accounts, merchant_id: &str) -> Result<CrossProvinceStatus, Error> {
        // Not while a queued application is on its way (see `outbox::lane`).
        let _lane = outbox::lane().await;
        let wire: CrossProvinceWire =
            accounts.signed::<(), _>(Method::GET, "v1/merchant/cross-province", None, true).await?;
        self.keep(merchant_id, &wire, accounts.platform_now())
    }

    /// Files an application for cross-province business in `province_code` for `days` days
    /// (1 to 90). `reason` (2 to 100 characters) is read by the reviewer. The platform reviews
    /// it later: poll [`Self::refresh`] (the application starts as pending).
    pub async fn apply(
        &self,
        accounts: &Accounts,
        merchant_id: &str,
        province_code: &str,
        reason: &str,
        days: u32,
    ) -> Result<CrossProvinceApplication, Error> {
        let target = province(province_code)
            .ok_or_else(|| Error::invalid("province", "a two-digit GB/T 2260 province code such as \"43\""))?;
        let reason = reason.trim();
        if !(2..=100).contains(&reason.chars().count()) {
            return Err(Error::invalid("reason", "2 to 100 characters saying why you work there"));
        }
        if !(1..=90).contains(&days) {
            return Err(Error::invalid("days", "from 1 to 90 days"));
        }
        if let Some(status) = self.cached(merchant_id)? {
            if status.registered.code == target.code {
                return Err(Error::invalid("province", "this is the registered province: no application is needed"));
            }
        }
        let request = ApplyCrossProvinceRequest {
            idempotency_key: crate::util::random_hex(16),
            province: target.code.clone(),
            reason: reason.into(),
            days,
        };
        let sent: Result<CrossProvinceApplicationWire, Error> =
            accounts.signed(Method::POST, "v1/merchant/cross-province/applications", Some(&request), true).await;
        let filed = match sent {
            Ok(filed) => filed,
            Err(e) if e.is_transient() => {
                // Out of reach: queued (with its key), replayed when the link returns.
                tracing::info!(error = %e, "cross-province application queued");
                let body = serde_json::to_string(&request).map_err(InternalError::from)?;
                let now = accounts.platform_now();
                outbox::enqueue(&self.db, merchant_id, outbox::Kind::CrossProvinceApplication, &body, now)?;
                return queued_application(&request, now);
            }
            Err(e) => return Err(e),
        };
        // Keep the cache current: the application shows at once, even offline.
        if let Ok(status) = self.refresh(accounts, merchant_id).await {
            tracing::debug!(applications = status.applications.len(), "cross-province status refreshed");
        }
        application(&filed)
    }

    /// The rules as last fetched, without network.
    pub fn cached(&self, merchant_id: &str) -> Result<Option<CrossProvinceStatus>, Error> {
        let row: Option<(String, i64)> = self.db.with(|c| {
            Ok(c.query_row("SELECT json, fetched_at FROM cross_province WHERE merchant_id = ?1", [merchant_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
        })?;
        match row {
            None => Ok(None),
            Some((json, fetched_at)) => {
                let wire: CrossProvinceWire = serde_json::from_str(&json).map_err(InternalError::from)?;
                let mut s = status(&wire, fetched_at)?;
                self.add_queued(merchant_id, &mut s)?;
                Ok(Some(s))
            }
        }
    }

    /// The cached rules for the guard (no queued applications: they approve nothing).
    fn rules(&self, merchant_id: &str) -> Result<Option<CrossProvinceStatus>, Error> {
        let row: Option<(String, i64)> = self.db.with(|c| {
            Ok(c.prepare_cached("SELECT json, fetched_at FROM cross_province WHERE merchant_id = ?1")?
                .query_row([merchant_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        })?;
        let Some((json, stamp)) = row else { return Ok(None) };
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((m, seen, rules)) = memo.as_ref() {
            if m == merchant_id && *seen == json {
                return Ok(Some(CrossProvinceStatus { fetched_at: stamp, ..rules.clone() }));
            }
        }
        let wire: CrossProvinceWire = serde_json::from_str(&json).map_err(InternalError::from)?;
        let rules = status(&wire, stamp)?;
        *memo = Some((merchant_id.to_string(), json, rules.clone()));
        Ok(Some(rules))
    }

    /// The guard, before a payment touches the card: answers the province the payment is in
    /// (`None` when unknown and the policy allows it), or the typed refusal.
    pub async fn check(
        &self,
        accounts: &Accounts,
        merchant_id: &str,
        location: Option<&Location>,
    ) -> Result<Option<Province>, Error> {
        let now = accounts.platform_now();
        // Decided on the position as the platform will receive it (micro-degrees), so that a
        // fix within a metre of a border lands on the same side for both.
        let sent = location.map(|l| Location::from_wire(&l.to_wire()));
        let location = sent.as_ref();
        let mut rules = match self.rules(merchant_id)? {
            Some(s) if now - s.fetched_at < STALE_AFTER_SECS => s,
            Some(s) => match self.quick_refresh(accounts, merchant_id).await {
                Ok(fresh) => fresh,
                Err(e) if e.is_transient() => s,
                Err(e) => return Err(e),
            },
            None => self.refresh(accounts, merchant_id).await?,
        };
        let mut refreshed = false;
        loop {
            let decision = decide(
                location.map(|l| (l.latitude, l.longitude)),
                &rules.registered.code,
                rules.location_policy,
                |code| rules.approved_in(code, now),
            );
            match decision {
                Decision::Allow { province } => return Ok(Some(province)),
                Decision::AllowFlagged { flag } => {
                    tracing::info!(flag, "payment without a known province, allowed by the platform's policy");
                    return Ok(None);
                }
                Decision::NotApproved { here } if refreshed => {
                    return Err(Error::CrossProvinceNotApproved {
                        here: Box::new(here),
                        registered: Box::new(rules.registered),
                    })
                }
                // An approval may have come since the last fetch: ask once before refusing.
                Decision::NotApproved { here } => {
                    refreshed = true;
                    match self.quick_refresh(accounts, merchant_id).await {
                        Ok(fresh) => rules = fresh,
                        // Out of reach: the cached answer stands.
                        Err(e) if e.is_transient() => {
                            return Err(Error::CrossProvinceNotApproved {
                                here: Box::new(here),
                                registered: Box::new(rules.registered),
                            })
                        }
                        Err(e) => return Err(e),
                    }
                }
                Decision::LocationRequired { reason } if refreshed => {
                    return Err(Error::LocationRequired { reason: reason.into() })
                }
                // The policy may have changed since the last fetch: ask once before refusing.
                Decision::LocationRequired { reason } => {
                    refreshed = true;
                    match self.quick_refresh(accounts, merchant_id).await {
                        Ok(fresh) => rules = fresh,
                        Err(e) if e.is_transient() => return Err(Error::LocationRequired { reason: reason.into() }),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }

    /// [`Self::refresh`] within [`GUARD_REFRESH`]; a late answer counts as a network failure.
    async fn quick_refresh(&self, accounts: &Accounts, merchant_id: &str) -> Result<CrossProvinceStatus, Error> {
        tokio::time::timeout(GUARD_REFRESH, self.refresh(accounts, merchant_id))
            .await
            .unwrap_or_else(|_| Err(Error::Network { reason: "the platform did not answer in time".into() }))
    }

    /// Applications still in the outbox show first, as queued.
    fn add_queued(&self, merchant_id: &str, s: &mut CrossProvinceStatus) -> Result<(), Error> {
        for q in outbox::queued(&self.db, merchant_id)?.into_iter().rev() {
            if q.kind == outbox::Kind::CrossProvinceApplication {
                let request: ApplyCrossProvinceRequest = serde_json::from_str(&q.body).map_err(InternalError::from)?;
                s.applications.insert(0, queued_application(&request, q.created_at)?);
            }
        }
        Ok(())
    }

    fn keep(&self, merchant_id: &str, wire: &CrossProvinceWire, now: i64) -> Result<CrossProvinceStatus, Error> {
        let mut status = status(wire, now)?;
        self.add_queued(merchant_id, &mut status)?;
        let json = serde_json::to_string(wire).map_err(InternalError::from)?;
        self.db.write(|tx| keep_in(tx, merchant_id, &json, now))?;
        Ok(status)
    }
}

/// Caches the rules inside the caller's transaction (the merchant profile carries them too, and
/// is kept in one commit with them).
pub(crate) fn keep_in(
    tx: &rusqlite::Transaction<'_>,
    merchant_id: &str,
    json: &str,
    now: i64,
) -> Result<(), InternalError> {
    tx.prepare_cached(
        "INSERT INTO cross_province (merchant_id, json, fetched_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (merchant_id) DO UPDATE SET json = ?2, fetched_at = ?3",
    )?
    .execute((merchant_id, json, now))?;
    Ok(())
}

/// An application waiting in the outbox, as the app sees it.
fn queued_application(r: &ApplyCrossProvinceRequest, at: i64) -> Result<CrossProvinceApplication, Error> {
    Ok(CrossProvinceApplication {
        id: format!("queued-{}", r.idempotency_key),
        province: known_province(&r.province)?,
        reason: r.reason.clone(),
        days: r.days,
        status: ApplicationStatus::Queued,
        decision_reason: None,
        submitted_at: at,
        decided_at: None,
        valid_until: None,
    })
}

fn bad(what: String) -> Error {
    InternalError::BadResponse(what).into()
}

fn known_province(code: &str) -> Result<Province, Error> {
    province(code).ok_or_else(|| bad(format!("unknown province code {code:?}")))
}

fn status(wire: &CrossProvinceWire, fetched_at: i64) -> Result<CrossProvinceStatus, Error> {
    let mut applications = wire.applications.iter().map(application).collect::<Result<Vec<_>, _>>()?;
    applications.sort_by(|a, b| b.submitted_at.cmp(&a.submitted_at).then_with(|| b.id.cmp(&a.id)));
    Ok(CrossProvinceStatus {
        registered: known_province(&wire.registered_province)?,
        location_policy: LocationPolicy::parse(&wire.location_policy)
            .ok_or_else(|| bad(format!("unknown location policy {:?}", wire.location_policy)))?,
        applications,
        fetched_at,
    })
}

fn application(w: &CrossProvinceApplicationWire) -> Result<CrossProvinceApplication, Error> {
    Ok(CrossProvinceApplication {
        id: w.id.clone(),
        province: known_province(&w.province)?,
        reason: w.reason.clone(),
        days: w.days,
        status: match w.status.as_str() {
            "pending" => ApplicationStatus::Pending,
            "approved" => ApplicationStatus::Approved,
            "rejected" => ApplicationStatus::Rejected,
            other => return Err(bad(format!("unknown application status {other:?}"))),
        },
        decision_reason: w.decision_reason.clone(),
        submitted_at: w.submitted_at,
        decided_at: w.decided_at,
        valid_until: w.valid_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approvals_count_only_while_valid() {
        let wire = CrossProvinceWire {
            registered_province: "44".into(),
            location_policy: "refuse".into(),
            applications: vec![CrossProvinceApplicationWire {
                id: "a1".into(),
                province: "43".into(),
                reason: "trade fair".into(),
                days: 7,
                status: "approved".into(),
                decision_reason: None,
                submitted_at: 100,
                decided_at: Some(200),
                valid_until: Some(1_000),
            }],
        };
        let s = status(&wire, 300).unwrap();
        assert!(s.approved_in("43", 999) && !s.approved_in("43", 1_000) && !s.approved_in("45", 500));
        let broken = CrossProvinceWire { location_policy: "maybe".into(), ..wire.clone() };
        assert!(status(&broken, 0).is_err());
        let unknown = CrossProvinceWire { registered_province: "99".into(), ..wire };
        assert!(status(&unknown, 0).is_err());
    }
}
