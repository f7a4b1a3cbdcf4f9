//! The embedded API end to end: append, select, labels, flush to blocks,
//! reopen, and every kind of bad input rejected whole.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use pulsedb::{Batch, Db, Error, Labels, MatchOp, Matcher, Options, Sample};

const HOUR: i64 = 3_600_000;

fn options() -> Options {
    let mut o = Options::default();
    o.background_maintenance = false;
    o
}

fn host(h: usize) -> Labels {
    Labels::metric(
        "cpu",
        [("host", format!("h{h}")), ("dc", (if h.is_multiple_of(2) { "east" } else { "west" }).to_string())],
    )
}

fn fill(db: &Db, hosts: usize, from: i64, to: i64, step: i64) {
    let mut t = from;
    while t < to {
        let mut batch = Batch::new();
        for h in 0..hosts {
            batch.push(host(h), t, (t / 1000 + h as i64) as f64 / 10.0);
        }
        db.append(&batch).unwrap();
        t += step;
    }
}

#[test]
fn append_select_flush_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    fill(&db, 4, 0, 3 * HOUR, 10_000);
    let east = [Matcher::equal("dc", "east")];
    let before = db.select(&east, 0, i64::MAX).unwrap();
    assert_eq!(before.len(), 2);
    assert_eq!(before[0].samples.len(), (3 * HOUR / 10_000) as usize);

    assert_eq!(db.flush().unwrap(), 1, "the first 2 h window is finished");
    let stats = db.stats().unwrap();
    assert_eq!(stats.blocks, 1);
    assert_eq!(db.select(&east, 0, i64::MAX).unwrap(), before, "same data across head and block");

    // Range reads cut at both ends, across the block/head boundary.
    let part = db.select(&[Matcher::equal("host", "h1")], 2 * HOUR - 20_000, 2 * HOUR + 20_000).unwrap();
    let ts: Vec<i64> = part[0].samples.iter().map(|s| s.t).collect();
    assert_eq!(ts, vec![2 * HOUR - 20_000, 2 * HOUR - 10_000, 2 * HOUR, 2 * HOUR + 10_000, 2 * HOUR + 20_000]);

    db.close().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(db.select(&east, 0, i64::MAX).unwrap(), before);
    assert_eq!(db.label_names().unwrap(), vec!["__name__", "dc", "host"]);
    assert_eq!(db.label_values("host", &east).unwrap(), vec!["h0", "h2"]);
    assert_eq!(db.label_values("dc", &[]).unwrap(), vec!["east", "west"]);
    let re = Matcher::new(MatchOp::RegexMatch, "host", "h[13]").unwrap();
    assert_eq!(db.series(&[re], 0, HOUR).unwrap(), vec![host(1), host(3)]);
    assert!(db.series(&[Matcher::equal("host", "h1")], 10 * HOUR, 11 * HOUR).unwrap().is_empty());
}

#[test]
fn out_of_order_window_and_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    let s = host(0);
    let mut batch = Batch::new();
    batch.add(s.clone(), [Sample::new(HOUR, 1.0), Sample::new(HOUR - 60_000, 2.0)]);
    db.append(&batch).unwrap();
    // 5 minutes behind the newest sample: accepted; the same timestamp twice: replaced.
    let mut batch = Batch::new();
    batch.push(s.clone(), HOUR - 300_000, 3.0).push(s.clone(), HOUR, 4.0);
    db.append(&batch).unwrap();
    // 11 minutes behind: rejected, naming the series and the timestamp.
    let mut batch = Batch::new();
    batch.push(host(1), HOUR, 9.0).push(s.clone(), HOUR - 660_000, 5.0);
    let err = db.append(&batch).unwrap_err();
    assert!(matches!(err, Error::OutOfOrder { timestamp, .. } if timestamp == HOUR - 660_000), "{err}");
    assert!(err.to_string().contains("host=\"h0\""), "{err}");
    // Atomic: the valid row of the rejected batch is not there.
    assert!(db.select(&[Matcher::equal("host", "h1")], 0, i64::MAX).unwrap().is_empty());

    let got = db.select(&[Matcher::equal("host", "h0")], 0, i64::MAX).unwrap();
    let got: Vec<(i64, f64)> = got[0].samples.iter().map(|s| (s.t, s.v)).collect();
    assert_eq!(got, vec![(HOUR - 300_000, 3.0), (HOUR - 60_000, 2.0), (HOUR, 4.0)]);
}

