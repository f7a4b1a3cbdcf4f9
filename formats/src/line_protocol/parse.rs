//! Parsing line protocol bodies into a batch, optionally through a cache of
//! series seen before.
//!
//! A line's series section (`measurement[,tag=value...]`, up to the first
//! unescaped space) and a field key, as raw bytes, name one series. With a
//! cache that knows them, the field's sample is appended by handle and no
//! label is decoded or allocated; otherwise the section is decoded and
//! checked, the labels built, and the field reported as a miss for the
//! caller to cache once appended. Either way the answer is the same: a
//! cached key was decoded and checked when it was learnt (the same bytes
//! decode the same way), the expansion budget counts the label bytes the
//! cache stored, and a line with several faults reports the one the full
//! decoding meets first (the series section before the fields).

use std::borrow::Cow;
use std::collections::HashSet;

use pulsedb_model::SeriesHandle;

use super::{Precision, EXPANSION_FLOOR, MAX_EXPANSION, MAX_TAGS};
use crate::remote_wire::Miss;
use crate::{sanitize_name, Batch, IngestError, Labels, Sample, METRIC_NAME};

/// Series seen in earlier bodies, by a line's raw series section, a space
/// and the raw field key.
pub trait LineSeriesCache {
    /// The series' handle, and the bytes of its label names and values.
    fn get(&self, key: &[u8]) -> Option<(SeriesHandle, usize)>;

    /// Whether misses are reported, with their keys, to be learnt.
    fn learns(&self) -> bool {
        true
    }
}

/// A cache that knows nothing and learns nothing.
#[derive(Debug)]
pub struct NoLineCache;

impl LineSeriesCache for NoLineCache {
    fn get(&self, _: &[u8]) -> Option<(SeriesHandle, usize)> {
        None
    }

    fn learns(&self) -> bool {
        false
    }
}

/// A parsed body: rows by handle for cached series, by labels for the
/// others, in line order; and the rows by labels to cache (`Miss::row`
/// indexes `batch.rows()`).
#[derive(Debug, Default)]
pub struct CachedLines {
    pub batch: Batch,
    pub misses: Vec<Miss>,
}

/// Parses a whole body; `now_ms` stamps lines without a timestamp. Work and
/// memory are linear in the body: at most [`MAX_TAGS`] tags a line, and the
/// series labels the fields expand into at most [`MAX_EXPANSION`] times the
/// body's size.
pub fn parse(body: &str, precision: Precision, now_ms: i64) -> Result<Batch, IngestError> {
    parse_cached(body, precision, now_ms, &NoLineCache).map(|lines| lines.batch)
}

/// Parses a body of bytes, naming the first line that is not UTF-8.
pub fn parse_bytes(body: &[u8], precision: Precision, now_ms: i64) -> Result<Batch, IngestError> {
    parse_bytes_cached(body, precision, now_ms, &NoLineCache).map(|lines| lines.batch)
}

/// [`parse_bytes`] through `cache`.
pub fn parse_bytes_cached(
    body: &[u8],
    precision: Precision,
    now_ms: i64,
    cache: &impl LineSeriesCache,
) -> Result<CachedLines, IngestError> {
    match std::str::from_utf8(body) {
        Ok(text) => parse_cached(text, precision, now_ms, cache),
        Err(e) => {
            let line = body[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
            Err(IngestError::line(line, "not valid UTF-8"))
        }
    }
}

/// [`parse`] through `cache`.
pub fn parse_cached(
    body: &str,
    precision: Precision,
    now_ms: i64,
    cache: &impl LineSeriesCache,
) -> Result<CachedLines, IngestError> {
    let mut out = CachedLines::default();
    let budget = body.len().saturating_mul(MAX_EXPANSION).saturating_add(EXPANSION_FLOOR);
    let mut expanded = 0usize;
    let mut scratch = Scratch::default();
    for (index, line) in body.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut into = Sink { out: &mut out, cache, scratch: &mut scratch };
        expanded += parse_line_into(line, precision, now_ms, &mut into, budget - expanded)
            .map_err(|reason| IngestError::line(index + 1, reason))?;
    }
    Ok(out)
}

