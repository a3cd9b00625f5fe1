//! The core's own tokio runtime. Every public async operation runs its work here, so callers
//! may await it from any thread and any executor (Kotlin coroutines, Swift tasks, Python's
//! asyncio, a Rust test): awaiting a join handle needs no reactor of the caller's.

use std::future::Future;
use std::sync::OnceLock;

use crate::error::Error;

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

fn runtime() -> &'static tokio::runtime::Runtime {
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("starpos-core")
            .enable_all()
            .build()
            // Without threads or a timer the core cannot work at all; this happens only if the
            // OS refuses to start threads.
            .expect("could not start the StarPOS runtime")
    })
}

/// Runs `future` on the core runtime and waits for it. A panic inside becomes
/// [`Error::Internal`] instead of unwinding into the caller (and across the FFI).
pub async fn run<F, T>(future: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    match runtime().spawn(future).await {
        Ok(result) => result,
        Err(join) => {
            let reason = if join.is_panic() { "a core task panicked" } else { "a core task was cancelled" };
            tracing::error!(reason, "core task failed");
            Err(Error::Internal { reason: reason.into() })
        }
    }
}

/// Runs blocking work (SQLite, secure storage) off the async workers.
pub async fn blocking<F, T>(work: F) -> Result<T, Error>
where
    F: FnOnce() -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(_) => Err(Error::Internal { reason: "a blocking core task failed".into() }),
    }
}

/// Starts background work on the core's runtime (reversal retries and the like); a panic in it
/// is logged by tokio and goes no further.
pub fn spawn<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    drop(runtime().spawn(future));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_without_a_caller_runtime_and_contains_panics() {
        let ok = futures_lite_block_on(run(async { Ok::<_, Error>(tokio::time::Instant::now()) }));
        assert!(ok.is_ok());
        let panicked = futures_lite_block_on(run(async {
            if true {
                panic!("boom");
            }
            Ok::<(), Error>(())
        }));
        assert!(matches!(panicked, Err(Error::Internal { .. })));
    }

    /// A minimal executor with no tokio context, like a foreign caller's.
    fn futures_lite_block_on<F: Future>(future: F) -> F::Output {
        use std::sync::Arc;
        use std::task::{Context, Poll, Wake, Waker};
        struct Thread(std::thread::Thread);
        impl Wake for Thread {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Thread(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }
}
