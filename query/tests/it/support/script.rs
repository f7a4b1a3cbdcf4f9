//! The runner of the PromQL scripts in `query/testdata/*.test`, over any
//! [`ScriptStore`]: `load` hands each series to the store, `eval` queries
//! its [`Querier`] through the engine. The query crate runs the scripts
//! against memory (`query/tests/it/scripts.rs`); the library runs the same
//! runner against a real data directory, head and blocks
//! (`tests/it/promql_scripts.rs` includes this file). Adding a case needs
//! no Rust.
//!
//! Script format (after Prometheus' promqltest):
//!
//! ```text
//! load <interval>                          series, one sample per interval from t=0
//!   metric{label="v"} 0+10x10 _ stale 5    a+bxN: N+1 values a, a+b, …; _ missing; stale marker
//! clear                                    start again with an empty database
//! eval instant at <time> <expr>            time: duration (50m) or seconds
//!   metric{label="v"} 42                   expected samples, any order (scalars: a bare number)
//! eval_ordered instant at <time> <expr>    the same, in this order
//! eval_fail instant at <time> <expr>       must fail (parse or execution error)
//! # raw samples only                       the next eval is skipped where rollups answer
//! eval range from <t> to <t> step <d> <expr>
//!   {label="v"} 1 2 _ 4                    expected values per step (expansions allowed)
//! ```
//! Values compare bit for bit (the sign of zero too; any NaN equals any
//! NaN), within 1e-12 relative when the store answers from rollups: expectations are Prometheus 2.42's answers, written with every
//! digit by `query/testdata/record-with-promtool.py --record`, which
//! `--check` compares the same way.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;

use pulsedb_model::{Batch, Labels, Sample, STALE_NAN as STALE};
use pulsedb_query::{Engine, Expr, Querier, Value};

/// Where a script's series go and are queried from.
pub(crate) trait ScriptStore {
    /// Drops every series (the script's `clear`).
    fn clear(&mut self);
    /// Stores one `load` block's series (one batch).
    fn load(&mut self, batch: &Batch);
    fn querier(&self) -> &dyn Querier;
    /// Whether queries may use the store's rollups. Raw plans must give
    /// Prometheus' answers bit for bit; rollup plans add partial sums in
    /// another order and are held to 1e-12 relative.
    fn rollups(&self) -> bool {
        false
    }
}

fn parse_time(s: &str) -> i64 {
    if let Ok(secs) = s.parse::<f64>() {
        return (secs * 1000.0).round() as i64;
    }
    let mut total = 0i64;
    let mut digits = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 604_800_000,
            _ => panic!("bad time {s}"),
        };
        total += digits.parse::<i64>().unwrap() * unit;
        digits.clear();
    }
    total
}

/// `metric{a="b"}` or `{a="b"}` or `{}` → labels.
fn parse_labels(s: &str) -> Labels {
    if s == "{}" {
        return Labels::default();
    }
    match pulsedb_query::parse(s).unwrap_or_else(|e| panic!("bad series {s}: {e}")) {
        Expr::Vector(v) => {
            let mut pairs: Vec<(String, String)> =
                v.matchers.iter().map(|m| (m.name.clone(), m.value.clone())).collect();
            if let Some(n) = v.name {
                pairs.push(("__name__".into(), n));
            }
            Labels::new(pairs)
        }
        other => panic!("not a series: {other}"),
    }
}

/// Expands `1 2+3x2 _ stale _x2 NaN` into values (None = missing).
fn expand(tokens: &[&str]) -> Vec<Option<f64>> {
    let num = |s: &str| -> f64 {
        match s {
            "stale" => f64::from_bits(STALE),
            "Inf" | "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            s => s.parse().unwrap_or_else(|_| panic!("bad value {s}")),
        }
    };
    let mut out = Vec::new();
    for t in tokens {
        if *t == "_" {
            out.push(None);
        } else if let Some(n) = t.strip_prefix("_x") {
            out.extend(std::iter::repeat_n(None, n.parse().unwrap()));
        } else if let Some((head, times)) =
            t.rsplit_once('x').filter(|(h, n)| !h.is_empty() && n.parse::<usize>().is_ok())
        {
            let times: usize = times.parse().unwrap();
            // a+b or a-b (the sign after the first character), or a alone.
            let split = head.char_indices().skip(1).find(|(_, c)| *c == '+' || *c == '-').map(|(i, _)| i);
            let (start, inc) = match split {
                Some(i) => (num(&head[..i]), num(&head[i..])),
                None => (num(head), 0.0),
            };
            for k in 0..=times {
                out.push(Some(start + inc * k as f64));
            }
        } else {
            out.push(Some(num(t)));
        }
    }
    out
}

