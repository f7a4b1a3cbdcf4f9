//! Decompressed block frames shared by every read of the process, so that
//! the same query asked again (a dashboard's refresh, a rule's next round)
//! does not decompress the same frames again: zstd was 11 % of a
//! `single-groupby-5-1-12` on compacted blocks, each query inflating the
//! 32 KiB rollup frame of the series it reads.
//!
//! A frame is known by its block's process-unique id, its file and its
//! offset; blocks are immutable, so an entry never goes stale (entries of
//! a deleted block are never asked for again and age out). Bounded by
//! bytes with two generations, as the label key cache: lookups promote
//! from the older one, and when the newer holds half the budget the older
//! is dropped whole.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::reader::FrameFile;

/// (block id, file, frame offset).
pub(super) type FrameKey = (u64, FrameFile, u64);

type Map = HashMap<FrameKey, Arc<Vec<u8>>, foldhash::fast::RandomState>;

/// Decompressed bytes kept at most: 32 MiB, a thousand frames.
const BUDGET_BYTES: usize = 32 << 20;

static SHARED: Mutex<Generations> = Mutex::new(Generations::new());

struct Generations {
    current: Option<Map>,
    previous: Option<Map>,
    current_bytes: usize,
}

impl Generations {
    const fn new() -> Self {
        Self { current: None, previous: None, current_bytes: 0 }
    }

    fn get(&mut self, key: &FrameKey) -> Option<Arc<Vec<u8>>> {
        if let Some(raw) = self.current.as_ref().and_then(|m| m.get(key)) {
            return Some(raw.clone());
        }
        let raw = self.previous.as_mut()?.remove(key)?;
        self.insert(*key, raw.clone());
        Some(raw)
    }

    fn insert(&mut self, key: FrameKey, raw: Arc<Vec<u8>>) {
        let len = raw.len();
        // Two reads missing the same frame both insert it: a replaced
        // entry adds no bytes.
        if self.current.get_or_insert_with(Map::default).insert(key, raw).is_none() {
            self.current_bytes += len;
        }
        if self.current_bytes >= BUDGET_BYTES / 2 {
            self.previous = self.current.take();
            self.current_bytes = 0;
        }
    }
}

/// The decompressed bytes of the frame `key`, if a read kept them.
pub(super) fn get(key: &FrameKey) -> Option<Arc<Vec<u8>>> {
    SHARED.lock().get(key)
}

/// Keeps the decompressed bytes of the frame `key` (verified) for later reads.
pub(super) fn keep(key: FrameKey, raw: Arc<Vec<u8>>) {
    SHARED.lock().insert(key, raw);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generations_keep_what_is_asked_for_and_stay_bounded() {
        let mut g = Generations::new();
        let frame = |i: u64| (u64::MAX - 1, FrameFile::Chunks, i);
        let raw = Arc::new(vec![7u8; 1 << 20]);
        g.insert(frame(0), raw.clone());
        // Fill past one generation while asking for frame 0 now and then.
        for i in 1..100 {
            g.insert(frame(i), raw.clone());
            if i % 8 == 0 {
                assert!(g.get(&frame(0)).is_some(), "frame 0 lost at {i}");
            }
        }
        assert!(g.get(&frame(0)).is_some());
        assert!(g.get(&frame(1)).is_none(), "an old frame never asked for again is dropped");
        let kept = g.current.as_ref().map_or(0, Map::len) + g.previous.as_ref().map_or(0, Map::len);
        assert!(kept * (1 << 20) <= BUDGET_BYTES, "{kept} frames kept");
        assert!(g.get(&(u64::MAX - 1, FrameFile::Rollups, 0)).is_none(), "files are told apart");
    }
}
