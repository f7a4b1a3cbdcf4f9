//! Servers the bench starts side by side on loopback, each on its own
//! temporary data directory: `pulsedb serve` (this binary), Prometheus and
//! VictoriaMetrics from Debian's packages. Started with the flags a fair
//! comparison needs, stopped by PID.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value as Json;

use super::process;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum System {
    Pulsedb,
    Prometheus,
    Victoriametrics,
}

impl System {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Pulsedb => "pulsedb",
            Self::Prometheus => "prometheus",
            Self::Victoriametrics => "victoriametrics",
        }
    }

    fn program(self) -> anyhow::Result<PathBuf> {
        match self {
            Self::Pulsedb => std::env::current_exe().context("finding this binary"),
            Self::Prometheus => Ok(PathBuf::from("prometheus")),
            Self::Victoriametrics => Ok(PathBuf::from("victoria-metrics")),
        }
    }
}

/// A running server; killed if dropped without [`Server::stop`].
pub(super) struct Server {
    pub(super) system: System,
    pub(super) base: String,
    pub(super) data_dir: PathBuf,
    child: Child,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    /// Starts `system` on `data_dir` (created) and waits until it is ready.
    pub(super) fn start(system: System, data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(system, data_dir, &[])
    }

    /// [`Server::start`] with extra command-line flags.
    pub(super) fn start_with(system: System, data_dir: &Path, extra: &[String]) -> anyhow::Result<Self> {
        Self::start_on(system, data_dir, free_port()?, extra)
    }

    /// [`Server::start_with`] on a given loopback port.
    pub(super) fn start_on(system: System, data_dir: &Path, port: u16, extra: &[String]) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let listen = format!("127.0.0.1:{port}");
        let data = data_dir.display().to_string();
        let args: Vec<String> = match system {
            System::Pulsedb => vec![
                "serve".into(),
                format!("--data-dir={data}"),
                format!("--listen={listen}"),
                // The long history is weeks old; keep it.
                "--retention=3650d".into(),
                // The fleet's time is simulated and ends now: pulsedb's own
                // metrics, written at the wall clock, would move the head to
                // now and let the flush close windows the writers are still
                // filling. Neither peer scrapes itself here either.
                "--self-monitor-interval=0".into(),
                "--log-level=warn".into(),
            ],
            System::Prometheus => {
                // A config the caller wrote first (rule files) is kept.
                let config = data_dir.join("prometheus.yml");
                if !config.exists() {
                    std::fs::write(&config, "global:\n  scrape_interval: 15s\n")
                        .with_context(|| format!("writing {}", config.display()))?;
                }
                vec![
                    format!("--config.file={}", config.display()),
                    format!("--storage.tsdb.path={data}"),
                    format!("--web.listen-address={listen}"),
                    "--web.enable-remote-write-receiver".into(),
                    "--web.enable-admin-api".into(),
                    "--storage.tsdb.retention.time=3650d".into(),
                    "--log.level=warn".into(),
                ]
            }
            System::Victoriametrics => vec![
                format!("-storageDataPath={data}"),
                format!("-httpListenAddr={listen}"),
                "-retentionPeriod=100y".into(),
                // By default it hides the newest 30 s and caches rollups; a
                // benchmark must see all data and compute every answer.
                "-search.latencyOffset=0s".into(),
                "-search.disableCache".into(),
                "-loggerLevel=ERROR".into(),
            ],
        };
        let program = system.program()?;
        let child = Command::new(&program)
            .args(&args)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {} (install it with scripts/install-peers.sh)", program.display()))?;
        let server = Self { system, base: format!("http://{listen}"), data_dir: data_dir.to_path_buf(), child };
        server.wait_ready()?;
        Ok(server)
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Makes everything acknowledged searchable before the suite runs:
    /// VictoriaMetrics keeps freshly ingested rows in in-memory buffers that
    /// queries do not see for a second or so (`/internal/force_flush` turns
    /// them into searchable parts), so a suite started right after a fast
    /// ingest found no newest samples there. The others answer from what
    /// they acknowledged.
    pub(super) fn settle(&self) -> anyhow::Result<()> {
        if self.system == System::Victoriametrics {
            ureq::get(&format!("{}/internal/force_flush", self.base))
                .call()
                .context("asking VictoriaMetrics to make its newest rows searchable")?;
        }
        Ok(())
    }