/// Splits `metric{a="b c"} 1 2` into the series and the value tokens.
fn split_series_line(line: &str) -> (String, Vec<&str>) {
    let end = match line.find('}') {
        Some(i) => i + 1,
        None => line.find(char::is_whitespace).unwrap_or(line.len()),
    };
    (line[..end].trim().to_string(), line[end..].split_whitespace().collect())
}

/// Marks the next eval as one only raw samples can answer exactly: its
/// value is Prometheus' rounding of an ill-conditioned sum, which partial
/// sums in summaries cannot reproduce (rollup runs skip it).
const RAW_ONLY: &str = "# raw samples only";

fn close_within(a: f64, b: f64, tolerance: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    a.to_bits() == b.to_bits() || (tolerance > 0.0 && (a - b).abs() <= tolerance * a.abs().max(b.abs()))
}

struct Case<'a> {
    file: &'a str,
    line: usize,
    command: &'a str,
    expected: Vec<&'a str>,
}

fn run_eval(store: &dyn ScriptStore, case: &Case<'_>) -> Result<(), String> {
    let where_ = format!("{}:{}: {}", case.file, case.line, case.command);
    let mut options = pulsedb_query::EngineOptions::default();
    options.use_rollups = store.rollups();
    let engine = Engine::new(options);
    let tolerance = if store.rollups() { 1e-12 } else { 0.0 };
    let close = |a: f64, b: f64| close_within(a, b, tolerance);
    let words: Vec<&str> = case.command.split_whitespace().collect();
    let kind = words[0];
    if words.get(1) == Some(&"range") {
        // eval range from <t> to <t> step <d> <expr>
        let (start, end, step) = (parse_time(words[3]), parse_time(words[5]), parse_time(words[7]));
        let expr = case.command.splitn(9, char::is_whitespace).nth(8).unwrap_or_default();
        let result = engine.range(store.querier(), expr, start, end, step);
        if kind == "eval_fail" {
            return result.err().map(|_| ()).ok_or(format!("{where_}: expected an error"));
        }
        let Value::Matrix(got) = result.map_err(|e| format!("{where_}: {e}"))? else {
            return Err(format!("{where_}: not a matrix"));
        };
        let steps = ((end - start) / step) as usize + 1;
        let mut want = Vec::new();
        for line in &case.expected {
            let (series, tokens) = split_series_line(line);
            want.push((parse_labels(&series), expand(&tokens)));
        }
        if got.len() != want.len() {
            return Err(format!(
                "{where_}: {} series, want {}: got {:?}",
                got.len(),
                want.len(),
                got.iter().map(|s| s.labels.to_string()).collect::<Vec<_>>()
            ));
        }
        for (labels, values) in &want {
            let Some(series) = got.iter().find(|s| &s.labels == labels) else {
                return Err(format!("{where_}: no series {labels}"));
            };
            let mut have = vec![None; steps];
            for p in &series.points {
                have[((p.t - start) / step) as usize] = Some(p.v);
            }
            let ok = have.len() == values.len()
                && have.iter().zip(values).all(|(h, w)| match (h, w) {
                    (Some(a), Some(b)) => close(*a, *b),
                    (None, None) => true,
                    _ => false,
                });
            if !ok {
                return Err(format!("{where_}: {labels}: got {have:?}, want {values:?}"));
            }
        }
        return Ok(());
    }
    // eval instant at <t> <expr>
    let t = parse_time(words[3]);
    let expr = case.command.splitn(5, char::is_whitespace).nth(4).unwrap_or_default();
    let result = engine.instant(store.querier(), expr, t);
    if kind == "eval_fail" {
        return result.err().map(|_| ()).ok_or(format!("{where_}: expected an error"));
    }
    let value = result.map_err(|e| format!("{where_}: {e}"))?;
    match value {
        Value::Scalar { v, .. } => {
            let [want] = case.expected.as_slice() else {
                return Err(format!("{where_}: scalar result {v}, expected {:?}", case.expected));
            };
            // promtool shows a scalar as a sample without labels.
            let w = expand(&[want.trim().trim_start_matches("{}").trim()])[0].unwrap_or(f64::NAN);
            if close(v, w) {
                Ok(())
            } else {
                Err(format!("{where_}: got {v}, want {w}"))
            }
        }
        Value::String { v, .. } => {
            let want = case.expected.first().map(|s| s.trim().trim_matches('"')).unwrap_or_default();
            if v == want {
                Ok(())
            } else {
                Err(format!("{where_}: got string {v:?}, want {want:?}"))
            }
        }
        Value::Vector(got) => {
            let mut want = Vec::new();
            for line in &case.expected {
                let (series, tokens) = split_series_line(line);
                want.push((parse_labels(&series), expand(&tokens)[0].unwrap_or(f64::NAN)));
            }
            let describe = |g: &[pulsedb_query::InstantSample]| {
                g.iter().map(|s| format!("{} {}", s.labels, s.v)).collect::<Vec<_>>().join("; ")
            };
            if got.len() != want.len() {
                return Err(format!("{where_}: {} samples, want {}: got [{}]", got.len(), want.len(), describe(&got)));
            }
            for (k, (labels, v)) in want.iter().enumerate() {
                let found = if kind == "eval_ordered" {
                    got.get(k).filter(|s| &s.labels == labels)
                } else {
                    got.iter().find(|s| &s.labels == labels)
                };
                match found {
                    Some(s) if close(s.v, *v) => {}
                    _ => return Err(format!("{where_}: want {labels} {v}, got [{}]", describe(&got))),
                }
            }
            Ok(())
        }
        Value::Matrix(got) => {
            // An instant query of a range vector: `labels v@t v@t ...` lines.
            if got.len() != case.expected.len() {
                return Err(format!("{where_}: {} series, want {}", got.len(), case.expected.len()));
            }
            for line in &case.expected {
                let (series, tokens) = split_series_line(line);
                let labels = parse_labels(&series);
                let Some(s) = got.iter().find(|s| s.labels == labels) else {
                    return Err(format!("{where_}: no series {labels}"));
                };
                let want: Vec<(f64, i64)> = tokens
                    .iter()
                    .map(|t| {
                        let (v, at) = t.split_once('@').unwrap();
                        (expand(&[v])[0].unwrap_or(f64::NAN), parse_time(at))
                    })
                    .collect();
                let ok = s.points.len() == want.len()
                    && s.points.iter().zip(&want).all(|(p, (v, t))| p.t == *t && close(p.v, *v));
                if !ok {
                    return Err(format!("{where_}: {labels}: got {:?}", s.points));
                }
            }
            Ok(())
        }
    }
}

