//! Deleted time ranges per series (Prometheus' tombstones), from the admin
//! API's delete. Reads leave deleted samples out at once; flushes and
//! compactions leave them out of the blocks they write; retention forgets
//! ranges older than everything kept. One file, `tombstones`, rewritten whole
//! on each delete (temporary file, fsync, rename, directory fsync), so a
//! delete is durable when it returns. Layout in `docs/format/tombstones.md`:
//!
//! ```text
//! "PBTS" | version u8 | 3 zero bytes | count u32 | (ref u64 | mint i64 | maxt i64) * count | crc32 u32
//! ```
#![deny(clippy::indexing_slicing)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;

use crate::codec::ByteReader;
use crate::{fs, Error, Result, Sample, SeriesRef};

pub(crate) const TOMBSTONES_FILE: &str = "tombstones";
const MAGIC: &[u8; 4] = b"PBTS";

/// Versions of the tombstones file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum TombstonesVersion {
    V1 = 1,
}

impl TryFrom<u8> for TombstonesVersion {
    type Error = u8;

    fn try_from(v: u8) -> std::result::Result<Self, u8> {
        match v {
            1 => Ok(Self::V1),
            other => Err(other),
        }
    }
}

/// Deleted ranges, inclusive, per series; kept sorted and merged.
type Ranges = HashMap<SeriesRef, Vec<(i64, i64)>>;

#[derive(Debug)]
pub(crate) struct Tombstones {
    path: PathBuf,
    ranges: RwLock<Ranges>,
}

impl Tombstones {
    /// Reads `dir/tombstones` if it exists.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(TOMBSTONES_FILE);
        let ranges = match std::fs::read(&path) {
            Ok(bytes) => decode(&bytes).map_err(|(offset, reason)| Error::corruption(&path, offset, reason))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ranges::new(),
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        Ok(Self { path, ranges: RwLock::new(ranges) })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.read().is_empty()
    }

    /// Deletes `[mint, maxt]` of every series in `refs`, durably.
    pub(crate) fn add(&self, refs: &[SeriesRef], mint: i64, maxt: i64) -> Result<()> {
        let mut ranges = self.ranges.write();
        let mut next = ranges.clone();
        for &r in refs {
            insert(next.entry(r).or_default(), (mint, maxt));
        }
        self.persist(&next)?;
        *ranges = next;
        Ok(())
    }

    /// Forgets ranges that end before `t` (nothing older is kept).
    pub(crate) fn drop_before(&self, t: i64) -> Result<()> {
        let mut ranges = self.ranges.write();
        if !ranges.values().flatten().any(|&(_, maxt)| maxt < t) {
            return Ok(());
        }
        let mut next = ranges.clone();
        next.values_mut().for_each(|v| v.retain(|&(_, maxt)| maxt >= t));
        next.retain(|_, v| !v.is_empty());
        self.persist(&next)?;
        *ranges = next;
        Ok(())
    }

    /// Forgets the ranges of series that no longer exist anywhere.
    pub(crate) fn forget(&self, refs: &[SeriesRef]) -> Result<()> {
        let mut ranges = self.ranges.write();
        if !refs.iter().any(|r| ranges.contains_key(r)) {
            return Ok(());
        }
        let mut next = ranges.clone();
        for r in refs {
            next.remove(r);
        }
        self.persist(&next)?;
        *ranges = next;
        Ok(())
    }

    /// Whether a deleted range of `sref` overlaps `[mint, maxt]`.
    pub(crate) fn overlaps(&self, sref: SeriesRef, mint: i64, maxt: i64) -> bool {
        self.ranges.read().get(&sref).is_some_and(|v| v.iter().any(|&(a, b)| a <= maxt && b >= mint))
    }

    /// Removes deleted samples of `sref` from `samples`.
    pub(crate) fn filter(&self, sref: SeriesRef, samples: &mut Vec<Sample>) {
        if let Some(deleted) = self.ranges.read().get(&sref) {
            samples.retain(|s| !deleted.iter().any(|&(a, b)| s.t >= a && s.t <= b));
        }
    }

    fn persist(&self, ranges: &Ranges) -> Result<()> {
        let tmp = self.path.with_extension("tmp");
        fs::write_synced(&tmp, &encode(ranges))?;
        fs::rename_durable(&tmp, &self.path)
    }
}

