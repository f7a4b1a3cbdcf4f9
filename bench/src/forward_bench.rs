//! `pulsedb bench-forward`: forwarding next to vmagent. The same paced
//! remote-write stream (`--series` series, `--rate` samples/s, for
//! `--duration`) goes to (1) pulsedb without a destination, (2) pulsedb
//! forwarding to VictoriaMetrics, and (3) vmagent relaying to
//! VictoriaMetrics. Reported: the forwarding's own CPU per sample (2 minus
//! 1, from /proc) against vmagent's per relayed sample; pulsedb's
//! forwarding lag (its `pulsedb_forward_lag_seconds`, read every 250 ms)
//! p50/p99; and, with the receiver down for `--outage` while the stream
//! goes on, how fast the backlog drains once it is back.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use pulsedb::{Batch, Labels};
use pulsedb_server::flags;

use super::process;
use super::server::{Server, System};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    pulsedb bench-forward                                  # 100 k samples/s for 60 s, three runs of each\n  \
    pulsedb bench-forward --rate 20000 --duration 10s --runs 1   # a smoke run")]
pub struct ForwardBenchArgs {
    /// Samples per second written.
    #[arg(long, default_value_t = 100_000)]
    rate: u64,
    /// Series written (each gets rate/series samples a second).
    #[arg(long, default_value_t = 10_000)]
    series: usize,
    /// How long each measured stream lasts.
    #[arg(long, default_value = "60s", value_parser = flags::duration)]
    duration: Duration,
    /// How long the receiver is down in the backlog phase.
    #[arg(long, default_value = "30s", value_parser = flags::duration)]
    outage: Duration,
    /// Runs of each phase (medians are reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

/// One stream's figures.
#[derive(Debug, Default, Clone)]
struct Figures {
    samples: u64,
    cpu_seconds: f64,
    lags: Vec<f64>,
}

/// Paced writes: one request every `tick` with `series` samples, timestamps advancing.
struct Stream {
    url: String,
    agent: ureq::Agent,
    labels: Vec<Labels>,
    tick: Duration,
    t: i64,
}

impl Stream {
    fn new(base: &str, args: &ForwardBenchArgs) -> Self {
        let labels = (0..args.series)
            .map(|i| Labels::metric("bench_forward", [("series", format!("s{i:05}")), ("job", "forward".to_string())]))
            .collect();
        let per_second = (args.rate / args.series.max(1) as u64).max(1);
        Self {
            url: format!("{base}/api/v1/write"),
            agent: ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build(),
            labels,
            tick: Duration::from_micros(1_000_000 / per_second),
            t: now_ms() - 1000,
        }
    }

