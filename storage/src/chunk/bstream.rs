//! Bit streams: the MSB-first bit writer and reader every bit-level codec
//! (Gorilla XOR, packed integers) is built on.
//!
//! The writer keeps up to 64 pending bits in a register and appends whole
//! 8-byte words, so encoding costs a shift and an OR per field. The reader
//! mirrors it: it refills a left-aligned 64-bit register from the byte slice
//! and never indexes out of bounds, so hostile input yields `None`, not a panic.
#![expect(
    clippy::big_endian_bytes,
    reason = "bit streams are MSB-first by design; words are loaded and stored big-endian"
)]

/// Appends bit fields, most significant bit first.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    /// Pending bits, right-aligned; `used` of them are valid.
    acc: u64,
    used: u32,
}

impl BitWriter {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self { bytes: Vec::with_capacity(bytes), acc: 0, used: 0 }
    }

    /// Writes the low `n` bits of `value` (`n <= 64`); higher bits of
    /// `value` must be zero.
    #[inline]
    pub(crate) fn write_bits(&mut self, value: u64, n: u32) {
        debug_assert!(n <= 64);
        debug_assert!(n == 64 || value >> n == 0, "value wider than {n} bits");
        if n == 0 {
            return;
        }
        let free = 64 - self.used;
        if n < free {
            self.acc = (self.acc << n) | value;
            self.used += n;
        } else {
            // Fill the register to exactly 64 bits, emit it, keep the rest.
            let rest = n - free;
            let head = value.checked_shr(rest).unwrap_or(0);
            let word = self.acc.checked_shl(free).unwrap_or(0) | head;
            if self.bytes.len() + 8 > self.bytes.capacity() {
                // Grow by a quarter, not double: head chunks live long and
                // their last allocation would otherwise be up to half empty.
                self.bytes.reserve_exact((self.bytes.capacity() / 4).max(32));
            }
            self.bytes.extend_from_slice(&word.to_be_bytes());
            self.acc = if rest == 0 { 0 } else { value & low_mask(rest) };
            self.used = rest;
        }
    }

    #[inline]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Number of bits written so far.
    pub(crate) fn bit_len(&self) -> usize {
        self.bytes.len() * 8 + self.used as usize
    }

    /// Appends the stream, padded with zero bits to a whole byte, to `out`,
    /// leaving the writer unchanged (the head reads open chunks this way).
    pub(crate) fn copy_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes);
        let pending = self.used.div_ceil(8);
        if pending > 0 {
            let aligned = self.acc << (64 - self.used);
            out.extend_from_slice(&aligned.to_be_bytes()[..pending as usize]);
        }
    }

    /// Consumes the writer and returns the zero-padded bytes.
    pub(crate) fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + 8);
        self.copy_into(&mut out);
        out
    }

    /// Heap bytes held, for memory accounting.
    pub(crate) fn allocated(&self) -> usize {
        self.bytes.capacity()
    }
}

