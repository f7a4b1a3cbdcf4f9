//! Online snapshots: a consistent copy of the data directory that
//! `Storage::open` opens as is, made while writes go on. Blocks are
//! immutable, so they are hard-linked (cheap, and a later compaction or
//! retention deleting them leaves the snapshot's links); the WAL is copied
//! up to the position synced when the copy starts (its last segment is
//! still being written, and may be rotated meanwhile);
//! a fresh head checkpoint and the head chunk files come along, since the
//! WAL before a checkpoint may already be deleted;
//! the label index is a RocksDB checkpoint, taken after the WAL copy so it
//! knows every series the copied WAL refers to. Flush, compaction and
//! retention wait meanwhile, so the set of blocks and WAL segments holds still.

use std::path::Path;

use super::{Inner, Storage, BLOCKS_DIR, CHECKPOINT_FILE, CHUNKS_HEAD_DIR, INDEX_DIR, WAL_DIR};
use crate::error::IoContext;
use crate::{fs, Error, Result};

/// What a snapshot holds.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Blocks hard-linked.
    pub blocks: usize,
    /// WAL segments copied (0 when the head was skipped).
    pub wal_segments: usize,
    pub wal_bytes: u64,
}

impl Storage {
    /// Writes a consistent copy of the database to `dest`, which must not
    /// exist, on the same filesystem (blocks are hard-linked). Every sample
    /// acknowledged before the call is in it; `Storage::open(dest)` opens it
    /// as is. With `skip_head`, only what is already in blocks is kept (as
    /// Prometheus' `skip_head`): recent samples still in the head are not.
    pub fn snapshot(&self, dest: &Path, skip_head: bool) -> Result<SnapshotStats> {
        self.inner.check_open()?;
        self.inner.snapshot(dest, skip_head)
    }
}

impl Inner {
    fn snapshot(&self, dest: &Path, skip_head: bool) -> Result<SnapshotStats> {
        if dest.exists() {
            return Err(Error::InvalidOptions(format!("snapshot target {} exists", dest.display())));
        }
        let _maintenance = self.maintenance.lock();
        let mut stats = SnapshotStats::default();
        std::fs::create_dir_all(dest.join(BLOCKS_DIR)).context(|| format!("creating {}", dest.display()))?;

        let blocks = self.blocks.read().clone();
        for block in blocks.iter() {
            let Some(name) = block.dir().file_name() else { continue };
            let target = dest.join(BLOCKS_DIR).join(name);
            std::fs::create_dir(&target).context(|| format!("creating {}", target.display()))?;
            for entry in std::fs::read_dir(block.dir()).context(|| format!("listing {}", block.dir().display()))? {
                let entry = entry.context(|| format!("listing {}", block.dir().display()))?;
                let to = target.join(entry.file_name());
                std::fs::hard_link(entry.path(), &to)
                    .context(|| format!("linking {} to {}", entry.path().display(), to.display()))?;
            }
            fs::sync_dir(&target)?;
            stats.blocks += 1;
        }
        fs::sync_dir(&dest.join(BLOCKS_DIR))?;

        let wal_dest = dest.join(WAL_DIR);
        std::fs::create_dir_all(&wal_dest).context(|| format!("creating {}", wal_dest.display()))?;
        if !skip_head {
            // The WAL before the last head checkpoint may be gone: a fresh
            // checkpoint and the chunk files it points at carry the head up
            // to the segment it starts, the WAL copy the rest.
            self.copy_head_checkpoint(dest)?;
            // Everything written so far reaches the files (and the disk);
            // the copy ends exactly there, at a frame boundary, whatever
            // appends and segment rotations happen meanwhile.
            self.wal.sync()?;
            let end = self.wal.stats().synced;
            let wal_dir = self.dir.join(WAL_DIR);
            for segment in self.wal.segments()?.into_iter().filter(|&n| n <= end.segment) {
                let name = format!("{segment:08}.wal");
                let (from, to) = (wal_dir.join(&name), wal_dest.join(&name));
                let mut source = std::fs::File::open(&from).context(|| format!("opening {}", from.display()))?;
                let mut target = std::fs::File::create(&to).context(|| format!("creating {}", to.display()))?;
                let limit = if segment == end.segment { end.offset } else { u64::MAX };
                stats.wal_bytes += std::io::copy(&mut std::io::Read::take(&mut source, limit), &mut target)
                    .context(|| format!("copying {}", from.display()))?;
                fs::sync_file(&target, &to)?;
                stats.wal_segments += 1;
            }
        }
        fs::sync_dir(&wal_dest)?;

        self.index.checkpoint(&dest.join(INDEX_DIR))?;
        // Deletions so far hold in the snapshot too.
        let tombstones = self.dir.join(crate::tombstones::TOMBSTONES_FILE);
        if tombstones.exists() {
            copy_synced(&tombstones, &dest.join(crate::tombstones::TOMBSTONES_FILE))?;
        }
        fs::sync_dir(dest)?;
        Ok(stats)
    }

    /// Takes a head checkpoint and copies it, with the head chunk files,
    /// to `dest`. The caller holds the maintenance lock, so no flush
    /// deletes a chunk file meanwhile; the files may grow after the
    /// checkpoint, and opening the copy cuts them back to its lengths.
    fn copy_head_checkpoint(&self, dest: &Path) -> Result<()> {
        if self.checkpoint_holding_maintenance()?.is_none() {
            // Without a checkpoint the copy would need every WAL segment
            // since the first sample in the head, and those before the last
            // checkpoint may be gone.
            if self.last_checkpoint.segment() > 0 {
                return Err(Error::InvalidOptions(
                    "cannot snapshot the head: head chunks are held in memory after a failed write; \
                     retry once a flush has written them, or snapshot with skip_head"
                        .into(),
                ));
            }
            return Ok(());
        }
        let chunks_from = self.dir.join(CHUNKS_HEAD_DIR);
        let chunks_to = dest.join(CHUNKS_HEAD_DIR);
        std::fs::create_dir_all(&chunks_to).context(|| format!("creating {}", chunks_to.display()))?;
        for entry in std::fs::read_dir(&chunks_from).context(|| format!("listing {}", chunks_from.display()))? {
            let entry = entry.context(|| format!("listing {}", chunks_from.display()))?;
            copy_synced(&entry.path(), &chunks_to.join(entry.file_name()))?;
        }
        fs::sync_dir(&chunks_to)?;
        copy_synced(&self.dir.join(CHECKPOINT_FILE), &dest.join(CHECKPOINT_FILE))
    }
}

/// Copies `from` to `to` and fsyncs the copy.
fn copy_synced(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).context(|| format!("copying {} to {}", from.display(), to.display()))?;
    let copy = std::fs::File::open(to).context(|| format!("opening {}", to.display()))?;
    fs::sync_file(&copy, to)
}
