//! Times `sum by (host) (rate(cpu_seconds_total[5m]))` over 1 h at 15 s on
//! 1 000 counters at 1 s held in the head (a development aid for the
//! `query` bench): `cargo run --release --example profile_rate`.
use std::time::Instant;

use pulsedb::{Batch, Labels};

fn main() {
    let (_dir, db) = pulsedb_bench::scratch_db();
    let start = 1_698_796_800_000i64;
    let labels: Vec<Labels> =
        (0..1000).map(|h| Labels::metric("cpu_seconds_total", [("host", format!("host-{h}"))])).collect();
    for chunk in 0..39i64 {
        let mut batch = Batch::new();
        for (i, l) in labels.iter().enumerate() {
            batch.add(
                l.clone(),
                (chunk * 100..chunk * 100 + 100)
                    .map(|s| pulsedb::Sample::new(start + s * 1000, (s * (i as i64 % 7 + 1)) as f64)),
            );
        }
        db.append(&batch).expect("append");
    }
    let q = "sum by (host) (rate(cpu_seconds_total[5m]))";
    for _ in 0..10 {
        let t = Instant::now();
        let _ = db.query_range(q, start + 300_000, start + 3_900_000 - 1000, 15_000).expect("query");
        println!("query: {:?}", t.elapsed());
    }
}