#[inline]
fn low_mask(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Reads bit fields written by [`BitWriter`]. Every read returns `None` when
/// the input is exhausted.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` to load into the register.
    pos: usize,
    /// Left-aligned register: the next bit is the most significant one.
    buf: u64,
    avail: u32,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        let mut reader = Self { data, pos: 0, buf: 0, avail: 0 };
        reader.refill();
        reader
    }

    /// Tops the register up to at least 57 valid bits when input remains.
    #[inline]
    fn refill(&mut self) {
        if let Some(word) = self.data.get(self.pos..self.pos + 8) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            let word = u64::from_be_bytes(bytes);
            let take = (64 - self.avail) / 8;
            self.buf |= word >> self.avail;
            self.pos += take as usize;
            self.avail += take * 8;
            // Drop the partial byte that slipped in below the valid bits.
            self.buf &= !low_mask(64 - self.avail);
        } else {
            while self.avail <= 56 {
                let Some(&byte) = self.data.get(self.pos) else {
                    break;
                };
                self.buf |= u64::from(byte) << (56 - self.avail);
                self.avail += 8;
                self.pos += 1;
            }
        }
    }

    /// Makes sure `n <= 57` bits are buffered; false when the input ends first.
    #[inline]
    pub(crate) fn ensure(&mut self, n: u32) -> bool {
        if self.avail < n {
            self.refill();
        }
        self.avail >= n
    }

    /// The next `n <= 57` bits without consuming them (call `ensure` first);
    /// missing bits read as zero.
    #[inline]
    pub(crate) fn peek(&self, n: u32) -> u64 {
        self.buf.checked_shr(64 - n).unwrap_or(0)
    }

    /// The buffered bits, left-aligned (`avail` of them valid, the rest zero).
    #[inline]
    pub(crate) fn word(&self) -> u64 {
        self.buf
    }

    /// Number of leading zero bits in the buffered bits, capped at `max`
    /// and at the bits buffered.
    #[inline]
    pub(crate) fn leading_zeros(&self, max: u32) -> u32 {
        self.buf.leading_zeros().min(max).min(self.avail)
    }

    /// Number of leading one bits in the buffered bits, capped at `max`.
    #[inline]
    pub(crate) fn leading_ones(&self, max: u32) -> u32 {
        self.buf.leading_ones().min(max).min(self.avail)
    }

    #[inline]
    pub(crate) fn consume(&mut self, n: u32) {
        debug_assert!(n <= self.avail);
        self.buf = self.buf.checked_shl(n).unwrap_or(0);
        self.avail -= n;
    }

    #[inline]
    pub(crate) fn read_bit(&mut self) -> Option<bool> {
        if !self.ensure(1) {
            return None;
        }
        let bit = self.buf >> 63 == 1;
        self.consume(1);
        Some(bit)
    }

    /// Reads `n <= 64` bits.
    #[inline]
    pub(crate) fn read_bits(&mut self, n: u32) -> Option<u64> {
        if n == 0 {
            return Some(0);
        }
        if n > 57 {
            let high = self.read_bits(n - 32)?;
            let low = self.read_bits(32)?;
            return Some((high << 32) | low);
        }
        if !self.ensure(n) {
            return None;
        }
        let value = self.peek(n);
        self.consume(n);
        Some(value)
    }

    /// Bits consumed so far.
    #[cfg(test)]
    pub(crate) fn bit_position(&self) -> usize {
        self.pos * 8 - self.avail as usize
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_stream_reads_nothing() {
        let bytes = BitWriter::default().finish();
        assert!(bytes.is_empty());
        assert_eq!(BitReader::new(&bytes).read_bit(), None);
    }

    #[test]
    fn mixed_widths_round_trip() {
        let mut w = BitWriter::default();
        w.write_bit(true);
        w.write_bits(0x3, 2);
        w.write_bits(u64::MAX, 64);
        w.write_bits(0, 64);
        w.write_bits(0x1234_5678, 31);
        let bits = w.bit_len();
        let bytes = w.finish();
        assert_eq!(bytes.len(), bits.div_ceil(8));
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bit(), Some(true));
        assert_eq!(r.read_bits(2), Some(3));
        assert_eq!(r.read_bits(64), Some(u64::MAX));
        assert_eq!(r.read_bits(64), Some(0));
        assert_eq!(r.read_bits(31), Some(0x1234_5678));
        assert_eq!(r.bit_position(), bits);
    }

    #[test]
    fn copy_into_does_not_disturb_the_writer() {
        let mut w = BitWriter::default();
        w.write_bits(0b101, 3);
        let mut snapshot = Vec::new();
        w.copy_into(&mut snapshot);
        assert_eq!(snapshot, vec![0b1010_0000]);
        w.write_bits(0b11111, 5);
        assert_eq!(w.finish(), vec![0b1011_1111]);
    }

    proptest! {
        #[test]
        fn arbitrary_fields_round_trip(fields in proptest::collection::vec((any::<u64>(), 0u32..=64), 0..200)) {
            let mut w = BitWriter::default();
            let fields: Vec<(u64, u32)> = fields
                .into_iter()
                .map(|(v, n)| (if n == 64 { v } else { v & ((1u64 << n) - 1) }, n))
                .collect();
            for &(v, n) in &fields {
                w.write_bits(v, n);
            }
            let bytes = w.finish();
            let mut r = BitReader::new(&bytes);
            for &(v, n) in &fields {
                prop_assert_eq!(r.read_bits(n), Some(v));
            }
        }

        #[test]
        fn reading_garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64), widths in proptest::collection::vec(0u32..=64, 0..100)) {
            let mut r = BitReader::new(&data);
            for n in widths {
                if r.read_bits(n).is_none() {
                    break;
                }
            }
        }
    }
}
