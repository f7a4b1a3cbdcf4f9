//! Immutable on-disk blocks: one directory per aligned time window with
//! compressed chunk frames, a series → chunk table and `meta.json`.
//! `writer` builds them durably, `reader` maps and reads them (`frame_cache` keeps decompressed frames for
//! the next read, `bucket_cache` buckets summarized from raw samples), `format`
//! holds the byte layout, `meta` the JSON metadata and lineage.

mod bucket_cache;
mod format;
mod frame_cache;
mod frames;
mod meta;
mod reader;
mod writer;

pub(crate) use bucket_cache::SeriesScratch;
pub(crate) use format::{ChunkMeta, EntryNewest};
pub(crate) use meta::{BlockMeta, Compaction};
pub(crate) use reader::{Block, FrameCache};
pub(crate) use writer::{BlockWriter, MAX_CHUNK_SAMPLES, TMP_PREFIX};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Sample, SeriesRef};

    fn samples(n: usize, start: i64, f: impl Fn(usize) -> f64) -> Vec<Sample> {
        (0..n).map(|i| Sample { t: start + i as i64 * 1000, v: f(i) }).collect()
    }

    /// A blob of more buckets than the decoder accepts (1 min rollups of a
    /// block longer than ~45 days, possible with custom compaction spans)
    /// is not written: the block reads, and its readers compute the buckets.
    #[test]
    fn rollups_beyond_the_decoder_limit_are_not_written() {
        use crate::rollup::MAX_BUCKETS;
        use crate::RollupBucket;
        let dir = tempfile::tempdir().unwrap();
        let n = MAX_BUCKETS + 10;
        let maxt = n as i64 * 60_000 - 1;
        let mut w = BlockWriter::create(dir.path(), 0, maxt, Compaction { level: 1, parents: vec![] }, 3).unwrap();
        let raw = samples(100, 0, |i| i as f64);
        let (bytes, codec) = crate::chunk::sealed::encode(&raw);
        let chunk = ChunkMeta { mint: 0, maxt: 99_000, samples: 100, codec, frame: 0, offset: 0, len: 0 };
        let one = Sample { t: 0, v: 1.0 };
        let buckets: Vec<RollupBucket> = (0..n as i64)
            .map(|i| RollupBucket {
                start: i * 60_000,
                count: 30,
                sum: 30.0,
                min: 1.0,
                max: 1.0,
                first: Sample { t: i * 60_000, ..one },
                last: Sample { t: i * 60_000 + 59_000, ..one },
                correction: 0.0,
            })
            .collect();
        let newest = EntryNewest { last: one, fresh: Some(one) };
        w.add_sealed_chunks(SeriesRef(1), [(chunk, &bytes[..])], &[(60_000, buckets)], &newest).unwrap();
        let (path, _) = w.finish().unwrap();
        let block = Block::open(&path).unwrap();
        assert!(block.has_rollups(60_000));
        let (mut out, mut cache) = (Vec::new(), FrameCache::default());
        let kept = block
            .read_rollups(SeriesRef(1), 60_000, i64::MIN, i64::MAX, crate::RollupFields::ALL, &mut cache, &mut out)
            .unwrap();
        assert!(!kept && out.is_empty(), "no blob kept: readers compute from the chunks");
        let mut read = Vec::new();
        block.read_series(SeriesRef(1), i64::MIN, i64::MAX, &mut Vec::new(), &mut cache, &mut read).unwrap();
        assert_eq!(read, raw);
    }

    #[test]
    fn written_block_reads_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::create(dir.path(), 0, 7_199_999, Compaction { level: 1, parents: vec![] }, 3).unwrap();
        let series: Vec<(SeriesRef, Vec<Sample>)> = vec![
            (SeriesRef(3), samples(7200, 0, |i| (i % 100) as f64 / 10.0)),
            (SeriesRef(9), samples(5, 1000, |i| (i as f64).sqrt())),
            (SeriesRef(12), samples(3000, 500, |i| (i * 17) as f64)),
        ];
        for (r, s) in &series {
            w.add_series(*r, s).unwrap();
        }
        let (path, meta) = w.finish().unwrap();
        assert_eq!(meta.stats.samples, 7200 + 5 + 3000);
        assert!(path.file_name().unwrap().to_string_lossy().starts_with("0-7199999-"));

        let block = Block::open(&path).unwrap();
        assert_eq!(block.series_refs().collect::<Vec<_>>(), vec![SeriesRef(3), SeriesRef(9), SeriesRef(12)]);
        let (mut metas, mut cache) = (Vec::new(), FrameCache::default());
        for (r, want) in &series {
            let mut out = Vec::new();
            block.read_series(*r, i64::MIN, i64::MAX, &mut metas, &mut cache, &mut out).unwrap();
            assert_eq!(&out, want);
        }
        let mut out = Vec::new();
        block.read_series(SeriesRef(3), 10_000, 20_000, &mut metas, &mut cache, &mut out).unwrap();
        assert_eq!(out.len(), 11);
        out.clear();
        block.read_series(SeriesRef(4), i64::MIN, i64::MAX, &mut metas, &mut cache, &mut out).unwrap();
        assert!(out.is_empty());
    }

    /// One frame cache may serve several blocks: frame offsets repeat
    /// across blocks (each block's first frame is at the same offset), and
    /// a cache that knew only offsets handed one block's bytes to another.
    #[test]
    fn one_frame_cache_serves_several_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let write = |start: i64, value: fn(usize) -> f64| {
            let end = start + 7_199_999;
            let mut w =
                BlockWriter::create(dir.path(), start, end, Compaction { level: 1, parents: vec![] }, 3).unwrap();
            let series = samples(3600, start, value);
            w.add_series(SeriesRef(1), &series).unwrap();
            (Block::open(&w.finish().unwrap().0).unwrap(), series)
        };
        let (a, want_a) = write(0, |i| i as f64);
        let (b, want_b) = write(7_200_000, |i| (i * 3) as f64 + 0.5);
        let (mut metas, mut cache) = (Vec::new(), FrameCache::default());
        for _ in 0..2 {
            for (block, want) in [(&a, &want_a), (&b, &want_b)] {
                let mut out = Vec::new();
                block.read_series(SeriesRef(1), i64::MIN, i64::MAX, &mut metas, &mut cache, &mut out).unwrap();
                assert_eq!(&out, want);
            }
        }
    }

    /// Rollup blobs live in `rollups` (format 4): reading them decompresses
    /// no chunk frame, and damage there names that file.
    #[test]
    fn rollups_are_read_from_their_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::create(dir.path(), 0, 7_199_999, Compaction::default(), 3).unwrap();
        let raw = samples(7200, 0, |i| i as f64);
        w.add_series(SeriesRef(1), &raw).unwrap();
        let (path, _) = w.finish().unwrap();
        let read = |path: &std::path::Path| {
            let block = Block::open(path).unwrap();
            let mut cache = FrameCache::default();
            let mut out = Vec::new();
            let kept = block.read_rollups(
                SeriesRef(1),
                3_600_000,
                0,
                i64::MAX,
                crate::RollupFields::ALL,
                &mut cache,
                &mut out,
            );
            (kept, out, cache)
        };
        let (kept, buckets, mut cached) = read(&path);
        assert!(kept.unwrap());
        assert_eq!(buckets, pulsedb_model::summarize(&raw, 3_600_000));
        assert!(cached.slot(reader::FrameFile::Rollups).frame.is_some());
        assert!(cached.slot(reader::FrameFile::Chunks).frame.is_none(), "no chunk frame read");
        let rollups = path.join("rollups");
        let mut bytes = std::fs::read(&rollups).unwrap();
        let at = bytes.len() - 3;
        bytes[at] ^= 0x10;
        std::fs::write(&rollups, &bytes).unwrap();
        match read(&path).0 {
            Err(crate::Error::Corruption { file, kind, .. }) => {
                assert!(file.ends_with("rollups"), "{}", file.display());
                assert!(kind.contains("checksum"), "{kind}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn flipped_byte_is_reported_with_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::create(dir.path(), 0, 7_199_999, Compaction::default(), 3).unwrap();
        w.add_series(SeriesRef(1), &samples(2000, 0, |i| (i as f64).sin())).unwrap();
        let (path, _) = w.finish().unwrap();
        let chunks = path.join("chunks");
        let mut bytes = std::fs::read(&chunks).unwrap();
        let at = bytes.len() - 10;
        bytes[at] ^= 0x40;
        std::fs::write(&chunks, &bytes).unwrap();
        let block = Block::open(&path).unwrap();
        let mut out = Vec::new();
        let err = block
            .read_series(SeriesRef(1), i64::MIN, i64::MAX, &mut Vec::new(), &mut FrameCache::default(), &mut out)
            .unwrap_err();
        match err {
            crate::Error::Corruption { file, kind, .. } => {
                assert!(file.ends_with("chunks"));
                assert!(kind.contains("checksum"), "{kind}");
            }
            other => panic!("unexpected {other}"),
        }
        let index = path.join("index");
        let mut bytes = std::fs::read(&index).unwrap();
        bytes[10] ^= 1;
        std::fs::write(&index, &bytes).unwrap();
        assert!(matches!(Block::open(&path), Err(crate::Error::Corruption { .. })));
    }

    /// The `index` and `chunks` headers carry the block's version, and one
    /// that disagrees with `meta.json` is corruption naming the file.
    #[test]
    fn file_headers_carry_the_block_version() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::create(dir.path(), 0, 7_199_999, Compaction::default(), 3).unwrap();
        w.add_series(SeriesRef(1), &samples(100, 0, |i| i as f64)).unwrap();
        let (path, meta) = w.finish().unwrap();
        assert_eq!(meta.version(), meta::BlockVersion::CURRENT);
        for (file, magic) in [("chunks", b"PBCH"), ("index", b"PBIX")] {
            let bytes = std::fs::read(path.join(file)).unwrap();
            assert_eq!(&bytes[..4], magic);
            assert_eq!(bytes[4], meta::BlockVersion::CURRENT as u8, "{file} header version");
        }
        let chunks = path.join("chunks");
        let mut bytes = std::fs::read(&chunks).unwrap();
        bytes[4] = 1;
        std::fs::write(&chunks, &bytes).unwrap();
        match Block::open(&path) {
            Err(crate::Error::Corruption { file, kind, offset: 0 }) => {
                assert!(file.ends_with("chunks"));
                assert!(kind.contains(&format!("meta.json says block version {}", meta.format_version)), "{kind}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
