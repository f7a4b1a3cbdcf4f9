//! The poison flag. After a failed fsync the kernel may already have dropped
//! the dirty pages and cleared the error, so a retried fsync can "succeed"
//! without the data ever reaching the disk. The only honest answer is to stop
//! accepting writes: every later write, sync and rotate gets
//! [`Error::Poisoned`], carrying the first failure, until the WAL is reopened
//! and replay shows what really is on disk.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, Result};

#[derive(Debug, Default)]
pub(crate) struct Poison {
    /// Fast path for the common, healthy case.
    poisoned: AtomicBool,
    /// The first failure: what was being done, and the error.
    cause: Mutex<Option<(Arc<str>, Arc<io::Error>)>>,
}

impl Poison {
    /// `Err(Error::Poisoned)` once poisoned.
    pub(crate) fn check(&self) -> Result<()> {
        if !self.poisoned.load(Ordering::Acquire) {
            return Ok(());
        }
        Err(self.error())
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Poisons the WAL (keeping the first cause if already poisoned) and
    /// returns the error to hand to the caller.
    pub(crate) fn poison(&self, context: String, source: io::Error) -> Error {
        {
            let mut cause = self.cause.lock();
            if cause.is_none() {
                tracing::error!(
                    operation = %context,
                    error = %source,
                    "WAL poisoned: no further writes are accepted until it is reopened"
                );
                *cause = Some((context.into(), Arc::new(source)));
            }
        }
        self.poisoned.store(true, Ordering::Release);
        self.error()
    }

    fn error(&self) -> Error {
        match &*self.cause.lock() {
            Some((context, source)) => Error::Poisoned { context: Arc::clone(context), source: Arc::clone(source) },
            // `poisoned` is set only after `cause`, so this is unreachable;
            // still, a made-up cause beats a panic.
            None => Error::Poisoned {
                context: "an unrecorded operation".into(),
                source: Arc::new(io::Error::other("unknown")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_cause() {
        let poison = Poison::default();
        assert!(poison.check().is_ok());
        let first = poison.poison("fsync of a".into(), io::Error::other("eio"));
        let _ = poison.poison("fsync of b".into(), io::Error::other("later"));
        for err in [first, poison.check().err().unwrap_or(Error::EmptyFrame)] {
            assert!(
                matches!(&err, Error::Poisoned { context, source } if &**context == "fsync of a" && source.to_string() == "eio"),
                "{err:?}"
            );
        }
    }
}
