//! Metric metadata kept by a [`Db`](crate::Db): each metric family's type,
//! help and unit as writers last sent them (remote-write metadata records,
//! the text formats' comments), served by `/api/v1/metadata` and shown by
//! the UI's autocomplete. Kept in memory and in `metadata` in the data
//! directory (`docs/format/metadata.md`), rewritten whole (temp file,
//! fsync, rename) at most once a second and on close: metadata changes
//! rarely, and losing its last second in a crash loses nothing a writer
//! does not send again.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pulsedb_model::{MetricMetadata, MetricType};
use pulsedb_storage::{Error, Result};

pub(crate) const FILE_NAME: &str = "metadata";
const HEADER: &str = "pulsedb-metadata 1";
/// Bounds against a writer that sends a new name or help text every time.
const MAX_METRICS: usize = 100_000;
const MAX_PER_METRIC: usize = 10;
const MAX_TEXT_BYTES: usize = 4096;
const MIN_WRITE_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct MetadataStore {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Metric family → distinct entries, the latest first.
    by_metric: BTreeMap<String, Vec<MetricMetadata>>,
    dirty: bool,
    last_write: Option<Instant>,
}

impl MetadataStore {
    /// Reads `dir/metadata` if it exists.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(FILE_NAME);
        let by_metric = match std::fs::read_to_string(&path) {
            Ok(text) => decode(&text, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(Error::Io { context: format!("reading {}", path.display()), source: e }),
        };
        Ok(Self { path, state: Mutex::new(State { by_metric, ..State::default() }) })
    }

    /// Keeps `items`; writes the file when something changed and the last write is a second old.
    pub(crate) fn record(&self, items: &[MetricMetadata]) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for item in items {
            let mut item = item.clone();
            truncate(&mut item.help);
            truncate(&mut item.unit);
            if item.metric.len() > MAX_TEXT_BYTES {
                continue;
            }
            if !state.by_metric.contains_key(&item.metric) && state.by_metric.len() >= MAX_METRICS {
                continue;
            }
            let entries = state.by_metric.entry(item.metric.clone()).or_default();
            if entries.first() == Some(&item) {
                continue;
            }
            entries.retain(|e| e != &item);
            entries.insert(0, item);
            entries.truncate(MAX_PER_METRIC);
            state.dirty = true;
        }
        if state.dirty && state.last_write.is_none_or(|t| t.elapsed() >= MIN_WRITE_INTERVAL) {
            self.write(&mut state)?;
        }
        Ok(())
    }

    /// Metric families and their entries: one family's (`metric`), or all;
    /// at most `limit` families and `limit_per_metric` entries each.
    pub(crate) fn get(
        &self,
        metric: Option<&str>,
        limit: Option<usize>,
        limit_per_metric: Option<usize>,
    ) -> Vec<(String, Vec<MetricMetadata>)> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .by_metric
            .iter()
            .filter(|(name, _)| metric.is_none_or(|m| m == name.as_str()))
            .take(limit.unwrap_or(usize::MAX))
            .map(|(name, entries)| {
                (name.clone(), entries.iter().take(limit_per_metric.unwrap_or(usize::MAX)).cloned().collect())
            })
            .collect()
    }

    /// Writes what is not written yet (on close).
    pub(crate) fn flush(&self) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.dirty {
            self.write(&mut state)?;
        }
        Ok(())
    }

    fn write(&self, state: &mut State) -> Result<()> {
        let io = |context: &str, e: std::io::Error| Error::Io { context: context.to_string(), source: e };
        let tmp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp).map_err(|e| io("creating metadata.tmp", e))?;
        file.write_all(encode(&state.by_metric).as_bytes()).map_err(|e| io("writing metadata.tmp", e))?;
        file.sync_all().map_err(|e| io("syncing metadata.tmp", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| io("renaming metadata.tmp to metadata", e))?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io("syncing the data directory", e))?;
        }
        state.dirty = false;
        state.last_write = Some(Instant::now());
        Ok(())
    }
}

