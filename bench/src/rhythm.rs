//! Series with a daily rhythm, for timing the anomaly functions: per series
//! a sine of one day at its own phase plus deterministic noise, at whole
//! minutes (or any other step).

use pulsedb::{Batch, Db, Labels, Sample};

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// The value of series `series` at `t`: 50 ± 30 over a day, plus up to 10 of noise.
pub fn value(series: usize, t: i64) -> f64 {
    let day = (t % DAY) as f64 / DAY as f64;
    let noise = ((t / MIN) as u64).wrapping_mul(2_654_435_761).wrapping_add(series as u64 * 97) % 1000;
    50.0 + 30.0 * (std::f64::consts::TAU * day + series as f64).sin() + noise as f64 / 100.0
}

/// `series` series `load{host="h<i>"}` from `start` to `end` at `step`,
/// appended a quarter-day at a time and flushed into blocks.
pub fn load(db: &Db, series: usize, start: i64, end: i64, step: i64) {
    let labels: Vec<Labels> = (0..series).map(|s| Labels::metric("load", [("host", format!("h{s}"))])).collect();
    let mut t = start;
    while t < end {
        let chunk_end = (t + DAY / 4).min(end);
        let mut batch = Batch::new();
        for (s, l) in labels.iter().enumerate() {
            batch.add(l.clone(), (t..chunk_end).step_by(step as usize).map(|x| Sample::new(x, value(s, x))));
        }
        db.append(&batch).expect("append");
        db.flush().expect("flush");
        t = chunk_end;
    }
}
