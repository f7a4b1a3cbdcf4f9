//! Times the phases of a 30-day rollup query (a development aid for the
//! `query` bench): `cargo run --release --example profile_rollups`.
use std::time::{Duration, Instant};

use pulsedb::{Batch, Db, Engine, Labels, Matcher, Options};

fn main() {
    // Optional: an existing data directory and its metric (e.g. a `pulsedb
    // bench --data-dir D` run's D/history and history_load1), and its first timestamp.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::Path::new(args.first().map_or("/tmp/qprof/db", String::as_str));
    let metric = args.get(1).map_or("metric", String::as_str);
    let fresh = !dir.exists();
    let mut o = Options::default();
    o.background_maintenance = false;
    o.retention = Duration::ZERO;
    o.sync = pulsedb::SyncMode::Never;
    let db = Db::open(dir, o).expect("open");
    let start = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_698_796_800_000i64);
    if fresh {
        let labels: Vec<Labels> =
            (0..1000).map(|h| Labels::metric("metric", [("host", format!("host-{h}"))])).collect();
        for day in 0..30i64 {
            let mut batch = Batch::new();
            for l in &labels {
                batch.add(
                    l.clone(),
                    (0..1440).map(|m| {
                        pulsedb::Sample::new(
                            start + day * 86_400_000 + m * 60_000,
                            ((m * 7919 + day * 31) % 10_007) as f64 / 100.0,
                        )
                    }),
                );
            }
            db.append(&batch).expect("append");
        }
        db.flush().expect("flush");
        db.compact().expect("compact");
    }
    println!("blocks {}", db.stats().expect("stats").blocks);
    let m = [Matcher::equal("__name__", metric)];
    for _ in 0..10 {
        let t = Instant::now();
        let r = db
            .select_rollups(
                &m,
                start,
                start + 30 * 86_400_000,
                3_600_000,
                pulsedb::RollupFields::COUNT.with(pulsedb::RollupFields::SUM).with(pulsedb::RollupFields::FIRST),
            )
            .expect("rollups")
            .unwrap_or_default();
        println!(
            "select_rollups: {:?} ({} series, {} buckets)",
            t.elapsed(),
            r.len(),
            r.iter().map(|s| s.buckets.len()).sum::<usize>()
        );
        let t = Instant::now();
        let q = pulsedb::parse_query(&format!("avg_over_time({metric}[1h])")).expect("parse");
        let _ =
            Engine::default().range_expr(&db, &q, start + 3_600_000, start + 30 * 86_400_000, 3_600_000).expect("q");
        println!("query: {:?}", t.elapsed());
    }
}
