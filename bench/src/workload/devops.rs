//! The "devops fleet": the workload `pulsedb bench` measures, modelled on
//! node-exporter and the TSBS "devops" use case.
//!
//! Each host carries `host`, `region`, `az`, `service` and `instance_type`
//! and exports, at a fixed interval, 41 series:
//!
//! - `node_cpu_seconds_total{cpu="0".."1", mode=…}`: 16 counters in ticks
//!   of 1/100 s, as the kernel reports them; `steal` and `nice` rarely move;
//! - load averages, memory, filesystem and process gauges (byte gauges in
//!   whole pages, load with two decimals), some constant for the host's life;
//! - disk, network, context-switch and interrupt counters;
//! - per-service business metrics: requests by code, orders and revenue
//!   (cents) as counters that reset when the service restarts, and latency
//!   quantiles as noisy gauges in milliseconds.
//!
//! **Churn**: each host slot is replaced by a new host (new name, new
//! series) with probability `churn_per_hour` per simulated hour, as
//! auto-scaled containers come and go; but the first [`STABLE_SLOTS`]
//! hosts stay for the whole run, as the query suite names them.
//!
//! Every slot has its own random stream derived from the seed, so the data
//! is the same whatever the number of shards generating it in parallel.

use super::rng::Rng;
use pulsedb::{Batch, Labels};

/// Host slots never replaced by churn (`host-0` … `host-7`): the suite's
/// single-host and eight-host queries name them, and a host replaced after
/// a quarter of an hour (as `host-0` was with seed 1) would leave those
/// queries timing an almost empty answer.
pub(crate) const STABLE_SLOTS: usize = 8;

/// Shape of a generated devops fleet.
#[derive(Clone, Debug)]
pub struct DevopsSpec {
    pub hosts: usize,
    pub interval_ms: i64,
    pub duration_ms: i64,
    pub start_ms: i64,
    pub seed: u64,
    /// Fraction of host slots replaced by a new host per simulated hour.
    pub churn_per_hour: f64,
}

impl DevopsSpec {
    pub const SERIES_PER_HOST: usize = 41;

    /// Simulated steps from start to end.
    pub fn steps(&self) -> u64 {
        (self.duration_ms / self.interval_ms.max(1)).max(0) as u64
    }

    /// Samples the whole run produces (churn replaces series, it does not add samples).
    pub fn total_samples(&self) -> u64 {
        self.steps() * (self.hosts * Self::SERIES_PER_HOST) as u64
    }

    /// Splits the host slots round-robin into `n` shards that generate independently.
    pub fn shards(&self, n: usize) -> Vec<DevopsShard> {
        let n = n.clamp(1, self.hosts.max(1));
        (0..n)
            .map(|s| DevopsShard {
                spec: self.clone(),
                hosts: (s..self.hosts).step_by(n).map(|slot| Host::new(self, slot)).collect(),
                step: 0,
                series_created: 0,
            })
            .collect()
    }

    /// The label values of slot `slot`'s first host, for building queries.
    pub fn host_name(slot: usize) -> String {
        format!("host-{slot}")
    }
}

/// A subset of the fleet's host slots, generated step by step.
#[derive(Debug)]
pub struct DevopsShard {
    spec: DevopsSpec,
    hosts: Vec<Host>,
    step: u64,
    series_created: u64,
}

impl DevopsShard {
    /// Appends one sample of every live series of this shard at the next
    /// step to `batch`; false when the run is over.
    pub fn next_step(&mut self, batch: &mut Batch) -> bool {
        if self.step >= self.spec.steps() {
            return false;
        }
        let t = self.spec.start_ms + self.step as i64 * self.spec.interval_ms;
        let replace_per_step = self.spec.churn_per_hour * self.spec.interval_ms as f64 / 3_600_000.0;
        for host in &mut self.hosts {
            if self.step > 0 && host.rng.unit() < replace_per_step && host.slot >= STABLE_SLOTS {
                host.replace();
            }
            host.advance(self.spec.interval_ms);
            for (labels, value) in host.labels.iter().zip(host.values()) {
                batch.push(labels.clone(), t, value);
            }
        }
        self.series_created =
            self.hosts.iter().map(|h| h.generation + 1).sum::<u64>() * DevopsSpec::SERIES_PER_HOST as u64;
        self.step += 1;
        true
    }

    /// Series this shard has created so far (live and churned away).
    pub fn series_created(&self) -> u64 {
        self.series_created
    }
}

