//! The query suite (modelled on TSBS "devops"), the systems it runs
//! against (pulsedb embedded, any Prometheus-compatible HTTP API), its
//! timing, and the comparison of answers between systems.

use std::time::{Duration, Instant};

use crate::workload::DevopsSpec;
use anyhow::Context as _;
use pulsedb::Db;
use serde_json::Value as Json;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// One query of the suite: instant at `end` when `step` is 0, else a range.
#[derive(Clone, Debug)]
pub(super) struct QuerySpec {
    pub(super) name: &'static str,
    pub(super) promql: String,
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) step: i64,
}

impl QuerySpec {
    fn range(name: &'static str, promql: String, last: i64, span: i64, step: i64, data_start: i64) -> Self {
        // Steps on multiples of the step, as dashboards align them (and
        // TSBS its whole minutes and hours); a window longer than the data
        // starts where the data does (TSBS assumes 12 h and more; the
        // default run holds 2 h).
        let end = last.div_euclid(step) * step;
        let first = (data_start + step).div_euclid(step) * step + step;
        let start = (end - span).max(first).min(end);
        Self { name, promql, start, end, step }
    }
}

/// The TSBS-like suite on a devops fleet, evaluated at its last sample.
pub(super) fn fleet_suite(spec: &DevopsSpec) -> Vec<QuerySpec> {
    let end = spec.start_ms + (spec.steps() as i64 - 1) * spec.interval_ms;
    let first = DevopsSpec::host_name(0);
    let eight = (0..8.min(spec.hosts)).map(DevopsSpec::host_name).collect::<Vec<_>>().join("|");
    let start = spec.start_ms;
    vec![
        QuerySpec::range(
            "single-groupby-1-1-1",
            format!(r#"max by (host) (rate(node_cpu_seconds_total{{host="{first}",mode="user"}}[1m]))"#),
            end,
            HOUR,
            MINUTE,
            start,
        ),
        QuerySpec::range(
            "single-groupby-5-1-12",
            format!(
                r#"max by (host, mode) (rate(node_cpu_seconds_total{{host="{first}",mode=~"user|system|idle|iowait|softirq"}}[1m]))"#
            ),
            end,
            12 * HOUR,
            MINUTE,
            start,
        ),
        QuerySpec::range(
            "cpu-max-all-8",
            format!(r#"max by (host, mode) (rate(node_cpu_seconds_total{{host=~"{eight}"}}[1h]))"#),
            end,
            8 * HOUR,
            HOUR,
            start,
        ),
        QuerySpec::range(
            "double-groupby-1",
            r#"avg by (host) (rate(node_cpu_seconds_total{mode="user"}[1h]))"#.to_string(),
            end,
            12 * HOUR,
            HOUR,
            start,
        ),
        QuerySpec::range(
            "high-cpu-1",
            format!(r#"sum by (host) (rate(node_cpu_seconds_total{{host="{first}",mode!="idle"}}[1m])) > 0.9"#),
            end,
            12 * HOUR,
            MINUTE,
            start,
        ),
        QuerySpec {
            name: "lastpoint",
            promql: "last_over_time(node_cpu_seconds_total[10m])".to_string(),
            start: end,
            end,
            step: 0,
        },
        QuerySpec::range(
            "groupby-orderby-limit",
            r#"topk(5, max by (host) (rate(node_cpu_seconds_total{mode="user"}[1m])))"#.to_string(),
            end,
            5 * MINUTE,
            MINUTE,
            start,
        ),
    ]
}

/// A system that answers PromQL: returns the API's `data` object
/// (`resultType` and `result`), whatever the transport.
pub(super) trait QueryTarget {
    fn run(&self, query: &QuerySpec) -> anyhow::Result<Json>;

    /// Evaluates the query as a timed run does: the answer is computed
    /// (and, over HTTP, received whole) but not converted for comparison.
    fn time(&self, query: &QuerySpec) -> anyhow::Result<()>;
}

/// pulsedb through the embedded API, no HTTP.
pub(super) struct Embedded<'a>(pub(super) &'a Db);

impl Embedded<'_> {
    fn evaluate(&self, q: &QuerySpec) -> anyhow::Result<pulsedb::Value> {
        let value = if q.step == 0 {
            self.0.query(&q.promql, q.end)
        } else {
            self.0.query_range(&q.promql, q.start, q.end, q.step)
        };
        value.with_context(|| format!("{}: {}", q.name, q.promql))
    }
}

impl QueryTarget for Embedded<'_> {
    fn run(&self, q: &QuerySpec) -> anyhow::Result<Json> {
        Ok(pulsedb_formats::api::query_data(&self.evaluate(q)?))
    }

    fn time(&self, q: &QuerySpec) -> anyhow::Result<()> {
        self.evaluate(q).map(drop)
    }
}

