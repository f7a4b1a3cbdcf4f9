//! The label index, kept in RocksDB under `index/` in the data directory:
//! canonical series key ↔ series ref, postings per `name=value`, and from
//! them label names and values. It is the durable home of series identity;
//! the WAL only has to carry series that are still in the head.

mod key_cache;
mod keys;
mod postings;
mod postings_cache;
mod values;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::{WriteBatch, DB};

use crate::series_key::SeriesKey;
use crate::Labels;
use crate::Matcher;
use crate::{Error, Result, SeriesRef};
use postings::{intersect_minus, Postings, RocksPostings, VecPostings};

/// Versions of the key layout in `keys.rs` (`docs/format/label-index.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
enum IndexVersion {
    /// `S`/`R`/`P` keys of `keys.rs`.
    V1 = 1,
}

impl IndexVersion {
    const CURRENT: Self = Self::V1;
}

impl TryFrom<u32> for IndexVersion {
    type Error = u32;

    fn try_from(v: u32) -> std::result::Result<Self, u32> {
        match v {
            1 => Ok(Self::V1),
            other => Err(other),
        }
    }
}

/// Handle to the RocksDB label index; shared by reference across threads.
pub(crate) struct Index {
    db: DB,
    path: PathBuf,
    values: values::ValuesCache,
    keys: key_cache::KeyCache,
    /// None when another process may write the index (read-only opens):
    /// its writes would not bump this one's change count.
    postings_cache: Option<postings_cache::PostingsCache>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("path", &self.path).finish()
    }
}

/// RocksDB options with an info log of warnings and errors only, in one
/// file: at its default level it restates every option at each open
/// (26 KB) and kept four, a fixed cost that dwarfed a small database's data.
fn quiet_options() -> rocksdb::Options {
    let mut opts = rocksdb::Options::default();
    opts.set_log_level(rocksdb::LogLevel::Warn);
    opts.set_keep_log_file_num(1);
    opts
}

/// Deletes every `OPTIONS-<n>` file but the newest. RocksDB writes one at
/// each open and keeps the previous one too (7 KB each, with no switch in
/// the rocksdb crate), only for tools that load a database's options; it
/// never reads them to open, and deletes the older one itself at the next
/// open. For a small database the second file is a fixed cost as large as
/// weeks of its samples. Failing to delete one costs only its bytes.
fn drop_older_options_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut options: Vec<(u64, std::path::PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let number = e.file_name().to_str()?.strip_prefix("OPTIONS-")?.parse().ok()?;
            Some((number, e.path()))
        })
        .collect();
    options.sort_unstable();
    options.pop();
    for (_, older) in options {
        if let Err(e) = std::fs::remove_file(&older) {
            tracing::warn!(file = %older.display(), error = %e, "could not delete an older RocksDB options file");
        }
    }
}

/// Size of one index memtable before it is flushed.
const INDEX_WRITE_BUFFER_BYTES: usize = 8 << 20;

