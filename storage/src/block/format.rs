//! Byte layout of a block's `chunks` and `index` files, as pure encoders
//! and decoders (the writer and reader do the I/O). Documented with
//! diagrams in `storage/docs/format/block.md`; all integers little-endian.
//!
//! ```text
//! chunks: "PBCH" | version u8 | 3 zero bytes | frame*     (version: the block's, 1 before block version 3)
//! rollups: "PBRU" | version u8 | 3 zero bytes | frame*    (block version 4 on; rollup blobs)
//! frame:  kind u8 (0 raw, 1 zstd) | stored_len u32 | raw_len u32 | crc32(stored) u32 | stored bytes
//! index:  "PBIX" | version u8 | 3 zero bytes | series entry* | table | footer
//! table:  (ref u64 | entry offset u64) per series, sorted by ref
//! footer: table offset u64 | series count u64 | crc32(all bytes before this field) u32 | "PBIX"
//! ```
#![deny(clippy::indexing_slicing)]

use pulsedb_model::{is_stale_nan, Newest};

use super::meta::BlockVersion;
use crate::chunk::Codec;
use crate::codec::{put_uvarint, put_varint, ByteReader, DecodeError};
use crate::Sample;

pub(crate) const CHUNKS_FILE: &str = "chunks";
/// Rollup blobs' frames (format 4; before, they share `chunks`).
pub(crate) const ROLLUPS_FILE: &str = "rollups";
pub(crate) const INDEX_FILE: &str = "index";
pub(crate) const CHUNKS_MAGIC: &[u8; 4] = b"PBCH";
pub(crate) const INDEX_MAGIC: &[u8; 4] = b"PBIX";
pub(crate) const ROLLUPS_MAGIC: &[u8; 4] = b"PBRU";
pub(crate) const FILE_HEADER_LEN: usize = 8;
pub(crate) const FOOTER_LEN: usize = 24;
pub(crate) const TABLE_ENTRY_LEN: usize = 16;
/// Frames are cut once their raw contents reach this size.
pub(crate) const FRAME_TARGET: usize = 32 << 10;
/// Decoders refuse frames claiming more than this (guards allocations).
pub(crate) const MAX_FRAME_RAW: usize = 64 << 20;

pub(crate) fn file_header(magic: &[u8; 4], version: BlockVersion) -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[..4].copy_from_slice(magic);
    h[4] = version.file_header_version();
    h
}