const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"];
const SERVICES: [&str; 8] = ["api", "checkout", "search", "auth", "cart", "payments", "catalog", "frontend"];
const INSTANCE_TYPES: [(&str, i64); 4] = [("m5.large", 8), ("m5.xlarge", 16), ("c5.2xlarge", 16), ("r5.xlarge", 32)];
const CPU_MODES: [&str; 8] = ["user", "system", "idle", "iowait", "irq", "softirq", "steal", "nice"];
const CPUS: usize = 2;
const PAGE: i64 = 4096;

/// One host slot: its current identity, labels and counters.
#[derive(Debug)]
struct Host {
    slot: usize,
    generation: u64,
    rng: Rng,
    labels: Vec<Labels>,
    /// Fraction of CPU time busy, in thousandths; random-walks.
    busy: i64,
    cpu_ticks: [[i64; 8]; CPUS],
    load: [i64; 3],
    mem_total: i64,
    mem_available: i64,
    cached: i64,
    buffers: i64,
    fs_size: i64,
    fs_avail: i64,
    disk: [i64; 3],
    net: [i64; 3],
    context_switches: i64,
    interrupts: i64,
    procs_running: i64,
    /// Requests per second this host's service sees.
    traffic: i64,
    requests: [i64; 2],
    orders: i64,
    revenue_cents: i64,
    latency_ms: [i64; 3],
}

impl Host {
    fn new(spec: &DevopsSpec, slot: usize) -> Self {
        let rng = Rng::new(spec.seed.wrapping_mul(0x1000_0000_01b3) ^ slot as u64);
        let mut host = Self {
            slot,
            generation: 0,
            rng,
            labels: Vec::new(),
            busy: 0,
            cpu_ticks: [[0; 8]; CPUS],
            load: [0; 3],
            mem_total: 0,
            mem_available: 0,
            cached: 0,
            buffers: 0,
            fs_size: 0,
            fs_avail: 0,
            disk: [0; 3],
            net: [0; 3],
            context_switches: 0,
            interrupts: 0,
            procs_running: 0,
            traffic: 0,
            requests: [0; 2],
            orders: 0,
            revenue_cents: 0,
            latency_ms: [0; 3],
        };
        host.boot();
        host
    }

    /// A new machine in this slot: new name, fresh counters.
    fn replace(&mut self) {
        self.generation += 1;
        self.boot();
    }

    fn name(&self) -> String {
        match self.generation {
            0 => DevopsSpec::host_name(self.slot),
            g => format!("host-{}-r{g}", self.slot),
        }
    }

    fn boot(&mut self) {
        let host = self.name();
        let rng = &mut self.rng;
        let region = REGIONS[self.slot % REGIONS.len()];
        let az = format!("{region}{}", ["a", "b", "c"][rng.below(3) as usize]);
        let service = SERVICES[self.slot / REGIONS.len() % SERVICES.len()];
        let (instance_type, gib) = INSTANCE_TYPES[self.slot % INSTANCE_TYPES.len()];
        let common = [
            ("host", host.as_str()),
            ("region", region),
            ("az", az.as_str()),
            ("service", service),
            ("instance_type", instance_type),
        ];
        let with = |name: &str, extra: &[(&str, &str)]| {
            Labels::metric(name, common.iter().chain(extra.iter()).map(|&(n, v)| (n.to_string(), v.to_string())))
        };
        let mut labels = Vec::with_capacity(DevopsSpec::SERIES_PER_HOST);
        for cpu in ["0", "1"] {
            for mode in CPU_MODES {
                labels.push(with("node_cpu_seconds_total", &[("cpu", cpu), ("mode", mode)]));
            }
        }
        for name in ["node_load1", "node_load5", "node_load15"] {
            labels.push(with(name, &[]));
        }
        for name in [
            "node_memory_MemTotal_bytes",
            "node_memory_MemAvailable_bytes",
            "node_memory_Cached_bytes",
            "node_memory_Buffers_bytes",
        ] {
            labels.push(with(name, &[]));
        }
        for name in ["node_filesystem_size_bytes", "node_filesystem_avail_bytes"] {
            labels.push(with(name, &[("mountpoint", "/"), ("device", "/dev/nvme0n1p1"), ("fstype", "ext4")]));
        }
        for name in ["node_disk_read_bytes_total", "node_disk_written_bytes_total", "node_disk_io_time_seconds_total"] {
            labels.push(with(name, &[("device", "nvme0n1")]));
        }
        for name in
            ["node_network_receive_bytes_total", "node_network_transmit_bytes_total", "node_network_receive_errs_total"]
        {
            labels.push(with(name, &[("device", "eth0")]));
        }
        labels.push(with("node_context_switches_total", &[]));
        labels.push(with("node_intr_total", &[]));
        labels.push(with("node_procs_running", &[]));
        labels.push(with("http_requests_total", &[("code", "200")]));
        labels.push(with("http_requests_total", &[("code", "500")]));
        labels.push(with("orders_total", &[]));
        labels.push(with("revenue_cents_total", &[]));
        for q in ["0.5", "0.9", "0.99"] {
            labels.push(with("http_request_duration_seconds", &[("quantile", q)]));
        }
        debug_assert_eq!(labels.len(), DevopsSpec::SERIES_PER_HOST);
        self.labels = labels;

        self.busy = rng.between(50, 700);
        self.cpu_ticks = [[0; 8]; CPUS];
        for cpu in &mut self.cpu_ticks {
            for ticks in cpu.iter_mut() {
                *ticks = rng.between(0, 5_000_000);
            }
        }
        self.load = [rng.between(0, 200); 3];
        self.mem_total = gib << 30;
        self.mem_available = self.mem_total / 2 / PAGE * PAGE;
        self.cached = self.mem_total / 4 / PAGE * PAGE;
        self.buffers = rng.between(10_000, 50_000) * PAGE;
        self.fs_size = 100 << 30;
        self.fs_avail = rng.between(20 << 18, 90 << 18) * PAGE;
        self.disk = [rng.between(0, 1 << 30) * 512, rng.between(0, 1 << 30) * 512, rng.between(0, 1_000_000)];
        self.net = [rng.between(0, 1 << 40), rng.between(0, 1 << 40), rng.between(0, 10)];
        self.context_switches = rng.between(0, 1 << 32);
        self.interrupts = rng.between(0, 1 << 32);
        self.procs_running = rng.between(1, 4);
        self.traffic = rng.between(5, 400);
        self.service_restart();
    }

