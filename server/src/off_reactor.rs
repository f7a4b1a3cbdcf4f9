//! Blocking query work run from a request without stalling the async
//! workers. (Appends stay on the blocking pool: in place they measured no
//! faster, `pulsedb bench --target` 562-651 k samples/s either way, as
//! each waits for an fsync anyway.)
//!
//! On the multi-threaded runtime (the server's) the work runs in place
//! (`block_in_place`): the worker hands its other tasks to another thread
//! and goes on with the request itself. Sending it to the blocking pool
//! instead costs two thread wake-ups per request (to the pool and back),
//! which on the 2-core bench machine were about half of the server's CPU
//! for small queries (`finish_task_switch`, `epoll_wait` and futex wakes in
//! `perf`). Elsewhere (a current-thread runtime in tests) it goes to the
//! blocking pool, as `block_in_place` is not allowed there.

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::error::ApiError;

/// `work()`, off the reactor; `what` names it in the error if it panics on
/// the blocking pool (in place, a panic unwinds into the request's
/// `contain_panics`).
pub(crate) async fn run<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        return Ok(tokio::task::block_in_place(work));
    }
    tokio::task::spawn_blocking(work).await.map_err(|e| ApiError::internal(format!("{what} failed: {e}")))
}