/// Checks a file header of a block of `version` (from its `meta.json`);
/// `Err` says what is wrong.
pub(crate) fn check_header(bytes: &[u8], magic: &[u8; 4], version: BlockVersion) -> Result<(), String> {
    let header = bytes.get(..FILE_HEADER_LEN).ok_or("file shorter than its header")?;
    if header.get(..4) != Some(magic.as_slice()) {
        return Err(format!("bad magic, expected {:?}", String::from_utf8_lossy(magic)));
    }
    let want = version.file_header_version();
    match header.get(4) {
        Some(&v) if v == want => Ok(()),
        Some(v) => {
            Err(format!("file version {v}, but meta.json says block version {} (file version {want})", version as u32))
        }
        None => Err("file shorter than its header".into()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum FrameKind {
    Raw = 0,
    Zstd = 1,
}

/// Encodes a frame of `raw` bytes, compressed when that makes it smaller.
pub(crate) fn encode_frame(raw: &[u8], zstd_level: i32, out: &mut Vec<u8>) {
    let compressed = zstd::bulk::compress(raw, zstd_level).ok().filter(|c| c.len() < raw.len());
    let (kind, stored) = match &compressed {
        Some(c) => (FrameKind::Zstd, c.as_slice()),
        None => (FrameKind::Raw, raw),
    };
    out.push(kind as u8);
    out.extend_from_slice(&(stored.len() as u32).to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(stored).to_le_bytes());
    out.extend_from_slice(stored);
}

/// A frame located in a chunks file: its kind, stored bytes and raw size,
/// checksum verified.
pub(crate) struct FrameRef<'a> {
    pub(crate) kind: FrameKind,
    pub(crate) stored: &'a [u8],
    pub(crate) raw_len: usize,
}

pub(crate) fn read_frame(file: &[u8], offset: usize) -> Result<FrameRef<'_>, DecodeError> {
    let bytes = file.get(offset..).ok_or(DecodeError { what: "frame", offset, reason: "offset past end of file" })?;
    let mut r = ByteReader::new(bytes);
    let err = |what, reason| DecodeError { what, offset, reason };
    let kind = match r.u8("frame kind")? {
        0 => FrameKind::Raw,
        1 => FrameKind::Zstd,
        _ => return Err(err("frame kind", "unknown frame kind")),
    };
    let stored_len = r.u32_le("frame stored length")? as usize;
    let raw_len = r.u32_le("frame raw length")? as usize;
    let crc = r.u32_le("frame checksum")?;
    if raw_len > MAX_FRAME_RAW || (kind == FrameKind::Raw && stored_len != raw_len) {
        return Err(err("frame length", "impossible frame length"));
    }
    let stored = r.take(stored_len, "frame bytes").map_err(|_| err("frame bytes", "frame runs past end of file"))?;
    if crc32fast::hash(stored) != crc {
        return Err(err("frame", "checksum mismatch"));
    }
    Ok(FrameRef { kind, stored, raw_len })
}

/// Where a chunk lives and what it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChunkMeta {
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
    pub(crate) samples: u32,
    pub(crate) codec: Codec,
    /// File offset of the frame holding the chunk.
    pub(crate) frame: u64,
    /// Offset and length of the chunk inside the frame's raw bytes.
    pub(crate) offset: u32,
    pub(crate) len: u32,
}

/// Where a series' rollup blob of one resolution lives (format 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RollupRef {
    /// Bucket width in milliseconds.
    pub(crate) resolution: i64,
    pub(crate) frame: u64,
    pub(crate) offset: u32,
    pub(crate) len: u32,
}

/// A series' newest samples in a block (format 4): the newest one, and the
/// newest that is not a staleness marker, so newest-sample reads need no
/// chunk. `last.t` is the last chunk's `maxt`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct EntryNewest {
    pub(crate) last: Sample,
    pub(crate) fresh: Option<Sample>,
}

impl EntryNewest {
    /// From time-ordered samples; `None` when there are none.
    pub(crate) fn of(samples: &[Sample]) -> Option<Self> {
        let last = *samples.last()?;
        let fresh = samples.iter().rev().find(|s| !is_stale_nan(s.v)).copied();
        Some(Self { last, fresh })
    }

    /// Its newest sample that `which` accepts.
    pub(crate) fn get(&self, which: Newest) -> Option<Sample> {
        match which {
            Newest::Any => Some(self.last),
            Newest::NotStale => self.fresh,
        }
    }
}

