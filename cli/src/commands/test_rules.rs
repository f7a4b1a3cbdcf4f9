//! `pulsedb test rules FILE…`: rule unit tests in `promtool test rules`'
//! format, run against pulsedb's engine and rule evaluation. Each test
//! loads its `input_series` (expanding notation) into a scratch data
//! directory, evaluates the rule groups at every evaluation interval up
//! to its last `eval_time` (results written like the server writes them,
//! so later rules and queries see them), and compares the firing alerts
//! of `alert_rule_test` and the samples of `promql_expr_test`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use pulsedb::{Batch, Db, Labels, Options, Sample, Value, STALE_NAN};
use pulsedb_rules::{AlertState, RuleGroup};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    evaluation_interval: Option<String>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    interval: Option<String>,
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    external_url: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    values: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTest {
    eval_time: String,
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprTest {
    expr: String,
    eval_time: String,
    #[serde(default)]
    exp_samples: Vec<ExpSample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    labels: String,
    value: f64,
}

/// Values in promtool's expanding notation: `1 2 _ stale 0+10x3 5x2 _x2`.
fn expand(values: &str) -> anyhow::Result<Vec<Option<f64>>> {
    let num = |s: &str| -> anyhow::Result<f64> {
        Ok(match s {
            "stale" => f64::from_bits(STALE_NAN),
            "Inf" | "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            s => s.parse().with_context(|| format!("bad value {s:?}"))?,
        })
    };
    let mut out = Vec::new();
    for t in values.split_whitespace() {
        if t == "_" {
            out.push(None);
        } else if let Some(n) = t.strip_prefix("_x") {
            out.extend(std::iter::repeat_n(None, n.parse().with_context(|| format!("bad repeat {t:?}"))?));
        } else if let Some((head, times)) =
            t.rsplit_once('x').filter(|(h, n)| !h.is_empty() && n.parse::<usize>().is_ok())
        {
            let times: usize = times.parse()?;
            let split = head.char_indices().skip(1).find(|(_, c)| *c == '+' || *c == '-').map(|(i, _)| i);
            let (mut v, inc) = match split {
                Some(i) => (num(&head[..i])?, num(&head[i..])?),
                None => (num(head)?, 0.0),
            };
            // Added step by step, as Prometheus accumulates it.
            for _ in 0..=times {
                out.push(Some(v));
                v += inc;
            }
        } else {
            out.push(Some(num(t)?));
        }
    }
    Ok(out)
}

/// `metric{a="b"}` as labels.
fn series_labels(s: &str) -> anyhow::Result<Labels> {
    if s.trim() == "{}" {
        return Ok(Labels::default());
    }
    let matchers = pulsedb::parse_matchers(s).with_context(|| format!("bad series {s:?}"))?;
    Ok(Labels::new(matchers.iter().map(|m| (m.name().to_string(), m.value().to_string()))))
}

fn ms(s: &str) -> anyhow::Result<i64> {
    let d = pulsedb_rules::parse_duration(s).map_err(|e| anyhow::anyhow!("bad duration {s:?}: {e}"))?;
    Ok(d.as_millis() as i64)
}

/// Runs one test group; returns its failures.
fn run_group(groups: &[pulsedb_rules::Group], test: &TestGroup, eval_interval: i64) -> anyhow::Result<Vec<String>> {
    let dir = tempfile::tempdir()?;
    let mut options = Options::default();
    options.background_maintenance = false;
    options.retention = Duration::ZERO;
    options.sync = pulsedb::SyncMode::Never;
    let db = Db::open(dir.path(), options)?;
    let interval = test.interval.as_deref().map(ms).transpose()?.unwrap_or(eval_interval);
    let mut batch = Batch::new();
    for s in &test.input_series {
        let samples: Vec<Sample> = expand(&s.values)?
            .into_iter()
            .enumerate()
            .filter_map(|(k, v)| v.map(|v| Sample::new(k as i64 * interval, v)))
            .collect();
        batch.add(series_labels(&s.series)?, samples);
    }
    db.append(&batch)?;
    let external = Labels::new(test.external_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut groups: Vec<RuleGroup> = groups
        .iter()
        .map(|g| {
            let group = RuleGroup::new(g.clone(), external.clone());
            match &test.external_url {
                Some(url) => group.with_external_url(url.clone()),
                None => group,
            }
        })
        .collect();
    let engine = pulsedb::Engine::default();
    let mut checks: Vec<(i64, usize, bool)> = Vec::new();
    for (i, a) in test.alert_rule_test.iter().enumerate() {
        checks.push((ms(&a.eval_time)?, i, true));
    }
    for (i, e) in test.promql_expr_test.iter().enumerate() {
        checks.push((ms(&e.eval_time)?, i, false));
    }
    checks.sort();
    let last = checks.iter().map(|c| c.0).max().unwrap_or(0);
    let mut failures = Vec::new();
    let mut next_check = 0;
    let mut t = 0;
    while t <= last {
        for g in &mut groups {
            let every = g.group().interval.map_or(eval_interval, |d| d.as_millis() as i64);
            if t % every == 0 {
                g.evaluate(&engine, &db, &mut db.appender(), t)?;
            }
        }
        // Checks at or before this step, once the step's rules have run.
        let next_t = t + eval_interval;
        while next_check < checks.len() && checks[next_check].0 < next_t {
            let (at, i, is_alert) = checks[next_check];
            next_check += 1;
            if is_alert {
                let test = &test.alert_rule_test[i];
                let mut got: Vec<(BTreeMap<String, String>, BTreeMap<String, String>)> = Vec::new();
                for g in &groups {
                    for (k, r) in g.group().rules.iter().enumerate() {
                        if r.name != test.alertname {
                            continue;
                        }
                        if let Some(rule) = g.alerting_rule(k) {
                            for a in rule.alerts().filter(|a| a.state == AlertState::Firing) {
                                let labels = a.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
                                got.push((labels, a.annotations.clone()));
                            }
                        }
                    }
                }
                let mut want: Vec<(BTreeMap<String, String>, BTreeMap<String, String>)> = test
                    .exp_alerts
                    .iter()
                    .map(|e| {
                        let mut labels = e.exp_labels.clone();
                        labels.insert("alertname".into(), test.alertname.clone());
                        (labels, e.exp_annotations.clone())
                    })
                    .collect();
                got.sort();
                want.sort();
                if got != want {
                    failures.push(format!(
                        "alertname: {}, time: {}s,\n        exp: {want:?},\n        got: {got:?}",
                        test.alertname,
                        at / 1000
                    ));
                }
            } else {
                let test = &test.promql_expr_test[i];
                let got: Vec<(Labels, u64)> = match db.query(&test.expr, at) {
                    Ok(Value::Vector(v)) => v.into_iter().map(|s| (s.labels, s.v.to_bits())).collect(),
                    Ok(Value::Scalar { v, .. }) => vec![(Labels::default(), v.to_bits())],
                    Ok(_) => {
                        failures.push(format!("expr: {:?}, time: {}s: not a vector or scalar", test.expr, at / 1000));
                        continue;
                    }
                    Err(e) => {
                        failures.push(format!("expr: {:?}, time: {}s, err: {e}", test.expr, at / 1000));
                        continue;
                    }
                };
                let mut want = Vec::new();
                for s in &test.exp_samples {
                    want.push((series_labels(&s.labels)?, s.value.to_bits()));
                }
                let (mut got, mut want) = (got, want);
                got.sort();
                want.sort();
                let same = got.len() == want.len()
                    && got.iter().zip(&want).all(|(a, b)| {
                        a.0 == b.0 && (a.1 == b.1 || (f64::from_bits(a.1).is_nan() && f64::from_bits(b.1).is_nan()))
                    });
                if !same {
                    failures.push(format!(
                        "expr: {:?}, time: {}s,\n        exp: {:?},\n        got: {:?}",
                        test.expr,
                        at / 1000,
                        want.iter().map(|(l, v)| format!("{l} {}", f64::from_bits(*v))).collect::<Vec<_>>(),
                        got.iter().map(|(l, v)| format!("{l} {}", f64::from_bits(*v))).collect::<Vec<_>>()
                    ));
                }
            }
        }
        t = next_t;
    }
    db.close()?;
    Ok(failures)
}

/// One test file: its rule files (relative to it) and every test group.
fn run_file(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: TestFile = serde_yaml::from_str(&text).with_context(|| format!("{}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut groups = Vec::new();
    for rule_file in &file.rule_files {
        groups.extend(pulsedb_rules::load_file(&base.join(rule_file))?.groups);
    }
    if !file.group_eval_order.is_empty() {
        groups.sort_by_key(|g| file.group_eval_order.iter().position(|n| *n == g.name).unwrap_or(usize::MAX));
    }
    let interval = file.evaluation_interval.as_deref().map(ms).transpose()?.unwrap_or(60_000);
    let mut failures = Vec::new();
    for (n, test) in file.tests.iter().enumerate() {
        for f in run_group(&groups, test, interval)? {
            let name = test.name.clone().unwrap_or_else(|| format!("#{n}"));
            failures.push(format!("    {name}: {f}"));
        }
    }
    Ok(failures)
}

pub(crate) fn run(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut failed = 0;
    for path in files {
        println!("Unit Testing: {}", path.display());
        match run_file(path) {
            Ok(failures) if failures.is_empty() => println!("  SUCCESS"),
            Ok(failures) => {
                failed += 1;
                println!("  FAILED:");
                for f in failures {
                    println!("{f}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("  FAILED:\n    {e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} rule test files failed", files.len());
    }
    Ok(())
}