    fn wait_ready(&self) -> anyhow::Result<()> {
        let path = match self.system {
            System::Victoriametrics => "/health",
            _ => "/-/ready",
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(2)).build();
        while Instant::now() < deadline {
            if agent.get(&format!("{}{path}", self.base)).call().is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        anyhow::bail!("{} did not become ready at {} within 120 s", self.system.name(), self.base)
    }

    /// Waits until Prometheus has compacted blocks it was started on (as
    /// backfilled 2 h blocks would be long before anyone queries them a
    /// month later): its compactor first runs a minute after start, then
    /// merges until no plan is left. Gives up after three minutes.
    pub(super) fn wait_for_compaction(&self) -> anyhow::Result<usize> {
        let count = || -> usize {
            std::fs::read_dir(&self.data_dir)
                .map(|d| d.flatten().filter(|e| e.path().join("meta.json").is_file()).count())
                .unwrap_or(0)
        };
        let initial = count();
        let deadline = Instant::now() + Duration::from_secs(180);
        let (mut last, mut stable_since) = (initial, Instant::now());
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_secs(1));
            let now = count();
            if now != last {
                (last, stable_since) = (now, Instant::now());
            } else if now < initial && stable_since.elapsed() > Duration::from_secs(10) {
                break;
            }
        }
        Ok(last)
    }

    /// Peak RSS of the server process so far.
    pub(super) fn peak_rss(&self) -> u64 {
        process::status_bytes_of(self.pid(), "VmHWM")
    }

    /// Stops the server and returns the bytes its data takes on disk and the
    /// samples they hold, once the system has written what it buffers:
    /// Prometheus persists its head through a snapshot taken before it
    /// stops (a block, as compaction would write it); VictoriaMetrics writes
    /// its buffers when stopped; pulsedb keeps its head in a checkpoint, so
    /// its windows are written as blocks afterwards ([`flush_stopped_pulsedb`]).
    /// `written` is what was sent, for a system that does not count samples
    /// on disk (VictoriaMetrics).
    pub(super) fn stop_and_measure(self, written: u64) -> anyhow::Result<(u64, u64)> {
        let (system, data_dir) = (self.system, self.data_dir.clone());
        let snapshot = match system {
            System::Prometheus => Some(self.snapshot()?),
            _ => None,
        };
        self.stop()?;
        match (system, snapshot) {
            (System::Prometheus, Some(dir)) => {
                let (mut bytes, mut samples) = (0, 0);
                for block in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
                    let block = block?.path();
                    let meta: Json = serde_json::from_slice(&std::fs::read(block.join("meta.json"))?)?;
                    samples += meta["stats"]["numSamples"].as_u64().unwrap_or(0);
                    bytes += process::dir_bytes(&block);
                }
                Ok((bytes, samples))
            }
            (System::Victoriametrics, _) => {
                let bytes = process::dir_bytes(&data_dir.join("data")) + process::dir_bytes(&data_dir.join("indexdb"));
                Ok((bytes, written))
            }
            _ => {
                flush_stopped_pulsedb(&data_dir)?;
                let inspection = pulsedb_storage::inspect(&data_dir)?;
                Ok((inspection.block_bytes() + inspection.index_bytes, inspection.block_samples()))
            }
        }
    }

    /// Has Prometheus write its head and blocks into a snapshot directory.
    fn snapshot(&self) -> anyhow::Result<PathBuf> {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(600)).build();
        let answer: Json = agent
            .post(&format!("{}/api/v1/admin/tsdb/snapshot", self.base))
            .call()
            .context("taking a Prometheus snapshot")?
            .into_json()?;
        let name = answer["data"]["name"].as_str().context("snapshot answer without a name")?;
        Ok(self.data_dir.join("snapshots").join(name))
    }

    /// Stops the server (SIGTERM, then SIGKILL after 60 s) and waits for it.
    pub(super) fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        anyhow::bail!("{} did not stop within 60 s of SIGTERM; killed", self.system.name())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writes a stopped pulsedb server's head windows as blocks, as its own
/// flush would once newer samples passed them (a marker sample a block
/// span after the data), so that the whole fleet is measured rather than
/// whatever part of it the time of day had put in a flushed window.
fn flush_stopped_pulsedb(dir: &Path) -> anyhow::Result<()> {
    let mut options = pulsedb::Options::default();
    options.background_maintenance = false;
    let span = i64::try_from(options.block_span.as_millis())?;
    let db = pulsedb::Db::open(dir, options).with_context(|| format!("opening {}", dir.display()))?;
    if let Some(maxt) = db.stats()?.head_maxt {
        let mut marker = pulsedb::Batch::new();
        marker.push(pulsedb::Labels::metric("bench_marker", [("phase", "measure")]), maxt + span, 1.0);
        db.append(&marker)?;
        db.flush()?;
    }
    db.close()?;
    Ok(())
}