/// Series entry: `count uvarint` then per chunk
/// `mint varint (first absolute, then delta from previous maxt) | maxt-mint uvarint |
///  samples uvarint | codec u8 | frame (first absolute uvarint, then delta uvarint) |
///  offset uvarint | len uvarint`.
///
/// Format 2 appends the rollups: `n uvarint` then per resolution
/// `resolution uvarint (ms) | frame uvarint | offset uvarint | len uvarint`.
///
/// Format 4 appends the newest samples: `last value u64 | fresh u8` (0: no
/// sample that is not a staleness marker; 1: the newest such follows as
/// `last t - t uvarint | value u64`; 2: it is the last sample).
pub(crate) fn encode_series_entry(
    chunks: &[ChunkMeta],
    rollups: &[RollupRef],
    newest: &EntryNewest,
    out: &mut Vec<u8>,
) {
    put_uvarint(out, chunks.len() as u64);
    let (mut prev_maxt, mut prev_frame) = (0i64, 0u64);
    for c in chunks {
        put_varint(out, c.mint.wrapping_sub(prev_maxt));
        put_uvarint(out, c.maxt.wrapping_sub(c.mint) as u64);
        put_uvarint(out, u64::from(c.samples));
        out.push(c.codec as u8);
        put_uvarint(out, c.frame.wrapping_sub(prev_frame));
        put_uvarint(out, u64::from(c.offset));
        put_uvarint(out, u64::from(c.len));
        prev_maxt = c.maxt;
        prev_frame = c.frame;
    }
    put_uvarint(out, rollups.len() as u64);
    for r in rollups {
        put_uvarint(out, r.resolution as u64);
        put_uvarint(out, r.frame);
        put_uvarint(out, u64::from(r.offset));
        put_uvarint(out, u64::from(r.len));
    }
    out.extend_from_slice(&newest.last.v.to_bits().to_le_bytes());
    match newest.fresh {
        None => out.push(0),
        Some(f) if f.t == newest.last.t => out.push(2),
        Some(f) => {
            out.push(1);
            put_uvarint(out, newest.last.t.wrapping_sub(f.t) as u64);
            out.extend_from_slice(&f.v.to_bits().to_le_bytes());
        }
    }
}

/// What a series entry holds besides its chunk list, by block version.
#[derive(Debug, Default)]
pub(crate) struct EntryExtras {
    /// Format 2+: where its rollup blobs are.
    pub(crate) rollups: Vec<RollupRef>,
    /// Format 4+: its newest samples.
    pub(crate) newest: Option<EntryNewest>,
}

