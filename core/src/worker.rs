//! The background worker: one per [`crate::StarPos`], it retries pending reversals and
//! recoveries, uploads queued signatures and replays requests queued offline, sleeping until the
//! earliest of them is due. It is started (or woken) when work appears: a sale left pending, a
//! signature, a queued request, a network again. A pass that panics is logged and the worker
//! goes on; its running flag is cleared however it stops, so a later call starts it again.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::starpos::Inner;

/// The pause after a pass that failed outright (not logged in, refused), so it does not spin.
const RETRY_PAUSE_SECS: u64 = 5;

/// Whether reversals, signatures or queued requests are waiting to be sent.
pub(crate) fn work_waiting(inner: &Inner) -> bool {
    next_due(inner).is_some()
}

fn next_due(inner: &Inner) -> Option<i64> {
    let merchant_id = inner.merchant_id().ok()?;
    let payments = inner.payments.next_due(&merchant_id).unwrap_or(None);
    let queued = crate::outbox::next_due(&inner.db, &merchant_id).unwrap_or(None);
    payments.into_iter().chain(queued).min()
}

/// Makes sure the worker runs (a second sale left pending joins the running worker, which
/// finds it when it next looks).
pub(crate) fn keep_working(inner: &Arc<Inner>) {
    if inner.working.swap(true, Ordering::SeqCst) {
        return;
    }
    let inner = inner.clone();
    crate::runtime::spawn(async move {
        let _running = Running(inner.clone());
        loop {
            let Some(due) = next_due(&inner) else {
                inner.working.store(false, Ordering::SeqCst);
                // Work may have appeared between the check and the store: if so and no other
                // worker took over, carry on.
                if next_due(&inner).is_none() || inner.working.swap(true, Ordering::SeqCst) {
                    return;
                }
                continue;
            };
            // Sleep until the earliest entry is due (its back-off grows with each failed
            // attempt, up to 5 minutes); woken early when the app reports a network again.
            let wait = (due - inner.accounts.platform_now()).clamp(0, 300);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(wait as u64)) => {}
                _ = inner.wake.notified() => {}
            }
            // Each pass on its own task: a panic in one is contained and the worker lives on.
            let pass = tokio::spawn(pass(inner.clone())).await;
            // After every pass: a sale may have crossed the attention line, or resolved.
            inner.attention.look(&inner);
            let failed = match pass {
                Ok(Ok(())) => false,
                Ok(Err(e)) => {
                    tracing::info!(error = %e, "pending work not done yet");
                    true
                }
                Err(e) => {
                    tracing::error!(panic = e.is_panic(), "a background pass failed; the worker goes on");
                    true
                }
            };
            if failed {
                tokio::time::sleep(Duration::from_secs(RETRY_PAUSE_SECS)).await;
            }
        }
    });
}

/// One pass over everything due: each kind of work is tried even if another failed.
async fn pass(inner: Arc<Inner>) -> crate::Result<()> {
    let reversals = inner.payments.resolve_pending(&inner.accounts, true).await.map(|_| ());
    let signatures = inner.payments.upload_signatures(&inner.accounts, true).await.map(|_| ());
    let queued = match inner.merchant_id() {
        Ok(m) => crate::outbox::replay(&inner.db, &inner.accounts, &m).await.map(|_| ()),
        Err(e) => Err(e),
    };
    reversals.and(signatures).and(queued)
}

/// Clears the running flag however the worker's task ends (returned, or unwound by a panic
/// outside a pass), so the next `keep_working` starts a new one.
struct Running(Arc<Inner>);

impl Drop for Running {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.working.store(false, Ordering::SeqCst);
        }
    }
}
