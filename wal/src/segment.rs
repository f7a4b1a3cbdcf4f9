//! Segment files: their names, their 8-byte header, and listing them in a
//! directory. See `docs/format/wal.md`.

#![deny(clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};
use crate::file::Fs;

/// Bytes in a segment header: magic, version, three reserved zero bytes.
pub(crate) const SEGMENT_HEADER_LEN: u64 = 8;

const MAGIC: [u8; 4] = *b"PWAL";

/// The on-disk format version, byte 4 of every segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum FormatVersion {
    /// Frames are `len: u32 LE`, `crc32(len bytes ++ payload): u32 LE`, payload.
    V1 = 1,
}

impl FormatVersion {
    /// The version this build writes.
    pub(crate) const CURRENT: Self = Self::V1;
}

impl TryFrom<u8> for FormatVersion {
    /// The unknown version byte.
    type Error = u8;

    fn try_from(byte: u8) -> Result<Self, u8> {
        match byte {
            1 => Ok(Self::V1),
            other => Err(other),
        }
    }
}

impl From<FormatVersion> for u8 {
    fn from(version: FormatVersion) -> u8 {
        version as u8
    }
}

/// Why a segment header was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// All eight bytes are zero: the file was created (or preallocated) but
    /// its header never reached the disk.
    AllZero,
    /// Wrong magic or non-zero reserved bytes.
    Bad,
    /// Magic is right, the version byte is one we do not know.
    UnsupportedVersion(u8),
}

/// The header every segment starts with.
pub(crate) fn encode_header() -> [u8; SEGMENT_HEADER_LEN as usize] {
    let [m0, m1, m2, m3] = MAGIC;
    [m0, m1, m2, m3, FormatVersion::CURRENT.into(), 0, 0, 0]
}

pub(crate) fn decode_header(header: [u8; SEGMENT_HEADER_LEN as usize]) -> Result<FormatVersion, HeaderError> {
    let [m0, m1, m2, m3, version, r0, r1, r2] = header;
    if header == [0; SEGMENT_HEADER_LEN as usize] {
        return Err(HeaderError::AllZero);
    }
    if [m0, m1, m2, m3] != MAGIC || [r0, r1, r2] != [0; 3] {
        return Err(HeaderError::Bad);
    }
    FormatVersion::try_from(version).map_err(HeaderError::UnsupportedVersion)
}

/// `00000042.wal`: the number zero-padded to at least eight digits.
pub(crate) fn file_name(number: u64) -> String {
    format!("{number:08}.wal")
}

pub(crate) fn path(dir: &Path, number: u64) -> PathBuf {
    dir.join(file_name(number))
}

/// The segment number a file name stands for, or `None` for unrelated files.
///
/// Only the exact name [`file_name`] would produce counts, so two names can
/// never claim the same number (`000000001.wal` is not segment 1).
pub(crate) fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".wal")?;
    if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u64 = digits.parse().ok()?;
    (file_name(number) == name).then_some(number)
}

/// Numbers of the segment files in `dir`, ascending. Other files are ignored.
pub(crate) fn list(fs: &Fs, dir: &Path) -> Result<Vec<u64>> {
    let names = fs.list_dir(dir).context(|| format!("listing WAL directory {}", dir.display()))?;
    let mut numbers: Vec<u64> = names.iter().filter_map(|name| name.to_str().and_then(parse_file_name)).collect();
    numbers.sort_unstable();
    Ok(numbers)
}

/// The first number missing between the lowest and the highest of `sorted`.
pub(crate) fn first_gap(sorted: &[u64]) -> Option<u64> {
    sorted.windows(2).find_map(|pair| match *pair {
        [a, b] if b != a.saturating_add(1) => Some(a.saturating_add(1)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_lookalikes() {
        assert_eq!(file_name(1), "00000001.wal");
        assert_eq!(file_name(123_456_789), "123456789.wal");
        assert_eq!(parse_file_name("00000001.wal"), Some(1));
        assert_eq!(parse_file_name("123456789.wal"), Some(123_456_789));
        for unrelated in [
            "1.wal",
            "000000001.wal",
            "0000001a.wal",
            "00000001.wal.tmp",
            "00000001.WAL",
            "+0000001.wal",
            "checkpoint.00000001",
            "99999999999999999999.wal",
        ] {
            assert_eq!(parse_file_name(unrelated), None, "{unrelated}");
        }
    }

    #[test]
    fn header_round_trips_and_classifies_damage() {
        let header = encode_header();
        assert_eq!(&header, b"PWAL\x01\0\0\0");
        assert_eq!(decode_header(header), Ok(FormatVersion::V1));
        assert_eq!(decode_header([0; 8]), Err(HeaderError::AllZero));
        assert_eq!(decode_header(*b"PWAL\x02\0\0\0"), Err(HeaderError::UnsupportedVersion(2)));
        assert_eq!(decode_header(*b"PWAL\x01\0\x01\0"), Err(HeaderError::Bad));
        assert_eq!(decode_header(*b"XWAL\x01\0\0\0"), Err(HeaderError::Bad));
        assert_eq!(FormatVersion::try_from(0), Err(0));
    }

    #[test]
    fn gaps() {
        assert_eq!(first_gap(&[]), None);
        assert_eq!(first_gap(&[5]), None);
        assert_eq!(first_gap(&[3, 4, 5]), None);
        assert_eq!(first_gap(&[1, 2, 4, 7]), Some(3));
    }
}
