//! `pulsedb bench-rules`: the rules benchmark. Generates a file of
//! recording rules over the bench's devops fleet (per-service, per-region,
//! per-zone and per-host aggregates of rates, ratios, increases and
//! gauges, over the whole fleet or one region or service), loads the same
//! fleet into each system by remote-write, lets each evaluate the same
//! file at the same interval, and reads every group's evaluation time per
//! round from `/api/v1/rules` and the server's CPU time from /proc. The
//! evaluations overlap no ingest: the data ends when measuring starts,
//! and every rule's window (at most 5 min) stays within it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value as Json;

use crate::workload::DevopsSpec;
use pulsedb_server::flags;

use super::ingest::{self, RemoteWrite};
use super::process;
use super::server::{Server, System};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    pulsedb bench-rules                          # 1,000 rules every 15 s, pulsedb and Prometheus\n  \
    pulsedb bench-rules --rules 100 --rounds 3   # a smoke run\n  \
    pulsedb bench-rules --write-rules rules.yml  # only write the generated rule file")]
pub struct RulesBenchArgs {
    /// Recording rules to generate.
    #[arg(long, default_value_t = 1000)]
    rules: usize,
    /// Groups they are spread over (evaluated concurrently by both systems).
    #[arg(long, default_value_t = 10)]
    groups: usize,
    /// Evaluation interval of every group.
    #[arg(long, default_value = "15s", value_parser = flags::positive_ms)]
    eval_interval: i64,
    /// Evaluation rounds measured (after one round not measured).
    #[arg(long, default_value_t = 8)]
    rounds: usize,
    /// Hosts in the fleet (41 series each; with churn, 49 k series over 2 h).
    #[arg(long, default_value_t = 1000)]
    hosts: usize,
    /// Time between samples of a series.
    #[arg(long, default_value = "15s", value_parser = flags::positive_ms)]
    interval: i64,
    /// Simulated time the fleet covers; it ends when evaluation is measured.
    #[arg(long, default_value = "2h", value_parser = flags::positive_ms)]
    duration: i64,
    /// Fraction of hosts replaced by new ones per simulated hour.
    #[arg(long, default_value_t = 0.1)]
    churn: f64,
    /// Systems to run besides pulsedb.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "prometheus")]
    compare: Vec<System>,
    /// Write the generated rule file here and stop.
    #[arg(long)]
    write_rules: Option<PathBuf>,
}

/// What one system did.
#[derive(Debug)]
struct Measured {
    system: System,
    /// Per round: the sum over groups of each group's evaluation time (s).
    round_seconds: Vec<f64>,
    /// Per round: the longest group's evaluation time (s).
    slowest_group_seconds: Vec<f64>,
    /// Server CPU seconds over the measured window, per wall second.
    cpu_share: f64,
    /// Series the rules wrote at the end (a check that both did the same work).
    recorded_series: usize,
    ingest_seconds: f64,
}

