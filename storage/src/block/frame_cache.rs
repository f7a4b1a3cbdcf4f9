//! Decompressed block frames shared by every read of the process, so that
//! the same query asked again (a dashboard's refresh, a rule's next round)
//! does not decompress the same frames again: zstd was 11 % of a
//! `single-groupby-5-1-12` on compacted blocks, each query inflating the
//! 32 KiB rollup frame of the series it reads.
//!
//! A frame is known by its block's process-unique id, its file and its
//! offset; blocks are immutable, so an entry never goes stale (entries of
//! a deleted block are never asked for again and age out). Bounded by
//! bytes in two generations (`pulsedb_model::SharedGenerations`).

use std::sync::{Arc, OnceLock};

use pulsedb_model::SharedGenerations;

use super::reader::FrameFile;

/// (block id, file, frame offset).
pub(super) type FrameKey = (u64, FrameFile, u64);

type Frames = SharedGenerations<FrameKey, Arc<Vec<u8>>, foldhash::fast::RandomState>;

/// Decompressed bytes kept at most: 32 MiB, a thousand frames.
const BUDGET_BYTES: usize = 32 << 20;

fn shared() -> &'static Frames {
    static SHARED: OnceLock<Frames> = OnceLock::new();
    SHARED.get_or_init(|| SharedGenerations::new(BUDGET_BYTES, |raw| raw.len()))
}

/// The decompressed bytes of the frame `key`, if a read kept them.
pub(super) fn get(key: &FrameKey) -> Option<Arc<Vec<u8>>> {
    shared().get(key)
}

/// Keeps the decompressed bytes of the frame `key` (verified) for later reads.
pub(super) fn keep(key: FrameKey, raw: Arc<Vec<u8>>) {
    shared().keep(key, raw);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn frames_are_kept_by_block_file_and_offset() {
        let raw = Arc::new(vec![7u8; 1024]);
        keep((u64::MAX - 1, FrameFile::Chunks, 0), raw.clone());
        assert_eq!(get(&(u64::MAX - 1, FrameFile::Chunks, 0)).as_deref(), Some(&*raw));
        assert!(get(&(u64::MAX - 1, FrameFile::Rollups, 0)).is_none(), "files are told apart");
        assert!(get(&(u64::MAX - 2, FrameFile::Chunks, 0)).is_none(), "blocks are told apart");
    }
}