/// Parses one line (not blank, not a comment) into `batch`; the error is the reason alone.
pub fn parse_line(line: &str, precision: Precision, now_ms: i64, batch: &mut Batch) -> Result<(), String> {
    let mut out = CachedLines { batch: std::mem::take(batch), misses: Vec::new() };
    let mut scratch = Scratch::default();
    let result = parse_line_into(
        line,
        precision,
        now_ms,
        &mut Sink { out: &mut out, cache: &NoLineCache, scratch: &mut scratch },
        usize::MAX,
    );
    *batch = out.batch;
    result.map(|_| ())
}

/// Buffers reused from line to line.
#[derive(Default)]
struct Scratch {
    key: Vec<u8>,
    /// Raw key span and value of each field of the line.
    fields: Vec<((usize, usize), Option<f64>)>,
}

/// Where a line goes.
struct Sink<'a, C> {
    out: &'a mut CachedLines,
    cache: &'a C,
    scratch: &'a mut Scratch,
}

/// A decoded and checked series section.
struct SeriesSection {
    /// The sanitized measurement, the prefix of every field's metric name.
    prefix: String,
    tags: Vec<(String, String)>,
    tag_bytes: usize,
}

/// Decodes and checks the series section; returns it and where the fields start.
fn decode_series(line: &str) -> Result<(SeriesSection, usize), String> {
    let mut cursor = Cursor { s: line, i: 0 };
    let measurement = cursor.token(b", ");
    if measurement.is_empty() {
        return Err("missing measurement name".into());
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    while cursor.eat(b',') {
        if tags.len() == MAX_TAGS {
            return Err(format!("more than {MAX_TAGS} tags"));
        }
        let key = cursor.token(b"=, ");
        if key.is_empty() {
            return Err("empty tag key".into());
        }
        if !cursor.eat(b'=') {
            return Err(format!("tag {key:?} has no '=value'"));
        }
        let value = cursor.token(b", ");
        let name = sanitize_name(&key, false);
        if name == METRIC_NAME {
            return Err(format!("tag key {key:?} would overwrite the metric name"));
        }
        if !seen.insert(name.clone()) {
            return Err(format!("duplicate tag {key:?} (after making it a valid label name: {name:?})"));
        }
        tags.push((name, value));
    }
    if !cursor.eat(b' ') {
        return Err("missing fields: expected a space after the measurement and tags".into());
    }
    let tag_bytes = tags.iter().map(|(n, v)| n.len() + v.len()).sum();
    Ok((SeriesSection { prefix: sanitize_name(&measurement, true), tags, tag_bytes }, cursor.i))
}

/// Parses one line into `into`, returning the bytes of label names and
/// values it added, refusing the line before they pass `budget`.
fn parse_line_into<C: LineSeriesCache>(
    line: &str,
    precision: Precision,
    now_ms: i64,
    into: &mut Sink<'_, C>,
    budget: usize,
) -> Result<usize, String> {
    let mut cursor = Cursor { s: line, i: 0 };
    // Decoded when a field misses the cache (or the fast scan cannot tell
    // where the section ends, or to report its fault before a later one).
    let mut series: Option<SeriesSection> = None;
    let fields_start = match cursor.skip_series() {
        Some(i) => i,
        None => {
            let (decoded, i) = decode_series(line)?;
            series = Some(decoded);
            i
        }
    };
    let section_fault = |series: &Option<SeriesSection>| match series {
        Some(_) => None,
        None => decode_series(line).err(),
    };
    cursor.i = fields_start;
    cursor.skip_spaces();
    let fields = &mut into.scratch.fields;
    fields.clear();
    loop {
        let key = cursor.skip_token(b"=, ");
        let fault = if key.0 == key.1 {
            Some("empty field key".to_string())
        } else if !cursor.eat(b'=') {
            Some(format!("field {:?} has no '=value'", unescape(&line[key.0..key.1])))
        } else {
            match cursor.field_value() {
                Ok(value) => {
                    fields.push((key, value));
                    None
                }
                Err(e) => Some(format!("field {:?}: {e}", unescape(&line[key.0..key.1]))),
            }
        };
        if let Some(fault) = fault {
            return Err(section_fault(&series).unwrap_or(fault));
        }
        if !cursor.eat(b',') {
            break;
        }
    }
    cursor.skip_spaces();
    let rest = cursor.rest().trim_end();
    let t = if rest.is_empty() {
        now_ms
    } else {
        let stamp = rest
            .parse::<i64>()
            .map_err(|_| format!("invalid timestamp {rest:?}: expected an integer"))
            .and_then(|raw| {
                precision
                    .to_millis(raw)
                    .ok_or_else(|| format!("timestamp {raw} is out of range for precision {precision:?}"))
            });
        match stamp {
            Ok(t) => t,
            Err(fault) => return Err(section_fault(&series).unwrap_or(fault)),
        }
    };
    let section = &line[..fields_start - 1];
    let mut added = 0;
    for &((key_start, key_end), value) in fields.iter() {
        let Some(v) = value else { continue };
        let key = &mut into.scratch.key;
        key.clear();
        key.extend_from_slice(section.as_bytes());
        key.push(b' ');
        key.extend_from_slice(&line.as_bytes()[key_start..key_end]);
        let cached = into.cache.get(key);
        let (labels, bytes) = match cached {
            Some((_, bytes)) => (None, bytes),
            None => {
                if series.is_none() {
                    series = Some(decode_series(line)?.0);
                }
                let Some(s) = series.as_ref() else { continue };
                let metric = format!("{}_{}", s.prefix, sanitize_name(&unescape(&line[key_start..key_end]), false));
                let bytes = METRIC_NAME.len() + metric.len() + s.tag_bytes;
                let labels = Labels::new(
                    std::iter::once((METRIC_NAME.to_string(), metric))
                        .chain(s.tags.iter().map(|(n, v)| (n.clone(), v.clone()))),
                );
                (Some(labels), bytes)
            }
        };
        added += bytes;
        if added > budget {
            return Err(format!(
                "the body expands to more than {MAX_EXPANSION} times its size in series labels (every field \
                 carries every tag of its line): send fewer fields or tags per line"
            ));
        }
        match (cached, labels) {
            (Some((handle, _)), _) => {
                into.out.batch.push_by_handle(handle, t, v);
            }
            (None, Some(labels)) => {
                into.out.batch.add(labels, [Sample::new(t, v)]);
                if into.cache.learns() {
                    let row = into.out.batch.rows().len() - 1;
                    into.out.misses.push(Miss { row, wire_labels: Some(key.clone()) });
                }
            }
            (None, None) => {}
        }
    }
    Ok(added)
}

/// `raw` with the backslash escapes of `,`, `=`, space and backslash resolved.
fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut cursor = Cursor { s: raw, i: 0 };
    Cow::Owned(cursor.token(b""))
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.i..).unwrap_or("")
    }

    /// Whether the bytes at `i` are a backslash escape (of `,`, `=`, space or backslash).
    fn escape_at(&self, i: usize) -> bool {
        let bytes = self.s.as_bytes();
        bytes.get(i) == Some(&b'\\') && bytes.get(i + 1).is_some_and(|n| matches!(n, b',' | b'=' | b' ' | b'\\'))
    }

    /// Moves past a token up to an unescaped byte of `stops`, decoding
    /// nothing; returns its raw span.
    fn skip_token(&mut self, stops: &[u8]) -> (usize, usize) {
        let start = self.i;
        while let Some(b) = self.peek() {
            if self.escape_at(self.i) {
                self.i += 2;
                continue;
            }
            if stops.contains(&b) {
                break;
            }
            self.i += 1;
        }
        (start, self.i)
    }

    /// Reads up to an unescaped byte of `stops`, resolving backslash
    /// escapes of `,`, `=`, space and backslash; any other backslash is literal.
    fn token(&mut self, stops: &[u8]) -> String {
        let (start, end) = self.skip_token(stops);
        let raw = &self.s[start..end];
        if !raw.contains('\\') {
            return raw.to_string();
        }
        let mut out = String::with_capacity(raw.len());
        let mut i = start;
        let mut plain_from = start;
        while i < end {
            if self.escape_at(i) {
                out.push_str(&self.s[plain_from..i]);
                out.push(char::from(self.s.as_bytes()[i + 1]));
                i += 2;
                plain_from = i;
            } else {
                i += 1;
            }
        }
        out.push_str(&self.s[plain_from..end]);
        out
    }

    /// Moves past a well-formed series section (a measurement, then
    /// `,key=value` tags, at most [`MAX_TAGS`], then a space) without
    /// decoding it; returns where the fields start, or `None` when the
    /// section is not well formed (then decoding it names the fault).
    fn skip_series(&mut self) -> Option<usize> {
        let (start, end) = self.skip_token(b", ");
        if start == end {
            return None;
        }
        let mut tags = 0;
        while self.eat(b',') {
            tags += 1;
            let key = self.skip_token(b"=, ");
            if tags > MAX_TAGS || key.0 == key.1 || !self.eat(b'=') {
                return None;
            }
            self.skip_token(b", ");
        }
        self.eat(b' ').then_some(self.i)
    }

    /// A field value: `Some(number)` or `None` for a string field.
    fn field_value(&mut self) -> Result<Option<f64>, String> {
        if self.eat(b'"') {
            let bytes = self.s.as_bytes();
            while let Some(&b) = bytes.get(self.i) {
                self.i += if b == b'\\' { 2 } else { 1 };
                if b == b'"' {
                    return Ok(None);
                }
            }
            return Err("string value is not closed with '\"'".into());
        }
        let (start, end) = self.skip_token(b", ");
        let raw = unescape(&self.s[start..end]);
        if raw.is_empty() {
            return Err("missing value".into());
        }
        let number = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
        let parsed = match &*raw {
            "t" | "T" | "true" | "True" | "TRUE" => Some(1.0),
            "f" | "F" | "false" | "False" | "FALSE" => Some(0.0),
            r if r.ends_with('i') => r[..r.len() - 1].parse::<i64>().ok().map(|v| v as f64),
            r if r.ends_with('u') => r[..r.len() - 1].parse::<u64>().ok().map(|v| v as f64),
            r if number(r) => r.parse::<f64>().ok(),
            _ => None,
        };
        match parsed {
            Some(v) if v.is_finite() => Ok(Some(v)),
            // As InfluxDB's parser: a literal beyond f64's range is an error, not an infinity.
            Some(_) => Err(format!("invalid value {raw:?}: out of range for a 64-bit float")),
            None => Err(format!(
                "invalid value {raw:?}: expected a float, an integer (1i), an unsigned (1u), a boolean or a \"string\""
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::cell::RefCell;
    use std::collections::HashMap;

    use proptest::prelude::*;
    use pulsedb_model::{Row, SeriesRef};

    use super::*;

    /// A cache as a server keeps one: learnt from the misses of each body.
    #[derive(Default)]
    struct Learning {
        keys: RefCell<HashMap<Vec<u8>, (SeriesHandle, usize)>>,
        series: RefCell<Vec<Labels>>,
    }

    impl LineSeriesCache for Learning {
        fn get(&self, key: &[u8]) -> Option<(SeriesHandle, usize)> {
            self.keys.borrow().get(key).copied()
        }
    }

    impl Learning {
        fn learn(&self, lines: &CachedLines) {
            let rows: Vec<_> = lines.batch.rows().collect();
            for miss in &lines.misses {
                let labels = rows[miss.row].0;
                let mut series = self.series.borrow_mut();
                let index = series.iter().position(|l| l == labels).unwrap_or_else(|| {
                    series.push(labels.clone());
                    series.len() - 1
                });
                let bytes = labels.iter().map(|l| l.name.len() + l.value.len()).sum();
                let handle = SeriesHandle::new(1, SeriesRef(index as u64));
                self.keys.borrow_mut().insert(miss.wire_labels.clone().unwrap(), (handle, bytes));
            }
        }

        /// Every row, in order, with handles turned back into labels.
        fn expand(&self, batch: &Batch) -> Vec<(Labels, Vec<Sample>)> {
            let series = self.series.borrow();
            batch
                .rows_in_order()
                .map(|row| match row {
                    Row::Labels(l, s) => (l.clone(), s.to_vec()),
                    Row::Handle(h, s) => (series[h.series().0 as usize].clone(), s.to_vec()),
                })
                .collect()
        }
    }

    fn plain(batch: &Batch) -> Vec<(Labels, Vec<Sample>)> {
        batch.rows().map(|(l, s)| (l.clone(), s.to_vec())).collect()
    }

    fn line() -> impl Strategy<Value = String> {
        let measurement = prop::sample::select(vec!["cpu", "mem", "weather\\ station", "a\\,b", "", "x-y"]);
        let tag = prop::sample::select(vec![
            ",host=a",
            ",host=b",
            ",region=eu",
            ",k\\=x=a\\,b",
            ",city=New\\ York",
            ",__name__=x",
            ",host-=c",
            ",=v",
            ",novalue",
        ]);
        let field = prop::sample::select(vec![
            "v=1",
            "u=2i",
            "w=3u",
            "s=\"a \\\"b\\\", c\"",
            "b=t",
            "bad=x1",
            "n\\ k=1.5",
            "e=1e999",
            "=1",
            "v=",
            "v=-0.5",
        ]);
        let stamp = prop::sample::select(vec!["", " 1700000000000000000", " 12", " xx", " 99999999999999999999"]);
        let gap = prop::sample::select(vec![" ", "  ", ""]);
        (measurement, proptest::collection::vec(tag, 0..4), gap, proptest::collection::vec(field, 1..4), stamp)
            .prop_map(|(m, tags, gap, fields, stamp)| format!("{m}{}{gap}{}{stamp}", tags.concat(), fields.join(",")))
    }

    proptest! {
        /// Bodies parsed through a cache learnt from earlier bodies give the
        /// same rows in the same order (handles turned back into their
        /// labels), and the same error, as parsing without one.
        #[test]
        fn a_cache_changes_nothing_but_how_rows_name_their_series(
            bodies in proptest::collection::vec(proptest::collection::vec(line(), 1..6), 1..6),
        ) {
            let cache = Learning::default();
            for lines in bodies.iter().chain(&bodies) {
                let body = lines.join("\n");
                let uncached = parse(&body, Precision::Nanoseconds, 7);
                let cached = parse_cached(&body, Precision::Nanoseconds, 7, &cache);
                match (uncached, cached) {
                    (Ok(want), Ok(got)) => {
                        prop_assert_eq!(cache.expand(&got.batch), plain(&want));
                        cache.learn(&got);
                    }
                    (Err(want), Err(got)) => prop_assert_eq!(want, got),
                    (want, got) => prop_assert!(false, "{:?} against {:?}", want, got.map(|g| g.batch)),
                }
            }
        }
    }

    #[test]
    fn a_known_series_is_appended_by_handle_and_an_unknown_one_reported() {
        let cache = Learning::default();
        let body = "cpu,host=a usage=1,idle=2 1000000000\n";
        let first = parse_cached(body, Precision::Nanoseconds, 0, &cache).unwrap();
        assert_eq!((first.batch.rows().len(), first.misses.len()), (2, 2));
        assert_eq!(first.misses[0].wire_labels.as_deref(), Some(&b"cpu,host=a usage"[..]));
        cache.learn(&first);
        let again = parse_cached(body, Precision::Nanoseconds, 0, &cache).unwrap();
        assert_eq!((again.batch.rows().len(), again.batch.rows_by_handle().len(), again.misses.len()), (0, 2, 0));
    }

    #[test]
    fn cached_label_bytes_count_toward_the_expansion_budget() {
        struct Huge;
        impl LineSeriesCache for Huge {
            fn get(&self, _: &[u8]) -> Option<(SeriesHandle, usize)> {
                Some((SeriesHandle::new(1, SeriesRef(1)), 1 << 30))
            }
        }
        let err = parse_cached("cpu v=1 1", Precision::Nanoseconds, 0, &Huge).unwrap_err().to_string();
        assert!(err.contains("expands to more than"), "{err}");
    }
}
