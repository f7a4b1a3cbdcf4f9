//! The frame codec: pure functions from payload to bytes and back, no I/O.
//!
//! A frame is `len: u32 LE`, `crc: u32 LE`, then `len` payload bytes; the CRC
//! (crc32, IEEE polynomial, as computed by `crc32fast`) covers the four length
//! bytes followed by the payload. See `docs/format/wal.md`.
//!
//! The decoders read untrusted bytes, so they never index or slice directly.
#![deny(clippy::indexing_slicing)]

use crate::error::CorruptionKind;

/// Bytes in a frame header: `len: u32` then `crc: u32`.
#[doc(hidden)]
pub const FRAME_HEADER_LEN: usize = 8;

/// Largest payload one frame can carry: 1 GiB.
pub const MAX_FRAME_LEN: usize = 1 << 30;

/// Why bytes do not decode as a frame.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The buffer ends inside the header or the payload.
    #[error("buffer ends inside a frame: {needed} bytes needed, {available} available")]
    Truncated { needed: usize, available: usize },
    /// The length field is 0 or over [`MAX_FRAME_LEN`].
    #[error("frame length {len} is zero or over the limit")]
    BadLength { len: u32 },
    /// The stored CRC does not match the length and payload.
    #[error("frame checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    BadChecksum { stored: u32, computed: u32 },
    /// Encoding: the payload is empty.
    #[error("empty payload")]
    Empty,
    /// Encoding: the payload is longer than [`MAX_FRAME_LEN`].
    #[error("payload of {len} bytes is over the limit")]
    TooLarge { len: usize },
}

impl FrameError {
    /// The corruption a decoding error means when found in a segment.
    pub(crate) fn corruption_kind(self) -> CorruptionKind {
        match self {
            Self::Truncated { .. } => CorruptionKind::Truncated,
            Self::BadLength { .. } | Self::Empty | Self::TooLarge { .. } => CorruptionKind::BadLength,
            Self::BadChecksum { .. } => CorruptionKind::BadChecksum,
        }
    }
}

/// A decoded, length-checked frame header whose CRC is not yet verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    /// Payload length, `1..=MAX_FRAME_LEN`.
    pub(crate) len: u32,
    crc: u32,
}

impl FrameHeader {
    /// Checks the CRC against the payload this header precedes.
    pub(crate) fn verify(&self, payload: &[u8]) -> Result<(), FrameError> {
        let computed = checksum(self.len, payload);
        if computed == self.crc {
            Ok(())
        } else {
            Err(FrameError::BadChecksum { stored: self.crc, computed })
        }
    }

    /// Payload length as `usize` (lossless: at most 1 GiB).
    pub(crate) fn payload_len(&self) -> usize {
        self.len as usize
    }
}

/// Validates a payload's length and returns the header to write before it.
pub(crate) fn encode_header(payload: &[u8]) -> Result<[u8; FRAME_HEADER_LEN], FrameError> {
    if payload.is_empty() {
        return Err(FrameError::Empty);
    }
    if payload.len() > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len: payload.len() });
    }
    let len = u32::try_from(payload.len()).map_err(|_| FrameError::TooLarge { len: payload.len() })?;
    let crc = checksum(len, payload);
    let mut header = [0; FRAME_HEADER_LEN];
    let (len_bytes, crc_bytes) = header.split_at_mut(4);
    len_bytes.copy_from_slice(&len.to_le_bytes());
    crc_bytes.copy_from_slice(&crc.to_le_bytes());
    Ok(header)
}

/// Parses a frame header and checks its length field (but not its CRC,
/// which needs the payload).
pub(crate) fn decode_header(header: [u8; FRAME_HEADER_LEN]) -> Result<FrameHeader, FrameError> {
    let [l0, l1, l2, l3, c0, c1, c2, c3] = header;
    let len = u32::from_le_bytes([l0, l1, l2, l3]);
    let crc = u32::from_le_bytes([c0, c1, c2, c3]);
    if len == 0 || len as usize > MAX_FRAME_LEN {
        return Err(FrameError::BadLength { len });
    }
    Ok(FrameHeader { len, crc })
}