/// A duration as rule files and Prometheus' config write it.
fn duration_text(ms: i64) -> String {
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The generated rule file: `rules` recording rules in `groups` groups.
pub fn rule_file(rules: usize, groups: usize, interval_ms: i64) -> String {
    let bases: [(&str, &str); 10] = [
        ("cpu_busy", "sum by ({by}) (rate(node_cpu_seconds_total{{mode!=\"idle\"{f}}}[{r}]))"),
        ("load1", "avg by ({by}) (node_load1{{{fo}}})"),
        ("fs_used_ratio", "max by ({by}) (1 - node_filesystem_avail_bytes{{{fo}}} / node_filesystem_size_bytes{{{fo}}})"),
        (
            "error_ratio",
            "sum by ({by}) (rate(http_requests_total{{code=\"500\"{f}}}[{r}])) / sum by ({by}) (rate(http_requests_total{{{fo}}}[{r}]))",
        ),
        ("orders", "sum by ({by}) (increase(orders_total{{{fo}}}[{r}]))"),
        ("revenue_per_second", "sum by ({by}) (rate(revenue_cents_total{{{fo}}}[{r}])) / 100"),
        ("mem_used_ratio", "avg by ({by}) (1 - node_memory_MemAvailable_bytes{{{fo}}} / node_memory_MemTotal_bytes{{{fo}}})"),
        ("latency_p99_max", "max by ({by}) (http_request_duration_seconds{{quantile=\"0.99\"{f}}})"),
        ("net_rx", "sum by ({by}) (rate(node_network_receive_bytes_total{{{fo}}}[{r}]))"),
        ("disk_busy", "avg by ({by}) (rate(node_disk_io_time_seconds_total{{{fo}}}[{r}]))"),
    ];
    let groupings = ["service", "region", "az", "region, service", "service, instance_type", "instance_type", "host"];
    let regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"];
    let services = ["api", "checkout", "search", "auth", "cart", "payments", "catalog", "frontend"];
    let filters: Vec<(String, String)> = std::iter::once(("all".to_string(), String::new()))
        .chain(regions.iter().map(|r| (r.replace('-', "_"), format!("region=\"{r}\""))))
        .chain(services.iter().map(|s| (s.to_string(), format!("service=\"{s}\""))))
        .collect();
    let mut out = String::from("# Generated by `pulsedb bench-rules` (bench/src/rules_bench.rs): recording\n# rules over the bench's devops fleet.\ngroups:\n");
    let per_group = rules.div_ceil(groups.max(1)).max(1);
    let mut n = 0;
    'all: for range in ["5m", "1m"] {
        for (fname, filter) in &filters {
            for by in groupings {
                // Per-host rules only over one service: ~125 series each.
                if by == "host" && !services.contains(&fname.as_str()) {
                    continue;
                }
                for (name, expr) in bases {
                    if n == rules {
                        break 'all;
                    }
                    if n % per_group == 0 {
                        out.push_str(&format!(
                            "  - name: bench-{:02}\n    interval: {}\n    rules:\n",
                            n / per_group,
                            duration_text(interval_ms)
                        ));
                    }
                    let comma = if filter.is_empty() { String::new() } else { format!(",{filter}") };
                    let expr = expr
                        .replace("{by}", by)
                        .replace("{fo}", filter)
                        .replace("{f}", &comma)
                        .replace("{r}", range)
                        .replace("{{", "{")
                        .replace("}}", "}");
                    let by_name = by.replace(", ", "_");
                    out.push_str(&format!(
                        "      - record: {by_name}:{name}:{fname}_{range}\n        expr: '{expr}'\n"
                    ));
                    n += 1;
                }
            }
        }
    }
    out
}

/// A group's last evaluation (time string) and its duration, by group name.
fn group_times(base: &str) -> anyhow::Result<BTreeMap<String, (String, f64)>> {
    let body: Json = ureq::get(&format!("{base}/api/v1/rules")).call()?.into_json()?;
    let mut out = BTreeMap::new();
    for g in body["data"]["groups"].as_array().into_iter().flatten() {
        let name = g["name"].as_str().unwrap_or_default().to_string();
        let last = g["lastEvaluation"].as_str().unwrap_or_default().to_string();
        out.insert(name, (last, g["evaluationTime"].as_f64().unwrap_or(0.0)));
    }
    Ok(out)
}

