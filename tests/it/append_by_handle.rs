//! Appending by series handle: the same stored data as appending by
//! labels (rows by handle and by labels mixed in one batch, repeated
//! series, reopened from the WAL), and a handle that is stale or from
//! another database refused whole with a typed error, never written to
//! another series.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use pulsedb::{Appender, Batch, Db, Error, Labels, MatchOp, Matcher, Options, Series};

const HOUR: i64 = 3_600_000;

fn options() -> Options {
    let mut o = Options::default();
    o.background_maintenance = false;
    o.retention = std::time::Duration::ZERO;
    o.sync = pulsedb::SyncMode::Never;
    o
}

fn series(i: usize) -> Labels {
    Labels::metric("cpu", [("host", format!("h{i}")), ("core", (i % 3).to_string())])
}

fn everything(db: &Db) -> Vec<(String, Vec<(i64, u64)>)> {
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap();
    let found: Vec<Series> = db.select(&[all], i64::MIN, i64::MAX).unwrap();
    found
        .into_iter()
        .map(|s| (s.labels.to_string(), s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24), ..ProptestConfig::default() })]

    /// Batches of (series, time, value, by handle?) rows: one database
    /// takes every row by labels, the other the chosen rows by handle.
    #[test]
    fn appending_by_handle_stores_what_appending_by_labels_stores(
        batches in proptest::collection::vec(
            // Few timestamps, so rows of one series often repeat one.
            proptest::collection::vec((0usize..6, 0i64..20, -1e6..1e6f64, any::<bool>()), 1..40),
            1..8,
        ),
    ) {
        let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, b) = (Db::open(a_dir.path(), options()).unwrap(), Db::open(b_dir.path(), options()).unwrap());
        for (k, rows) in batches.iter().enumerate() {
            let base = k as i64 * 600_000;
            let (mut by_labels, mut mixed) = (Batch::new(), Batch::new());
            // In row order: a repeated timestamp keeps the value added last,
            // whichever way each row names its series.
            for &(s, t, v, by_handle) in rows {
                by_labels.push(series(s), base + t * 1000, v);
                if by_handle {
                    mixed.push_by_handle(b.resolve(&series(s)).unwrap(), base + t * 1000, v);
                } else {
                    mixed.push(series(s), base + t * 1000, v);
                }
            }
            a.append(&by_labels).unwrap();
            b.append(&mixed).unwrap();
        }
        prop_assert_eq!(everything(&a), everything(&b));
        // Replayed from the WAL, the same again.
        let before = everything(&b);
        b.close().unwrap();
        let b = Db::open(b_dir.path(), options()).unwrap();
        prop_assert_eq!(everything(&b), before);
    }
}

#[test]
fn a_handle_from_another_database_is_refused_whole() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (Db::open(a_dir.path(), options()).unwrap(), Db::open(b_dir.path(), options()).unwrap());
    // Both know a series under the same ref number.
    let handle_a = a.resolve(&series(1)).unwrap();
    let handle_b = b.resolve(&series(2)).unwrap();
    assert_eq!(handle_a.series(), handle_b.series());
    let mut batch = Batch::new();
    batch.push(series(3), 1_000, 1.0).push_by_handle(handle_a, 1_000, 2.0);
    let err = b.append(&batch).unwrap_err();
    assert!(matches!(err, Error::ForeignSeriesHandle { .. }), "{err}");
    assert!(everything(&b).is_empty(), "nothing of the refused batch is stored");
    // The same database after a reopen is another database too.
    b.close().unwrap();
    let b = Db::open(b_dir.path(), options()).unwrap();
    let mut batch = Batch::new();
    batch.push_by_handle(handle_b, 1_000, 2.0);
    assert!(matches!(b.append(&batch).unwrap_err(), Error::ForeignSeriesHandle { .. }));
}

