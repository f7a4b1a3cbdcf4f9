//! Chunk codecs: pure encoders and decoders of sample runs, no I/O.
//!
//! The head appends into Gorilla [`xor`] chunks; when a block is written each
//! chunk is re-encoded as a [`sealed`] chunk with the smallest value codec.
//! Byte layouts are documented in `storage/docs/format/chunks.md`.

pub(crate) mod bstream;
pub(crate) mod decimal;
pub(crate) mod packed;
pub(crate) mod sealed;
pub(crate) mod xor;

/// Value codec of a sealed chunk, stored in the low four bits of its first
/// byte (and as a whole byte in block index entries and rollup columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Codec {
    /// Gorilla XOR of the raw float bits.
    Xor = 0,
    /// Values `m / 10^k`, mantissas delta-coded and bit-packed.
    DecimalDelta = 1,
    /// Values `m / 10^k`, mantissas delta-of-delta-coded and bit-packed.
    DecimalDod = 2,
    /// As `DecimalDelta`, the deltas divided by their greatest common
    /// divisor (readings in steps of 0.002, of 5, …), block version 5 on.
    DecimalDeltaScaled = 3,
    /// As `DecimalDod`, the dods divided by their greatest common divisor.
    DecimalDodScaled = 4,
    /// As `DecimalDeltaScaled`, the quotients as zigzagged varints (bytes
    /// the block frame's zstd codes better than bit-packing where deltas
    /// repeat), block version 7 on.
    DecimalDeltaBytes = 5,
}

impl Codec {
    pub const ALL: [Codec; 6] = [
        Codec::Xor,
        Codec::DecimalDelta,
        Codec::DecimalDod,
        Codec::DecimalDeltaScaled,
        Codec::DecimalDodScaled,
        Codec::DecimalDeltaBytes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Codec::Xor => "xor",
            Codec::DecimalDelta => "decimal-delta",
            Codec::DecimalDod => "decimal-dod",
            Codec::DecimalDeltaScaled => "decimal-delta-scaled",
            Codec::DecimalDodScaled => "decimal-dod-scaled",
            Codec::DecimalDeltaBytes => "decimal-delta-bytes",
        }
    }
}

impl TryFrom<u8> for Codec {
    type Error = u8;

    fn try_from(byte: u8) -> Result<Self, u8> {
        match byte {
            0 => Ok(Codec::Xor),
            1 => Ok(Codec::DecimalDelta),
            2 => Ok(Codec::DecimalDod),
            3 => Ok(Codec::DecimalDeltaScaled),
            4 => Ok(Codec::DecimalDodScaled),
            5 => Ok(Codec::DecimalDeltaBytes),
            other => Err(other),
        }
    }
}
