//! The "compression fleet": the workload the storage issue's bytes-per-sample
//! target is stated on. Per host, at a fixed interval:
//!
//! - 10 gauges `cpu_usage_percent{cpu="0".."9"}`: a random walk in hundredths
//!   of a percent, each step uniform in [-0.50, +0.50], clamped to [0, 100];
//! - 5 counters: `http_requests_total` (+0..50 per step),
//!   `http_errors_total` (+1 with 2 % probability), `bytes_sent_total`
//!   (+0..20000), `cpu_seconds_total` (+0.00..1.00, two decimals) and
//!   `context_switches_total` (+1000..3000).
//!
//! Every series carries `host="host-N"` and `region` (4 regions). Values
//! are exact decimals, as exporters print them.

use super::rng::Rng;
use pulsedb::{Batch, Labels};

/// Shape of a generated fleet.
#[derive(Clone, Debug)]
pub struct FleetSpec {
    pub hosts: usize,
    pub interval_ms: i64,
    pub duration_ms: i64,
    pub start_ms: i64,
    pub seed: u64,
}

impl Default for FleetSpec {
    fn default() -> Self {
        Self { hosts: 100, interval_ms: 1000, duration_ms: 6 * 3_600_000, start_ms: 1_700_000_000_000, seed: 1 }
    }
}

const COUNTERS: [&str; 5] =
    ["http_requests_total", "http_errors_total", "bytes_sent_total", "cpu_seconds_total", "context_switches_total"];
const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"];

/// Yields one batch per interval, holding one sample of every series.
#[derive(Debug)]
pub struct CompressionFleet {
    spec: FleetSpec,
    labels: Vec<Labels>,
    /// Current value per series, as an integer number of hundredths.
    state: Vec<i64>,
    rng: Rng,
    step: i64,
}

impl CompressionFleet {
    pub const SERIES_PER_HOST: usize = 15;

    pub fn new(spec: FleetSpec) -> Self {
        let mut rng = Rng::new(spec.seed);
        let mut labels = Vec::new();
        let mut state = Vec::new();
        for h in 0..spec.hosts {
            let host = format!("host-{h}");
            let region = REGIONS[h % REGIONS.len()];
            for cpu in 0..10 {
                labels.push(Labels::metric(
                    "cpu_usage_percent",
                    [("host", host.as_str()), ("region", region), ("cpu", cpu.to_string().as_str())],
                ));
                state.push(rng.between(500, 9500));
            }
            for name in COUNTERS {
                labels.push(Labels::metric(name, [("host", host.as_str()), ("region", region)]));
                state.push(rng.between(0, 1_000_000) * 100);
            }
        }
        Self { spec, labels, state, rng, step: 0 }
    }

    pub fn series(&self) -> usize {
        self.labels.len()
    }

    pub fn total_samples(&self) -> u64 {
        (self.spec.duration_ms / self.spec.interval_ms) as u64 * self.labels.len() as u64
    }
}

impl Iterator for CompressionFleet {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let t = self.spec.start_ms + self.step * self.spec.interval_ms;
        if self.step * self.spec.interval_ms >= self.spec.duration_ms {
            return None;
        }
        self.step += 1;
        let mut batch = Batch::with_capacity(self.labels.len());
        for (i, labels) in self.labels.iter().enumerate() {
            let v = &mut self.state[i];
            match i % Self::SERIES_PER_HOST {
                0..=9 => *v = (*v + self.rng.between(-50, 50)).clamp(0, 10_000),
                10 => *v += self.rng.between(0, 50) * 100,
                11 => *v += if self.rng.chance(2) { 100 } else { 0 },
                12 => *v += self.rng.between(0, 20_000) * 100,
                13 => *v += self.rng.between(0, 100),
                _ => *v += self.rng.between(1000, 3000) * 100,
            }
            batch.push(labels.clone(), t, *v as f64 / 100.0);
        }
        Some(batch)
    }
}
