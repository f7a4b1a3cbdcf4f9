//! Times one PromQL range query on an existing data directory, embedded (a
//! development aid for comparing with the same query over HTTP):
//! `cargo run --release --example time_query -- DIR QUERY START END STEP [RUNS]`
//! (times in seconds, as the HTTP API takes them).
use std::time::Instant;

use pulsedb::{Db, Options};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, query, start, end, step, ..] = args.as_slice() else {
        return Err("usage: time_query DIR QUERY START END STEP [RUNS]".into());
    };
    let secs = |s: &str| -> Result<i64, Box<dyn std::error::Error>> { Ok((s.parse::<f64>()? * 1000.0) as i64) };
    let (start, end, step) = (secs(start)?, secs(end)?, secs(step)?);
    let runs: usize = args.get(5).map_or(Ok(2000), |s| s.parse())?.max(1);
    let mut options = Options::default();
    options.background_maintenance = false;
    let db = Db::open(dir, options)?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(db.query_range(query, start, end, step)?);
        times.push(t.elapsed());
    }
    times.sort();
    println!("{runs} runs: p50 {:?}, p90 {:?}", times[runs / 2], times[runs * 9 / 10]);
    Ok(())
}
