//! A read-only look at a data directory, safe while a server has it open:
//! the blocks with their sizes and codecs, the label index's series count
//! and the WAL's size. Backs `pulsedb inspect`; and the offline WAL repair
//! behind `pulsedb repair-wal`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::engine::{BLOCKS_DIR, INDEX_DIR, WAL_DIR};
use crate::index::Index;
use crate::{block::Block, Result};

/// What `inspect` found.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Inspection {
    pub dir: PathBuf,
    pub blocks: Vec<BlockInfo>,
    /// Series in the label index (`None` when it could not be opened).
    pub series: Option<usize>,
    pub wal_segments: usize,
    pub wal_bytes: u64,
    pub index_bytes: u64,
}

/// One block's metadata and size.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct BlockInfo {
    pub ulid: String,
    pub mint: i64,
    pub maxt: i64,
    pub level: u32,
    pub series: u64,
    pub chunks: u64,
    pub samples: u64,
    pub bytes: u64,
    pub codecs: BTreeMap<String, u64>,
}

impl Inspection {
    pub fn block_samples(&self) -> u64 {
        self.blocks.iter().map(|b| b.samples).sum()
    }

    pub fn block_bytes(&self) -> u64 {
        self.blocks.iter().map(|b| b.bytes).sum()
    }

    /// Bytes per sample in blocks (`None` without samples).
    pub fn bytes_per_sample(&self) -> Option<f64> {
        let samples = self.block_samples();
        (samples > 0).then(|| self.block_bytes() as f64 / samples as f64)
    }
}

/// Reads `dir` without taking its lock or changing anything.
pub fn inspect(dir: impl AsRef<Path>) -> Result<Inspection> {
    let dir = dir.as_ref();
    let mut out = Inspection { dir: dir.to_path_buf(), ..Inspection::default() };
    let blocks_dir = dir.join(BLOCKS_DIR);
    if blocks_dir.is_dir() {
        for entry in std::fs::read_dir(&blocks_dir)
            .map_err(|e| crate::Error::io(format!("listing {}", blocks_dir.display()), e))?
        {
            let Ok(entry) = entry else { continue };
            if entry.file_name().to_string_lossy().starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            let block = Block::open(&entry.path())?;
            let meta = block.meta();
            out.blocks.push(BlockInfo {
                ulid: meta.ulid.clone(),
                mint: meta.mint,
                maxt: meta.maxt,
                level: meta.compaction.level,
                series: meta.stats.series,
                chunks: meta.stats.chunks,
                samples: meta.stats.samples,
                bytes: block.size_on_disk(),
                codecs: meta.stats.codecs.clone(),
            });
        }
    }
    out.blocks.sort_by_key(|b| (b.mint, b.maxt));
    let index_dir = dir.join(INDEX_DIR);
    if index_dir.is_dir() {
        out.series = Index::open_read_only(&index_dir).and_then(|i| i.series_count()).ok();
        out.index_bytes = dir_size(&index_dir);
    }
    let wal_dir = dir.join(WAL_DIR);
    if let Ok(entries) = std::fs::read_dir(&wal_dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().ends_with(".wal") {
                out.wal_segments += 1;
                out.wal_bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    Ok(out)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

/// Repairs the WAL of a data directory that is not open: truncates it at
/// the first corrupt frame anywhere, deleting later segments, and reports
/// what was dropped. `Storage::open` fails with a WAL corruption error
/// (outside the torn tail it tolerates) until this is run; the samples
/// after the corruption are lost, so it is never done automatically.
pub fn repair_wal(dir: impl AsRef<Path>) -> Result<pulsedb_wal::RepairReport> {
    let dir = dir.as_ref();
    let _lock = crate::fs::DirLock::acquire(dir)?;
    Ok(pulsedb_wal::repair(dir.join(WAL_DIR))?)
}