#[test]
fn a_handle_whose_series_left_the_head_is_stale_until_resolved_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    let quiet = db.resolve(&series(1)).unwrap();
    let busy = db.resolve(&series(2)).unwrap();
    let mut batch = Batch::new();
    batch.push_by_handle(quiet, 1_000, 1.0).push_by_handle(busy, 1_000, 1.0);
    db.append(&batch).unwrap();
    // Only `busy` goes on; the flush of the first window leaves `quiet` with nothing in the head.
    for t in [HOUR, 2 * HOUR, 3 * HOUR] {
        db.append(Batch::new().push_by_handle(busy, t, 2.0)).unwrap();
    }
    db.flush().unwrap();
    let err = db.append(Batch::new().push_by_handle(busy, 3 * HOUR + 1, 3.0).push_by_handle(quiet, 3 * HOUR, 3.0));
    assert!(matches!(err, Err(Error::StaleSeriesHandle { .. })), "{err:?}");
    // Resolved again: the same series (the index keeps its ref), appended to.
    let again = db.resolve(&series(1)).unwrap();
    assert_eq!(again.series(), quiet.series());
    db.append(Batch::new().push_by_handle(again, 3 * HOUR, 3.0)).unwrap();
    let stored = everything(&db);
    let quiet_samples = &stored.iter().find(|(l, _)| l.contains("h1")).unwrap().1;
    assert_eq!(quiet_samples.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1_000, 3 * HOUR]);
    assert_eq!(stored.iter().find(|(l, _)| l.contains("h2")).unwrap().1.len(), 4, "the refused batch wrote nothing");
}

/// Batches only by handle, over several pages of refs: a row without
/// samples is skipped and every other row lands on its own series; the
/// first bad handle refuses the whole batch, whichever kind it is.
#[test]
fn batches_by_handle_alone_span_pages_skip_empty_rows_and_refuse_at_the_first_bad_handle() {
    let (dir, other_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let db = Db::open(dir.path(), options()).unwrap();
    let handles: Vec<_> = (0..600).map(|i| db.resolve(&series(i)).unwrap()).collect();
    let mut batch = Batch::new();
    for (i, &h) in handles.iter().enumerate() {
        match i {
            300 => batch.add_by_handle(h, []),
            _ => batch.push_by_handle(h, 1_000, i as f64),
        };
    }
    db.append(&batch).unwrap();
    let stored = everything(&db);
    assert_eq!(stored.iter().filter(|(_, s)| !s.is_empty()).count(), 599);
    for (i, labels) in (0..600).map(|i| (i, series(i).to_string())) {
        let samples = &stored.iter().find(|(l, _)| *l == labels).map(|(_, s)| s.clone()).unwrap_or_default();
        let expected = if i == 300 { vec![] } else { vec![(1_000, (i as f64).to_bits())] };
        assert_eq!(samples, &expected, "{labels}");
    }

    // A foreign handle among good ones, on the last page: nothing is written.
    let other = Db::open(other_dir.path(), options()).unwrap();
    let foreign = other.resolve(&series(0)).unwrap();
    let mut batch = Batch::new();
    handles.iter().for_each(|&h| {
        batch.push_by_handle(h, 2_000, 0.0);
    });
    batch.push_by_handle(foreign, 2_000, 0.0);
    assert!(matches!(db.append(&batch), Err(Error::ForeignSeriesHandle { .. })));
    assert_eq!(everything(&db), stored, "the refused batch wrote nothing");

    // A stale handle before a foreign one: the stale one is named.
    for t in [HOUR, 2 * HOUR, 3 * HOUR] {
        db.append(Batch::new().push_by_handle(handles[1], t, 2.0)).unwrap();
    }
    db.flush().unwrap();
    let mut batch = Batch::new();
    batch.push_by_handle(handles[1], 3 * HOUR + 1, 0.0).push_by_handle(handles[0], 3 * HOUR, 0.0);
    batch.push_by_handle(foreign, 3 * HOUR, 0.0);
    let err = db.append(&batch);
    assert!(matches!(err, Err(Error::StaleSeriesHandle { series }) if series == handles[0].series().0), "{err:?}");
}

#[test]
fn a_resolved_series_is_durable_and_the_appender_appends_by_handle() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    let mut app = db.appender();
    let handle = app.resolve(&series(4)).unwrap();
    app.append_by_handle(handle, 5_000, 1.5).unwrap();
    app.append(&series(4), 6_000, 2.5).unwrap();
    assert_eq!(app.pending(), 2);
    app.commit().unwrap();
    drop(app);
    db.close().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    let stored = everything(&db);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, vec![(5_000, 1.5f64.to_bits()), (6_000, 2.5f64.to_bits())]);
    // A series resolved but never appended to survives a reopen in the index.
    db.resolve(&series(5)).unwrap();
    db.close().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    assert!(db.label_values("host", &[]).unwrap().contains(&"h5".to_string()));
}
