//! `pulsedb check`: verifies every checksum in a data directory that no
//! process has open — each block's index footer, every chunk frame (by
//! decoding every chunk and comparing sample counts with the index and
//! `meta.json`), every rollup blob, every WAL frame and record, and that
//! every series in a block has labels in the label index. Problems are
//! collected, not returned at the first one, so one report says everything
//! that is damaged. Nothing is changed.

use std::path::{Path, PathBuf};

use crate::block::{Block, FrameCache};
use crate::engine::{BLOCKS_DIR, INDEX_DIR, WAL_DIR};
use crate::index::Index;
use crate::record::{decode_batch, RefSample};
use crate::RESOLUTIONS;
use crate::{Result, SeriesRef};

/// Problems reported per block before moving on, so a badly damaged block
/// does not drown the report.
const MAX_PROBLEMS_PER_BLOCK: usize = 20;

/// What [`check`] verified and found.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CheckReport {
    pub dir: PathBuf,
    pub blocks: usize,
    pub series: u64,
    pub chunks: u64,
    pub samples: u64,
    pub rollup_blobs: u64,
    pub wal_segments: usize,
    pub wal_frames: u64,
    pub index_series: Option<usize>,
    /// A torn WAL tail, which opening cuts off by itself (not damage).
    pub wal_torn_tail: Option<String>,
    /// Each problem names the file (and offset where known) and what is wrong.
    pub problems: Vec<String>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the data directory `dir`, holding its lock so no server writes
/// (or compacts blocks away) meanwhile.
pub fn check(dir: impl AsRef<Path>) -> Result<CheckReport> {
    let dir = dir.as_ref();
    let _lock = crate::fs::DirLock::acquire(dir)?;
    let mut report = CheckReport { dir: dir.to_path_buf(), ..CheckReport::default() };
    let index = match Index::open_read_only(&dir.join(INDEX_DIR)) {
        Ok(index) => {
            match index.series_count() {
                Ok(n) => report.index_series = Some(n),
                Err(e) => report.problems.push(format!("label index: {e}")),
            }
            Some(index)
        }
        Err(e) => {
            report.problems.push(format!("label index: {e}"));
            None
        }
    };
    check_blocks(dir, index.as_ref(), &mut report)?;
    check_wal(dir, &mut report)?;
    Ok(report)
}

fn check_blocks(dir: &Path, index: Option<&Index>, report: &mut CheckReport) -> Result<()> {
    let blocks_dir = dir.join(BLOCKS_DIR);
    let Ok(entries) = std::fs::read_dir(&blocks_dir) else { return Ok(()) };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.') && e.path().is_dir())
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths {
        report.blocks += 1;
        let block = match Block::open(&path) {
            Ok(b) => b,
            Err(e) => {
                report.problems.push(format!("block {}: {e}", path.display()));
                continue;
            }
        };
        check_block(&block, index, report);
    }
    Ok(())
}

fn check_block(block: &Block, index: Option<&Index>, report: &mut CheckReport) {
    let before = report.problems.len();
    let refs: Vec<SeriesRef> = block.series_refs().collect();
    let (mut metas, mut cache, mut samples, mut rollups) = (Vec::new(), FrameCache::unshared(), Vec::new(), Vec::new());
    let mut block_samples = 0u64;
    for &sref in &refs {
        if report.problems.len() - before >= MAX_PROBLEMS_PER_BLOCK {
            report.problems.push(format!("block {}: more problems not listed", block.dir().display()));
            return;
        }
        samples.clear();
        if let Err(e) = block.read_series(sref, i64::MIN, i64::MAX, &mut metas, &mut cache, &mut samples) {
            report.problems.push(format!("series {} in block {}: {e}", sref.0, block.dir().display()));
            continue;
        }
        report.chunks += metas.len() as u64;
        block_samples += samples.len() as u64;
        let bits = |s: crate::Sample| (s.t, s.v.to_bits());
        let bits = |n: Option<crate::block::EntryNewest>| n.map(|n| (bits(n.last), n.fresh.map(bits)));
        match block.newest(sref, &mut metas) {
            Ok(Some(entry)) if bits(Some(entry)) != bits(crate::block::EntryNewest::of(&samples)) => {
                report.problems.push(format!(
                    "series {} in block {}: the index entry's newest samples differ from its chunks' ({entry:?})",
                    sref.0,
                    block.dir().display()
                ));
            }
            Ok(_) => {}
            Err(e) => report.problems.push(format!("series {} in block {}: {e}", sref.0, block.dir().display())),
        }
        for resolution in RESOLUTIONS.into_iter().filter(|&r| block.has_rollups(r)) {
            rollups.clear();
            match block.read_rollups_kept(sref, resolution, &mut cache, &mut rollups) {
                Ok(true) if !rollups.is_empty() => report.rollup_blobs += 1,
                Ok(_) => {}
                Err(e) => report.problems.push(format!(
                    "rollups of series {} in block {}: {e}",
                    sref.0,
                    block.dir().display()
                )),
            }
        }
    }
    report.series += refs.len() as u64;
    report.samples += block_samples;
    if block_samples != block.meta().stats.samples {
        report.problems.push(format!(
            "block {}: chunks hold {block_samples} samples, meta.json says {}",
            block.dir().display(),
            block.meta().stats.samples
        ));
    }
    if let Some(index) = index {
        match index.labels_keys_uncached(&refs) {
            Ok(keys) => {
                let missing: Vec<u64> = refs.iter().zip(&keys).filter(|(_, k)| k.is_none()).map(|(r, _)| r.0).collect();
                if let Some(first) = missing.first() {
                    report.problems.push(format!(
                        "block {}: {} series have no labels in the label index (first ref {first}); queries cannot find them",
                        block.dir().display(),
                        missing.len()
                    ));
                }
            }
            Err(e) => report.problems.push(format!("label index, looking up block {}: {e}", block.dir().display())),
        }
    }
}

fn check_wal(dir: &Path, report: &mut CheckReport) -> Result<()> {
    let wal_dir = dir.join(WAL_DIR);
    if !wal_dir.is_dir() {
        return Ok(());
    }
    let (mut series, mut samples) = (Vec::new(), Vec::<RefSample>::new());
    let mut bad_records = Vec::new();
    let verified = pulsedb_wal::verify(&wal_dir, |segment, payload| {
        if let Err(e) = decode_batch(payload, &mut series, &mut samples) {
            if bad_records.len() < MAX_PROBLEMS_PER_BLOCK {
                bad_records.push(format!("WAL segment {segment}: a record does not decode: {e}"));
            }
        }
    });
    match verified {
        Ok(v) => {
            report.wal_segments = v.segments;
            report.wal_frames = v.frames;
            if let Some(site) = v.corruption {
                report.problems.push(format!(
                    "WAL {}: segment {} is damaged at byte {}: {} (opening will refuse it; `pulsedb repair-wal` truncates there)",
                    wal_dir.display(),
                    site.segment,
                    site.offset,
                    site.kind
                ));
            }
            report.wal_torn_tail = v.torn_tail.map(|site| {
                format!("segment {} from byte {} ({}): cut off on the next open", site.segment, site.offset, site.kind)
            });
        }
        Err(e) => report.problems.push(format!("WAL {}: {e}", wal_dir.display())),
    }
    report.problems.extend(bad_records);
    Ok(())
}