#[test]
fn samples_before_flushed_windows_are_out_of_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    fill(&db, 1, 0, 3 * HOUR, 60_000);
    db.flush().unwrap();
    let mut batch = Batch::new();
    batch.push(Labels::metric("other", [("a", "b")]), HOUR, 1.0);
    assert!(matches!(db.append(&batch).unwrap_err(), Error::OutOfBounds { min_valid, .. } if min_valid == 2 * HOUR));
}

#[test]
fn bad_labels_are_rejected_whole_with_the_series_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    let bad: Vec<(Labels, &str)> = vec![
        (Labels::new(Vec::<(String, String)>::new()), "empty label set"),
        (Labels::new([("__name__", "m"), ("a", "1"), ("a", "2")]), "duplicate label name"),
        (Labels::new([("__name__", "m"), ("0abc", "1")]), "invalid label name"),
        (Labels::new([("__name__", "m"), ("a", "x".repeat(5000).as_str())]), "more than the limit"),
        (Labels::new([("__name__", "m"), ("x".repeat(2000).as_str(), "1")]), "more than the limit"),
    ];
    for (labels, want) in bad {
        let mut batch = Batch::new();
        batch.push(host(0), 1000, 1.0).push(labels, 1000, 1.0);
        let err = db.append(&batch).unwrap_err();
        assert!(matches!(err, Error::InvalidSeries { .. }), "{err}");
        assert!(err.to_string().contains(want), "{err} should mention {want}");
    }
    assert!(db.select(&[Matcher::equal("host", "h0")], 0, i64::MAX).unwrap().is_empty());
    assert!(db.label_names().unwrap().is_empty(), "no series was created");
}

#[test]
fn a_second_open_of_the_same_directory_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let _db = Db::open(dir.path(), options()).unwrap();
    let err = Db::open(dir.path(), options()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("locked"));
}

#[test]
fn compaction_merges_and_retention_drops_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options();
    o.block_span = Duration::from_secs(3600);
    o.out_of_order_window = Duration::from_secs(60);
    o.compaction_spans = vec![Duration::from_secs(3600), Duration::from_secs(4 * 3600)];
    o.retention = Duration::from_secs(8 * 3600);
    let db = Db::open(dir.path(), o.clone()).unwrap();
    fill(&db, 3, 0, 13 * HOUR, 30_000);
    assert_eq!(db.flush().unwrap(), 12);
    let all = [Matcher::equal("__name__", "cpu")];
    let before = db.select(&all, 0, i64::MAX).unwrap();
    db.compact().unwrap();
    let stats = db.stats().unwrap();
    // 12 one-hour blocks: hours 0-3 and 4-7 merge; 8-11 merge; then retention
    // (newest sample ~13 h, 8 h retention) drops the block ending at 4 h.
    assert_eq!(stats.compactions, 3);
    assert_eq!(stats.blocks_deleted, 1);
    assert_eq!(stats.blocks, 2);
    let after = db.select(&all, 0, i64::MAX).unwrap();
    for (a, b) in after.iter().zip(&before) {
        let kept: Vec<&Sample> = b.samples.iter().filter(|s| s.t >= 4 * HOUR).collect();
        assert_eq!(a.samples.iter().collect::<Vec<_>>(), kept);
    }
    db.close().unwrap();
    let db = Db::open(dir.path(), o).unwrap();
    assert_eq!(db.select(&all, 0, i64::MAX).unwrap(), after);
}

