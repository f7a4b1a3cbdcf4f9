//! Entry points into crate-private codecs for benches and fuzz targets.
//! Not part of the public API: no stability promise, hidden from docs.

use crate::chunk::xor::{XorChunk, XorIter};
use crate::chunk::{sealed, Codec};
use crate::record::{decode_batch, BatchEncoder, RefSample};
use crate::series_key::SeriesKey;
use crate::{Labels, Sample, SeriesRef};

/// Gorilla-encodes samples (strictly increasing timestamps) as the head
/// does; returns the bytes and the sample count.
pub fn xor_encode(samples: &[Sample]) -> (Vec<u8>, usize) {
    let mut chunk = XorChunk::new();
    for s in samples {
        chunk.append(s.t, s.v);
    }
    (chunk.bytes(), chunk.len())
}

/// Decodes a Gorilla chunk into `out`; returns false if it ended early.
pub fn xor_decode(bytes: &[u8], count: usize, out: &mut Vec<Sample>) -> bool {
    let mut iter = XorIter::new(bytes, count);
    out.extend(iter.by_ref());
    out.len() == count
}

/// Encodes a sealed block chunk with the smallest codec.
pub fn sealed_encode(samples: &[Sample]) -> (Vec<u8>, Codec) {
    sealed::encode(samples)
}

/// How many Rice escapes decoding the sealed chunk `bytes` reads (format
/// tests: that checked-in bytes hold escapes).
pub fn sealed_escapes(bytes: &[u8]) -> Result<u64, String> {
    let before = crate::chunk::packed::escapes_read();
    sealed::decode(bytes, &mut Vec::new()).map_err(|e| e.to_string())?;
    Ok(crate::chunk::packed::escapes_read() - before)
}

/// Decodes a sealed block chunk, appending to `out`.
pub fn sealed_decode(bytes: &[u8], out: &mut Vec<Sample>) -> Result<Codec, String> {
    sealed::decode(bytes, out).map_err(|e| e.to_string())
}

/// Encodes one WAL frame payload: series records then one sample entry per series.
pub fn wal_record_encode(series: &[(u64, Labels)], samples: &[(u64, Vec<Sample>)]) -> Vec<u8> {
    let keys: Vec<(SeriesRef, Vec<u8>)> = series.iter().map(|(r, l)| (SeriesRef(*r), l.to_key())).collect();
    let mut enc = BatchEncoder::new();
    enc.series(keys.iter().map(|(r, k)| (*r, k.as_slice())));
    enc.samples(samples.iter().map(|(r, s)| (SeriesRef(*r), s.as_slice())));
    enc.finish()
}

/// Encodes a payload from what [`wal_record_decode`] returns: raw label
/// keys, and samples grouped into runs of one ref (fuzz round trips).
pub fn wal_record_encode_raw(series: &[(u64, Vec<u8>)], samples: &[(u64, i64, f64)]) -> Vec<u8> {
    let mut runs: Vec<(SeriesRef, Vec<Sample>)> = Vec::new();
    for &(r, t, v) in samples {
        match runs.last_mut() {
            Some((last, run)) if last.0 == r => run.push(Sample { t, v }),
            _ => runs.push((SeriesRef(r), vec![Sample { t, v }])),
        }
    }
    let mut enc = BatchEncoder::new();
    enc.series(series.iter().map(|(r, k)| (SeriesRef(*r), k.as_slice())));
    enc.samples(runs.iter().map(|(r, s)| (*r, s.as_slice())));
    enc.finish()
}

/// Decodes a WAL frame payload into (series refs with label keys, (ref, t, v) samples).
#[allow(clippy::type_complexity)]
pub fn wal_record_decode(payload: &[u8]) -> Result<(Vec<(u64, Vec<u8>)>, Vec<(u64, i64, f64)>), String> {
    let (mut series, mut samples) = (Vec::new(), Vec::<RefSample>::new());
    decode_batch(payload, &mut series, &mut samples).map_err(|e| e.to_string())?;
    Ok((
        series.into_iter().map(|(r, k)| (r.0, k)).collect(),
        samples.into_iter().map(|s| (s.sref.0, s.t, s.v)).collect(),
    ))
}

