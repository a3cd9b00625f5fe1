//! [`TaskHandle`]: what the app holds for a long operation (a sale, an export, a sync). The work
//! runs on the core's runtime from the moment it starts; the handle waits for its outcome (as
//! often as asked) and can cancel it while cancelling is still possible.
//!
//! Dropping a handle cancels nothing: the work runs to its end, and its outcome is kept where it
//! always is (the journal, the file, the history). An app killed or a handle garbage-collected
//! mid-sale must not be what decides a payment; only an explicit `cancel()` does, and only
//! before the authorisation is sent.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

use crate::error::{Error, Result};

/// A long operation running on the core's runtime.
pub struct TaskHandle<T> {
    outcome: watch::Receiver<Option<Result<T>>>,
    cancel: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl<T> Clone for TaskHandle<T> {
    fn clone(&self) -> Self {
        TaskHandle { outcome: self.outcome.clone(), cancel: self.cancel.clone() }
    }
}

impl<T: Clone + Send + Sync + 'static> TaskHandle<T> {
    /// Starts `work` on the core's runtime now. `cancel` asks it to stop and answers whether
    /// that can still happen.
    pub(crate) fn spawn(
        work: impl Future<Output = Result<T>> + Send + 'static,
        cancel: impl Fn() -> bool + Send + Sync + 'static,
    ) -> Self {
        let (tx, rx) = watch::channel(None);
        crate::runtime::spawn(async move {
            // A panic inside becomes Error::Internal (runtime::run), never a handle that waits
            // for ever.
            let outcome = crate::runtime::run(work).await;
            tx.send_replace(Some(outcome));
        });
        TaskHandle { outcome: rx, cancel: Arc::new(cancel) }
    }

    /// Asks the work to stop. True if it will end cancelled; false if it is too late (a sale
    /// whose authorisation is sent, work already finished).
    pub fn cancel(&self) -> bool {
        !self.is_finished() && (self.cancel)()
    }

    /// Whether the outcome is known.
    pub fn is_finished(&self) -> bool {
        self.outcome.borrow().is_some()
    }

    /// Waits for the outcome; every call answers the same. Needs no runtime of the caller's.
    pub async fn outcome(&self) -> Result<T> {
        let mut rx = self.outcome.clone();
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(done) => done.clone().unwrap_or_else(|| Err(stopped())),
            Err(_) => Err(stopped()),
        };
        outcome
    }
}

fn stopped() -> Error {
    Error::Internal { reason: "the task stopped without an outcome".into() }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[tokio::test]
    async fn the_outcome_is_kept_and_cancel_comes_too_late_once_it_is_known() {
        let cancelled = Arc::new(AtomicBool::new(false));
        let flag = cancelled.clone();
        let handle = TaskHandle::spawn(async { Ok(7) }, move || {
            flag.store(true, Ordering::SeqCst);
            true
        });
        assert_eq!(handle.outcome().await, Ok(7));
        assert_eq!(handle.clone().outcome().await, Ok(7), "asked again, the same answer");
        assert!(!handle.cancel(), "finished: nothing to cancel");
        assert!(!cancelled.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn dropping_the_handle_lets_the_work_finish() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = TaskHandle::spawn(
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let _ = tx.send(());
                Ok(())
            },
            || true,
        );
        drop(handle);
        assert!(rx.await.is_ok(), "the work ran on after its handle was dropped");
    }

    #[tokio::test]
    async fn a_panic_is_an_internal_error_not_a_hang() {
        let work = async {
            if true {
                panic!("boom");
            }
            Ok(())
        };
        let handle: TaskHandle<()> = TaskHandle::spawn(work, || false);
        assert!(matches!(handle.outcome().await, Err(Error::Internal { .. })));
    }
}
