//! Writes a block: series in increasing ref order go in, a sealed,
//! durable block directory comes out. Everything is written under a
//! `.tmp-` name, fsynced, and renamed into place last, so a block either
//! exists whole or not at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::format::{self, ChunkMeta, EntryNewest, RollupRef};
use super::frames::FrameWriter;
use super::meta::{new_ulid, BlockMeta, BlockStats, BlockVersion, Compaction};
use crate::chunk::{sealed, Codec};
use crate::error::IoContext;
use crate::rollup;
use crate::RollupBucket;
use crate::{fs, Result, Sample, SeriesRef};

/// A series gets rollups at `resolution` only with at least this many
/// samples per bucket on average: below it a bucket's summary (nine
/// fields, about 6 bytes compressed on a meter's readings) costs a large
/// share of the samples' own bytes and saves little reading (decoding a
/// few dozen samples takes about as long as finding their bucket).
/// 1 min buckets need a sample every 2 s or faster (30); 1 h buckets one
/// every 36 s or faster (100): 15 s and 30 s scrapes keep them, 1-minute
/// readings do not (their summaries added a sixth to a meter's bytes).
pub(crate) fn min_samples_per_bucket(resolution: i64) -> u64 {
    let [_, hour] = crate::RESOLUTIONS;
    if resolution >= hour {
        100
    } else {
        30
    }
}
/// Most samples put in one sealed chunk.
pub(crate) const MAX_CHUNK_SAMPLES: usize = 2048;
pub(crate) const TMP_PREFIX: &str = ".tmp-";

/// Builds one block in a temporary directory under `blocks_dir`.
#[derive(Debug)]
pub(crate) struct BlockWriter {
    blocks_dir: PathBuf,
    tmp_dir: PathBuf,
    meta: BlockMeta,
    chunks: FrameWriter,
    /// Rollup blobs, in a file of their own so that reading them
    /// decompresses no chunk (format 4).
    rollups: FrameWriter,
    index: Vec<u8>,
    table: Vec<(u64, u64)>,
    codecs: BTreeMap<Codec, u64>,
    last_ref: Option<SeriesRef>,
    /// Rollup resolutions written: those that divide the block's window,
    /// so no bucket straddles two blocks.
    resolutions: Vec<i64>,
}

impl BlockWriter {
    /// Starts a block covering `[mint, maxt]` (inclusive, the window bounds).
    pub(crate) fn create(
        blocks_dir: &Path,
        mint: i64,
        maxt: i64,
        compaction: Compaction,
        zstd_level: i32,
    ) -> Result<Self> {
        let ulid = new_ulid();
        let tmp_dir = blocks_dir.join(format!("{TMP_PREFIX}{ulid}"));
        std::fs::create_dir_all(&tmp_dir).context(|| format!("creating {}", tmp_dir.display()))?;
        let version = BlockVersion::CURRENT;
        let chunks =
            FrameWriter::create(&tmp_dir.join(format::CHUNKS_FILE), format::CHUNKS_MAGIC, version, zstd_level)?;
        let rollups =
            FrameWriter::create(&tmp_dir.join(format::ROLLUPS_FILE), format::ROLLUPS_MAGIC, version, zstd_level)?;
        let mut index = Vec::with_capacity(1 << 16);
        index.extend_from_slice(&format::file_header(format::INDEX_MAGIC, BlockVersion::CURRENT));
        Ok(Self {
            blocks_dir: blocks_dir.to_path_buf(),
            tmp_dir,
            meta: BlockMeta {
                format_version: BlockVersion::CURRENT as u32,
                ulid,
                mint,
                maxt,
                stats: BlockStats { data_mint: i64::MAX, data_maxt: i64::MIN, ..BlockStats::default() },
                compaction,
            },
            chunks,
            rollups,
            index,
            table: Vec::new(),
            codecs: BTreeMap::new(),
            last_ref: None,
            resolutions: crate::RESOLUTIONS.into_iter().filter(|r| (maxt - mint + 1) % r == 0).collect(),
        })
    }

    /// Adds a series' samples (time-ordered, unique timestamps, within the window).
    pub(crate) fn add_series(&mut self, sref: SeriesRef, samples: &[Sample]) -> Result<()> {
        let Some(newest) = EntryNewest::of(samples) else {
            return Ok(());
        };
        let pieces = samples.len().div_ceil(MAX_CHUNK_SAMPLES);
        let per_piece = samples.len().div_ceil(pieces);
        let mut metas = Vec::with_capacity(pieces);
        for run in samples.chunks(per_piece) {
            let (bytes, codec) = sealed::encode(run);
            let (first, last) = (run[0].t, run[run.len() - 1].t);
            metas.push(self.put_chunk(&bytes, first, last, run.len() as u32, codec)?);
        }
        let rollups: Vec<(i64, Vec<RollupBucket>)> =
            self.resolutions.clone().into_iter().map(|r| (r, rollup::compute_for_storage(samples, r))).collect();
        let refs = self.put_rollups(&rollups)?;
        self.finish_series(sref, &metas, &refs, &newest)
    }

    /// Writes rollups only at the resolutions `keep` accepts.
    pub(crate) fn retain_resolutions(&mut self, keep: impl Fn(i64) -> bool) {
        self.resolutions.retain(|&r| keep(r));
    }

    /// The resolutions this block keeps rollups at.
    pub(crate) fn resolutions(&self) -> &[i64] {
        &self.resolutions
    }