/// Decodes a series entry of a block of `version`; `extras`, when given,
/// receives what the version holds besides the chunk list.
pub(crate) fn decode_series_entry(
    bytes: &[u8],
    version: BlockVersion,
    out: &mut Vec<ChunkMeta>,
    extras: Option<&mut EntryExtras>,
) -> Result<(), DecodeError> {
    let mut r = ByteReader::new(bytes);
    let count = r.len("chunk count", r.remaining())?;
    out.reserve(count);
    let (mut prev_maxt, mut prev_frame) = (0i64, 0u64);
    for _ in 0..count {
        let mint = prev_maxt.wrapping_add(r.varint("chunk mint")?);
        let maxt = mint.wrapping_add(r.uvarint("chunk maxt")? as i64);
        let samples = u32::try_from(r.uvarint("chunk samples")?).unwrap_or(u32::MAX);
        let at = r.position();
        let codec = Codec::try_from(r.u8("chunk codec")?).map_err(|_| DecodeError {
            what: "chunk codec",
            offset: at,
            reason: "unknown codec",
        })?;
        let frame = prev_frame.wrapping_add(r.uvarint("chunk frame")?);
        let offset = u32::try_from(r.uvarint("chunk offset")?).unwrap_or(u32::MAX);
        let len = u32::try_from(r.uvarint("chunk length")?).unwrap_or(u32::MAX);
        out.push(ChunkMeta { mint, maxt, samples, codec, frame, offset, len });
        prev_maxt = maxt;
        prev_frame = frame;
    }
    let Some(extras) = extras else { return Ok(()) };
    extras.rollups.clear();
    extras.newest = None;
    if !version.has_rollups() {
        return Ok(());
    }
    let n = r.len("rollup count", 8)?;
    for _ in 0..n {
        let resolution = i64::try_from(r.uvarint("rollup resolution")?).unwrap_or(i64::MAX);
        let frame = r.uvarint("rollup frame")?;
        let offset = u32::try_from(r.uvarint("rollup offset")?).unwrap_or(u32::MAX);
        let len = u32::try_from(r.uvarint("rollup length")?).unwrap_or(u32::MAX);
        extras.rollups.push(RollupRef { resolution, frame, offset, len });
    }
    if version.has_newest_and_rollups_file() {
        let Some(last_chunk) = out.last() else {
            return Err(DecodeError { what: "series entry", offset: r.position(), reason: "no chunks" });
        };
        let last = Sample { t: last_chunk.maxt, v: f64::from_bits(r.u64_le("newest value")?) };
        let at = r.position();
        let fresh = match r.u8("newest fresh flag")? {
            0 => None,
            1 => {
                let t = last.t.wrapping_sub(r.uvarint("newest fresh time")? as i64);
                Some(Sample { t, v: f64::from_bits(r.u64_le("newest fresh value")?) })
            }
            2 => Some(last),
            _ => return Err(DecodeError { what: "newest fresh flag", offset: at, reason: "unknown flag" }),
        };
        extras.newest = Some(EntryNewest { last, fresh });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_round_trip_and_detect_damage() {
        let raw: Vec<u8> = (0..5000u32).flat_map(|i| (i % 7).to_le_bytes()).collect();
        let mut file = Vec::new();
        encode_frame(&raw, 3, &mut file);
        let frame = read_frame(&file, 0).unwrap();
        assert_eq!(frame.kind, FrameKind::Zstd);
        assert_eq!(zstd::bulk::decompress(frame.stored, frame.raw_len).unwrap(), raw);
        let mut damaged = file.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert_eq!(read_frame(&damaged, 0).err().map(|e| e.reason), Some("checksum mismatch"));
        assert!(read_frame(&file[..file.len() - 1], 0).is_err());
    }

    proptest! {
        #[test]
        fn series_entries_round_trip(
            // At least one chunk: the writer writes no series without samples.
            raw in proptest::collection::vec((any::<i64>(), any::<u32>(), any::<u64>(), any::<u32>(), any::<u32>(), 0u8..5), 1..20),
            (last, value, fresh, back) in (any::<u64>(), any::<u64>(), 0u8..3, 1i64..),
        ) {
            let chunks: Vec<ChunkMeta> = raw
                .iter()
                .map(|&(mint, span, frame, offset, len, codec)| ChunkMeta {
                    mint,
                    maxt: mint.wrapping_add(i64::from(span)),
                    samples: len / 2,
                    codec: Codec::try_from(codec).unwrap(),
                    frame,
                    offset,
                    len,
                })
                .collect();
            let mut bytes = Vec::new();
            let rollups = vec![RollupRef { resolution: 60_000, frame: 8, offset: 3, len: 99 }];
            let last_t = chunks.last().map_or(0, |c| c.maxt);
            let fresh = match fresh {
                0 => None,
                1 => Some(Sample { t: last_t, v: f64::from_bits(last) }),
                _ => Some(Sample { t: last_t.wrapping_sub(back), v: f64::from_bits(value) }),
            };
            let newest = EntryNewest { last: Sample { t: last_t, v: f64::from_bits(last) }, fresh };
            encode_series_entry(&chunks, &rollups, &newest, &mut bytes);
            let (mut out, mut extras) = (Vec::new(), EntryExtras::default());
            decode_series_entry(&bytes, BlockVersion::V4, &mut out, Some(&mut extras)).unwrap();
            prop_assert_eq!(&out, &chunks);
            prop_assert_eq!(&extras.rollups, &rollups);
            let got = extras.newest.unwrap();
            prop_assert_eq!((got.last.t, got.last.v.to_bits()), (newest.last.t, newest.last.v.to_bits()));
            prop_assert_eq!(got.fresh.map(|s| (s.t, s.v.to_bits())), newest.fresh.map(|s| (s.t, s.v.to_bits())));
            // Older versions stop before the parts they do not have.
            decode_series_entry(&bytes, BlockVersion::V3, &mut out, Some(&mut extras)).unwrap();
            prop_assert!(extras.newest.is_none());
        }

        #[test]
        fn garbage_entries_and_frames_never_panic(data in proptest::collection::vec(any::<u8>(), 0..128), at in 0usize..140) {
            for version in [BlockVersion::V1, BlockVersion::V2, BlockVersion::V4] {
                let _ = decode_series_entry(&data, version, &mut Vec::new(), Some(&mut EntryExtras::default()));
            }
            let _ = read_frame(&data, at);
        }
    }
}
