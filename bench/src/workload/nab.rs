//! Loader for the Numenta Anomaly Benchmark CSVs in `testdata/nab/`
//! (MIT licence, see `testdata/nab/LICENSE.txt`): real AWS CloudWatch and
//! machine metrics at 5-minute spacing.

use std::path::Path;

use pulsedb::{Labels, Sample};

/// One NAB file as a series.
#[derive(Clone, Debug)]
pub struct NabSeries {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// Reads every `*.csv` under `dir` (recursively), one series per file,
/// labelled `nab_value{dataset="<dir>", file="<stem>"}`.
pub fn load_nab(dir: &Path) -> std::io::Result<Vec<NabSeries>> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)?.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "csv") {
                let dataset = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let file = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let text = std::fs::read_to_string(&path)?;
                let samples = parse_csv(&text).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
                })?;
                out.push(NabSeries {
                    labels: Labels::metric("nab_value", [("dataset", dataset), ("file", file)]),
                    samples,
                });
            }
        }
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(out)
}

/// `timestamp,value` lines with `YYYY-MM-DD HH:MM:SS` UTC timestamps.
fn parse_csv(text: &str) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (ts, value) = line.split_once(',').ok_or_else(|| format!("line {}: no comma", n + 1))?;
        let t = parse_timestamp(ts).ok_or_else(|| format!("line {}: bad timestamp {ts:?}", n + 1))?;
        let v: f64 = value.trim().parse().map_err(|_| format!("line {}: bad value {value:?}", n + 1))?;
        out.push(Sample { t, v });
    }
    Ok(out)
}

pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':').map(|p| p.parse::<i64>());
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    Some((pulsedb_formats::timefmt::days_from_civil(y, m, day) * 86_400 + hh * 3600 + mm * 60 + ss) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nab_timestamps() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_timestamp("2014-02-14 14:30:00"), Some(1_392_388_200_000));
        let samples = parse_csv("timestamp,value\n2014-02-14 14:30:00,0.132\n").unwrap_or_default();
        assert_eq!(samples, vec![Sample { t: 1_392_388_200_000, v: 0.132 }]);
    }
}
