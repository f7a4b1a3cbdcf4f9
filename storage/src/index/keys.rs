//! Key layout of the label index in RocksDB. One keyspace, split by a
//! one-byte tag; integers are big-endian so that keys sort numerically.
//!
//! ```text
//! 'V'                                   -> format version u32 LE
//! 'S' | canonical labels key            -> ref u64 BE
//! 'R' | ref u64 BE                      -> canonical labels key
//! 'P' | name | 0x00 | value | 0x00 | ref u64 BE -> (empty)      postings
//! ```
//! Label names match `[a-zA-Z_][a-zA-Z0-9_]*` and values may not contain
//! NUL (both checked on append), so the 0x00 separators are unambiguous.
#![expect(clippy::big_endian_bytes, reason = "index keys must sort numerically")]

use crate::SeriesRef;

pub(super) const VERSION_KEY: &[u8] = b"V";
pub(super) const SERIES_BY_KEY: u8 = b'S';
pub(super) const SERIES_BY_REF: u8 = b'R';
pub(super) const POSTINGS: u8 = b'P';

pub(super) fn series_by_key(labels_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + labels_key.len());
    key.push(SERIES_BY_KEY);
    key.extend_from_slice(labels_key);
    key
}

pub(super) fn series_by_ref(sref: SeriesRef) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = SERIES_BY_REF;
    key[1..].copy_from_slice(&sref.0.to_be_bytes());
    key
}

/// `P name 0x00 value 0x00`: the prefix of one label pair's postings.
pub(super) fn postings_prefix(name: &str, value: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + value.len() + 11);
    key.push(POSTINGS);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key.extend_from_slice(value.as_bytes());
    key.push(0);
    key
}

/// `P name 0x00`: the prefix of every posting of one label name.
pub(super) fn name_prefix(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 2);
    key.push(POSTINGS);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key
}

pub(super) fn posting(name: &str, value: &str, sref: SeriesRef) -> Vec<u8> {
    let mut key = postings_prefix(name, value);
    key.extend_from_slice(&sref.0.to_be_bytes());
    key
}

pub(super) fn ref_suffix(key: &[u8]) -> Option<u64> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    let mut buf = [0u8; 8];
    buf.copy_from_slice(tail);
    Some(u64::from_be_bytes(buf))
}

pub(super) fn ref_value(value: &[u8]) -> Option<SeriesRef> {
    let bytes: [u8; 8] = value.try_into().ok()?;
    Some(SeriesRef(u64::from_be_bytes(bytes)))
}

pub(super) fn ref_bytes(sref: SeriesRef) -> [u8; 8] {
    sref.0.to_be_bytes()
}
