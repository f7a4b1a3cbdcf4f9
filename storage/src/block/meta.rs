//! `meta.json` of a block: format version, time window, counts and
//! compaction lineage. Written last inside the temporary directory, so a
//! block directory under its real name always has a complete one.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::IoContext;
use crate::{fs, Error, Result};

pub(crate) const META_FILE: &str = "meta.json";

/// Versions of the block layout (`meta.json`, `index`, `chunks`); every
/// one is still read (`storage/docs/format/block.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub(crate) enum BlockVersion {
    /// Series entries hold chunk metas only.
    V1 = 1,
    /// Series entries also hold rollup blobs (1 min, 1 h).
    V2 = 2,
    /// V2's layout, with the block version in the `index` and `chunks`
    /// file headers too (V1 and V2 wrote 1 there).
    V3 = 3,
    /// V3 with each series' newest sample in its index entry, so the newest
    /// sample is read without decompressing a frame, and rollup blobs in a
    /// `rollups` file of their own, so reading them decompresses no chunk.
    V4 = 4,
    /// V4 whose sealed chunks may hold timestamps and decimal mantissas
    /// divided by their common divisor (timestamp forms 1-2, codecs 3-4).
    V5 = 5,
    /// V5 whose rollup blobs may derive a column from another (a
    /// counter's min and max from its first and last values) or leave it
    /// out (a gauge's correction), `storage/src/rollup/forms.rs`.
    V6 = 6,
    /// V6 whose sealed chunks escape long Rice codes with their bit length
    /// and bits, not all 64 bits (head bit 6, `storage/src/chunk/packed.rs`).
    V7 = 7,
}

impl BlockVersion {
    /// The version this build writes.
    pub(crate) const CURRENT: Self = Self::V7;

    pub(crate) fn has_rollups(self) -> bool {
        self >= Self::V2
    }

    /// Whether series entries end with their newest samples and rollup
    /// blobs are in the `rollups` file (not in `chunks`).
    pub(crate) fn has_newest_and_rollups_file(self) -> bool {
        self >= Self::V4
    }

    /// The version byte of the `index` and `chunks` file headers.
    pub(crate) fn file_header_version(self) -> u8 {
        match self {
            Self::V1 | Self::V2 => 1,
            Self::V3 => 3,
            Self::V4 => 4,
            Self::V5 => 5,
            Self::V6 => 6,
            Self::V7 => 7,
        }
    }
}

impl TryFrom<u64> for BlockVersion {
    /// The unknown version.
    type Error = u64;

    fn try_from(v: u64) -> std::result::Result<Self, u64> {
        match v {
            1 => Ok(Self::V1),
            2 => Ok(Self::V2),
            3 => Ok(Self::V3),
            4 => Ok(Self::V4),
            5 => Ok(Self::V5),
            6 => Ok(Self::V6),
            7 => Ok(Self::V7),
            other => Err(other),
        }
    }
}

/// Contents of `meta.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlockMeta {
    pub(crate) format_version: u32,
    /// Unique id (ULID) of this block.
    pub(crate) ulid: String,
    /// First millisecond of the block's window, inclusive.
    pub(crate) mint: i64,
    /// Last millisecond of the block's window, inclusive.
    pub(crate) maxt: i64,
    pub(crate) stats: BlockStats,
    pub(crate) compaction: Compaction,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlockStats {
    pub(crate) series: u64,
    pub(crate) chunks: u64,
    pub(crate) samples: u64,
    /// Smallest and largest sample timestamp (0 for an empty block).
    pub(crate) data_mint: i64,
    pub(crate) data_maxt: i64,
    /// Chunks per value codec name.
    pub(crate) codecs: BTreeMap<String, u64>,
    /// Bytes of rollup blobs (before frame compression); 0 in version 1 blocks.
    #[serde(default)]
    pub(crate) rollup_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Compaction {
    /// 1 for a block cut from the head, one more per compaction.
    pub(crate) level: u32,
    /// ULIDs of the blocks merged into this one; on open, any block listed
    /// here by another block is a leftover of an interrupted compaction.
    pub(crate) parents: Vec<String>,
}

impl BlockMeta {
    pub(crate) fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(META_FILE);
        let bytes = std::fs::read(&path).context(|| format!("reading {}", path.display()))?;
        // Check the version before the shape, so a future format says so.
        let version = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("format_version").and_then(|v| v.as_u64()));
        if let Some(Err(v)) = version.map(BlockVersion::try_from) {
            return Err(Error::UnsupportedVersion {
                file: path,
                version: u32::try_from(v).unwrap_or(u32::MAX),
                supported: BlockVersion::CURRENT as u32,
            });
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::corruption(&path, e.column() as u64, format!("meta.json does not parse: {e}")))
    }

    /// The layout version (checked by [`BlockMeta::read`]).
    pub(crate) fn version(&self) -> BlockVersion {
        BlockVersion::try_from(u64::from(self.format_version)).unwrap_or(BlockVersion::CURRENT)
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(META_FILE);
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| Error::io(format!("encoding {}", path.display()), e.into()))?;
        fs::write_synced(&path, &json)
    }

    /// Directory name: `<mint>-<maxt>-<ulid>`.
    pub(crate) fn dir_name(&self) -> String {
        format!("{}-{}-{}", self.mint, self.maxt, self.ulid)
    }
}

/// A new ULID: 48 bits of milliseconds and 80 bits that differ per call, in
/// Crockford base32, so block names sort by creation time.
pub(crate) fn new_ulid() -> String {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let random = RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed));
    let value: u128 = (u128::from(millis & ((1 << 48) - 1)) << 80)
        | (u128::from(random) << 16)
        | u128::from(COUNTER.load(Ordering::Relaxed) as u16);
    (0..26).rev().map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ulids_are_unique_and_sortable() {
        let a = new_ulid();
        let b = new_ulid();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
    }

    #[test]
    fn meta_round_trips_and_rejects_future_versions() {
        let dir = tempfile::tempdir().unwrap();
        let meta = BlockMeta {
            format_version: BlockVersion::CURRENT as u32,
            ulid: new_ulid(),
            mint: 0,
            maxt: 7_199_999,
            stats: BlockStats::default(),
            compaction: Compaction { level: 1, parents: vec![] },
        };
        meta.write(dir.path()).unwrap();
        assert_eq!(BlockMeta::read(dir.path()).unwrap(), meta);
        std::fs::write(dir.path().join(META_FILE), br#"{"format_version": 9}"#).unwrap();
        assert!(matches!(BlockMeta::read(dir.path()), Err(Error::UnsupportedVersion { version: 9, .. })));
        std::fs::write(dir.path().join(META_FILE), br#"{"format_version": 1, "ulid": "#).unwrap();
        assert!(matches!(BlockMeta::read(dir.path()), Err(Error::Corruption { .. })));
    }
}