fn truncate(text: &mut String) {
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// One line per entry: type, family, unit, help, tab-separated, with `\`,
/// tab and newline escaped.
fn encode(by_metric: &BTreeMap<String, Vec<MetricMetadata>>) -> String {
    let mut out = format!("{HEADER}\n");
    for entry in by_metric.values().flatten() {
        let fields = [entry.kind.as_str(), &escape(&entry.metric), &escape(&entry.unit), &escape(&entry.help)];
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    out
}

fn decode(text: &str, path: &Path) -> Result<BTreeMap<String, Vec<MetricMetadata>>> {
    let corrupt = |line: usize, kind: String| Error::Corruption { file: path.to_path_buf(), offset: line as u64, kind };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(corrupt(0, format!("the first line is not {HEADER:?}")));
    }
    let mut by_metric: BTreeMap<String, Vec<MetricMetadata>> = BTreeMap::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [kind, metric, unit, help] = fields[..] else {
            return Err(corrupt(i + 2, format!("line {} has {} fields, not 4", i + 2, fields.len())));
        };
        let kind = MetricType::parse(kind).ok_or_else(|| corrupt(i + 2, format!("unknown type {kind:?}")))?;
        let entry = MetricMetadata { metric: unescape(metric), kind, unit: unescape(unit), help: unescape(help) };
        by_metric.entry(entry.metric.clone()).or_default().push(entry);
    }
    Ok(by_metric)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn entry(metric: &str, kind: MetricType, help: &str) -> MetricMetadata {
        MetricMetadata { metric: metric.into(), kind, help: help.into(), unit: String::new() }
    }

    #[test]
    fn kept_across_reopen_latest_first_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetadataStore::open(dir.path()).unwrap();
        store.record(&[entry("up", MetricType::Gauge, "1 if up")]).unwrap();
        store
            .record(&[entry("x_total", MetricType::Counter, "old"), entry("x_total", MetricType::Counter, "new")])
            .unwrap();
        store.flush().unwrap();
        let reopened = MetadataStore::open(dir.path()).unwrap();
        let all = reopened.get(None, None, None);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].0, "x_total");
        assert_eq!(all[1].1.iter().map(|e| e.help.as_str()).collect::<Vec<_>>(), ["new", "old"]);
        assert_eq!(reopened.get(Some("x_total"), None, Some(1))[0].1.len(), 1);
        assert_eq!(reopened.get(None, Some(1), None).len(), 1);
        let many: Vec<_> = (0..20).map(|i| entry("y", MetricType::Gauge, &i.to_string())).collect();
        reopened.record(&many).unwrap();
        assert_eq!(reopened.get(Some("y"), None, None)[0].1.len(), MAX_PER_METRIC);
    }

    /// A version 1 file as `docs/format/metadata.md` describes it, checked in:
    /// every later version must still read it.
    #[test]
    fn the_version_1_fixture_reads() {
        let text = include_str!("../tests/fixtures/metadata-v1");
        let map = decode(text, Path::new("metadata-v1")).unwrap();
        let requests = &map["http_requests_total"][0];
        assert_eq!((requests.kind, requests.unit.as_str()), (MetricType::Counter, "requests"));
        assert_eq!(requests.help, "Requests served,\nby code.");
        assert_eq!(map["up"][0].help, "1 if the target is up \\ 0 if not");
        assert_eq!(map["up"][0].unit, "");
        assert_eq!(map["rpc_duration_seconds"][0].help, "RPC\tlatency.");
        assert_eq!(encode(&map), text, "written back byte for byte");
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "pulsedb-metadata 1\ncounter\tx\n").unwrap();
        let e = MetadataStore::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("metadata") && e.contains("fields"), "{e}");
    }

    proptest! {
        #[test]
        fn any_text_round_trips(metric in "\\PC{1,20}", help in "(\\PC|\t|\n|\\\\){0,40}", unit in "[a-z\\\\\t]{0,8}") {
            let mut map = BTreeMap::new();
            map.insert(metric.clone(), vec![MetricMetadata { metric, kind: MetricType::Summary, help, unit }]);
            prop_assert_eq!(decode(&encode(&map), Path::new("m")).unwrap(), map);
        }
    }
}
