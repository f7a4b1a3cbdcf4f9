//! Churn storm: hundreds of thousands of short-lived series (a new `pod`
//! label every few minutes, as a crash-looping deployment produces) arrive
//! against `max_active_series` and `max_new_series_per_minute`, beside a set
//! of stable series. Checks that
//! - the head never holds more series than `max_active_series`, and RSS
//!   growth stays under a fixed bound, where an unlimited head would hold
//!   every series;
//! - batches bringing too many new series are refused whole with
//!   `SeriesLimit` / `SeriesRateLimit`, and the stable series never are;
//! - every acknowledged sample reads back exactly, before and after a reopen.
//!
//! `PULSEDB_CHURN_ROUNDS` (default 300, 1000 new series each) sets the size.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use pulsedb::{Batch, Db, Error, Labels, MatchOp, Matcher, Options, SyncMode};
use pulsedb_testkit::acked::AckedModel;

const BASE_T: i64 = 1_700_000_000_000;
const ROUND_MS: i64 = 10 * 60_000;
const STABLE: usize = 100;
const NEW_PER_ROUND: usize = 1000;
const NEW_PER_BATCH: usize = 100;
const MAX_ACTIVE: usize = 10_000;
const MAX_NEW_PER_MINUTE: usize = 40_000;
/// Growth of resident memory allowed over the whole storm. Measured in a
/// debug build: about 30 MB with the limits; without them the same storm is
/// acknowledged whole and grows RSS by about 155 MB (and takes 4x longer).
const RSS_GROWTH_LIMIT_MB: u64 = 100;

fn options() -> Options {
    let mut o = Options::default();
    o.sync = SyncMode::Never;
    o.background_maintenance = false;
    o.max_active_series = Some(MAX_ACTIVE);
    o.max_new_series_per_minute = Some(MAX_NEW_PER_MINUTE);
    o.rollups = false;
    o
}

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[track_caller]
fn assert_all_there(db: &Db, model: &AckedModel) {
    model.assert_matches(db, &[Matcher::new(MatchOp::RegexMatch, "__name__", "stable|churn").unwrap()]);
}

#[test]
fn churn_storm_is_bounded_and_loses_nothing_acknowledged() {
    let rounds: usize = std::env::var("PULSEDB_CHURN_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    let started = Instant::now();
    let mut model = AckedModel::new();
    let (mut acked_new, mut refused_active, mut refused_rate) = (0usize, 0usize, 0usize);
    let mut rss_base = 0;
    let mut max_head = 0;

    for round in 0..rounds {
        let t = BASE_T + round as i64 * ROUND_MS;
        let mut stable = Batch::new();
        for i in 0..STABLE {
            stable.push(Labels::metric("stable", [("instance", format!("i{i}"))]), t, (round * i) as f64);
        }
        db.append(&stable).expect("stable series are never refused");
        model.record(&stable);
        if round == 1 {
            rss_base = rss_kb();
        }

        for b in 0..NEW_PER_ROUND / NEW_PER_BATCH {
            let mut batch = Batch::new();
            for i in 0..NEW_PER_BATCH {
                let pod = format!("pod-{round}-{}", b * NEW_PER_BATCH + i);
                batch.push(Labels::metric("churn", [("pod", pod), ("app", "storm".to_string())]), t, i as f64 + 0.5);
            }
            // A stable series rides along: refused with the batch, never alone.
            batch.push(Labels::metric("stable", [("instance", "i0".to_string())]), t + 1, -1.0);
            match db.append(&batch) {
                Ok(()) => {
                    acked_new += NEW_PER_BATCH;
                    model.record(&batch);
                }
                Err(Error::SeriesLimit { limit, .. }) => {
                    assert_eq!(limit, MAX_ACTIVE);
                    refused_active += 1;
                }
                Err(Error::SeriesRateLimit { limit, created, .. }) => {
                    assert_eq!(limit, MAX_NEW_PER_MINUTE);
                    assert!(created + NEW_PER_BATCH > MAX_NEW_PER_MINUTE, "{created}");
                    refused_rate += 1;
                }
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        let head = db.stats().unwrap().head_series;
        assert!(head <= MAX_ACTIVE, "round {round}: {head} series in the head");
        max_head = max_head.max(head);
        // Finished windows go to blocks; the pods of those windows leave the head.
        db.flush().unwrap();
    }
    let elapsed = started.elapsed();
    let rss_growth_mb = rss_kb().saturating_sub(rss_base) / 1024;
    let attempted = rounds * NEW_PER_ROUND;
    eprintln!(
        "churn storm: {attempted} new series attempted in {elapsed:?}, {acked_new} acknowledged, \
         {refused_active} batches refused by max_active_series, {refused_rate} by max_new_series_per_minute; \
         head at most {max_head} series; RSS grew {rss_growth_mb} MB"
    );
    // The rate limit admits at most MAX_NEW_PER_MINUTE per started minute.
    let minutes = elapsed.as_secs() / 60 + 1;
    assert!(acked_new <= MAX_NEW_PER_MINUTE * minutes as usize, "{acked_new} in {elapsed:?}");
    if rounds >= 100 {
        assert!(refused_active > 0 && refused_rate > 0, "both limits were reached");
    }
    assert!(rss_growth_mb < RSS_GROWTH_LIMIT_MB, "RSS grew {rss_growth_mb} MB");
    assert_all_there(&db, &model);
    db.close().unwrap();

    let db = Db::open(dir.path(), options()).unwrap();
    assert!(db.stats().unwrap().head_series <= MAX_ACTIVE);
    assert_all_there(&db, &model);
    db.close().unwrap();
}