    fn put_rollups(&mut self, rollups: &[(i64, Vec<RollupBucket>)]) -> Result<Vec<RollupRef>> {
        let mut refs = Vec::with_capacity(rollups.len());
        for (resolution, buckets) in rollups {
            // Rollups that summarise little (low-frequency data) would cost
            // more than the samples, and more buckets than a blob may hold
            // would not decode; readers compute those from the chunks.
            let samples: u64 = buckets.iter().map(|b| b.count).sum();
            if !self.resolutions.contains(resolution)
                || samples < min_samples_per_bucket(*resolution) * buckets.len() as u64
                || buckets.len() > rollup::MAX_BUCKETS
            {
                continue;
            }
            let blob = rollup::encode(buckets);
            self.meta.stats.rollup_bytes += blob.len() as u64;
            let (frame, offset) = self.rollups.put(&blob)?;
            refs.push(RollupRef { resolution: *resolution, frame, offset, len: blob.len() as u32 });
        }
        Ok(refs)
    }

    /// Adds a series as already-sealed chunks (compaction copies them as
    /// they are) with its rollups and newest samples.
    pub(crate) fn add_sealed_chunks<'a>(
        &mut self,
        sref: SeriesRef,
        chunks: impl IntoIterator<Item = (ChunkMeta, &'a [u8])>,
        rollups: &[(i64, Vec<RollupBucket>)],
        newest: &EntryNewest,
    ) -> Result<()> {
        let mut metas = Vec::new();
        for (meta, bytes) in chunks {
            metas.push(self.put_chunk(bytes, meta.mint, meta.maxt, meta.samples, meta.codec)?);
        }
        if metas.is_empty() {
            return Ok(());
        }
        let refs = self.put_rollups(rollups)?;
        self.finish_series(sref, &metas, &refs, newest)
    }

    fn put_chunk(&mut self, bytes: &[u8], mint: i64, maxt: i64, samples: u32, codec: Codec) -> Result<ChunkMeta> {
        let (frame, offset) = self.chunks.put(bytes)?;
        let meta = ChunkMeta { mint, maxt, samples, codec, frame, offset, len: bytes.len() as u32 };
        *self.codecs.entry(codec).or_default() += 1;
        let stats = &mut self.meta.stats;
        stats.chunks += 1;
        stats.samples += u64::from(samples);
        stats.data_mint = stats.data_mint.min(mint);
        stats.data_maxt = stats.data_maxt.max(maxt);
        Ok(meta)
    }

    fn finish_series(
        &mut self,
        sref: SeriesRef,
        metas: &[ChunkMeta],
        rollups: &[RollupRef],
        newest: &EntryNewest,
    ) -> Result<()> {
        debug_assert!(self.last_ref.is_none_or(|last| last < sref), "series must come in ref order");
        self.last_ref = Some(sref);
        self.table.push((sref.0, self.index.len() as u64));
        format::encode_series_entry(metas, rollups, newest, &mut self.index);
        self.meta.stats.series += 1;
        Ok(())
    }

    /// The directory the block gets once [`finish`](Self::finish) renames it into place.
    pub(crate) fn final_dir(&self) -> PathBuf {
        self.blocks_dir.join(self.meta.dir_name())
    }

    /// Seals the block: fsyncs its files, writes `meta.json`, renames the
    /// directory into place and fsyncs `blocks/`. Returns the final path.
    /// On an error before the rename the temporary directory is removed (a
    /// full disk should not keep filling up with retries); after it (the
    /// fsync of `blocks/`), the block is left for the caller to deal with.
    pub(crate) fn finish(self) -> Result<(PathBuf, BlockMeta)> {
        let tmp_dir = self.tmp_dir.clone();
        let result = self.seal();
        if result.is_err() && tmp_dir.exists() {
            let _ = std::fs::remove_dir_all(&tmp_dir);
        }
        result
    }

    fn seal(mut self) -> Result<(PathBuf, BlockMeta)> {
        self.chunks.finish()?;
        self.rollups.finish()?;

        let table_offset = self.index.len() as u64;
        for &(sref, offset) in &self.table {
            self.index.extend_from_slice(&sref.to_le_bytes());
            self.index.extend_from_slice(&offset.to_le_bytes());
        }
        self.index.extend_from_slice(&table_offset.to_le_bytes());
        self.index.extend_from_slice(&(self.table.len() as u64).to_le_bytes());
        let crc = crc32fast::hash(&self.index);
        self.index.extend_from_slice(&crc.to_le_bytes());
        self.index.extend_from_slice(format::INDEX_MAGIC);
        fs::write_synced(&self.tmp_dir.join(format::INDEX_FILE), &self.index)?;

        if self.meta.stats.samples == 0 {
            self.meta.stats.data_mint = 0;
            self.meta.stats.data_maxt = 0;
        }
        self.meta.stats.codecs = self.codecs.iter().map(|(c, n)| (c.name().to_string(), *n)).collect();
        self.meta.write(&self.tmp_dir)?;
        fs::sync_dir(&self.tmp_dir)?;
        let final_dir = self.blocks_dir.join(self.meta.dir_name());
        fs::rename_durable(&self.tmp_dir, &final_dir)?;
        Ok((final_dir, self.meta))
    }

    /// Abandons the block, removing its temporary directory.
    pub(crate) fn abort(self) {
        let _ = std::fs::remove_dir_all(&self.tmp_dir);
    }
}
