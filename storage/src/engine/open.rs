//! Opening a data directory: lock, label index, blocks (cleaning up what
//! an interrupted flush, compaction or deletion left behind), the head
//! checkpoint if there is one (its series, their open chunks, and their
//! closed chunks from the head chunk files), then WAL replay into the head
//! from the checkpoint's segment on. Samples the blocks already hold are
//! skipped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use pulsedb_wal::{Wal, WalOptions};

use super::checkpoint::LastCheckpoint;
use super::{AppendState, Counters, Inner, BLOCKS_DIR, CHECKPOINT_FILE, CHUNKS_HEAD_DIR, INDEX_DIR, WAL_DIR};
use crate::block::{Block, TMP_PREFIX};
use crate::error::IoContext;
use crate::fs::{self, DirLock};
use crate::head::checkpoint::Checkpoint;
use crate::head::{decode_chunk, push_recovered, ChunkStore, ClosedChunk, Head, SeriesData};
use crate::index::Index;
use crate::options::Options;
use crate::record::{decode_batch, RefSample};
use crate::series_key::SeriesKey;
use crate::tombstones::Tombstones;
use crate::Labels;
use crate::{Error, Result, Sample, SeriesRef};

pub(super) fn open(dir: &Path, options: Options) -> Result<Inner> {
    let cfg = options.resolve()?;
    std::fs::create_dir_all(dir).context(|| format!("creating data directory {}", dir.display()))?;
    let lock = DirLock::acquire(dir)?;
    let index = Index::open(&dir.join(INDEX_DIR))?;
    let tombstones = Tombstones::open(dir)?;
    let blocks = load_blocks(&dir.join(BLOCKS_DIR))?;
    // Everything before the end of the newest block is in blocks.
    let flushed_until = blocks.iter().map(|b| b.meta().maxt.saturating_add(1)).max().unwrap_or(i64::MIN);
    super::checkpoint::remove_leftover(dir)?;
    let checkpoint = Checkpoint::read(&dir.join(CHECKPOINT_FILE))?;
    let (head, restored_max_ref) = match &checkpoint {
        Some(c) => restore_checkpoint(dir, c, cfg.block_span, flushed_until)?,
        None => (Head::new(ChunkStore::open(&dir.join(CHUNKS_HEAD_DIR), cfg.block_span)?, flushed_until), 0),
    };
    let last_checkpoint = checkpoint.as_ref().map_or_else(LastCheckpoint::default, LastCheckpoint::of);
    drop(checkpoint);

    let mut replay = Replay::new(&head, &index, flushed_until);
    let wal_options = WalOptions::new()
        .with_segment_size(options.wal_segment_size)
        .with_sync(options.sync)
        .with_replay_from(last_checkpoint.segment());
    let wal = Wal::open(dir.join(WAL_DIR), wal_options, |pos, payload| replay.frame(pos.segment, payload))?;
    let Replay { max_ref, segment_maxt, new_series, .. } = replay;
    let max_ref = max_ref.max(restored_max_ref);
    // Put back series RocksDB's unsynced log lost (after an OS crash), and
    // only those: most are there already.
    let refs: Vec<SeriesRef> = new_series.iter().map(|(r, _)| *r).collect();
    let known = index.labels_keys_uncached(&refs)?;
    index.insert(new_series.iter().zip(known).filter(|(_, k)| k.is_none()).map(|((r, l), _)| (*r, l)))?;
    // Series whose samples were all already in blocks need not stay in the head.
    for series in head.all() {
        let data = series.data.lock();
        match data.mint() {
            Some(t) => head.observe_mint(t),
            None if data.is_empty() => {
                drop(data);
                head.remove(&series);
            }
            None => {}
        }
    }
    head.forget_removed_keys();
    let next_ref = index.max_ref()?.max(max_ref) + 1;
    let creation_rate = options.max_new_series_per_minute.map(super::limits::CreationRate::new);
    tracing::info!(
        dir = %dir.display(),
        blocks = blocks.len(),
        head_series = head.len(),
        "opened data directory"
    );
    let startup_hold = parking_lot::Mutex::new(options.wal_hold_from.map(|segment| wal.hold(segment)));
    Ok(Inner {
        instance: super::next_instance(),
        startup_hold,
        dir: dir.to_path_buf(),
        options,
        cfg,
        wal,
        index,
        tombstones,
        head,
        blocks: RwLock::new(Arc::new(blocks)),
        append: Mutex::new(AppendState { next_ref, segment_maxt, creation_rate, opened: std::time::Instant::now() }),
        apply_gate: RwLock::new(()),
        maintenance: Mutex::new(()),
        last_checkpoint,
        detached_chunk_files: Mutex::new(Vec::new()),
        orphans: Mutex::new(Vec::new()),
        closed: Default::default(),
        counters: Counters::default(),
        #[cfg(any(test, feature = "fault-injection"))]
        faults: Default::default(),
        _lock: lock,
    })
}