impl Index {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let mut opts = quiet_options();
        opts.create_if_missing(true);
        opts.set_max_open_files(512);
        // The index is written only when series are created, and its
        // memtables are anonymous memory held for as long as they are not
        // flushed: RocksDB's 64 MiB default, twice, cost up to 650 bytes per
        // series at 100 k series (benches/head_memory.rs). Smaller ones are
        // flushed sooner, to files read back through the page cache.
        opts.set_write_buffer_size(INDEX_WRITE_BUFFER_BYTES);
        opts.set_max_write_buffer_number(2);
        let db = DB::open(&opts, path).map_err(|e| Error::index(format!("opening {}", path.display()), e))?;
        drop_older_options_files(path);
        let index = Self {
            db,
            path: path.to_path_buf(),
            values: Default::default(),
            keys: Default::default(),
            postings_cache: Some(Default::default()),
        };
        index.check_version()?;
        Ok(index)
    }

    /// Opens an index another process may have open for writing, read-only.
    pub(crate) fn open_read_only(path: &Path) -> Result<Self> {
        let opts = quiet_options();
        let db = DB::open_for_read_only(&opts, path, false)
            .map_err(|e| Error::index(format!("opening {} read-only", path.display()), e))?;
        Ok(Self {
            db,
            path: path.to_path_buf(),
            values: Default::default(),
            keys: Default::default(),
            postings_cache: None,
        })
    }

    fn err(&self, what: &str) -> impl FnOnce(rocksdb::Error) -> Error + '_ {
        let context = format!("{what} in {}", self.path.display());
        move |e| Error::index(context, e)
    }

    fn check_version(&self) -> Result<()> {
        match self.db.get(keys::VERSION_KEY).map_err(self.err("reading the format version"))? {
            None => self
                .db
                .put(keys::VERSION_KEY, (IndexVersion::CURRENT as u32).to_le_bytes())
                .map_err(self.err("writing the format version")),
            Some(bytes) => {
                let version = <[u8; 4]>::try_from(bytes.as_slice()).map(u32::from_le_bytes).unwrap_or(u32::MAX);
                match IndexVersion::try_from(version) {
                    Ok(_) => Ok(()),
                    Err(version) => Err(Error::UnsupportedVersion {
                        file: self.path.clone(),
                        version,
                        supported: IndexVersion::CURRENT as u32,
                    }),
                }
            }
        }
    }

    pub(crate) fn lookup(&self, labels_key: &[u8]) -> Result<Option<SeriesRef>> {
        let value = self.db.get(keys::series_by_key(labels_key)).map_err(self.err("looking up a series"))?;
        match value {
            None => Ok(None),
            Some(v) => keys::ref_value(&v)
                .map(Some)
                .ok_or_else(|| Error::corruption(&self.path, 0, "series ref value is not 8 bytes")),
        }
    }

    /// Canonical label keys of `refs`, `None` for unknown refs, from
    /// RocksDB only: for one-off readers (recovery, retention, forwarding,
    /// `check`), whose series would only push queries' out of the cache.
    pub(crate) fn labels_keys_uncached(&self, refs: &[SeriesRef]) -> Result<Vec<Option<Vec<u8>>>> {
        self.db
            .multi_get(refs.iter().map(|&r| keys::series_by_ref(r)))
            .into_iter()
            .map(|r| r.map_err(self.err("reading series labels")))
            .collect()
    }

    /// Canonical label keys of `refs`, `None` for unknown refs, kept in
    /// memory for the next query.
    pub(crate) fn labels_keys(&self, refs: &[SeriesRef]) -> Result<Vec<Option<Arc<[u8]>>>> {
        let mut out = vec![None; refs.len()];
        let missing = self.keys.get_many(refs, &mut out);
        if missing.is_empty() {
            return Ok(out);
        }
        let missing_refs: Vec<SeriesRef> = missing.iter().map(|&i| refs[i]).collect();
        let mut found = Vec::new();
        for (&i, key) in missing.iter().zip(self.labels_keys_uncached(&missing_refs)?) {
            if let Some(key) = key {
                let key: Arc<[u8]> = key.into();
                found.push((refs[i], key.clone()));
                out[i] = Some(key);
            }
        }
        self.keys.insert(found);
        Ok(out)
    }

    /// The largest ref ever stored (0 when empty).
    pub(crate) fn max_ref(&self) -> Result<u64> {
        let mut iter = self.db.raw_iterator();
        iter.seek_for_prev(keys::series_by_ref(SeriesRef(u64::MAX)));
        let found = match iter.key() {
            Some(k) if k.first() == Some(&keys::SERIES_BY_REF) => keys::ref_suffix(k).unwrap_or(0),
            _ => 0,
        };
        iter.status().map_err(self.err("finding the largest series ref"))?;
        Ok(found)
    }

    /// Stores new series (ref, labels); idempotent.
    pub(crate) fn insert<'a>(&self, series: impl IntoIterator<Item = (SeriesRef, &'a Labels)>) -> Result<()> {
        let mut batch = WriteBatch::default();
        let mut inserted = Vec::new();
        for (sref, labels) in series {
            inserted.push(labels);
            let key = labels.to_key();
            batch.put(keys::series_by_key(&key), keys::ref_bytes(sref));
            batch.put(keys::series_by_ref(sref), &key);
            for label in labels.iter() {
                batch.put(keys::posting(&label.name, &label.value, sref), []);
            }
        }
        if inserted.is_empty() {
            return Ok(());
        }
        self.db.write(batch).map_err(self.err("inserting series"))?;
        let labels = inserted.iter().flat_map(|l| l.iter().map(|label| (label.name.as_str(), label.value.as_str())));
        self.values.inserted(labels);
        Ok(())
    }

    /// Forgets series entirely (retention); idempotent.
    pub(crate) fn delete<'a>(&self, series: impl IntoIterator<Item = (SeriesRef, &'a Labels)>) -> Result<()> {
        let mut batch = WriteBatch::default();
        let mut names = std::collections::BTreeSet::new();
        let mut refs = Vec::new();
        for (sref, labels) in series {
            refs.push(sref);
            batch.delete(keys::series_by_key(&labels.to_key()));
            batch.delete(keys::series_by_ref(sref));
            for label in labels.iter() {
                batch.delete(keys::posting(&label.name, &label.value, sref));
                names.insert(label.name.as_str());
            }
        }
        self.db.write(batch).map_err(self.err("deleting series"))?;
        self.keys.remove(refs);
        self.values.deleted(names);
        Ok(())
    }

    /// Makes every write so far durable (RocksDB's own log, fsynced).
    pub(crate) fn sync(&self) -> Result<()> {
        self.db.flush_wal(true).map_err(self.err("syncing"))?;
        pulsedb_powercut::index_synced(&self.path, |dest| self.checkpoint(dest))
    }

    /// A consistent copy of the index in `dest` (a RocksDB checkpoint:
    /// table files hard-linked, the rest copied).
    pub(crate) fn checkpoint(&self, dest: &Path) -> Result<()> {
        let checkpoint = rocksdb::checkpoint::Checkpoint::new(&self.db).map_err(self.err("starting a checkpoint"))?;
        checkpoint.create_checkpoint(dest).map_err(self.err("writing a checkpoint"))
    }

    /// Writes the memtable to a table file, so the next open need not
    /// replay RocksDB's log (done on a clean close).
    pub(crate) fn flush(&self) -> Result<()> {
        self.db.flush().map_err(self.err("flushing the memtable"))?;
        pulsedb_powercut::index_synced(&self.path, |dest| self.checkpoint(dest))
    }

    /// Every series ref, in order.
    pub(crate) fn all_refs(&self) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        let mut iter = self.db.raw_iterator();
        iter.seek([keys::SERIES_BY_REF]);
        while let Some(key) = iter.key() {
            if key.first() != Some(&keys::SERIES_BY_REF) {
                break;
            }
            if let Some(r) = keys::ref_suffix(key) {
                out.push(r);
            }
            iter.next();
        }
        iter.status().map_err(self.err("listing series"))?;
        Ok(out)
    }

    /// All label names, sorted.
    pub(crate) fn label_names(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut iter = self.db.raw_iterator();
        iter.seek([keys::POSTINGS]);
        while let Some(key) = iter.key() {
            let Some(rest) = key.strip_prefix(&[keys::POSTINGS]) else {
                break;
            };
            let Some(end) = rest.iter().position(|&b| b == 0) else {
                break;
            };
            let name = String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned();
            // Skip every posting of this name in one seek.
            let mut next = keys::name_prefix(&name);
            if let Some(last) = next.last_mut() {
                *last = 1;
            }
            out.push(name);
            iter.seek(&next);
        }
        iter.status().map_err(self.err("listing label names"))?;
        Ok(out)
    }

    /// All values of label `name`, sorted.
    pub(crate) fn label_values(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.all_values(name)?.0.iter().cloned().collect())
    }

    /// Every value of `name` and their version, from the cache or listed into it.
    fn all_values(&self, name: &str) -> Result<(values::Values, u64)> {
        if let Some(values) = self.values.get(name) {
            return Ok(values);
        }
        let changes = self.values.changes();
        let listed = self.scan_values_starting(name, "")?;
        Ok(self.values.store(name, listed.into_iter().collect(), changes))
    }

    /// The values of `m`'s label that `m` matches (`matching`) or rejects,
    /// kept for the next time while the label's values stay the same.
    fn values_where(&self, m: &Matcher, matching: bool) -> Result<Arc<Vec<String>>> {
        let (values, version) = self.all_values(m.name())?;
        let key = format!("{m} {matching}");
        if let Some(kept) = self.values.matching(&key, version) {
            return Ok(kept);
        }
        let found: Arc<Vec<String>> = Arc::new(values.iter().filter(|v| m.matches(v) == matching).cloned().collect());
        self.values.keep_matching(key, version, found.clone());
        Ok(found)
    }

    /// The values of label `name` that start with `start`, sorted (what a
    /// regex with a literal prefix needs): from the cache when `name` is
    /// in it, else a seek in the index to the first and one step per value.
    pub(crate) fn label_values_starting(&self, name: &str, start: &str) -> Result<Vec<String>> {
        match self.values.get(name) {
            Some((values, _)) => Ok(values
                .range::<str, _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
                .take_while(|v| v.starts_with(start))
                .cloned()
                .collect()),
            None => self.scan_values_starting(name, start),
        }
    }

    fn scan_values_starting(&self, name: &str, start: &str) -> Result<Vec<String>> {
        let prefix = keys::name_prefix(name);
        let mut out = Vec::new();
        let mut iter = self.db.raw_iterator();
        let mut first = prefix.clone();
        first.extend_from_slice(start.as_bytes());
        iter.seek(&first);
        while let Some(key) = iter.key() {
            let Some(rest) = key.strip_prefix(prefix.as_slice()) else {
                break;
            };
            if !rest.starts_with(start.as_bytes()) {
                break;
            }
            let Some(end) = rest.iter().position(|&b| b == 0) else {
                break;
            };
            let value = String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned();
            let mut next = keys::postings_prefix(name, &value);
            if let Some(last) = next.last_mut() {
                *last = 1;
            }
            out.push(value);
            iter.seek(&next);
        }
        iter.status().map_err(self.err("listing label values"))?;
        Ok(out)
    }

    /// Refs of every series matching all `matchers`, sorted, with
    /// Prometheus semantics: a matcher that matches the empty string also
    /// selects series without the label. Only matchers that do not match
    /// the empty string narrow the search; without any, all series are read.
    /// Recent sets are kept while no series is inserted or deleted
    /// (`postings_cache.rs`).
    pub(crate) fn postings(&self, matchers: &[Matcher]) -> Result<Vec<SeriesRef>> {
        let Some(cache) = &self.postings_cache else { return self.postings_uncached(matchers) };
        // Read before the postings: a write after it makes what they read stale.
        let changes = self.values.changes();
        let key = postings_cache::key_of(matchers);
        if let Some(refs) = cache.get(&key, changes) {
            return Ok(refs.to_vec());
        }
        let refs = self.postings_uncached(matchers)?;
        cache.keep(key, changes, self.values.changes(), Arc::new(refs.clone()));
        Ok(refs)
    }

    fn postings_uncached(&self, matchers: &[Matcher]) -> Result<Vec<SeriesRef>> {
        let mut include: Vec<Box<dyn Postings + '_>> = Vec::new();
        let mut exclude: Vec<Box<dyn Postings + '_>> = Vec::new();
        for m in matchers {
            if m.matches("") {
                // Series with a value this matcher rejects are excluded.
                let rejected: Arc<Vec<String>> = match (m.op(), m.value()) {
                    (crate::MatchOp::NotEqual, v) => Arc::new(vec![v.to_string()]),
                    _ => self.values_where(m, false)?,
                };
                exclude.push(self.union(m.name(), &rejected)?);
            } else {
                let values: Arc<Vec<String>> = match (m.exact_values(), m.literal_prefix()) {
                    (Some(values), _) => Arc::new(values.into_iter().filter(|v| m.matches(v)).collect()),
                    (None, Some(start)) => Arc::new(
                        self.label_values_starting(m.name(), start)?.into_iter().filter(|v| m.matches(v)).collect(),
                    ),
                    (None, None) => self.values_where(m, true)?,
                };
                if values.is_empty() {
                    return Ok(Vec::new());
                }
                include.push(self.union(m.name(), &values)?);
            }
        }
        if include.is_empty() {
            include.push(Box::new(VecPostings::new(self.all_refs()?)));
        }
        let refs = intersect_minus(&mut include, &mut exclude);
        if let Some(e) = include.iter_mut().chain(exclude.iter_mut()).find_map(|p| p.take_error()) {
            return Err(self.err("reading postings")(e));
        }
        Ok(refs.into_iter().map(SeriesRef).collect())
    }

    /// Postings of `name` for any of `values`: lazily from RocksDB for one
    /// value, materialised for several.
    fn union(&self, name: &str, values: &[String]) -> Result<Box<dyn Postings + '_>> {
        if let [value] = values {
            return Ok(Box::new(RocksPostings::new(&self.db, keys::postings_prefix(name, value))));
        }
        let mut refs = Vec::new();
        for value in values {
            let mut list = RocksPostings::new(&self.db, keys::postings_prefix(name, value));
            while let Some(r) = list.next() {
                refs.push(r);
            }
            if let Some(e) = list.take_error() {
                return Err(self.err("reading postings")(e));
            }
        }
        Ok(Box::new(VecPostings::new(refs)))
    }

    /// Number of series known.
    pub(crate) fn series_count(&self) -> Result<usize> {
        Ok(self.all_refs()?.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::MatchOp;

    #[test]
    fn reopening_a_small_index_costs_little_disk() {
        // RocksDB's info log restated every option at each open and kept
        // four of them: over 100 KB for an index of a few series.
        let (dir, index) = fixture();
        drop(index);
        for _ in 0..4 {
            drop(Index::open(&dir.path().join("index")).unwrap());
        }
        let files: Vec<_> = std::fs::read_dir(dir.path().join("index")).unwrap().map(|e| e.unwrap()).collect();
        let bytes: u64 = files.iter().map(|e| e.metadata().unwrap().len()).sum();
        assert!(bytes < 16 << 10, "{bytes} bytes on disk for 40 series");
        let options = files.iter().filter(|e| e.file_name().to_string_lossy().starts_with("OPTIONS-")).count();
        assert_eq!(options, 1, "only the newest options file is kept");
        // And the index still opens and answers from what is left.
        let index = Index::open(&dir.path().join("index")).unwrap();
        assert_eq!(index.postings(&[Matcher::equal("job", "api")]).unwrap().len(), 20);
    }

    fn fixture() -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("index")).unwrap();
        let mut series = Vec::new();
        for i in 0..40u64 {
            let job = if i % 2 == 0 { "api" } else { "db" };
            let mut pairs = vec![
                ("__name__".to_string(), "up".to_string()),
                ("job".to_string(), job.to_string()),
                ("instance".to_string(), format!("10.0.0.{i}")),
            ];
            if i % 5 == 0 {
                pairs.push(("zone".to_string(), "a".to_string()));
            }
            series.push((SeriesRef(i + 1), Labels::new(pairs)));
        }
        index.insert(series.iter().map(|(r, l)| (*r, l))).unwrap();
        (dir, index)
    }

    fn select(index: &Index, matchers: &[(MatchOp, &str, &str)]) -> Vec<u64> {
        let ms: Vec<Matcher> = matchers.iter().map(|&(op, n, v)| Matcher::new(op, n, v).unwrap()).collect();
        index.postings(&ms).unwrap().into_iter().map(|r| r.0).collect()
    }

    #[test]
    fn matchers_follow_prometheus_semantics() {
        let (_dir, index) = fixture();
        use MatchOp::{Equal, NotEqual, RegexMatch, RegexNoMatch};
        assert_eq!(select(&index, &[(Equal, "job", "api"), (Equal, "instance", "10.0.0.4")]), vec![5]);
        assert_eq!(select(&index, &[(Equal, "job", "db"), (Equal, "instance", "10.0.0.4")]), Vec::<u64>::new());
        assert_eq!(select(&index, &[(Equal, "zone", "a")]), vec![1, 6, 11, 16, 21, 26, 31, 36]);
        assert_eq!(select(&index, &[(Equal, "job", "db"), (Equal, "zone", "a")]), vec![6, 16, 26, 36]);
        assert_eq!(select(&index, &[(Equal, "job", "db"), (NotEqual, "zone", "a")]).len(), 16);
        // zone="" selects series without the label.
        assert_eq!(select(&index, &[(Equal, "job", "api"), (Equal, "zone", "")]).len(), 16);
        // A regex is anchored: "10.0.0.1" does not match 10.0.0.10..19.
        assert_eq!(select(&index, &[(RegexMatch, "instance", r"10\.0\.0\.1")]), vec![2]);
        assert_eq!(select(&index, &[(RegexMatch, "instance", r"10\.0\.0\.1.")]).len(), 10);
        assert_eq!(select(&index, &[(RegexMatch, "instance", r"10\.0\.0\.1|10\.0\.0\.2")]), vec![2, 3]);
        // A literal prefix seeks to it: 10.0.0.1 and 10.0.0.10 … 10.0.0.19.
        assert_eq!(select(&index, &[(RegexMatch, "instance", r"10\.0\.0\.1.*")]).len(), 11);
        assert_eq!(select(&index, &[(RegexMatch, "instance", r"10\.0\.0\.3[0-9]")]).len(), 10);
        assert_eq!(index.label_values_starting("instance", "10.0.0.3").unwrap().len(), 11);
        assert!(index.label_values_starting("instance", "9").unwrap().is_empty());
        assert_eq!(select(&index, &[(Equal, "__name__", "up"), (RegexNoMatch, "job", "api|db")]), Vec::<u64>::new());
        assert_eq!(select(&index, &[(RegexMatch, "zone", ".*")]).len(), 40);
        assert_eq!(select(&index, &[(RegexMatch, "zone", ".+")]).len(), 8);
        assert_eq!(select(&index, &[(NotEqual, "job", "api")]).len(), 20);
        assert_eq!(select(&index, &[(Equal, "nope", "x")]), Vec::<u64>::new());
    }

    #[test]
    fn names_values_and_reopen() {
        let (dir, index) = fixture();
        assert_eq!(index.label_names().unwrap(), vec!["__name__", "instance", "job", "zone"]);
        assert_eq!(index.label_values("job").unwrap(), vec!["api", "db"]);
        assert_eq!(index.max_ref().unwrap(), 40);
        let key = Labels::new([("__name__", "up"), ("job", "api"), ("instance", "10.0.0.0"), ("zone", "a")]).to_key();
        assert_eq!(index.lookup(&key).unwrap(), Some(SeriesRef(1)));
        drop(index);
        let index = Index::open(&dir.path().join("index")).unwrap();
        assert_eq!(index.lookup(&key).unwrap(), Some(SeriesRef(1)));
        assert_eq!(index.labels_keys(&[SeriesRef(1), SeriesRef(99)]).unwrap()[1], None);
    }

    #[test]
    fn delete_removes_postings() {
        let (_dir, index) = fixture();
        let labels = Labels::new([("__name__", "up"), ("job", "api"), ("instance", "10.0.0.0"), ("zone", "a")]);
        // Read once, so the key cache holds it.
        assert_eq!(index.labels_keys(&[SeriesRef(1)]).unwrap()[0].as_deref(), Some(&labels.to_key()[..]));
        index.delete([(SeriesRef(1), &labels)]).unwrap();
        assert_eq!(select(&index, &[(MatchOp::Equal, "instance", "10.0.0.0")]), Vec::<u64>::new());
        assert_eq!(index.lookup(&labels.to_key()).unwrap(), None);
        assert_eq!(index.labels_keys(&[SeriesRef(1)]).unwrap()[0], None);
    }

    #[test]
    fn kept_series_sets_follow_inserts_and_deletes() {
        let (_dir, index) = fixture();
        let up = [(MatchOp::Equal, "__name__", "up"), (MatchOp::Equal, "job", "api")];
        let first = select(&index, &up);
        assert_eq!(first.len(), 20);
        assert_eq!(select(&index, &up), first, "the kept set");
        let new = Labels::new([("__name__", "up"), ("job", "api"), ("instance", "new")]);
        index.insert([(SeriesRef(41), &new)]).unwrap();
        assert_eq!(select(&index, &up).last(), Some(&41), "an inserted series is in the next answer");
        index.delete([(SeriesRef(41), &new)]).unwrap();
        assert_eq!(select(&index, &up), first, "a deleted one is gone from it");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Any equality / inequality conjunction over a random index gives
        /// exactly the series a plain scan keeps (the leapfrog's seeks,
        /// steps and exclusions against RocksDB agree with the definition).
        #[test]
        fn postings_equal_a_plain_scan(
            values in proptest::collection::vec((0u8..3, 0u8..7, 0u8..2), 1..300),
            wanted in proptest::collection::vec((0usize..3, 0u8..7, proptest::bool::ANY), 1..4),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let index = Index::open(&dir.path().join("index")).unwrap();
            let names = ["a", "b", "c"];
            let series: Vec<(SeriesRef, Labels)> = values
                .iter()
                .enumerate()
                .map(|(i, (a, b, c))| {
                    let pairs = [("a", a.to_string()), ("b", b.to_string()), ("c", c.to_string())];
                    (SeriesRef(i as u64 * 3 + 1), Labels::new(pairs))
                })
                .collect();
            index.insert(series.iter().map(|(r, l)| (*r, l))).unwrap();
            let matchers: Vec<(MatchOp, &str, String)> = wanted
                .iter()
                .map(|&(n, v, eq)| (if eq { MatchOp::Equal } else { MatchOp::NotEqual }, names[n], v.to_string()))
                .collect();
            // The same conjunction with a literal-prefix regex for the first matcher.
            let (_, n0, v0) = &matchers[0];
            let regex = [(MatchOp::RegexMatch, *n0, format!("{v0}.*"))];
            let got_regex = select(&index, &regex.iter().map(|(op, n, v)| (*op, *n, v.as_str())).collect::<Vec<_>>());
            let want_regex: Vec<u64> =
                series.iter().filter(|(_, l)| l.get(n0).is_some_and(|x| x.starts_with(v0.as_str()))).map(|(r, _)| r.0).collect();
            proptest::prop_assert_eq!(got_regex, want_regex);
            let got = select(&index, &matchers.iter().map(|(op, n, v)| (*op, *n, v.as_str())).collect::<Vec<_>>());
            let want: Vec<u64> = series
                .iter()
                .filter(|(_, l)| matchers.iter().all(|(op, n, v)| (l.get(n) == Some(v.as_str())) == (*op == MatchOp::Equal)))
                .map(|(r, _)| r.0)
                .collect();
            proptest::prop_assert_eq!(got, want);
        }

        /// Regex matchers (with and without a literal prefix, negated)
        /// select what a plain scan selects while series come and go: the
        /// label values a first query lists are kept and must follow
        /// later inserts and deletes.
        #[test]
        fn regex_postings_follow_inserts_and_deletes(
            values in proptest::collection::vec((0u8..12, 0u8..3), 2..120),
            deleted in proptest::collection::vec(proptest::bool::ANY, 120),
            pattern in proptest::sample::select(vec![".*1.*", "1.*", ".+", ".*", "x-1|x-2", ".*-1", "x-(1|2)0?"]),
            negated in proptest::bool::ANY,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let index = Index::open(&dir.path().join("index")).unwrap();
            let series: Vec<(SeriesRef, Labels)> = values
                .iter()
                .enumerate()
                .map(|(i, (a, b))| (SeriesRef(i as u64 + 1), Labels::new([("a", format!("x-{a}")), ("b", b.to_string())])))
                .collect();
            let op = if negated { MatchOp::RegexNoMatch } else { MatchOp::RegexMatch };
            let matcher = Matcher::new(op, "a", pattern).unwrap();
            let check = |live: &[&(SeriesRef, Labels)]| -> Result<(), proptest::test_runner::TestCaseError> {
                let got: Vec<u64> = index.postings(std::slice::from_ref(&matcher)).unwrap().iter().map(|r| r.0).collect();
                let want: Vec<u64> =
                    live.iter().filter(|(_, l)| matcher.matches(l.get("a").unwrap_or(""))).map(|(r, _)| r.0).collect();
                proptest::prop_assert_eq!(got, want);
                let listed = index.label_values("a").unwrap();
                let mut present: Vec<String> = live.iter().filter_map(|(_, l)| l.get("a").map(str::to_string)).collect();
                present.sort();
                present.dedup();
                proptest::prop_assert_eq!(listed, present);
                Ok(())
            };
            let half = series.len() / 2;
            index.insert(series[..half].iter().map(|(r, l)| (*r, l))).unwrap();
            check(&series[..half].iter().collect::<Vec<_>>())?;
            index.insert(series[half..].iter().map(|(r, l)| (*r, l))).unwrap();
            check(&series.iter().collect::<Vec<_>>())?;
            let (gone, kept): (Vec<_>, Vec<_>) = series.iter().zip(&deleted).partition(|(_, &d)| d);
            index.delete(gone.iter().map(|((r, l), _)| (*r, l))).unwrap();
            check(&kept.into_iter().map(|(s, _)| s).collect::<Vec<_>>())?;
        }
    }
}
