//! The head checkpoint file (`head.checkpoint` in the data directory): what
//! a restart needs of the head besides the closed chunks already in
//! `chunks_head/`, as of a WAL segment boundary. Replay then reads only the
//! segments from that boundary on. Layout in
//! `storage/docs/format/head-checkpoint.md`:
//!
//! ```text
//! file   := "PBCK" | version u8 | 3 zero bytes | body | crc32 u32 (of all before it)
//! body   := wal segment u64 | flushed_until i64 | maxt i64
//!           | windows u32 | (window i64 | file length u64)*
//!           | series u64 | series*
//! series := ref u64 | newest i64 | key length u32 | key
//!           | open count u16 | open length u32 | open chunk bytes
//!           | out-of-order count u32 | (t i64 | value bits u64)*
//! ```
//! All integers little-endian. This module encodes and decodes; taking a
//! checkpoint is `engine/checkpoint.rs`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::{Error, Result, Sample, SeriesRef};

pub(crate) const CHECKPOINT_MAGIC: &[u8; 4] = b"PBCK";

/// Versions of the checkpoint layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum CheckpointVersion {
    V1 = 1,
}

impl CheckpointVersion {
    pub(crate) const CURRENT: Self = Self::V1;
}

/// Where the checkpoint starts, before its series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckpointHeader {
    /// Every WAL frame before this segment is in the checkpoint.
    pub(crate) wal_segment: u64,
    pub(crate) flushed_until: i64,
    pub(crate) maxt: i64,
    /// Length of each window's head chunk file, fsynced.
    pub(crate) lengths: BTreeMap<i64, u64>,
}

/// One series as the checkpoint holds it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CheckpointSeries<'a> {
    pub(crate) sref: SeriesRef,
    pub(crate) newest: i64,
    pub(crate) key: &'a [u8],
    pub(crate) open_count: u16,
    pub(crate) open: &'a [u8],
    pub(crate) ooo: Vec<Sample>,
}

/// Writes a checkpoint file to `W` as it goes (nothing of it is held in
/// memory), keeping its length and checksum.
pub(crate) struct CheckpointWriter<W: Write> {
    out: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> CheckpointWriter<W> {
    /// Starts a checkpoint of `series` series.
    pub(crate) fn new(out: W, header: &CheckpointHeader, series: u64) -> std::io::Result<Self> {
        let mut w = Self { out, crc: crc32fast::Hasher::new(), len: 0 };
        w.put(CHECKPOINT_MAGIC)?;
        w.put(&[CheckpointVersion::CURRENT as u8, 0, 0, 0])?;
        w.put(&header.wal_segment.to_le_bytes())?;
        w.put(&header.flushed_until.to_le_bytes())?;
        w.put(&header.maxt.to_le_bytes())?;
        w.put(&(header.lengths.len() as u32).to_le_bytes())?;
        for (window, len) in &header.lengths {
            w.put(&window.to_le_bytes())?;
            w.put(&len.to_le_bytes())?;
        }
        w.put(&series.to_le_bytes())?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.crc.update(bytes);
        self.len += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    /// Writes one series; exactly as many as `new` announced must follow.
    pub(crate) fn series(&mut self, s: &CheckpointSeries<'_>) -> std::io::Result<()> {
        self.put(&s.sref.0.to_le_bytes())?;
        self.put(&s.newest.to_le_bytes())?;
        self.put(&(s.key.len() as u32).to_le_bytes())?;
        self.put(s.key)?;
        self.put(&s.open_count.to_le_bytes())?;
        self.put(&(s.open.len() as u32).to_le_bytes())?;
        self.put(s.open)?;
        self.put(&(s.ooo.len() as u32).to_le_bytes())?;
        for sample in &s.ooo {
            self.put(&sample.t.to_le_bytes())?;
            self.put(&sample.v.to_bits().to_le_bytes())?;
        }
        Ok(())
    }

    /// Writes the checksum; returns the writer and the file's length.
    pub(crate) fn finish(mut self) -> std::io::Result<(W, u64)> {
        let crc = self.crc.clone().finalize();
        self.put(&crc.to_le_bytes())?;
        Ok((self.out, self.len))
    }

    /// The writer, for a test that stops halfway.
    #[cfg(any(test, feature = "fault-injection"))]
    pub(crate) fn inner(&mut self) -> &mut W {
        &mut self.out
    }
}

/// A cursor over a checkpoint's bytes; every read names the offset of what
/// it could not read.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], (u64, String)> {
        let out = self
            .bytes
            .get(self.at..self.at.saturating_add(n))
            .ok_or_else(|| (self.at as u64, format!("checkpoint ends inside {what}")))?;
        self.at += n;
        Ok(out)
    }

    fn u64(&mut self, what: &str) -> std::result::Result<u64, (u64, String)> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    fn u32(&mut self, what: &str) -> std::result::Result<u32, (u64, String)> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u16(&mut self, what: &str) -> std::result::Result<u16, (u64, String)> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
}

/// A checkpoint file read and checked whole.
pub(crate) struct Checkpoint {
    bytes: Vec<u8>,
    pub(crate) header: CheckpointHeader,
    /// Offset of the first series, and how many there are.
    series_at: usize,
    series_count: u64,
}

