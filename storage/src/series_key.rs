//! The canonical byte key of a label set: `(uvarint len, name, uvarint len,
//! value)` per label in name order, so equal label sets have equal keys. The
//! WAL's series records, the head's series map and the label index all use
//! it for the same series (layout in `docs/format/index.md`).

use pulsedb_model::{Label, Labels};

use crate::codec::{put_bytes, ByteReader, DecodeError};

/// Encoding and decoding of [`Labels`] as their canonical key.
pub(crate) trait SeriesKey: Sized {
    fn to_key(&self) -> Vec<u8>;
    fn write_key(&self, out: &mut Vec<u8>);
    /// Decodes a key written by [`SeriesKey::write_key`].
    fn from_key(key: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_key(key, |_| true)
    }
    /// Decodes only the labels named in `names` (allocating nothing for the
    /// others: a query that aggregates them away needs none).
    fn from_key_only(key: &[u8], names: &[String]) -> Result<Self, DecodeError> {
        Self::decode_key(key, |name| names.iter().any(|n| n.as_bytes() == name))
    }
    /// Decodes the labels whose name `keep` accepts.
    fn decode_key(key: &[u8], keep: impl Fn(&[u8]) -> bool) -> Result<Self, DecodeError>;
}

impl SeriesKey for Labels {
    fn to_key(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.iter().map(|l| l.name.len() + l.value.len() + 2).sum());
        self.write_key(&mut key);
        key
    }

    fn write_key(&self, out: &mut Vec<u8>) {
        for label in self.iter() {
            put_bytes(out, label.name.as_bytes());
            put_bytes(out, label.value.as_bytes());
        }
    }

    fn decode_key(key: &[u8], keep: impl Fn(&[u8]) -> bool) -> Result<Self, DecodeError> {
        let mut r = ByteReader::new(key);
        let mut labels = Vec::new();
        while !r.is_empty() {
            let at = r.position();
            let name = r.bytes("label name")?;
            let value = r.bytes("label value")?;
            if !keep(name) {
                continue;
            }
            let (Ok(name), Ok(value)) = (std::str::from_utf8(name), std::str::from_utf8(value)) else {
                return Err(DecodeError { what: "label", offset: at, reason: "not UTF-8" });
            };
            labels.push(Label { name: name.to_string(), value: value.to_string() });
        }
        // Keys are written from sorted sets without empty values, so this
        // rebuilds the same set (the sort is a no-op on sorted input).
        Ok(labels.into_iter().map(|l| (l.name, l.value)).collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn keys_round_trip(pairs in proptest::collection::vec(("[a-z_]{1,8}", "\\PC{0,12}"), 0..8)) {
            let labels = Labels::new(pairs);
            prop_assert_eq!(&Labels::from_key(&labels.to_key()).unwrap(), &labels);
            // Only some names: those labels, and nothing else.
            let names: Vec<String> = labels.iter().step_by(2).map(|l| l.name.clone()).chain(["absent".to_string()]).collect();
            let only = Labels::from_key_only(&labels.to_key(), &names).unwrap();
            let want: Labels = labels.iter().filter(|l| names.contains(&l.name)).map(|l| (l.name.clone(), l.value.clone())).collect();
            prop_assert_eq!(only, want);
            prop_assert!(Labels::from_key_only(&labels.to_key(), &[]).unwrap().is_empty());
        }
    }
}