/// Decodes a rollup blob with every field it keeps (fuzzing), and whether
/// it kept the correction (block format 6 leaves a gauge's out; then each
/// bucket's reads as NaN).
pub fn rollup_decode(bytes: &[u8]) -> Result<(Vec<crate::RollupBucket>, bool), String> {
    use crate::RollupFields as F;
    let mut out = Vec::new();
    if crate::rollup::decode(bytes, F::ALL, &mut out).map_err(|e| e.to_string())? {
        return Ok((out, true));
    }
    if !crate::rollup::decode(bytes, F::ALL_BUT_CORRECTION, &mut out).map_err(|e| e.to_string())? {
        return Err("a rollup blob left out a column other than the correction".into());
    }
    for b in &mut out {
        b.correction = f64::NAN;
    }
    Ok((out, false))
}

/// Encodes rollup buckets as a block stores them (fuzz round trips).
pub fn rollup_encode_buckets(buckets: &[crate::RollupBucket]) -> Vec<u8> {
    crate::rollup::encode(buckets)
}

/// Rollup blob of `samples` at `resolution` (fuzz seeds).
pub fn rollup_encode(samples: &[Sample], resolution: i64) -> Vec<u8> {
    crate::rollup::encode(&crate::rollup::compute_for_storage(samples, resolution))
}

/// The value codec, timestamp form, whether escapes are sized and how
/// many Rice escapes it holds (`storage/docs/format/chunks.md`), of every
/// sealed chunk of the block in `dir`, series by series (format tests).
pub fn block_chunk_formats(dir: &std::path::Path) -> Result<Vec<(&'static str, u8, bool, u64)>, String> {
    use crate::block::{Block, FrameCache};
    let block = Block::open(dir).map_err(|e| e.to_string())?;
    let (mut metas, mut cache, mut out) = (Vec::new(), FrameCache::default(), Vec::new());
    for sref in block.series_refs().collect::<Vec<_>>() {
        block.chunk_metas(sref, &mut metas).map_err(|e| e.to_string())?;
        for meta in &metas {
            let bytes = block.chunk_bytes(meta, &mut cache).map_err(|e| e.to_string())?;
            let (codec, form, sized) = crate::chunk::sealed::head_parts(bytes).map_err(|e| e.to_string())?;
            out.push((codec.name(), form, sized, sealed_escapes(bytes)?));
        }
    }
    Ok(out)
}

/// Opens the block in `dir` and reads, as queries and `check` do, every
/// series' samples (whole and a middle slice of the window), rollups and
/// newest samples (fuzzing damaged blocks); the samples read, or the
/// first error.
pub fn block_read_all(dir: &std::path::Path) -> Result<u64, String> {
    use crate::block::{Block, FrameCache};
    let block = Block::open(dir).map_err(|e| e.to_string())?;
    let refs: Vec<SeriesRef> = block.series_refs().collect();
    let (mint, maxt) = (block.meta().mint, block.meta().maxt);
    let third = maxt.saturating_sub(mint) / 3;
    let (mut metas, mut cache, mut samples, mut rollups) = (Vec::new(), FrameCache::unshared(), Vec::new(), Vec::new());
    let (mut total, mut first_error) = (0u64, None);
    for sref in refs {
        for (from, to) in [(i64::MIN, i64::MAX), (mint.saturating_add(third), maxt.saturating_sub(third))] {
            samples.clear();
            match block.read_series(sref, from, to, &mut metas, &mut cache, &mut samples) {
                Ok(()) => total += samples.len() as u64,
                Err(e) => {
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
        if let Err(e) = block.newest(sref, &mut metas) {
            first_error.get_or_insert(e.to_string());
        }
        for resolution in crate::RESOLUTIONS.into_iter().filter(|&r| block.has_rollups(r)) {
            rollups.clear();
            let read = block.read_rollups_kept(sref, resolution, &mut cache, &mut rollups);
            if let Err(e) = read {
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    first_error.map_or(Ok(total), Err)
}