impl Checkpoint {
    /// Reads `path`; `Ok(None)` when there is none.
    pub(crate) fn read(path: &Path) -> Result<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        Self::parse(bytes).map(Some).map_err(|(at, kind)| Error::corruption(path, at, kind))
    }

    fn parse(bytes: Vec<u8>) -> std::result::Result<Self, (u64, String)> {
        let body_len =
            bytes.len().checked_sub(4).filter(|&n| n >= 8).ok_or((0, "checkpoint is cut short".to_string()))?;
        let (body, crc) = bytes.split_at(body_len);
        if crc != crc32fast::hash(body).to_le_bytes() {
            return Err((body_len as u64, "checkpoint checksum mismatch".into()));
        }
        if &body[..4] != CHECKPOINT_MAGIC {
            return Err((0, "not a head checkpoint (bad magic)".into()));
        }
        if body[4] != CheckpointVersion::CURRENT as u8 {
            return Err((4, format!("unsupported head checkpoint version {}", body[4])));
        }
        let mut c = Cursor { bytes: body, at: 8 };
        let wal_segment = c.u64("the WAL segment")?;
        let flushed_until = c.u64("flushed_until")? as i64;
        let maxt = c.u64("maxt")? as i64;
        let windows = c.u32("the window count")?;
        let mut lengths = BTreeMap::new();
        for _ in 0..windows {
            let window = c.u64("a window")? as i64;
            lengths.insert(window, c.u64("a window's length")?);
        }
        let series_count = c.u64("the series count")?;
        let series_at = c.at;
        let header = CheckpointHeader { wal_segment, flushed_until, maxt, lengths };
        let checkpoint = Self { bytes, header, series_at, series_count };
        // Walk the series once, so a bad one is found before any is used.
        checkpoint.for_each_series(|_| Ok(()))?;
        Ok(checkpoint)
    }

    /// Calls `f` with each series, in the order written.
    pub(crate) fn for_each_series(
        &self,
        mut f: impl FnMut(CheckpointSeries<'_>) -> std::result::Result<(), (u64, String)>,
    ) -> std::result::Result<(), (u64, String)> {
        let body = self.bytes.get(..self.bytes.len().saturating_sub(4)).unwrap_or_default();
        let mut c = Cursor { bytes: body, at: self.series_at };
        for _ in 0..self.series_count {
            let at = c.at as u64;
            let sref = SeriesRef(c.u64("a series ref")?);
            let newest = c.u64("a series' newest timestamp")? as i64;
            let key_len = c.u32("a key length")? as usize;
            let key = c.take(key_len, "a series key")?;
            let open_count = c.u16("an open chunk count")?;
            let open_len = c.u32("an open chunk length")? as usize;
            let open = c.take(open_len, "an open chunk")?;
            let ooo_count = c.u32("an out-of-order count")? as usize;
            let raw = c.take(ooo_count.saturating_mul(16), "out-of-order samples")?;
            let ooo = raw
                .chunks_exact(16)
                .map(|s| {
                    let word = |i: usize| u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7].map(|k| s[i + k]));
                    Sample { t: word(0) as i64, v: f64::from_bits(word(8)) }
                })
                .collect();
            f(CheckpointSeries { sref, newest, key, open_count, open, ooo }).map_err(|(_, kind)| (at, kind))?;
        }
        if c.at != body.len() {
            return Err((c.at as u64, "bytes after the last series of the checkpoint".into()));
        }
        Ok(())
    }

    pub(crate) fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn header() -> CheckpointHeader {
        CheckpointHeader { wal_segment: 7, flushed_until: -5, maxt: 99, lengths: BTreeMap::from([(3, 100), (4, 8)]) }
    }

    fn sample_file() -> Vec<u8> {
        let mut w = CheckpointWriter::new(Vec::new(), &header(), 2).unwrap();
        w.series(&CheckpointSeries {
            sref: SeriesRef(1),
            newest: 42,
            key: b"abc",
            open_count: 2,
            open: &[1, 2, 3],
            ooo: vec![Sample::new(5, f64::NAN)],
        })
        .unwrap();
        w.series(&CheckpointSeries {
            sref: SeriesRef(9),
            newest: i64::MIN,
            key: b"",
            open_count: 0,
            open: &[],
            ooo: vec![],
        })
        .unwrap();
        let (file, len) = w.finish().unwrap();
        assert_eq!(len, file.len() as u64);
        file
    }

    #[test]
    fn round_trip() {
        let c = Checkpoint::parse(sample_file()).unwrap();
        assert_eq!(c.header, header());
        let mut seen = Vec::new();
        c.for_each_series(|s| {
            seen.push((s.sref, s.newest, s.key.to_vec(), s.open_count, s.open.to_vec(), s.ooo.len()));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen[0], (SeriesRef(1), 42, b"abc".to_vec(), 2, vec![1, 2, 3], 1));
        assert_eq!(seen[1].0, SeriesRef(9));
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_an_error() {
        let file = sample_file();
        for n in 0..file.len() {
            assert!(Checkpoint::parse(file[..n].to_vec()).is_err(), "cut at {n}");
            let mut damaged = file.clone();
            damaged[n] ^= 0x10;
            assert!(Checkpoint::parse(damaged).is_err(), "flipped byte {n}");
        }
    }

    #[test]
    fn a_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Checkpoint::read(&dir.path().join("head.checkpoint")).unwrap().is_none());
    }
}