    /// The service's process restarts: its counters go back to zero.
    fn service_restart(&mut self) {
        self.requests = [0; 2];
        self.orders = 0;
        self.revenue_cents = 0;
        self.latency_ms = [20, 80, 250];
    }

    fn advance(&mut self, interval_ms: i64) {
        let rng = &mut self.rng;
        let seconds = interval_ms as f64 / 1000.0;
        self.busy = (self.busy + rng.between(-15, 15)).clamp(10, 990);
        // Ticks per CPU this step: 100 per second, split between the modes.
        let ticks = interval_ms / 10;
        for cpu in &mut self.cpu_ticks {
            let busy = (ticks * self.busy / 1000 + rng.between(-2, 2)).clamp(0, ticks);
            let system = busy / 4;
            let iowait = if rng.chance(20) { rng.between(0, 2).min(ticks - busy) } else { 0 };
            let irq = i64::from(rng.chance(5));
            let softirq = i64::from(rng.chance(30));
            let steal = i64::from(rng.chance(1));
            let nice = i64::from(rng.below(1000) == 0);
            let user = (busy - system - irq - softirq - steal - nice).max(0);
            let idle = (ticks - user - system - iowait - irq - softirq - steal - nice).max(0);
            for (mode, add) in [user, system, idle, iowait, irq, softirq, steal, nice].into_iter().enumerate() {
                cpu[mode] += add;
            }
        }
        // Load averages follow busyness, smoothed more for the longer ones.
        let target = self.busy * CPUS as i64 / 10;
        for (i, smoothing) in [12, 60, 180].into_iter().enumerate() {
            self.load[i] += (target - self.load[i]) / smoothing + rng.between(-1, 1);
            self.load[i] = self.load[i].max(0);
        }
        let mem_step = rng.between(-64, 64) * PAGE;
        self.mem_available = (self.mem_available + mem_step).clamp(self.mem_total / 20, self.mem_total * 9 / 10);
        if rng.chance(10) {
            self.cached = (self.cached + rng.between(-16, 16) * PAGE).clamp(0, self.mem_total / 2);
        }
        if rng.chance(2) {
            self.buffers += PAGE;
        }
        if rng.chance(5) {
            self.fs_avail = (self.fs_avail - rng.between(0, 256) * PAGE).max(0);
        }
        let busy = self.busy;
        self.disk[0] += rng.between(0, busy * 8) * 512;
        self.disk[1] += rng.between(0, busy * 16) * 512;
        self.disk[2] += rng.between(0, busy / 10) * (interval_ms / 1000).max(1);
        let requests = (self.traffic as f64 * seconds) as i64;
        self.net[0] += requests * rng.between(800, 1200);
        self.net[1] += requests * rng.between(4000, 9000);
        if rng.below(5000) == 0 {
            self.net[2] += 1;
        }
        self.context_switches += rng.between(1000, 3000) * (interval_ms / 1000).max(1);
        self.interrupts += rng.between(500, 1500) * (interval_ms / 1000).max(1);
        if rng.chance(10) {
            self.procs_running = (self.procs_running + rng.between(-1, 1)).clamp(1, 16);
        }
        self.traffic = (self.traffic + rng.between(-3, 3)).clamp(1, 1000);
        // A service restart about every six simulated hours.
        let restart = rng.unit() < seconds / 21_600.0;
        let errors = i64::from(rng.chance(3)) * rng.between(1, 3);
        self.requests[0] += requests;
        self.requests[1] += errors;
        let orders = requests / 50 + i64::from(rng.chance(requests.min(100) as u64));
        self.orders += orders;
        self.revenue_cents += orders * rng.between(500, 20_000);
        for (i, base) in [20, 80, 250].into_iter().enumerate() {
            let noise = rng.between(-(base / 5), base / 5);
            self.latency_ms[i] = (base + busy * base / 2000 + noise).max(1);
        }
        if restart {
            self.service_restart();
        }
    }

