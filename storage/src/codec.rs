//! Byte-level primitives shared by every on-disk and WAL encoding in this
//! crate: LEB128 varints, zigzag, little-endian fixed-width integers, and a
//! bounds-checked cursor that turns short or hostile input into an error
//! naming what was being read, never a panic.
#![deny(clippy::indexing_slicing)]

use std::fmt;

/// Why a byte cursor stopped; carries the field being read and its offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub(crate) what: &'static str,
    pub(crate) offset: usize,
    pub(crate) reason: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}: {}", self.what, self.offset, self.reason)
    }
}

impl std::error::Error for DecodeError {}

#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[inline]
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, zigzag(v));
}

/// Appends a length-prefixed byte string.
#[inline]
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uvarint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A forward-only cursor over untrusted bytes.
#[derive(Debug, Clone)]
pub(crate) struct ByteReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn error(&self, what: &'static str, reason: &'static str) -> DecodeError {
        DecodeError { what, offset: self.pos, reason }
    }

    #[inline]
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let byte = *self.data.get(self.pos).ok_or_else(|| self.error(what, "unexpected end of input"))?;
        self.pos += 1;
        Ok(byte)
    }

    #[inline]
    pub(crate) fn uvarint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            let byte = *self.data.get(self.pos).ok_or_else(|| self.error(what, "unexpected end of input in varint"))?;
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err(self.error(what, "varint overflows 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(self.error(what, "varint longer than 10 bytes"));
            }
        }
    }

    #[inline]
    pub(crate) fn varint(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        self.uvarint(what).map(unzigzag)
    }

    /// A varint that must fit `usize` and not exceed `max` (guards allocations).
    pub(crate) fn len(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let start = self.pos;
        let value = self.uvarint(what)?;
        usize::try_from(value).ok().filter(|&n| n <= max).ok_or(DecodeError {
            what,
            offset: start,
            reason: "length out of range",
        })
    }

    #[inline]
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.error(what, "length overflows"))?;
        let bytes = self.data.get(self.pos..end).ok_or_else(|| self.error(what, "unexpected end of input"))?;
        self.pos = end;
        Ok(bytes)
    }

    /// A length-prefixed byte string.
    pub(crate) fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let n = self.len(what, self.remaining())?;
        self.take(n, what)
    }

    pub(crate) fn u32_le(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let bytes = self.take(4, what)?;
        let mut buf = [0u8; 4];
        buf.copy_from_slice(bytes);
        Ok(u32::from_le_bytes(buf))
    }

    pub(crate) fn u64_le(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let bytes = self.take(8, what)?;
        let mut buf = [0u8; 8];
        buf.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(buf))
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        self.pos = self.data.len();
        rest
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn overlong_varints_are_errors() {
        let data = [0xffu8; 11];
        let err = ByteReader::new(&data).uvarint("count").unwrap_err();
        assert_eq!(err.what, "count");
        let data = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(ByteReader::new(&data).uvarint("x").is_err());
    }

    #[test]
    fn length_limits_are_enforced() {
        let mut out = Vec::new();
        put_uvarint(&mut out, 1 << 40);
        assert!(ByteReader::new(&out).len("n", 1 << 20).is_err());
    }

    proptest! {
        #[test]
        fn varints_round_trip(values in proptest::collection::vec(any::<i64>(), 0..50)) {
            let mut out = Vec::new();
            for &v in &values {
                put_varint(&mut out, v);
                put_uvarint(&mut out, v as u64);
            }
            let mut r = ByteReader::new(&out);
            for &v in &values {
                prop_assert_eq!(r.varint("v").unwrap(), v);
                prop_assert_eq!(r.uvarint("u").unwrap(), v as u64);
            }
            prop_assert!(r.is_empty());
        }

        #[test]
        fn zigzag_round_trips(v in any::<i64>()) {
            prop_assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
