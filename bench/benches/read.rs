//! Read path: postings lookup of a selective matcher pair among 1 M series,
//! and `select` over blocks.
//!
//! `cargo bench --bench read`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pulsedb::{Batch, Db, Labels, Matcher, Options, SyncMode};

fn options() -> Options {
    let mut o = Options::default();
    o.sync = SyncMode::Never;
    o.background_maintenance = false;
    o.retention = Duration::ZERO;
    o
}

/// 1 M series: 100 jobs × 10 000 instances, 1 series per (job, instance) pair... sparse:
/// each instance runs under 1 job, so `{job, instance}` selects 10 series (10 metrics).
fn postings(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    let t = 1_700_000_000_000;
    for chunk in 0..100 {
        let mut batch = Batch::with_capacity(10_000);
        for i in 0..10_000 {
            let n = chunk * 10_000 + i;
            let instance = n / 10;
            let labels = Labels::metric(
                &format!("metric_{}", n % 10),
                [
                    ("job", format!("job-{}", instance % 100)),
                    ("instance", format!("10.0.{}.{}:9100", instance / 256, instance % 256)),
                ],
            );
            batch.push(labels, t, n as f64);
        }
        db.append(&batch).expect("append");
    }
    let matchers = [Matcher::equal("job", "job-42"), Matcher::equal("instance", "10.0.1.86:9100")];
    assert_eq!(db.series(&matchers, t, t).expect("series").len(), 10);
    let mut group = c.benchmark_group("postings");
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    group.bench_function("10_of_1M_series_by_job_and_instance", |b| {
        b.iter(|| db.series(&matchers, t, t).expect("series"))
    });
    group.bench_function("select_10_of_1M_series", |b| b.iter(|| db.select(&matchers, t, t).expect("select")));
    group.finish();
}

/// 100 series × 6 h at 1 s, all in blocks.
fn select(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    let start = 1_699_999_200_000i64;
    let labels: Vec<Labels> =
        (0..100).map(|i| Labels::metric("cpu_usage_percent", [("host", format!("host-{i}"))])).collect();
    let mut walk = vec![5000i64; 100];
    for s in 0..(6 * 3600 + 1) {
        let mut batch = Batch::with_capacity(100);
        for (i, l) in labels.iter().enumerate() {
            walk[i] = (walk[i] + ((s * 7 + i as i64 * 13) % 101) - 50).clamp(0, 10_000);
            batch.push(l.clone(), start + s * 1000, walk[i] as f64 / 100.0);
        }
        db.append(&batch).expect("append");
    }
    db.flush().expect("flush");
    assert_eq!(db.stats().expect("stats").blocks, 3);
    let one = [Matcher::equal("host", "host-42")];
    let all = [Matcher::equal("__name__", "cpu_usage_percent")];
    let mut group = c.benchmark_group("select_blocks");
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(6 * 3600));
    group.bench_function("1_series_6h_21600_samples", |b| {
        b.iter(|| db.select(&one, start, start + 6 * 3_600_000 - 1).expect("select"))
    });
    group.throughput(Throughput::Elements(100 * 3600));
    group.bench_function("100_series_1h_360000_samples", |b| {
        b.iter(|| db.select(&all, start + 3_600_000, start + 2 * 3_600_000 - 1).expect("select"))
    });
    group.finish();
}

criterion_group!(benches, postings, select);
criterion_main!(benches);
