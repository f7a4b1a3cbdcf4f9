//! Ingest: head append through `Db::append` (WAL on) per sync mode, with
//! batches of 10 000 samples over 10 000 series, by label set and by
//! series handle; resolving label sets to handles (series created, and
//! found again); a remote-write body decoded with and without the
//! server's series cache; and WAL replay speed.
//!
//! `cargo bench --bench ingest`

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pulsedb::{Batch, Db, Labels, Options, SeriesHandle, SyncMode};

const SERIES: usize = 10_000;

fn labels() -> Vec<Labels> {
    (0..SERIES)
        .map(|i| {
            Labels::metric(
                "node_cpu_seconds_total",
                [
                    ("instance", format!("host-{}:9100", i / 10)),
                    ("job", "node".to_string()),
                    ("cpu", (i % 10).to_string()),
                    ("mode", "user".to_string()),
                ],
            )
        })
        .collect()
}

fn batch(labels: &[Labels], t: i64) -> Batch {
    let mut b = Batch::with_capacity(labels.len());
    for (i, l) in labels.iter().enumerate() {
        b.push(l.clone(), t, ((t / 1000) as f64 * 0.01 + i as f64).round());
    }
    b
}

/// The same scrape as [`batch`], by series handle.
fn batch_by_handle(handles: &[SeriesHandle], t: i64) -> Batch {
    let mut b = Batch::new();
    for (i, &h) in handles.iter().enumerate() {
        b.push_by_handle(h, t, ((t / 1000) as f64 * 0.01 + i as f64).round());
    }
    b
}

/// A scrape of `labels` by label set or, with `handles`, by handle.
fn scrape(labels: &[Labels], handles: Option<&[SeriesHandle]>, t: i64) -> Batch {
    match handles {
        Some(h) => batch_by_handle(h, t),
        None => batch(labels, t),
    }
}

fn options(sync: SyncMode) -> Options {
    let mut o = Options::default();
    o.sync = sync;
    o.background_maintenance = false;
    o
}

fn append(c: &mut Criterion) {
    let labels = labels();
    let mut group = c.benchmark_group("head_append");
    group.throughput(Throughput::Elements(SERIES as u64));
    group.sample_size(20).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    for (name, sync, by_handle) in [
        ("always", SyncMode::Always, false),
        ("interval_1s", SyncMode::Interval(Duration::from_secs(1)), false),
        ("never", SyncMode::Never, false),
        ("interval_1s_by_handle", SyncMode::Interval(Duration::from_secs(1)), true),
        ("never_by_handle", SyncMode::Never, true),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), options(sync)).expect("open");
        let mut t = 1_700_000_000_000i64;
        db.append(&batch(&labels, t)).expect("append");
        let handles: Vec<SeriesHandle> = labels.iter().map(|l| db.resolve(l).expect("resolve")).collect();
        let handles = by_handle.then_some(handles.as_slice());
        // Batches are built outside the timed part: labels and values are the caller's cost.
        group.bench_function(BenchmarkId::new("10k_series_batch", name), |b| {
            b.iter_batched_ref(
                || {
                    t += 1000;
                    scrape(&labels, handles, t)
                },
                |batch| db.append(batch).expect("append"),
                criterion::BatchSize::LargeInput,
            )
        });
        let stats = db.stats().expect("stats");
        eprintln!(
            "head memory after {} samples over {} series: {} bytes/series",
            stats.samples_appended,
            stats.head_series,
            stats.head_memory_bytes / stats.head_series.max(1)
        );
    }
    group.finish();
}