fn run_file(path: &Path, store: &mut dyn ScriptStore) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let lines: Vec<&str> = text.lines().collect();
    store.clear();
    let (mut cases, mut failures) = (0, Vec::new());
    let mut i = 0;
    // Set by a `# raw samples only` comment, for the next eval.
    let mut raw_only = false;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line == RAW_ONLY {
            raw_only = true;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let block: Vec<&str> = {
            let mut b = Vec::new();
            while i < lines.len() && lines[i].starts_with(char::is_whitespace) && !lines[i].trim().is_empty() {
                b.push(lines[i].trim());
                i += 1;
            }
            b
        };
        if line == "clear" {
            store.clear();
        } else if let Some(interval) = line.strip_prefix("load ") {
            let interval = parse_time(interval.trim());
            // One batch per block, as one atomic append.
            let mut batch = Batch::new();
            for series_line in &block {
                let (series, tokens) = split_series_line(series_line);
                let labels = parse_labels(&series);
                let samples: Vec<Sample> = expand(&tokens)
                    .into_iter()
                    .enumerate()
                    .filter_map(|(k, v)| v.map(|v| Sample::new(k as i64 * interval, v)))
                    .collect();
                batch.add(labels, samples);
            }
            store.load(&batch);
        } else if line.starts_with("eval") {
            if std::mem::take(&mut raw_only) && store.rollups() {
                continue;
            }
            cases += 1;
            let case = Case { file: &file, line: i - block.len(), command: line, expected: block };
            if let Err(e) = run_eval(store, &case) {
                failures.push(e);
            }
        } else {
            panic!("{file}: unknown command {line}");
        }
    }
    (cases, failures)
}

/// Runs every script in `query/testdata/` against `store` (`what` names
/// the store in the summary) and fails listing every failed case.
pub(crate) fn run_all(store: &mut dyn ScriptStore, what: &str) {
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()))
        .join(testdata());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    let (mut total, mut failures) = (0, Vec::new());
    for f in &files {
        let (n, mut fails) = run_file(f, store);
        total += n;
        failures.append(&mut fails);
    }
    eprintln!("{total} PromQL cases in {} files ({what}), {} failed", files.len(), failures.len());
    assert!(failures.is_empty(), "{} of {total} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert!(total >= 150, "only {total} cases");
}

/// `query/testdata` relative to the crate running the tests.
fn testdata() -> &'static str {
    if env!("CARGO_PKG_NAME") == "pulsedb-query" {
        "testdata"
    } else {
        "query/testdata"
    }
}
