//! Chunk codecs on one core: Gorilla XOR (head chunks) and sealed block
//! chunks (codec chosen per chunk), on 1 s-cadence data of the kinds
//! monitoring produces. Throughput is in samples.
//!
//! `cargo bench --bench chunks`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pulsedb::Sample;
use pulsedb_bench::workload::Rng;
use pulsedb_storage::internals::{sealed_decode, sealed_encode, xor_decode, xor_encode};

/// 1 s cadence from a fixed start.
fn at(values: impl Iterator<Item = f64>) -> Vec<Sample> {
    values.enumerate().map(|(i, v)| Sample { t: 1_700_000_000_000 + i as i64 * 1000, v }).collect()
}

fn datasets(n: usize) -> Vec<(&'static str, Vec<Sample>)> {
    let mut rng = Rng::new(7);
    let mut walk = 5000i64;
    let gauge = at((0..n).map(|_| {
        walk = (walk + rng.between(-50, 50)).clamp(0, 10_000);
        walk as f64 / 100.0
    }));
    let mut c = 0i64;
    let counter = at((0..n).map(|_| {
        c += rng.between(0, 50);
        c as f64
    }));
    let constant = at((0..n).map(|_| 1.0));
    let floats = at((0..n).map(|i| (i as f64 * 0.01).sin() * 1e3 + (rng.below(1000) as f64).sqrt()));
    vec![("gauge_2dp", gauge), ("counter", counter), ("constant", constant), ("float", floats)]
}

fn xor(c: &mut Criterion) {
    let mut group = c.benchmark_group("xor_chunk");
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    // Head chunks hold 240 samples.
    for (name, samples) in datasets(240) {
        group.throughput(Throughput::Elements(samples.len() as u64));
        group.bench_with_input(BenchmarkId::new("encode", name), &samples, |b, s| b.iter(|| xor_encode(s)));
        let (bytes, count) = xor_encode(&samples);
        let mut out = Vec::with_capacity(count);
        group.bench_with_input(BenchmarkId::new("decode", name), &bytes, |b, bytes| {
            b.iter(|| {
                out.clear();
                xor_decode(bytes, count, &mut out)
            })
        });
    }
    group.finish();
}

fn sealed(c: &mut Criterion) {
    let mut group = c.benchmark_group("sealed_chunk");
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    // Block chunks hold up to 2048 samples.
    for (name, samples) in datasets(2048) {
        group.throughput(Throughput::Elements(samples.len() as u64));
        group.bench_with_input(BenchmarkId::new("encode", name), &samples, |b, s| b.iter(|| sealed_encode(s)));
        let (bytes, _) = sealed_encode(&samples);
        let mut out = Vec::with_capacity(samples.len());
        group.bench_with_input(BenchmarkId::new("decode", name), &bytes, |b, bytes| {
            b.iter(|| {
                out.clear();
                sealed_decode(bytes, &mut out)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, xor, sealed);
criterion_main!(benches);