    /// Writes for `how_long`, calling `each` after every request; returns samples written.
    fn run(&mut self, how_long: Duration, mut each: impl FnMut()) -> anyhow::Result<u64> {
        let start = Instant::now();
        let mut next = start;
        let mut written = 0;
        while start.elapsed() < how_long {
            let mut batch = Batch::with_capacity(self.labels.len());
            self.t = self.t.max(now_ms() - 1000) + 1;
            for (i, l) in self.labels.iter().enumerate() {
                batch.push(l.clone(), self.t, (self.t / 1000 % 1000) as f64 + i as f64);
            }
            let body = pulsedb_formats::remote::encode_write(&batch);
            self.agent
                .post(&self.url)
                .set("Content-Type", "application/x-protobuf")
                .set("Content-Encoding", "snappy")
                .set("X-Prometheus-Remote-Write-Version", "0.1.0")
                .send_bytes(&body)
                .with_context(|| format!("writing to {}", self.url))?;
            written += batch.len() as u64;
            each();
            next += self.tick;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        Ok(written)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A `/metrics` value summed over the lines that start with `name`.
fn metric(base: &str, name: &str) -> f64 {
    let Some(page) = ureq::get(&format!("{base}/metrics")).call().ok().and_then(|r| r.into_string().ok()) else {
        return 0.0;
    };
    page.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

fn wait_caught_up(base: &str, want: u64, timeout: Duration) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while (metric(base, "pulsedb_forward_samples_sent_total") as u64) < want {
        anyhow::ensure!(start.elapsed() < timeout, "forwarding did not catch up within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(start.elapsed())
}

struct Vmagent {
    child: Child,
    base: String,
}

impl Drop for Vmagent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn vmagent(dir: &Path, receiver: &str) -> anyhow::Result<Vmagent> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new("vmagent")
        .arg(format!("-remoteWrite.url={receiver}/api/v1/write"))
        .arg(format!("-remoteWrite.tmpDataPath={}", dir.display()))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg("-loggerLevel=ERROR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting vmagent (Debian's victoria-metrics package; scripts/setup-deps.sh)")?;
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&format!("{base}/health")).call().is_err() {
        anyhow::ensure!(Instant::now() < deadline, "vmagent did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Vmagent { child, base })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(0.0)
}

pub fn run(args: ForwardBenchArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir().context("temporary directory")?;
    let mut plain = Vec::new();
    let mut forwarding = Vec::new();
    let mut relayed = Vec::new();
    let mut drains = Vec::new();
    let mut rss = Vec::new();
    for run in 0..args.runs {
        let dir = tmp.path().join(format!("run{run}"));
        let vm = Server::start(System::Victoriametrics, &dir.join("vm"))?;

        // 1: pulsedb without a destination.
        let server = Server::start(System::Pulsedb, &dir.join("plain"))?;
        let cpu = process::cpu_seconds_of(server.pid());
        let samples = Stream::new(&server.base, &args).run(args.duration, || {})?;
        plain.push(Figures { samples, cpu_seconds: process::cpu_seconds_of(server.pid()) - cpu, lags: Vec::new() });
        server.stop()?;

        // 2: pulsedb forwarding to VictoriaMetrics.
        let url = format!("{}/api/v1/write", vm.base);
        let server = Server::start_with(System::Pulsedb, &dir.join("fwd"), &["--remote-write-url".into(), url])?;
        let cpu = process::cpu_seconds_of(server.pid());
        let mut lags = Vec::new();
        let mut last_read = Instant::now();
        let base = server.base.clone();
        let samples = Stream::new(&server.base, &args).run(args.duration, || {
            if last_read.elapsed() >= Duration::from_millis(250) {
                lags.push(metric(&base, "pulsedb_forward_lag_seconds"));
                last_read = Instant::now();
            }
        })?;
        wait_caught_up(&server.base, samples, Duration::from_secs(120))?;
        forwarding.push(Figures { samples, cpu_seconds: process::cpu_seconds_of(server.pid()) - cpu, lags });
        server.stop()?;

        // 3: vmagent relaying the same stream.
        let agent = vmagent(&dir.join("vmagent"), &vm.base)?;
        let cpu = process::cpu_seconds_of(agent.child.id());
        let samples = Stream::new(&agent.base, &args).run(args.duration, || {})?;
        std::thread::sleep(Duration::from_secs(2)); // its queues flush every second
        relayed.push(Figures {
            samples,
            cpu_seconds: process::cpu_seconds_of(agent.child.id()) - cpu,
            lags: Vec::new(),
        });
        drop(agent);

        // 4: the receiver down for --outage while the stream goes on, then back.
        let down_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let url = format!("http://127.0.0.1:{down_port}/api/v1/write");
        let server = Server::start_with(System::Pulsedb, &dir.join("backlog"), &["--remote-write-url".into(), url])?;
        let mut stream = Stream::new(&server.base, &args);
        // RSS a fifth into the outage (queues full by then) and at its end: the backlog stays on disk.
        let mut backlog = stream.run(args.outage / 5, || {})?;
        let rss_early = process::status_bytes_of(server.pid(), "VmRSS");
        backlog += stream.run(args.outage - args.outage / 5, || {})?;
        let rss_late = process::status_bytes_of(server.pid(), "VmRSS");
        rss.push((rss_early as f64 / 1e6, rss_late as f64 / 1e6));
        let receiver = Server::start_on(System::Victoriametrics, &dir.join("vm-late"), down_port, &[])
            .context("starting the late receiver")?;
        let back = Instant::now();
        let base = server.base.clone();
        let mut caught_up = None;
        let mut written = backlog;
        while caught_up.is_none() && back.elapsed() < Duration::from_secs(300) {
            written += stream.run(Duration::from_millis(500), || {})?;
            if metric(&base, "pulsedb_forward_samples_sent_total") as u64 >= backlog {
                caught_up = Some(back.elapsed());
            }
        }
        let caught_up = caught_up.context("the backlog did not drain within 300 s")?;
        let sent = metric(&base, "pulsedb_forward_samples_sent_total");
        drains.push((backlog as f64, caught_up.as_secs_f64(), sent / caught_up.as_secs_f64(), written));
        server.stop()?;
        receiver.stop()?;
        vm.stop()?;
        eprintln!("run {}: done", run + 1);
    }

    let per_sample = |f: &[Figures], i: usize| f[i].cpu_seconds / f[i].samples.max(1) as f64;
    let own: Vec<f64> = (0..args.runs).map(|i| per_sample(&forwarding, i) - per_sample(&plain, i)).collect();
    let vmagent_cpu: Vec<f64> = (0..args.runs).map(|i| per_sample(&relayed, i)).collect();
    let lags: Vec<f64> = forwarding.iter().flat_map(|f| f.lags.iter().copied()).collect();
    let rate = args.rate as f64;
    println!(
        "forwarding next to vmagent: {} series, {:.0} samples/s for {:?}, {} runs (medians)",
        args.series, rate, args.duration, args.runs
    );
    println!("| figure | runs | median |");
    println!("|---|---|---|");
    let list = |v: &[f64], scale: f64| v.iter().map(|x| format!("{:.3}", x * scale)).collect::<Vec<_>>().join(", ");
    println!(
        "| pulsedb CPU µs per sample, ingest only | {} | {:.3} |",
        list(&(0..args.runs).map(|i| per_sample(&plain, i)).collect::<Vec<_>>(), 1e6),
        median((0..args.runs).map(|i| per_sample(&plain, i)).collect()) * 1e6
    );
    println!(
        "| pulsedb CPU µs per sample, ingest + forwarding | {} | {:.3} |",
        list(&(0..args.runs).map(|i| per_sample(&forwarding, i)).collect::<Vec<_>>(), 1e6),
        median((0..args.runs).map(|i| per_sample(&forwarding, i)).collect()) * 1e6
    );
    println!("| forwarding's own CPU µs per sample | {} | {:.3} |", list(&own, 1e6), median(own.clone()) * 1e6);
    println!(
        "| vmagent CPU µs per relayed sample | {} | {:.3} |",
        list(&vmagent_cpu, 1e6),
        median(vmagent_cpu.clone()) * 1e6
    );
    println!("| ratio forwarding / vmagent (goal ≤ 0.667) | | {:.3} |", median(own) / median(vmagent_cpu));
    println!(
        "| forwarding lag p50 / p99, s (goal p99 < 5) | | {:.2} / {:.2} |",
        percentile(lags.clone(), 0.5),
        percentile(lags, 0.99)
    );
    let drain_rates: Vec<f64> = drains.iter().map(|d| d.2 / rate).collect();
    println!(
        "| backlog of {:?} drained at × the ingest rate (goal ≥ 2) | {} | {:.2} |",
        args.outage,
        drains.iter().map(|d| format!("{:.0} samples in {:.1} s", d.0, d.1)).collect::<Vec<_>>().join("; "),
        median(drain_rates)
    );
    println!(
        "| pulsedb RSS during the outage, MB (a fifth in → end) | {} | |",
        rss.iter().map(|(a, b)| format!("{a:.0} → {b:.0}")).collect::<Vec<_>>().join("; ")
    );
    Ok(())
}