    /// Current values, in the order of `labels`.
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        let cpu = self.cpu_ticks.iter().flat_map(|c| c.iter().map(|&t| t as f64 / 100.0));
        let load = self.load.iter().map(|&l| l as f64 / 100.0);
        let bytes = [
            self.mem_total,
            self.mem_available,
            self.cached,
            self.buffers,
            self.fs_size,
            self.fs_avail,
            self.disk[0],
            self.disk[1],
        ]
        .into_iter()
        .map(|b| b as f64);
        let io_time = std::iter::once(self.disk[2] as f64 / 1000.0);
        let counters = [
            self.net[0],
            self.net[1],
            self.net[2],
            self.context_switches,
            self.interrupts,
            self.procs_running,
            self.requests[0],
            self.requests[1],
            self.orders,
            self.revenue_cents,
        ]
        .into_iter()
        .map(|c| c as f64);
        let latency = self.latency_ms.iter().map(|&ms| ms as f64 / 1000.0);
        cpu.chain(load).chain(bytes).chain(io_time).chain(counters).chain(latency)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(hosts: usize, churn: f64) -> DevopsSpec {
        DevopsSpec { hosts, interval_ms: 1000, duration_ms: 600_000, start_ms: 0, seed: 7, churn_per_hour: churn }
    }

    fn all(spec: &DevopsSpec, shards: usize) -> Vec<(String, i64, u64)> {
        let mut out = Vec::new();
        for mut shard in spec.shards(shards) {
            let mut batch = Batch::new();
            while shard.next_step(&mut batch) {}
            out.extend(batch.rows().flat_map(|(l, s)| s.iter().map(|x| (l.to_string(), x.t, x.v.to_bits()))));
        }
        out.sort();
        out
    }

    #[test]
    fn same_data_whatever_the_sharding() {
        let spec = spec(6, 0.5);
        assert_eq!(all(&spec, 1), all(&spec, 4));
    }

    #[test]
    fn values_and_labels_have_the_promised_shape() {
        let spec = spec(3, 0.0);
        let mut shard = spec.shards(1).remove(0);
        let mut batch = Batch::new();
        assert!(shard.next_step(&mut batch));
        assert_eq!(batch.len(), 3 * DevopsSpec::SERIES_PER_HOST);
        for (labels, _) in batch.rows() {
            for name in ["host", "region", "az", "service", "instance_type"] {
                assert!(labels.get(name).is_some(), "{labels} lacks {name}");
            }
        }
        while shard.next_step(&mut batch) {}
        // Counters never decrease except at a restart; cpu ticks are whole hundredths.
        for (labels, samples) in batch.rows() {
            if labels.metric_name() == Some("node_cpu_seconds_total") {
                assert!(samples.windows(2).all(|w| w[1].v >= w[0].v), "{labels}");
                assert!(samples.iter().all(|s| (s.v * 100.0 - (s.v * 100.0).round()).abs() < 1e-6));
            }
        }
    }

    #[test]
    fn churn_replaces_hosts_with_new_series() {
        let spec = DevopsSpec { duration_ms: 3_600_000, interval_ms: 15_000, ..spec(28, 0.5) };
        let mut shard = spec.shards(1).remove(0);
        let mut batch = Batch::new();
        while shard.next_step(&mut batch) {}
        let hosts: std::collections::BTreeSet<_> =
            batch.rows().filter_map(|(l, _)| l.get("host").map(str::to_string)).collect();
        // About 10 of the 20 slots that churn replaced in the hour; allow wide randomness.
        assert!(hosts.len() > 30 && hosts.len() < 48, "{} hosts", hosts.len());
        for slot in 0..STABLE_SLOTS {
            assert!(!hosts.iter().any(|h| h.starts_with(&format!("host-{slot}-r"))), "host-{slot} was replaced");
        }
        assert_eq!(shard.series_created(), hosts.len() as u64 * DevopsSpec::SERIES_PER_HOST as u64);
    }
}
