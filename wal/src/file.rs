//! The filesystem layer: every create, read, write, fdatasync, truncate,
//! remove and directory fsync the WAL does goes through [`Fs`], so faults can
//! be injected in one place (feature `fault-injection`) and the rest of the
//! crate never calls `std::fs` itself.
//!
//! Writes are positioned (`pwrite`), so a failed write never leaves a file
//! cursor in an unknown place; this ties the crate to Unix.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Upper bounds (seconds) of the fsync latency histogram buckets; the
/// last, implicit bucket is `+Inf`.
pub const FSYNC_BUCKETS_SECONDS: [f64; 11] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0];

/// Handle to the filesystem, one per [`Wal`](crate::Wal) (or repair run).
#[derive(Debug, Default)]
pub(crate) struct Fs {
    /// fdatasync/fsync calls made, on segment files and on directories.
    fsyncs: AtomicU64,
    /// Per-bucket (not cumulative) counts of fsync durations, `+Inf` last.
    fsync_buckets: [AtomicU64; FSYNC_BUCKETS_SECONDS.len() + 1],
    fsync_nanos: AtomicU64,
    #[cfg(feature = "fault-injection")]
    faults: faults::Faults,
}

impl Fs {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// Cumulative fsync latency histogram: counts per bucket of
    /// [`FSYNC_BUCKETS_SECONDS`] (then `+Inf`), and the total time in nanoseconds.
    pub(crate) fn fsync_latency(&self) -> ([u64; FSYNC_BUCKETS_SECONDS.len() + 1], u64) {
        let mut counts = [0; FSYNC_BUCKETS_SECONDS.len() + 1];
        let mut total = 0;
        for (count, bucket) in counts.iter_mut().zip(&self.fsync_buckets) {
            total += bucket.load(Ordering::Relaxed);
            *count = total;
        }
        (counts, self.fsync_nanos.load(Ordering::Relaxed))
    }

    fn timed_sync(&self, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = sync();
        let elapsed = started.elapsed();
        let seconds = elapsed.as_secs_f64();
        let bucket =
            FSYNC_BUCKETS_SECONDS.iter().position(|&bound| seconds <= bound).unwrap_or(FSYNC_BUCKETS_SECONDS.len());
        self.fsync_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.fsync_nanos.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        result
    }

    /// Creates `dir` and its parents; returns whether `dir` was created.
    pub(crate) fn create_dir_all(&self, dir: &Path) -> io::Result<bool> {
        if dir.is_dir() {
            return Ok(false);
        }
        fs::create_dir_all(dir)?;
        Ok(true)
    }

    /// Names of the entries in `dir`.
    pub(crate) fn list_dir(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        fs::read_dir(dir)?.map(|entry| entry.map(|e| e.file_name())).collect()
    }

    /// Creates a file that must not exist yet, open for reading and writing.
    pub(crate) fn create_new(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).create_new(true).open(path)
    }

    pub(crate) fn open_read(&self, path: &Path) -> io::Result<File> {
        File::open(path)
    }

    pub(crate) fn open_read_write(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).open(path)
    }

    pub(crate) fn len(&self, file: &File) -> io::Result<u64> {
        Ok(file.metadata()?.len())
    }

    /// A buffered reader from the start of `file`.
    pub(crate) fn reader<'f>(&self, file: &'f File) -> BufReader<&'f File> {
        // Large enough that replaying small frames costs few syscalls.
        BufReader::with_capacity(1 << 20, file)
    }

    /// Writes `parts` back to back starting at `offset`.
    pub(crate) fn write_all_at(&self, file: &File, offset: u64, parts: &[&[u8]]) -> io::Result<()> {
        #[cfg(feature = "fault-injection")]
        if self.faults.take(Fault::WriteFailsNoSpace) {
            return faults::write_half_then_fail(file, offset, parts);
        }
        let mut offset = offset;
        for part in parts {
            file.write_all_at(part, offset)?;
            offset += part.len() as u64;
        }
        Ok(())
    }

    /// fdatasync: the file's bytes and size, not its timestamps.
    pub(crate) fn sync_data(&self, file: &File) -> io::Result<()> {
        #[cfg(feature = "fault-injection")]
        if self.faults.take(Fault::FsyncFails) {
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            return Err(io::Error::other("injected fault: fsync failed"));
        }
        pulsedb_powercut::sync_file(file, || self.timed_sync(|| file.sync_data()))
    }

    pub(crate) fn set_len(&self, file: &File, len: u64) -> io::Result<()> {
        #[cfg(feature = "fault-injection")]
        if self.faults.take(Fault::SetLenFails) {
            return Err(io::Error::other("injected fault: truncate failed"));
        }
        file.set_len(len)
    }

    pub(crate) fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    /// fsyncs a directory, making the creation or removal of its entries durable.
    pub(crate) fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(feature = "fault-injection")]
        if self.faults.take(Fault::FsyncFails) {
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            return Err(io::Error::other("injected fault: directory fsync failed"));
        }
        pulsedb_powercut::sync_dir(dir, || self.timed_sync(|| File::open(dir)?.sync_all()))
    }

    #[cfg(feature = "fault-injection")]
    pub(crate) fn inject(&self, fault: Fault) {
        self.faults.arm(fault);
    }
}

#[cfg(feature = "fault-injection")]
pub use faults::Fault;

#[cfg(feature = "fault-injection")]
mod faults {
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A failure to inject into the next matching filesystem call.
    #[doc(hidden)]
    #[non_exhaustive]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Fault {
        /// The next fdatasync/fsync (of a segment or the directory) fails.
        FsyncFails,
        /// The next frame write stores about half its bytes, then fails
        /// with ENOSPC, as a full disk does.
        WriteFailsNoSpace,
        /// The next truncation fails (e.g. the one undoing a failed write).
        SetLenFails,
    }

    /// One-shot switches, one per [`Fault`].
    #[derive(Debug, Default)]
    pub(super) struct Faults {
        fsync: AtomicBool,
        write: AtomicBool,
        set_len: AtomicBool,
    }

    impl Faults {
        fn switch(&self, fault: Fault) -> &AtomicBool {
            match fault {
                Fault::FsyncFails => &self.fsync,
                Fault::WriteFailsNoSpace => &self.write,
                Fault::SetLenFails => &self.set_len,
            }
        }

        pub(super) fn arm(&self, fault: Fault) {
            self.switch(fault).store(true, Ordering::SeqCst);
        }

        /// Whether `fault` was armed; disarms it.
        pub(super) fn take(&self, fault: Fault) -> bool {
            self.switch(fault).swap(false, Ordering::SeqCst)
        }
    }

    /// A short write, as a filling disk produces: the first half of the bytes
    /// land, then ENOSPC.
    pub(super) fn write_half_then_fail(file: &File, offset: u64, parts: &[&[u8]]) -> io::Result<()> {
        let bytes: Vec<u8> = parts.concat();
        let (half, _) = bytes.split_at(bytes.len() / 2);
        file.write_all_at(half, offset)?;
        // ENOSPC is 28 on Linux; `ErrorKind::StorageFull` is newer than our MSRV.
        Err(io::Error::from_raw_os_error(28))
    }
}