/// Adds `(a, b)` to sorted, disjoint ranges, merging what overlaps or touches.
fn insert(ranges: &mut Vec<(i64, i64)>, (a, b): (i64, i64)) {
    ranges.push((a, b));
    ranges.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for &(a, b) in ranges.iter() {
        match merged.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    *ranges = merged;
}

fn encode(ranges: &Ranges) -> Vec<u8> {
    let mut entries: Vec<(u64, i64, i64)> =
        ranges.iter().flat_map(|(r, v)| v.iter().map(move |&(a, b)| (r.0, a, b))).collect();
    entries.sort_unstable();
    let mut out = Vec::with_capacity(16 + entries.len() * 24);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[TombstonesVersion::V1 as u8, 0, 0, 0]);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (r, a, b) in entries {
        out.extend_from_slice(&r.to_le_bytes());
        out.extend_from_slice(&a.to_le_bytes());
        out.extend_from_slice(&b.to_le_bytes());
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a file; the error is the offset and what is wrong there.
fn decode(bytes: &[u8]) -> std::result::Result<Ranges, (u64, String)> {
    let body_len = bytes.len().checked_sub(4).ok_or((0, "shorter than a header".to_string()))?;
    let (body, crc) = bytes.split_at(body_len);
    let mut r = ByteReader::new(body);
    let err = |e: crate::codec::DecodeError| (e.offset as u64, e.to_string());
    if r.take(4, "magic").map_err(err)? != MAGIC {
        return Err((0, "bad magic, expected \"PBTS\"".into()));
    }
    let version = r.take(4, "version").map_err(err)?;
    if let Some(&v) = version.first() {
        TombstonesVersion::try_from(v).map_err(|v| (4, format!("unsupported tombstones version {v}")))?;
    }
    let mut want = [0u8; 4];
    want.copy_from_slice(crc);
    if crc32fast::hash(body) != u32::from_le_bytes(want) {
        return Err((body_len as u64, "checksum mismatch".into()));
    }
    let count = r.u32_le("count").map_err(err)? as usize;
    if count > r.remaining() / 24 {
        return Err((8, format!("{count} entries do not fit in the file")));
    }
    let mut ranges = Ranges::new();
    for _ in 0..count {
        let mut field = |what| -> std::result::Result<[u8; 8], (u64, String)> {
            let mut b = [0u8; 8];
            b.copy_from_slice(r.take(8, what).map_err(err)?);
            Ok(b)
        };
        let sref = SeriesRef(u64::from_le_bytes(field("ref")?));
        let (a, b) = (i64::from_le_bytes(field("mint")?), i64::from_le_bytes(field("maxt")?));
        insert(ranges.entry(sref).or_default(), (a, b));
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ranges_merge_persist_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let t = Tombstones::open(dir.path()).unwrap();
        assert!(t.is_empty());
        t.add(&[SeriesRef(1), SeriesRef(2)], 10, 20).unwrap();
        t.add(&[SeriesRef(1)], 21, 30).unwrap();
        t.add(&[SeriesRef(1)], 100, 200).unwrap();
        let again = Tombstones::open(dir.path()).unwrap();
        assert_eq!(again.ranges.read()[&SeriesRef(1)], vec![(10, 30), (100, 200)]);
        let mut samples: Vec<Sample> = (0..40).map(|t| Sample::new(t, 1.0)).collect();
        again.filter(SeriesRef(1), &mut samples);
        assert_eq!(samples.len(), 40 - 21);
        assert!(again.overlaps(SeriesRef(2), 0, 10) && !again.overlaps(SeriesRef(2), 21, 99));
        again.drop_before(50).unwrap();
        assert_eq!(Tombstones::open(dir.path()).unwrap().ranges.read()[&SeriesRef(1)], vec![(100, 200)]);
    }

    #[test]
    fn damage_is_corruption_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        Tombstones::open(dir.path()).unwrap().add(&[SeriesRef(7)], 1, 2).unwrap();
        let path = dir.path().join(TOMBSTONES_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[14] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = Tombstones::open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Corruption { .. }), "{err}");
        assert!(err.to_string().contains("tombstones"), "{err}");
    }

    /// A file written by version 1, checked in and never regenerated.
    #[test]
    fn the_version_1_golden_file_reads() {
        let dir = std::path::Path::new(
            &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
        )
        .join("testdata/tombstones-v1");
        let t = Tombstones::open(&dir).unwrap();
        assert_eq!(t.ranges.read()[&SeriesRef(1)], vec![(10, 30), (100, 200)]);
        assert_eq!(t.ranges.read()[&SeriesRef(7)], vec![(-5, 5)]);
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn files_round_trip(entries in proptest::collection::vec((0u64..5, -100i64..100, 0i64..50), 0..20)) {
            let mut ranges = Ranges::new();
            for (r, a, len) in entries {
                insert(ranges.entry(SeriesRef(r)).or_default(), (a, a + len));
            }
            prop_assert_eq!(decode(&encode(&ranges)).unwrap(), ranges);
        }
    }
}
