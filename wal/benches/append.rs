//! Append throughput (bytes/s of payload) per `SyncMode` and payload size,
//! single writer; and `SyncMode::Always` with 4 concurrent writers, where
//! group commit shares fsyncs.
//!
//! Payload sizes stand for storage batches: 1 KiB ≈ 100 samples,
//! 64 KiB ≈ 6k samples, 1 MiB ≈ 100k samples.
//!
//! Quick run: `cargo bench -p pulsedb-wal --bench append -- --warm-up-time 1 --measurement-time 2`

use std::convert::Infallible;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pulsedb_wal::{SyncMode, Wal, WalOptions};
use tempfile::TempDir;

const SIZES: [(&str, usize); 3] = [("1KiB", 1 << 10), ("64KiB", 64 << 10), ("1MiB", 1 << 20)];

fn open(mode: SyncMode) -> (TempDir, Wal) {
    let dir = TempDir::new().expect("tempdir");
    let wal = Wal::open(dir.path(), WalOptions::new().with_sync(mode), |_, _| Ok::<(), Infallible>(())).expect("open");
    (dir, wal)
}

fn single_writer(c: &mut Criterion) {
    let modes = [
        ("always", SyncMode::Always),
        ("interval_100ms", SyncMode::Interval(Duration::from_millis(100))),
        ("never", SyncMode::Never),
    ];
    let mut group = c.benchmark_group("append");
    for (mode_name, mode) in modes {
        for (size_name, size) in SIZES {
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_function(BenchmarkId::new(mode_name, size_name), |b| {
                let (_dir, wal) = open(mode);
                let payload = vec![0xa5; size];
                b.iter(|| wal.append(&payload).expect("append"));
                wal.close().expect("close");
            });
        }
    }
    group.finish();
}

fn concurrent_writers(c: &mut Criterion) {
    const WRITERS: u64 = 4;
    let mut group = c.benchmark_group("append_4_writers");
    for (size_name, size) in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("always", size_name), |b| {
            let (_dir, wal) = open(SyncMode::Always);
            let payload = vec![0xa5; size];
            // One iteration is one append; the writers split them.
            b.iter_custom(|iters| {
                let start = Instant::now();
                thread::scope(|s| {
                    for w in 0..WRITERS {
                        let (wal, payload) = (&wal, &payload);
                        let share = iters / WRITERS + u64::from(w < iters % WRITERS);
                        s.spawn(move || {
                            for _ in 0..share {
                                wal.append(payload).expect("append");
                            }
                        });
                    }
                });
                start.elapsed()
            });
            wal.close().expect("close");
        });
    }
    group.finish();
}

criterion_group!(benches, single_writer, concurrent_writers);
criterion_main!(benches);