#[test]
fn an_appender_commits_atomically_and_rolls_back() {
    use pulsedb::Appender as _;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let up = Labels::metric("app", [("job", "x")]);
    let mut app = db.appender();
    app.append(&up, 1_000, 1.0).unwrap();
    assert!(db.select(&[Matcher::equal("job", "x")], 0, i64::MAX).unwrap().is_empty());
    app.commit().unwrap();
    app.append(&up, 2_000, 2.0).unwrap();
    app.rollback();
    app.commit().unwrap();
    assert_eq!(db.select(&[Matcher::equal("job", "x")], 0, i64::MAX).unwrap()[0].samples.len(), 1);
}

#[test]
fn shards_split_a_selection_into_parts_that_add_up_to_it() {
    use pulsedb::{Querier, SelectHints, Shard};
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    // Shards take runs of references: enough series for every shard to hold some.
    let hosts = 4 * Shard::RUN as usize + 100;
    fill(&db, hosts, 0, 3 * HOUR, 1_800_000);
    db.flush().unwrap();
    fill(&db, hosts, 3 * HOUR, 4 * HOUR, 1_800_000);
    let cpu = [Matcher::new(MatchOp::Equal, "__name__", "cpu").unwrap()];
    let mut hints = SelectHints::range(0, 4 * HOUR);
    let whole = Querier::select(&db, &cpu, &hints).unwrap();
    let whole_means = Querier::select_window_means(&db, &cpu, &hints, HOUR).unwrap();
    assert_eq!(whole.len(), hosts);
    let (mut parts, mut part_means) = (Vec::new(), Vec::new());
    for index in 0..4 {
        hints.shard = Some(Shard { index, count: 4 });
        let part = Querier::select(&db, &cpu, &hints).unwrap();
        assert!(part.len() < hosts && !part.is_empty(), "shard {index}: {} series", part.len());
        parts.extend(part);
        part_means.extend(Querier::select_window_means(&db, &cpu, &hints, HOUR).unwrap());
    }
    let sorted = |mut v: Vec<pulsedb::Series>| {
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    };
    assert_eq!(sorted(parts), sorted(whole));
    assert_eq!(sorted(part_means), sorted(whole_means));
}

#[test]
fn mapped_window_means_are_each_series_means_mapped_and_a_visitor_error_is_returned() {
    use pulsedb::{Querier, SelectHints, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    // Blocks and head, in more than one run of series.
    let hosts = 150;
    fill(&db, hosts, 0, 3 * HOUR, 600_000);
    db.flush().unwrap();
    fill(&db, hosts, 3 * HOUR, 5 * HOUR, 600_000);
    let cpu = [Matcher::new(MatchOp::Equal, "__name__", "cpu").unwrap()];
    let hints = SelectHints::range(0, 5 * HOUR);
    let whole = Querier::select_window_means(&db, &cpu, &hints, HOUR).unwrap();
    // The answer kept in each series' place: its last mean, doubled.
    let last_doubled = |means: &[Sample]| Ok(means.last().map(|s| Sample::new(s.t, 2.0 * s.v)).into_iter().collect());
    let mut mapped = Querier::map_window_means(&db, &cpu, &hints, HOUR, &last_doubled).unwrap();
    let mut expected: Vec<pulsedb::Series> =
        whole.into_iter().map(|s| pulsedb::Series { samples: last_doubled(&s.samples).unwrap(), ..s }).collect();
    mapped.sort_by(|a, b| a.labels.cmp(&b.labels));
    expected.sort_by(|a, b| a.labels.cmp(&b.labels));
    assert_eq!(mapped.len(), hosts);
    assert_eq!(mapped, expected);
    // A visitor's own error comes back as it was given, not as a store failure.
    let refuse =
        |_: &[Sample]| -> Result<Vec<Sample>, StoreError> { Err(StoreError::new(std::io::Error::other("no"))) };
    let e = Querier::map_window_means(&db, &cpu, &hints, HOUR, &refuse).unwrap_err();
    assert_eq!(e.downcast_ref::<std::io::Error>().unwrap().to_string(), "no");
}