/// The head as checkpoint `c` left it, with the closed chunks its chunk
/// files hold, less everything before `flushed_until` (in blocks since);
/// and the largest series ref in it.
fn restore_checkpoint(dir: &Path, c: &Checkpoint, block_span: i64, flushed_until: i64) -> Result<(Head, u64)> {
    let path = dir.join(CHECKPOINT_FILE);
    let first_window = if flushed_until == i64::MIN { i64::MIN } else { flushed_until.div_euclid(block_span) };
    let (store, found) = ChunkStore::recover(&dir.join(CHUNKS_HEAD_DIR), block_span, &c.header.lengths, first_window)?;
    let mut closed: HashMap<SeriesRef, Vec<ClosedChunk>> = HashMap::new();
    for chunk in &found {
        push_recovered(closed.entry(chunk.meta.sref).or_default(), &chunk.meta, chunk.at, chunk.minutes);
    }
    let head = Head::new(store, flushed_until);
    let mut max_ref = 0;
    c.for_each_series(|s| {
        let open = decode_chunk(s.open, usize::from(s.open_count)).map_err(|kind| (0, kind.to_string()))?;
        let series = head.get_or_insert(s.sref, s.key);
        let mut data = SeriesData::restored(closed.remove(&s.sref).unwrap_or_default(), &open, s.ooo, s.newest);
        if flushed_until != i64::MIN {
            data.truncate_before(flushed_until);
        }
        series.restore(data);
        max_ref = max_ref.max(s.sref.0);
        Ok(())
    })
    .map_err(|(at, kind)| Error::corruption(&path, at, kind))?;
    if c.header.maxt != i64::MIN {
        head.observe(c.header.maxt);
    }
    tracing::info!(series = head.len(), wal_segment = c.header.wal_segment, "restored the head from its checkpoint");
    Ok((head, max_ref))
}

/// Opens every block under `blocks_dir`, removing temporary directories of
/// interrupted writes and blocks superseded by a finished compaction.
pub(crate) fn load_blocks(blocks_dir: &Path) -> Result<Vec<Arc<Block>>> {
    std::fs::create_dir_all(blocks_dir).context(|| format!("creating {}", blocks_dir.display()))?;
    for leftover in fs::entries_with_prefix(blocks_dir, TMP_PREFIX)?
        .into_iter()
        .chain(fs::entries_with_prefix(blocks_dir, ".deleted-")?)
    {
        tracing::warn!(path = %leftover.display(), "removing leftover of an interrupted block write or deletion");
        std::fs::remove_dir_all(&leftover).context(|| format!("removing {}", leftover.display()))?;
    }
    let mut blocks = Vec::new();
    for entry in std::fs::read_dir(blocks_dir).context(|| format!("listing {}", blocks_dir.display()))? {
        let entry = entry.context(|| format!("listing {}", blocks_dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        blocks.push(Block::open(&entry.path())?);
    }
    let superseded: HashSet<String> = blocks.iter().flat_map(|b| b.meta().compaction.parents.iter().cloned()).collect();
    let mut kept = Vec::new();
    for block in blocks {
        if superseded.contains(&block.meta().ulid) {
            tracing::warn!(block = %block.dir().display(), "removing a block already merged by a compaction");
            fs::remove_dir_durable(block.dir())?;
        } else {
            kept.push(Arc::new(block));
        }
    }
    kept.sort_by_key(|b| (b.meta().mint, b.meta().maxt));
    for pair in kept.windows(2) {
        if let [a, b] = pair {
            if a.meta().maxt >= b.meta().mint {
                return Err(Error::corruption(
                    b.dir(),
                    0,
                    format!("block overlaps {} in time; refusing to guess which is right", a.dir().display()),
                ));
            }
        }
    }
    Ok(kept)
}

/// WAL replay state.
struct Replay<'a> {
    head: &'a Head,
    index: &'a Index,
    flushed_until: i64,
    max_ref: u64,
    segment_maxt: BTreeMap<u64, i64>,
    /// Series found in the WAL, re-inserted into the index in case its own
    /// log lost them.
    new_series: Vec<(SeriesRef, Labels)>,
    series_buf: Vec<(SeriesRef, Vec<u8>)>,
    samples_buf: Vec<RefSample>,
    run: Vec<Sample>,
}

impl<'a> Replay<'a> {
    fn new(head: &'a Head, index: &'a Index, flushed_until: i64) -> Self {
        Self {
            head,
            index,
            flushed_until,
            max_ref: 0,
            segment_maxt: BTreeMap::new(),
            new_series: Vec::new(),
            series_buf: Vec::new(),
            samples_buf: Vec::new(),
            run: Vec::new(),
        }
    }

    fn frame(&mut self, segment: u64, payload: &[u8]) -> Result<()> {
        decode_batch(payload, &mut self.series_buf, &mut self.samples_buf)
            .map_err(|e| Error::corruption(format!("wal segment {segment}"), e.offset as u64, e.to_string()))?;
        for (sref, key) in self.series_buf.drain(..) {
            let labels = Labels::from_key(&key)
                .map_err(|e| Error::corruption(format!("wal segment {segment}"), e.offset as u64, e.to_string()))?;
            self.head.get_or_insert(sref, &key);
            self.max_ref = self.max_ref.max(sref.0);
            self.new_series.push((sref, labels));
        }
        let maxt = self.segment_maxt.entry(segment).or_insert(i64::MIN);
        let mut rest = self.samples_buf.as_slice();
        while let Some(first) = rest.first() {
            let sref = first.sref;
            let run = rest.iter().take_while(|s| s.sref == sref).count();
            let (this, next) = rest.split_at(run);
            rest = next;
            self.run.clear();
            for s in this {
                *maxt = (*maxt).max(s.t);
                // Samples before the end of the newest block are already in it.
                if s.t >= self.flushed_until {
                    self.run.push(Sample { t: s.t, v: s.v });
                }
            }
            let Some(last) = self.run.last().map(|s| s.t) else {
                continue;
            };
            let series = match self.head.get(sref) {
                Some(series) => series,
                None => {
                    // The series record was in a segment already truncated;
                    // the index has had it durably since then.
                    let key =
                        self.index.labels_keys_uncached(&[sref])?.into_iter().next().flatten().ok_or_else(|| {
                            Error::corruption(
                                format!("wal segment {segment}"),
                                0,
                                format!("sample for unknown series ref {}", sref.0),
                            )
                        })?;
                    self.head.get_or_insert(sref, &key)
                }
            };
            series.append_all(&self.run, &self.head.store);
            self.head.observe(last);
        }
        Ok(())
    }
}
