//! A bounded HTTP load test on loopback: N concurrent writers push
//! batches to a pulsedb server for T seconds over remote-write and/or
//! InfluxDB line protocol, then stop. Reports accepted samples/s, request
//! latency p50/p99, and CPU seconds of the server's and the writers'
//! threads (from /proc), since both share this machine's cores.
//!
//! ```text
//! cargo run --release --example load_test -- [--writers 4] [--seconds 20] [--batch 10000]
//!     [--protocol remote-write|line-protocol|both] [--sync always|interval=1s] [--target http://host:port]
//! ```
//!
//! Without `--target` it starts a server in this process on a temporary
//! data directory (`--sync always` by default). Each writer owns `--batch`
//! node-exporter-like series and sends one sample of each per request, one
//! simulated second apart, so every request is new data (no overwrites).
//! Writers build their bodies as Prometheus does (protobuf + snappy; text
//! for line protocol), and that work counts in the writers' CPU.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pulsedb_bench::workload::Rng;

/// The same allocator as the `pulsedb` binary, for the in-process server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Debug)]
struct Args {
    writers: usize,
    seconds: u64,
    batch: usize,
    protocols: Vec<Protocol>,
    sync: String,
    target: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Protocol {
    RemoteWrite,
    LineProtocol,
}

fn parse_args() -> Args {
    let mut args = Args {
        writers: 4,
        seconds: 20,
        batch: 10_000,
        protocols: vec![Protocol::RemoteWrite, Protocol::LineProtocol],
        sync: "always".into(),
        target: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--writers" => args.writers = value().parse().unwrap(),
            "--seconds" => args.seconds = value().parse().unwrap(),
            "--batch" => args.batch = value().parse().unwrap(),
            "--sync" => args.sync = value(),
            "--target" => args.target = Some(value()),
            "--protocol" => {
                args.protocols = match value().as_str() {
                    "remote-write" => vec![Protocol::RemoteWrite],
                    "line-protocol" => vec![Protocol::LineProtocol],
                    "both" => vec![Protocol::RemoteWrite, Protocol::LineProtocol],
                    other => panic!("unknown protocol {other}"),
                }
            }
            "--bench" => {} // passed by `cargo bench`-style runners; ignored
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

/// Node-exporter-like series of one writer: `(metric, labels)`.
fn series_of(writer: usize, count: usize) -> Vec<Vec<(String, String)>> {
    const METRICS: [(&str, &str, &[&str]); 6] = [
        ("node_cpu_seconds_total", "mode", &["idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"]),
        ("node_network_receive_bytes_total", "device", &["eth0", "eth1", "lo"]),
        ("node_network_transmit_bytes_total", "device", &["eth0", "eth1", "lo"]),
        ("node_disk_written_bytes_total", "device", &["nvme0n1", "nvme1n1"]),
        ("node_filesystem_avail_bytes", "mountpoint", &["/", "/var", "/data"]),
        ("node_memory_MemAvailable_bytes", "", &[""]),
    ];
    let per_host: usize = METRICS.iter().map(|(_, _, values)| values.len()).sum();
    let mut out = Vec::with_capacity(count);
    let mut host = 0;
    while out.len() < count {
        for (metric, label, values) in METRICS {
            for value in values {
                if out.len() == count {
                    break;
                }
                let mut labels = vec![
                    ("__name__".to_string(), metric.to_string()),
                    ("instance".to_string(), format!("w{writer}-host-{host}:9100")),
                    ("job".to_string(), "node".to_string()),
                    ("region".to_string(), ["us-east-1", "eu-west-1", "ap-south-1"][host % 3].to_string()),
                    ("az".to_string(), format!("az-{}", host % 4)),
                ];
                if !label.is_empty() {
                    labels.push((label.to_string(), value.to_string()));
                }
                labels.sort();
                out.push(labels);
            }
        }
        host += 1;
    }
    let _ = per_host;
    out
}

/// A remote-write body whose sample timestamps and values are patched in
/// place per request: every sample has a fixed-width encoding (double, and
/// a 6-byte varint timestamp, which holds any millisecond time of this century).
struct RemoteWriteTemplate {
    bytes: Vec<u8>,
    /// Offsets of each sample's 8-byte value; its timestamp varint follows after one tag byte.
    value_offsets: Vec<usize>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl RemoteWriteTemplate {
    fn new(series: &[Vec<(String, String)>]) -> Self {
        let mut bytes = Vec::new();
        let mut value_offsets = Vec::with_capacity(series.len());
        for labels in series {
            let mut ts = Vec::new();
            for (name, value) in labels {
                let mut label = Vec::new();
                label.push(0x0a);
                put_varint(&mut label, name.len() as u64);
                label.extend_from_slice(name.as_bytes());
                label.push(0x12);
                put_varint(&mut label, value.len() as u64);
                label.extend_from_slice(value.as_bytes());
                ts.push(0x0a);
                put_varint(&mut ts, label.len() as u64);
                ts.extend_from_slice(&label);
            }
            // Sample: 0x09 + f64, 0x10 + 6-byte varint timestamp = 16 bytes.
            ts.extend_from_slice(&[0x12, 16, 0x09]);
            let value_at = ts.len();
            ts.extend_from_slice(&[0; 8]);
            ts.push(0x10);
            ts.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
            bytes.push(0x0a);
            put_varint(&mut bytes, ts.len() as u64);
            value_offsets.push(bytes.len() + value_at);
            bytes.extend_from_slice(&ts);
        }
        Self { bytes, value_offsets }
    }

    fn body(&mut self, t_ms: i64, values: &[f64]) -> Vec<u8> {
        assert!((1 << 35..1 << 42).contains(&t_ms), "timestamp {t_ms} does not fit 6 varint bytes");
        let mut ts = [0u8; 6];
        let mut v = t_ms as u64;
        for (i, b) in ts.iter_mut().enumerate() {
            *b = (v as u8 & 0x7f) | if i < 5 { 0x80 } else { 0 };
            v >>= 7;
        }
        for (&at, value) in self.value_offsets.iter().zip(values) {
            self.bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
            self.bytes[at + 9..at + 15].copy_from_slice(&ts);
        }
        snap::raw::Encoder::new().compress_vec(&self.bytes).unwrap()
    }
}

fn line_protocol_body(series: &[Vec<(String, String)>], t_ms: i64, values: &[f64]) -> Vec<u8> {
    let mut out = String::with_capacity(series.len() * 120);
    for (labels, value) in series.iter().zip(values) {
        let name = &labels.iter().find(|(n, _)| n == "__name__").unwrap().1;
        let (measurement, field) = name.rsplit_once('_').unwrap();
        out.push_str(measurement);
        for (n, v) in labels.iter().filter(|(n, _)| n != "__name__") {
            let _ = write!(out, ",{n}={v}");
        }
        let _ = writeln!(out, " {field}={value} {t_ms}");
    }
    out.into_bytes()
}

struct WriterResult {
    samples: u64,
    latencies: Vec<Duration>,
    /// CPU seconds of this writer thread, read before it exits.
    cpu_seconds: f64,
}

fn writer(id: usize, args: &Args, base: &str, protocol: Protocol, start_ms: i64, stop: &AtomicBool) -> WriterResult {
    let series = series_of(id, args.batch);
    let mut template = (protocol == Protocol::RemoteWrite).then(|| RemoteWriteTemplate::new(&series));
    let mut rng = Rng::new(id as u64 + 1);
    let mut values: Vec<f64> = (0..series.len()).map(|_| rng.below(1_000_000) as f64).collect();
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
    let url = match protocol {
        Protocol::RemoteWrite => format!("{base}/api/v1/write"),
        Protocol::LineProtocol => format!("{base}/write?precision=ms"),
    };
    let mut result = WriterResult { samples: 0, latencies: Vec::new(), cpu_seconds: 0.0 };
    let mut step = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let t = start_ms + step * 1000;
        for v in values.iter_mut() {
            *v += rng.below(100) as f64;
        }
        let body = match template.as_mut() {
            Some(tpl) => tpl.body(t, &values),
            None => line_protocol_body(&series, t, &values),
        };
        let sent = Instant::now();
        let response = match protocol {
            Protocol::RemoteWrite => agent
                .post(&url)
                .set("Content-Encoding", "snappy")
                .set("Content-Type", "application/x-protobuf")
                .send_bytes(&body),
            Protocol::LineProtocol => agent.post(&url).send_bytes(&body),
        };
        match response {
            Ok(r) if r.status() == 204 => {
                result.latencies.push(sent.elapsed());
                result.samples += series.len() as u64;
            }
            Ok(r) => panic!("status {}", r.status()),
            Err(e) => panic!("writer {id}: {e}"),
        }
        step += 1;
    }
    result.cpu_seconds = cpu_seconds("/proc/thread-self/stat");
    result
}

/// User + system CPU seconds from a /proc `stat` file (a process's counts
/// include its exited threads).
fn cpu_seconds(stat_path: &str) -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    let Ok(stat) = std::fs::read_to_string(stat_path) else { return 0.0 };
    let Some((_, rest)) = stat.rsplit_once(") ") else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (field(11) + field(12)) / ticks
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn run(args: &Args, base: &str, protocol: Protocol, start_ms: i64) {
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_process0 = cpu_seconds("/proc/self/stat");
    let started = Instant::now();
    let handles: Vec<_> = (0..args.writers)
        .map(|w| {
            let (args, base, stop) = (args.clone(), base.to_string(), stop.clone());
            // Each protocol run gets its own series (writer ids), so runs never overlap.
            let id = w + if protocol == Protocol::LineProtocol { 1000 } else { 0 };
            std::thread::Builder::new()
                .name(format!("loadgen-{w}"))
                .spawn(move || writer(id, &args, &base, protocol, start_ms, &stop))
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_secs(args.seconds));
    stop.store(true, Ordering::Relaxed);
    let results: Vec<WriterResult> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_writers: f64 = results.iter().map(|r| r.cpu_seconds).sum();
    // Everything else in this process is the server (with --target, the server is elsewhere).
    let server_cpu = cpu_seconds("/proc/self/stat") - cpu_process0 - cpu_writers;
    let samples: u64 = results.iter().map(|r| r.samples).sum();
    let mut latencies: Vec<Duration> = results.iter().flat_map(|r| r.latencies.iter().copied()).collect();
    latencies.sort();
    println!(
        "{:<14} writers={} batch={} sync={}: {} requests, {} samples in {:.1}s = {:.0} samples/s; \
         latency p50 {:.1} ms, p99 {:.1} ms; CPU s: server {:.1}, writers {:.1} ({:.0} samples per server CPU-second)",
        match protocol {
            Protocol::RemoteWrite => "remote-write",
            Protocol::LineProtocol => "line-protocol",
        },
        args.writers,
        args.batch,
        args.sync,
        latencies.len(),
        samples,
        elapsed,
        samples as f64 / elapsed,
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        server_cpu,
        cpu_writers,
        samples as f64 / server_cpu.max(1e-9),
    );
}

fn main() {
    let args = parse_args();
    let tmp = tempfile::tempdir().unwrap();
    let base = match &args.target {
        Some(t) => t.trim_end_matches('/').to_string(),
        None => {
            let mut config = pulsedb_server::Config::default();
            config.data_dir = tmp.path().to_path_buf();
            config.listen = "127.0.0.1:0".into();
            config.storage.sync = match args.sync.as_str() {
                "always" => pulsedb::SyncMode::Always,
                s => {
                    let d = s.strip_prefix("interval=").expect("--sync always|interval=<duration>");
                    pulsedb::SyncMode::Interval(Duration::from_millis(
                        pulsedb_formats::timefmt::parse_duration_ms(d).unwrap() as u64,
                    ))
                }
            };
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("server-main".into())
                .spawn(move || {
                    let runtime = pulsedb_server::runtime().unwrap();
                    runtime
                        .block_on(pulsedb_server::serve(
                            config,
                            move |addr| tx.send(addr).unwrap(),
                            std::future::pending(),
                        ))
                        .unwrap();
                })
                .unwrap();
            format!("http://{}", rx.recv().unwrap())
        }
    };
    println!("target {base}; machine: {} cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
    // Simulated time starts two hours back, so the future-sample limit never bites.
    let start_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 - 2 * 3_600_000;
    for &protocol in &args.protocols {
        run(&args, &base, protocol, start_ms);
    }
}
