//! `pulsedb import` and `pulsedb export` as a user runs them: each text
//! format imported into a data directory, exported in every format, and
//! imported again unchanged; a bad line stops the import and names itself.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use pulsedb::{Db, MatchOp, Matcher, Options, Series};

fn pulsedb(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pulsedb")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Every series in `dir`, read without background work (which would apply retention).
fn all_series(dir: &Path) -> Vec<(String, Vec<(i64, u64)>)> {
    let mut options = Options::default();
    options.background_maintenance = false;
    let db = Db::open(dir, options).unwrap();
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap();
    let series: Vec<Series> = db.select(&[all], i64::MIN, i64::MAX).unwrap();
    db.close().unwrap();
    series
        .into_iter()
        .map(|s| (s.labels.to_string(), s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect()))
        .collect()
}

const T0: i64 = 1_700_000_000_000;

#[test]
fn import_each_format_and_round_trip_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name);

    // The same 3 series × 240 samples, over 4 hours, in each input format.
    let mut prom = String::from("# HELP temp_celsius Temperature.\n# TYPE temp_celsius gauge\n");
    let mut om = String::new();
    let mut lp = String::from("# line protocol\n");
    let mut csv = String::from("metric,labels,timestamp,value\n");
    for i in 0..240i64 {
        let t = T0 + i * 60_000;
        for room in ["kitchen", "hall \"A\"", "attic,north"] {
            let v = 20.0 + (i % 17) as f64 * 0.25;
            let escaped = room.replace('"', "\\\"");
            prom.push_str(&format!("temp_celsius{{room=\"{escaped}\"}} {v} {t}\n"));
            om.push_str(&format!("temp_celsius{{room=\"{escaped}\"}} {v} {}.{:03}\n", t / 1000, t % 1000));
            let lp_room = room.replace(' ', "\\ ").replace(',', "\\,");
            lp.push_str(&format!("temp,room={lp_room} celsius={v} {}\n", t * 1_000_000));
            let labels = format!("{{room=\"{escaped}\"}}").replace('"', "\"\"");
            csv.push_str(&format!("temp_celsius,\"{labels}\",{t},{v}\n"));
        }
    }
    om.push_str("# EOF\n");
    for (name, text) in [("in.prom", &prom), ("in.txt", &om), ("in.lp", &lp), ("in.csv", &csv)] {
        std::fs::write(p(name), text).unwrap();
    }

    let mut reference = None;
    for name in ["in.prom", "in.txt", "in.lp", "in.csv"] {
        let dir = p(&format!("db-{name}"));
        let (ok, stdout, stderr) = pulsedb(&["import", p(name).to_str().unwrap(), "--data-dir", dir.to_str().unwrap()]);
        assert!(ok, "import {name}: {stderr}");
        assert!(stdout.contains("imported 720 samples"), "{name}: {stdout}");
        let series = all_series(&dir);
        assert_eq!(series.len(), 3, "{name}");
        assert!(series.iter().all(|(_, s)| s.len() == 240), "{name}");
        // Line protocol names the metric <measurement>_<field>: temp_celsius as well.
        match &reference {
            None => reference = Some(series),
            Some(r) => assert_eq!(&series, r, "{name} imports differently"),
        }
    }
    let reference = reference.unwrap();

    // Export in every format from one directory, import each into a fresh one: identical.
    let source = p("db-in.prom");
    for format in ["prometheus", "openmetrics", "influx", "csv"] {
        let out = p(&format!("out.{format}"));
        let (ok, _, stderr) = pulsedb(&[
            "export",
            "--data-dir",
            source.to_str().unwrap(),
            "--format",
            format,
            "--output",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "export {format}: {stderr}");
        assert!(stderr.contains("exported 720 samples"), "{format}: {stderr}");
        let dir = p(&format!("again-{format}"));
        let (ok, _, stderr) =
            pulsedb(&["import", out.to_str().unwrap(), "--format", format, "--data-dir", dir.to_str().unwrap()]);
        assert!(ok, "re-import {format}: {stderr}");
        assert_eq!(all_series(&dir), reference, "{format} does not round trip");
    }

    // Selecting by matcher and time range.
    let (ok, text, stderr) = pulsedb(&[
        "export",
        "--data-dir",
        source.to_str().unwrap(),
        "--match",
        "temp_celsius{room=\"kitchen\"}",
        "--start",
        "2023-11-14T22:13:20Z",
        "--end",
        "1700000600",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(text.lines().count(), 11, "{text}");
    assert!(text.lines().all(|l| l.starts_with("temp_celsius{room=\"kitchen\"} ")), "{text}");

    // A bad line stops the import, names the file and line, keeps what came before.
    std::fs::write(p("bad.prom"), "ok_metric 1 1700000000000\nok_metric 2 1700000001000\nbroken{ 3\n").unwrap();
    let dir = p("db-bad");
    let (ok, _, stderr) = pulsedb(&["import", p("bad.prom").to_str().unwrap(), "--data-dir", dir.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("bad.prom:line 3:") && stderr.contains("2 samples before it were imported"), "{stderr}");
    assert_eq!(all_series(&dir)[0].1.len(), 2);
}

/// Opens `dir` without background work (which would apply retention) and reads its statistics.
fn stats_of(dir: &Path) -> pulsedb::StorageStats {
    let mut options = Options::default();
    options.background_maintenance = false;
    let db = Db::open(dir, options).unwrap();
    let stats = db.stats().unwrap();
    db.close().unwrap();
    stats
}

#[test]
fn an_import_ends_with_history_in_compacted_blocks_and_warns_of_retention() {
    let tmp = tempfile::tempdir().unwrap();
    // 40 days at 5 min of two series, long before today: all history.
    let mut text = String::new();
    for i in 0..40 * 288i64 {
        for host in ["a", "b"] {
            text.push_str(&format!("load{{host=\"{host}\"}} {} {}\n", (i % 97) as f64 / 4.0, T0 + i * 300_000));
        }
    }
    let file = tmp.path().join("history.prom");
    std::fs::write(&file, text).unwrap();
    let dir = tmp.path().join("db");
    let before = now_ms();
    let (ok, stdout, stderr) = pulsedb(&["import", file.to_str().unwrap(), "--data-dir", dir.to_str().unwrap()]);
    let after = now_ms();
    assert!(ok, "{stderr}");
    assert!(stdout.contains("imported 23040 samples"), "{stdout}");
    assert!(!stdout.contains("stay in the WAL"), "{stdout}");
    // Nothing left in the head or the WAL; blocks merged up to the 3 d span a 15 d retention allows.
    let stats = stats_of(&dir);
    assert_eq!(stats.block_samples, 23_040, "{stats:?}");
    assert_eq!(stats.head_mint, None, "{stats:?}");
    assert!(stats.blocks <= 15, "{} blocks: not compacted", stats.blocks);
    assert!(stats.wal_bytes < 4096, "the WAL kept {} bytes of samples blocks hold", stats.wal_bytes);
    // Older than the server's default retention: named, with the flag that keeps it.
    // Retention counts back from now once a server runs (its own metrics
    // are stamped now): the warning names a retention reaching T0 from now,
    // and a day more (the import read its clock between `before` and `after`).
    let days = |now: i64| (now - T0) / 86_400_000 + 2;
    assert!(stderr.contains("warning: the data reaches back to") && stderr.contains("before now"), "{stderr}");
    assert!([days(before), days(after)].iter().any(|d| stderr.contains(&format!("--retention {d}d"))), "{stderr}");
    assert_eq!(all_series(&dir).iter().map(|(_, s)| s.len()).sum::<usize>(), 23_040);
    // A retention that covers it from now: no warning, and longer blocks.
    let dir = tmp.path().join("db-long");
    let (ok, _, stderr) =
        pulsedb(&["import", file.to_str().unwrap(), "--data-dir", dir.to_str().unwrap(), "--retention", "20y"]);
    assert!(ok && !stderr.contains("warning"), "{stderr}");
    assert!(stats_of(&dir).blocks < stats.blocks);
}

/// Three days of data that ended 60 days ago: within the retention of its
/// newest sample, but a server started on it stamps its own metrics now,
/// and retention then deletes it all. The import says so.
#[test]
fn an_import_of_a_short_old_span_warns_that_the_server_would_delete_it() {
    let tmp = tempfile::tempdir().unwrap();
    let end = now_ms() / 60_000 * 60_000 - 60 * 86_400_000;
    let text: String =
        (0..3 * 288i64).map(|i| format!("load{{host=\"a\"}} 1 {}\n", end - (3 * 288 - 1 - i) * 300_000)).collect();
    let file = tmp.path().join("old.prom");
    std::fs::write(&file, text).unwrap();
    let dir = tmp.path().join("db");
    let (ok, _, stderr) = pulsedb(&["import", file.to_str().unwrap(), "--data-dir", dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("more than the retention (15d) before now") && stderr.contains("--retention 64d"),
        "{stderr}"
    );
    let (ok, _, stderr) = pulsedb(&[
        "import",
        file.to_str().unwrap(),
        "--data-dir",
        tmp.path().join("kept").to_str().unwrap(),
        "--retention",
        "64d",
    ]);
    assert!(ok && !stderr.contains("warning"), "{stderr}");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[test]
fn an_import_reaching_the_present_leaves_the_open_window_to_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let now = now - now % 60_000;
    // The last 6 hours at 1 min, up to this minute.
    let text: String = (0..360i64).map(|i| format!("up{{job=\"x\"}} 1 {}\n", now - (359 - i) * 60_000)).collect();
    let file = tmp.path().join("recent.prom");
    std::fs::write(&file, text).unwrap();
    let dir = tmp.path().join("db");
    let (ok, stdout, stderr) = pulsedb(&["import", file.to_str().unwrap(), "--data-dir", dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("stay in the WAL"), "{stdout}");
    let stats = stats_of(&dir);
    // Windows that ended are blocks; the one still open holds the rest.
    let window_start = now - now.rem_euclid(2 * 3_600_000);
    let in_blocks = (0..360i64).filter(|i| now - (359 - i) * 60_000 < window_start).count() as u64;
    assert_eq!(stats.block_samples, in_blocks, "{stats:?}");
    assert_eq!(stats.head_mint, Some(window_start.max(now - 359 * 60_000)), "{stats:?}");
    assert_eq!(all_series(&dir)[0].1.len(), 360);
}

/// The commands that only read a data directory refuse one that does not
/// exist (a typo), naming it, and create nothing.
#[test]
fn reading_commands_refuse_a_missing_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("typo");
    let dir = missing.to_str().unwrap();
    for args in [
        vec!["query", "up", "--data-dir", dir],
        vec!["anomalies", "--match", "up", "--data-dir", dir],
        vec!["export", "--data-dir", dir],
    ] {
        let (ok, _, stderr) = pulsedb(&args);
        assert!(!ok && stderr.contains("no data directory at") && stderr.contains("typo"), "{args:?}: {stderr}");
        assert!(!missing.exists(), "{args:?} created {dir}");
    }
    // A directory that exists but holds no data (a home directory, say) is refused too, and left alone.
    let other = tmp.path().join("documents");
    std::fs::create_dir(&other).unwrap();
    let (ok, _, stderr) = pulsedb(&["query", "up", "--data-dir", other.to_str().unwrap()]);
    assert!(!ok && stderr.contains("holds no pulsedb data"), "{stderr}");
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 0, "files created in it");
}
