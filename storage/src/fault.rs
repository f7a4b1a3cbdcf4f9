//! Fault injection for tests (the crate's own, or with feature
//! `fault-injection`): one-shot switches the engine checks where a real
//! disk fails it — writing a block, opening the block just written, removing
//! a block directory — so tests can prove that a failure there loses no
//! acknowledged sample and leaves a directory that opens. Not compiled into
//! normal builds.

use std::sync::atomic::{AtomicBool, Ordering};

/// A failure to inject into the next matching operation.
#[doc(hidden)]
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The next block written (by a flush or a compaction) fails with ENOSPC
    /// before it is renamed into place, as a full disk does.
    BlockWriteNoSpace,
    /// Opening the next block just renamed into place fails (as an mmap or
    /// read error would).
    BlockOpenFails,
    /// The next removal of a block directory fails.
    BlockRemoveFails,
    /// The next head checkpoint aborts the process (as `kill -9`) halfway
    /// through writing its temporary file.
    CrashWritingCheckpoint,
    /// The next head checkpoint aborts the process once its temporary file
    /// is durable, before it is renamed into place.
    CrashBeforeCheckpointRename,
    /// The next head checkpoint aborts the process right after the rename.
    CrashAfterCheckpointRename,
}

/// One-shot switches, one per [`Fault`].
#[derive(Debug, Default)]
pub(crate) struct Faults {
    block_write: AtomicBool,
    block_open: AtomicBool,
    block_remove: AtomicBool,
    crash_writing_checkpoint: AtomicBool,
    crash_before_checkpoint_rename: AtomicBool,
    crash_after_checkpoint_rename: AtomicBool,
}

impl Faults {
    fn switch(&self, fault: Fault) -> &AtomicBool {
        match fault {
            Fault::BlockWriteNoSpace => &self.block_write,
            Fault::BlockOpenFails => &self.block_open,
            Fault::BlockRemoveFails => &self.block_remove,
            Fault::CrashWritingCheckpoint => &self.crash_writing_checkpoint,
            Fault::CrashBeforeCheckpointRename => &self.crash_before_checkpoint_rename,
            Fault::CrashAfterCheckpointRename => &self.crash_after_checkpoint_rename,
        }
    }

    pub(crate) fn arm(&self, fault: Fault) {
        self.switch(fault).store(true, Ordering::SeqCst);
    }

    /// Whether `fault` was armed; disarms it.
    pub(crate) fn take(&self, fault: Fault) -> bool {
        self.switch(fault).swap(false, Ordering::SeqCst)
    }

    /// The error an injected fault returns.
    pub(crate) fn error(fault: Fault, context: String) -> crate::Error {
        let source = match fault {
            // ENOSPC is 28 on Linux; `ErrorKind::StorageFull` is newer than our MSRV.
            Fault::BlockWriteNoSpace => std::io::Error::from_raw_os_error(28),
            _ => std::io::Error::other(format!("injected fault: {fault:?}")),
        };
        crate::Error::io(context, source)
    }
}