fn series_count(base: &str) -> anyhow::Result<usize> {
    let q = "count({__name__=~\".+:.+:.+\"})";
    let body: Json = ureq::get(&format!("{base}/api/v1/query")).query("query", q).call()?.into_json()?;
    Ok(body["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) as usize)
}

fn measure(args: &RulesBenchArgs, system: System, dir: &Path, rules_path: &Path) -> anyhow::Result<Measured> {
    let data_dir = dir.join(system.name());
    std::fs::create_dir_all(&data_dir)?;
    let interval = duration_text(args.eval_interval);
    let extra: Vec<String> = match system {
        System::Pulsedb => {
            vec![format!("--rules={}", rules_path.display()), format!("--rules.evaluation-interval={interval}")]
        }
        System::Prometheus => {
            let config = format!(
                "global:\n  scrape_interval: 15s\n  evaluation_interval: {interval}\nrule_files:\n  - {}\n",
                rules_path.display()
            );
            std::fs::write(data_dir.join("prometheus.yml"), config)?;
            Vec::new()
        }
        System::Victoriametrics => anyhow::bail!("VictoriaMetrics evaluates rules in vmalert, not here"),
    };
    let server = Server::start_with(system, &data_dir, &extra)?;
    // The fleet ends now: every rule's window holds data while measuring.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let spec = DevopsSpec {
        hosts: args.hosts,
        interval_ms: args.interval,
        duration_ms: args.duration,
        start_ms: now / args.interval * args.interval - args.duration,
        seed: 1,
        churn_per_hour: args.churn,
    };
    let started = Instant::now();
    eprintln!("--- {}: ingesting {} samples", system.name(), spec.total_samples());
    let sink = RemoteWrite::new(&server.base, ingest::SAMPLES_PER_REQUEST);
    ingest::run(&spec, 2, &sink, Some(server.pid()), &indicatif::ProgressBar::hidden())?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    // Skip the round under way, then measure whole rounds.
    let seen_first = group_times(&server.base)?;
    let mut rounds: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    let wait_for = |rounds: &BTreeMap<String, Vec<(String, f64)>>, n: usize| {
        rounds.len() >= args.groups.min(args.rules) && rounds.values().all(|r| r.len() >= n)
    };
    while !wait_for(&rounds, 1) {
        for (group, (last, secs)) in group_times(&server.base)? {
            if seen_first.get(&group).is_some_and(|(l, _)| *l == last) || last.starts_with("0001") {
                continue;
            }
            let entry = rounds.entry(group).or_default();
            if entry.last().is_none_or(|(l, _)| *l != last) {
                entry.push((last, secs));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The warm-up round is done: measure from here.
    rounds.clear();
    let warm = group_times(&server.base)?;
    let (cpu_before, wall) = (process::cpu_seconds_of(server.pid()), Instant::now());
    while !wait_for(&rounds, args.rounds) {
        for (group, (last, secs)) in group_times(&server.base)? {
            if warm.get(&group).is_some_and(|(l, _)| *l == last) {
                continue;
            }
            let entry = rounds.entry(group).or_default();
            if entry.last().is_none_or(|(l, _)| *l != last) {
                entry.push((last, secs));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let cpu_share = (process::cpu_seconds_of(server.pid()) - cpu_before) / wall.elapsed().as_secs_f64();
    let recorded_series = series_count(&server.base)?;
    server.stop()?;
    let per_round = |k: usize| -> Vec<f64> { rounds.values().filter_map(|r| r.get(k).map(|x| x.1)).collect() };
    let round_seconds = (0..args.rounds).map(|k| per_round(k).iter().sum()).collect();
    let slowest_group_seconds = (0..args.rounds).map(|k| per_round(k).iter().copied().fold(0.0, f64::max)).collect();
    Ok(Measured { system, round_seconds, slowest_group_seconds, cpu_share, recorded_series, ingest_seconds })
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    }
}

/// Runs the benchmark and prints a table (one line per system).
pub fn run(args: RulesBenchArgs) -> anyhow::Result<()> {
    let text = rule_file(args.rules, args.groups, args.eval_interval);
    if let Some(path) = &args.write_rules {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
        return Ok(());
    }
    let dir = tempfile::Builder::new().prefix("pulsedb-bench-rules-").tempdir()?;
    let rules_path = dir.path().join("bench-rules.yml");
    std::fs::write(&rules_path, &text)?;
    let systems: BTreeSet<System> = std::iter::once(System::Pulsedb).chain(args.compare.iter().copied()).collect();
    let mut results = Vec::new();
    for system in systems {
        results.push(measure(&args, system, dir.path(), &rules_path)?);
    }
    let base = results.first().map(|m| median(&m.round_seconds)).unwrap_or(f64::NAN);
    println!(
        "{} rules in {} groups every {} over {} hosts ({} interval, {} of data); medians of {} rounds",
        args.rules,
        args.groups,
        duration_text(args.eval_interval),
        args.hosts,
        duration_text(args.interval),
        duration_text(args.duration),
        args.rounds
    );
    println!("| system | evaluation per round (sum of groups) | slowest group | CPU share | series recorded | ingest | vs pulsedb |");
    println!("|---|---|---|---|---|---|---|");
    for m in &results {
        let round = median(&m.round_seconds);
        println!(
            "| {} | {:.3} s (min {:.3}, max {:.3}) | {:.3} s | {:.1} % | {} | {:.0} s | {:.2}× |",
            m.system.name(),
            round,
            m.round_seconds.iter().copied().fold(f64::INFINITY, f64::min),
            m.round_seconds.iter().copied().fold(0.0, f64::max),
            median(&m.slowest_group_seconds),
            100.0 * m.cpu_share,
            m.recorded_series,
            m.ingest_seconds,
            round / base
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_generated_file_checks_and_has_the_rules_asked_for() {
        let text = rule_file(1000, 10, 15_000);
        let file = pulsedb_rules::check_str("bench-rules.yml", &text).unwrap();
        assert_eq!(file.groups.len(), 10);
        assert_eq!(file.groups.iter().map(|g| g.rules.len()).sum::<usize>(), 1000);
        let names: BTreeSet<&str> = file.groups.iter().flat_map(|g| g.rules.iter().map(|r| r.name.as_str())).collect();
        assert_eq!(names.len(), 1000, "rule names are distinct");
    }
}
