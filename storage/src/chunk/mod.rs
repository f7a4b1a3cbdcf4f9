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

/// Value codec of a sealed chunk, stored as its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Codec {
    /// Gorilla XOR of the raw float bits.
    Xor = 0,
    /// Values `m / 10^k`, mantissas delta-coded and bit-packed.
    DecimalDelta = 1,
    /// Values `m / 10^k`, mantissas delta-of-delta-coded and bit-packed.
    DecimalDod = 2,
}

impl Codec {
    pub const ALL: [Codec; 3] = [Codec::Xor, Codec::DecimalDelta, Codec::DecimalDod];

    pub fn name(self) -> &'static str {
        match self {
            Codec::Xor => "xor",
            Codec::DecimalDelta => "decimal-delta",
            Codec::DecimalDod => "decimal-dod",
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
            other => Err(other),
        }
    }
}
