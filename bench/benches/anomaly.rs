//! The anomaly functions' hot path at a size criterion can repeat: what
//! `/api/v1/anomalies` runs (`Db::anomalies`, a 1 h window over a day of
//! history) for 1,000 series at 1 min, and `anomaly_score(x[7d])` over 30
//! days at 5 min for one series. The full-size goals are timed by
//! `examples/anomaly_speed.rs`; this is for profiling and A/B.
//!
//! `cargo bench -p pulsedb-bench --bench anomaly`

use criterion::{criterion_group, criterion_main, Criterion};
use pulsedb::AnomalyRequest;
use pulsedb_bench::rhythm::load;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// A whole minute that is not a whole day (streams start mid-anchor).
const END: i64 = 1_700_000_000_000 / MIN * MIN;

fn ranking(c: &mut Criterion) {
    let (_dir, db) = pulsedb_bench::scratch_db();
    load(&db, 1_000, END - DAY - 2 * HOUR, END, MIN);
    let mut request = AnomalyRequest::new(vec!["load".into()], END);
    request.history = DAY;
    c.bench_function("anomalies/1000_series_1d_history", |b| {
        b.iter(|| db.anomalies(&request).expect("anomalies"));
    });
}

fn one_series(c: &mut Criterion) {
    let (_dir, db) = pulsedb_bench::scratch_db();
    load(&db, 1, END - 37 * DAY, END, 5 * MIN);
    c.bench_function("anomaly_score/one_series_30d_5min", |b| {
        b.iter(|| db.query_range("anomaly_score(load[7d])", END - 30 * DAY, END, 5 * MIN).expect("query"));
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = ranking, one_series
}
criterion_main!(benches);