/// Appends one encoded frame (header and payload) to `out`.
///
/// Fails, leaving `out` untouched, if the payload is empty or longer than
/// [`MAX_FRAME_LEN`].
#[doc(hidden)]
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    let header = encode_header(payload)?;
    out.reserve(FRAME_HEADER_LEN + payload.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    Ok(())
}

/// Decodes the frame at the start of `buf`.
///
/// Returns `Ok(None)` for an empty buffer (a clean end), otherwise the
/// payload and the number of bytes the frame occupies. Never panics,
/// whatever the bytes.
#[doc(hidden)]
pub fn decode_frame(buf: &[u8]) -> Result<Option<(&[u8], usize)>, FrameError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let truncated = |needed| FrameError::Truncated { needed, available: buf.len() };
    let header: [u8; FRAME_HEADER_LEN] =
        buf.get(..FRAME_HEADER_LEN).and_then(|h| h.try_into().ok()).ok_or_else(|| truncated(FRAME_HEADER_LEN))?;
    let header = decode_header(header)?;
    // Cannot overflow: the length is at most 1 GiB.
    let end = FRAME_HEADER_LEN + header.payload_len();
    let payload = buf.get(FRAME_HEADER_LEN..end).ok_or_else(|| truncated(end))?;
    header.verify(payload)?;
    Ok(Some((payload, end)))
}

fn checksum(len: u32, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(payload, &mut out).unwrap();
        out
    }

    #[test]
    fn layout_is_len_crc_payload_little_endian() {
        let bytes = encode(b"abc");
        assert_eq!(bytes.len(), 11);
        assert_eq!(bytes[..4], 3u32.to_le_bytes());
        let mut h = crc32fast::Hasher::new();
        h.update(&[3, 0, 0, 0]);
        h.update(b"abc");
        assert_eq!(bytes[4..8], h.finalize().to_le_bytes());
        assert_eq!(&bytes[8..], b"abc");
    }

    #[test]
    fn rejects_empty_and_oversized_payloads() {
        let mut out = vec![7];
        assert_eq!(encode_frame(b"", &mut out), Err(FrameError::Empty));
        assert_eq!(out, [7]);
        assert_eq!(
            decode_header([0; 8]),
            Err(FrameError::BadLength { len: 0 }),
            "an all-zero header must never validate"
        );
        let huge = (MAX_FRAME_LEN as u32 + 1).to_le_bytes();
        let header = [huge[0], huge[1], huge[2], huge[3], 0, 0, 0, 0];
        assert!(matches!(decode_header(header), Err(FrameError::BadLength { .. })));
    }

    #[test]
    fn decode_classifies_damage() {
        assert_eq!(decode_frame(&[]), Ok(None));
        let frame = encode(b"hello");
        assert!(matches!(decode_frame(&frame[..5]), Err(FrameError::Truncated { needed: 8, .. })));
        assert!(matches!(decode_frame(&frame[..10]), Err(FrameError::Truncated { needed: 13, .. })));
        let mut bad = frame.clone();
        bad[9] ^= 1;
        assert!(matches!(decode_frame(&bad), Err(FrameError::BadChecksum { .. })));
        let mut bad = frame;
        bad[0] = 4; // shorter length: the CRC covers the length too
        assert!(matches!(decode_frame(&bad), Err(FrameError::BadChecksum { .. })));
    }

    proptest! {
        #[test]
        fn round_trip(payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 0..8)) {
            let mut buf = Vec::new();
            for p in &payloads {
                encode_frame(p, &mut buf).unwrap();
            }
            let mut rest = &buf[..];
            let mut decoded = Vec::new();
            while let Some((payload, used)) = decode_frame(rest).unwrap() {
                decoded.push(payload.to_vec());
                rest = &rest[used..];
            }
            prop_assert_eq!(decoded, payloads);
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_frame(&bytes);
        }

        // CRC-32 catches every single-bit error in the bytes it covers; a flip
        // in the length field that shortens the frame could only slip
        // through on a 2^-32 collision.
        #[test]
        fn any_single_bit_flip_is_detected(payload in prop::collection::vec(any::<u8>(), 1..64), bit in any::<prop::sample::Index>()) {
            let mut frame = encode(&payload);
            let bit = bit.index(frame.len() * 8);
            frame[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(decode_frame(&frame).is_err());
        }
    }
}
