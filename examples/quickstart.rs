//! Quickstart: open a database, append a minute of per-second CPU samples
//! for three hosts, and read them back with a matcher.
//!
//! `cargo run --release --example quickstart [data-dir]` (default `./pulsedb-data`).

use std::time::{SystemTime, UNIX_EPOCH};

use pulsedb::{Batch, Db, Labels, MatchOp, Matcher, Options};

fn main() -> pulsedb::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "pulsedb-data".to_string());
    let db = Db::open(&dir, Options::default())?;

    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let start = now - 60_000;
    for second in 0..60 {
        let t = start + second * 1000;
        let mut batch = Batch::new();
        for (i, host) in ["web-1", "web-2", "db-1"].iter().enumerate() {
            let labels = Labels::metric("cpu_usage_percent", [("host", *host), ("region", "eu-west")]);
            // A gauge with two decimals, as node exporters report it.
            let value = ((20 + 15 * i as i64 + (second * 7 + i as i64 * 13) % 11) as f64) + 0.25;
            batch.push(labels, t, value);
        }
        db.append(&batch)?; // durable (fsynced) when this returns
    }

    let web = Matcher::new(MatchOp::RegexMatch, "host", "web-.*")?;
    for series in db.select(&[web], start, now)? {
        let avg = series.samples.iter().map(|s| s.v).sum::<f64>() / series.samples.len() as f64;
        println!("{}: {} samples, average {avg:.2}", series.labels, series.samples.len());
    }
    println!("hosts: {:?}", db.label_values("host", &[])?);
    let stats = db.stats()?;
    println!("head: {} series, {} WAL bytes in {}", stats.head_series, stats.wal_bytes, dir);
    db.close()
}