/// Any server with Prometheus' query API: pulsedb serve, Prometheus, VictoriaMetrics.
pub(super) struct Http {
    pub(super) base: String,
    agent: ureq::Agent,
}

impl Http {
    pub(super) fn new(base: &str) -> Self {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(600)).build();
        Self { base: base.trim_end_matches('/').to_string(), agent }
    }
}

fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

impl Http {
    fn send(&self, q: &QuerySpec) -> anyhow::Result<ureq::Response> {
        let request = if q.step == 0 {
            self.agent.get(&format!("{}/api/v1/query", self.base)).query("time", &seconds(q.end))
        } else {
            self.agent
                .get(&format!("{}/api/v1/query_range", self.base))
                .query("start", &seconds(q.start))
                .query("end", &seconds(q.end))
                .query("step", &seconds(q.step))
        };
        let response = match request.query("query", &q.promql).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(code, r)) => {
                let body = r.into_string().unwrap_or_default();
                anyhow::bail!("{}: {} answered {code}: {body}", q.name, self.base)
            }
            Err(e) => return Err(e).with_context(|| format!("{}: querying {}", q.name, self.base)),
        };
        Ok(response)
    }
}

impl QueryTarget for Http {
    fn run(&self, q: &QuerySpec) -> anyhow::Result<Json> {
        let response = self.send(q)?;
        let mut body: Json = response.into_json().with_context(|| format!("{}: reading the answer", q.name))?;
        match body.get_mut("data").map(Json::take) {
            Some(data) if body["status"] == "success" => Ok(data),
            _ => anyhow::bail!("{}: {} answered {body}", q.name, self.base),
        }
    }

    fn time(&self, q: &QuerySpec) -> anyhow::Result<()> {
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut self.send(q)?.into_reader(), &mut body)
            .with_context(|| format!("{}: reading the answer", q.name))?;
        Ok(())
    }
}

/// Latency of one query over its timed runs.
#[derive(Clone, Debug, serde::Serialize)]
pub(super) struct Timing {
    pub(super) name: String,
    pub(super) promql: String,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) runs: usize,
    /// Series in the answer.
    pub(super) series: usize,
}

/// Runs each query once untimed (its answer is returned for comparison),
/// then `runs` times timed.
pub(super) fn time_suite(
    target: &dyn QueryTarget,
    queries: &[QuerySpec],
    runs: usize,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<(Vec<Timing>, Vec<Json>)> {
    let mut timings = Vec::new();
    let mut answers = Vec::new();
    for q in queries {
        let answer = target.run(q)?;
        let mut latencies = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            target.time(q)?;
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            progress.inc(1);
        }
        latencies.sort_by(f64::total_cmp);
        timings.push(Timing {
            name: q.name.to_string(),
            promql: q.promql.clone(),
            p50_ms: percentile(&latencies, 0.50),
            p99_ms: percentile(&latencies, 0.99),
            runs: latencies.len(),
            series: answer["result"].as_array().map_or(0, Vec::len),
        });
        answers.push(answer);
    }
    Ok((timings, answers))
}

/// Nearest-rank percentile of sorted values (with few runs, p99 is the maximum).
pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Whether two query answers (`data` objects of the query API) are the
/// same; see [`pulsedb_formats::api_compare::compare`].
pub(super) use pulsedb_formats::api_compare::compare;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 5.0);
        assert_eq!(percentile(&v, 0.99), 10.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn suite_windows_stay_inside_the_data() {
        let spec = DevopsSpec {
            hosts: 10,
            interval_ms: 1000,
            duration_ms: 2 * HOUR,
            start_ms: 1_700_000_000_000,
            seed: 1,
            churn_per_hour: 0.1,
        };
        for q in fleet_suite(&spec) {
            assert!(q.start > spec.start_ms && q.end < spec.start_ms + spec.duration_ms, "{}", q.name);
            assert!(q.step == 0 || (q.start % q.step == 0 && q.end % q.step == 0), "{} is not aligned", q.name);
            pulsedb::parse_query(&q.promql).unwrap();
        }
    }
}