/// Two writer threads (this machine has two cores), each appending batches
/// of 5 000 samples over its own 5 000 series: the setup of
/// `promtool tsdb bench write`, which commits from concurrent goroutines.
fn concurrent(c: &mut Criterion) {
    let labels = labels();
    let halves: Vec<&[Labels]> = labels.chunks(SERIES / 2).collect();
    let mut group = c.benchmark_group("head_append_2_writers");
    group.throughput(Throughput::Elements(SERIES as u64 * 10));
    group.sample_size(10).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
    for (name, sync, by_handle) in [
        ("always", SyncMode::Always, false),
        ("interval_1s", SyncMode::Interval(Duration::from_secs(1)), false),
        ("interval_1s_by_handle", SyncMode::Interval(Duration::from_secs(1)), true),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), options(sync)).expect("open");
        let mut t = 1_700_000_000_000i64;
        db.append(&batch(&labels, t)).expect("append");
        let handles: Vec<Vec<SeriesHandle>> =
            halves.iter().map(|h| h.iter().map(|l| db.resolve(l).expect("resolve")).collect()).collect();
        // Each iteration: 10 scrapes of all 10 000 series, split between the threads.
        group.bench_function(BenchmarkId::new("10k_series_10_scrapes", name), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let scrapes: Vec<Vec<Batch>> = halves
                        .iter()
                        .zip(&handles)
                        .map(|(h, r)| {
                            (1..=10).map(|s| scrape(h, by_handle.then_some(r.as_slice()), t + s * 1000)).collect()
                        })
                        .collect();
                    t += 10_000;
                    let started = Instant::now();
                    std::thread::scope(|scope| {
                        for batches in &scrapes {
                            let db = &db;
                            scope.spawn(move || batches.iter().for_each(|b| db.append(b).expect("append")));
                        }
                    });
                    total += started.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

/// WAL replay: open a directory whose head holds `steps` samples per series.
fn replay(c: &mut Criterion) {
    let labels = labels();
    let steps = 100;
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = Db::open(dir.path(), options(SyncMode::Never)).expect("open");
        for s in 0..steps {
            db.append(&batch(&labels, 1_700_000_000_000 + s * 1000)).expect("append");
        }
        db.close().expect("close");
    }
    let samples = (steps as usize * SERIES) as u64;
    let mut group = c.benchmark_group("wal_replay");
    group.throughput(Throughput::Elements(samples));
    group.sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
    group.bench_function("1M_samples_10k_series", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let db = Db::open(dir.path(), options(SyncMode::Never)).expect("open");
                total += started.elapsed();
                drop(db);
            }
            total
        })
    });
    group.finish();
}

/// `Db::resolve` of 10,000 of 20kseries.json's label sets: each one new
/// (a WAL series record, the label index, the head's pooled key), and
/// each one found again (hash and key comparison against pooled pairs).
fn resolve(c: &mut Criterion) {
    let labels = pulsedb_bench::label_sets(SERIES).expect("20kseries.json");
    let mut group = c.benchmark_group("resolve");
    group.throughput(Throughput::Elements(SERIES as u64));
    group.sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
    group.bench_function("new_series_10k_20kseries", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("tempdir");
                let db = Db::open(dir.path(), options(SyncMode::Never)).expect("open");
                let started = Instant::now();
                for l in &labels {
                    db.resolve(l).expect("resolve");
                }
                total += started.elapsed();
                db.close().expect("close");
            }
            total
        })
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options(SyncMode::Never)).expect("open");
    for l in &labels {
        db.resolve(l).expect("resolve");
    }
    group.bench_function("known_series_10k_20kseries", |b| {
        b.iter(|| {
            for l in &labels {
                db.resolve(l).expect("resolve");
            }
        })
    });
    group.finish();
}

/// The server's cache reduced to its job (label fields' bytes → handle),
/// hashed with the same seeded foldhash.
struct WireCache(std::collections::HashMap<Vec<u8>, SeriesHandle, foldhash::quality::RandomState>);

impl pulsedb_formats::remote_wire::SeriesCache for WireCache {
    fn get(&self, wire_labels: &[u8]) -> Option<SeriesHandle> {
        self.0.get(wire_labels).copied()
    }
}

/// One remote-write body of 10,000 series (20kseries.json's label sets, one
/// sample each) decoded: every series unknown (labels built), then every
/// series known to the cache (rows by handle, no labels built).
fn remote_write_decode(c: &mut Criterion) {
    let labels = pulsedb_bench::label_sets(SERIES).expect("20kseries.json");
    let mut batch = Batch::with_capacity(SERIES);
    for (i, l) in labels.iter().enumerate() {
        batch.push(l.clone(), 1_700_000_000_000, i as f64);
    }
    let body = pulsedb_formats::remote::encode_write(&batch);
    let limit = 64 << 20;
    let decode = |cache: &dyn pulsedb_formats::remote_wire::SeriesCache| {
        pulsedb_formats::remote_wire::decode_write_cached(&body, limit, cache).expect("decodes")
    };
    // Learn each series' handle as the server does, from a first decode's misses.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options(SyncMode::Never)).expect("open");
    let first = decode(&pulsedb_formats::remote_wire::NoCache);
    let mut cache = WireCache(std::collections::HashMap::default());
    for miss in &first.misses {
        let (row_labels, _) = first.body.batch.rows().nth(miss.row).expect("a missed row");
        if let Some(wire) = &miss.wire_labels {
            cache.0.insert(wire.clone(), db.resolve(row_labels).expect("resolve"));
        }
    }
    assert_eq!(cache.0.len(), SERIES, "every series cached");
    let mut group = c.benchmark_group("remote_write_decode");
    group.throughput(Throughput::Elements(SERIES as u64));
    group.sample_size(20);
    group.bench_function("10k_series_unknown", |b| b.iter(|| decode(&pulsedb_formats::remote_wire::NoCache)));
    group.bench_function("10k_series_cached", |b| b.iter(|| decode(&cache)));
    group.finish();
}

criterion_group!(benches, append, concurrent, resolve, remote_write_decode, replay);
criterion_main!(benches);
