//! Prometheus rule files: `groups` of recording and alerting rules, parsed
//! strictly (an unknown field is an error, as in Prometheus) and checked
//! as Prometheus 2.42 checks them: group names present and unique, each
//! rule exactly one of `record`/`alert`, an `expr` that parses as PromQL,
//! a recording rule named like a metric and without `for`,
//! `keep_firing_for` or `annotations`, label and annotation names valid.
//! `query_offset` (Prometheus 2.53) is accepted, and applied when a group
//! is evaluated; promtool 2.42 refuses it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::Error;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    name: String,
    interval: Option<String>,
    query_offset: Option<String>,
    #[serde(default)]
    limit: u64,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    record: Option<String>,
    alert: Option<String>,
    expr: Option<serde_yaml::Value>,
    #[serde(rename = "for")]
    for_: Option<String>,
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A checked rule file.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RuleFile {
    pub groups: Vec<Group>,
}

#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Group {
    pub name: String,
    /// `None`: the server's global evaluation interval.
    pub interval: Option<Duration>,
    pub query_offset: Option<Duration>,
    /// Most series (or alerts) one rule may produce; 0 is no limit.
    pub limit: u64,
    pub rules: Vec<Rule>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    Record,
    Alert,
}

#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Rule {
    pub kind: RuleKind,
    /// The recorded metric or the alert's name.
    pub name: String,
    pub expr: String,
    pub for_: Duration,
    pub keep_firing_for: Duration,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Prometheus' duration grammar: `1h30m`, `5m`, `10s`, `100ms`, `1d`, `1w`,
/// `1y`, `0` — units from the largest down, each at most once, and the
/// whole within Go's `time.Duration` (about 292 years).
pub fn duration(s: &str) -> Result<Duration, String> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 31_536_000_000),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    /// Go's `time.Duration` holds at most this many milliseconds.
    const MAX_MS: u64 = i64::MAX as u64 / 1_000_000;
    if s.is_empty() {
        return Err("empty duration string".into());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || format!("not a valid duration string: {s:?}");
    let mut total: u64 = 0;
    let mut rest = s;
    // Units must come in `UNITS` order: the next may only be after this one.
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| format!("duration out of range: {s:?}"))?;
        rest = &rest[digits..];
        // "ms" before "m": the longer unit wins where both match.
        let unit = (next_unit..UNITS.len())
            .filter(|&u| rest.starts_with(UNITS[u].0))
            .max_by_key(|&u| UNITS[u].0.len())
            .ok_or_else(invalid)?;
        let (name, ms) = UNITS[unit];
        total = n
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration out of range: {s:?}"))?;
        rest = &rest[name.len()..];
        next_unit = unit + 1;
    }
    if total > MAX_MS {
        return Err(format!("duration out of range: {s:?}"));
    }
    Ok(Duration::from_millis(total))
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Checks the text of a rule file; `path` names it in errors.
pub fn check_str(path: &str, text: &str) -> Result<RuleFile, Error> {
    let raw: RawFile =
        serde_yaml::from_str(text).map_err(|e| Error::Syntax { path: path.into(), message: e.to_string() })?;
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    let mut groups = Vec::new();
    for g in raw.groups {
        if g.name.is_empty() {
            problems.push("groupname must not be empty".to_string());
        } else if !seen.insert(g.name.clone()) {
            problems.push(format!("{:?}: groupname is repeated in the same file", g.name));
        }
        let mut parse_duration = |what: &str, v: &Option<String>| -> Option<Duration> {
            let v = v.as_deref()?;
            duration(v).map_err(|e| problems.push(format!("group {:?}: {what}: {e}", g.name))).ok()
        };
        let interval = parse_duration("interval", &g.interval);
        let query_offset = parse_duration("query_offset", &g.query_offset);
        let mut rules = Vec::new();
        for (i, r) in g.rules.into_iter().enumerate() {
            let at = format!("group {:?}, rule {}", g.name, i + 1);
            match check_rule(r) {
                Ok(rule) => rules.push(rule),
                Err(errs) => problems.extend(errs.into_iter().map(|e| format!("{at}: {e}"))),
            }
        }
        groups.push(Group { name: g.name, interval, query_offset, limit: g.limit, rules });
    }
    if problems.is_empty() {
        Ok(RuleFile { groups })
    } else {
        Err(Error::Invalid { path: path.into(), problems })
    }
}

fn check_rule(r: RawRule) -> Result<Rule, Vec<String>> {
    let mut errs = Vec::new();
    let (kind, name) = match (&r.record, &r.alert) {
        (Some(_), Some(_)) => {
            errs.push("only one of 'record' and 'alert' must be set".to_string());
            (RuleKind::Record, String::new())
        }
        (None, None) => {
            errs.push("one of 'record' or 'alert' must be set".to_string());
            (RuleKind::Record, String::new())
        }
        (Some(n), None) => (RuleKind::Record, n.clone()),
        (None, Some(n)) => (RuleKind::Alert, n.clone()),
    };
    // Prometheus reads expr as a string; a YAML number or bool is its text.
    let expr = match &r.expr {
        None => None,
        Some(serde_yaml::Value::String(s)) => Some(s.clone()),
        Some(serde_yaml::Value::Number(n)) => Some(n.to_string()),
        Some(serde_yaml::Value::Bool(b)) => Some(b.to_string()),
        Some(_) => {
            errs.push("field 'expr' must be a string".to_string());
            None
        }
    };
    match &expr {
        None => errs.push("field 'expr' must be set in rule".to_string()),
        Some(e) if e.trim().is_empty() => errs.push("field 'expr' must be set in rule".to_string()),
        Some(e) => {
            if let Err(err) = pulsedb_query::parse(e) {
                errs.push(format!("could not parse expression: {err}"));
            }
        }
    }
    if kind == RuleKind::Record {
        if !name.is_empty() && !valid_metric_name(&name) {
            errs.push(format!("invalid recording rule name: {name}"));
        }
        if !r.annotations.is_empty() {
            errs.push("invalid field 'annotations' in recording rule".to_string());
        }
        if r.for_.is_some() {
            errs.push("invalid field 'for' in recording rule".to_string());
        }
        if r.keep_firing_for.is_some() {
            errs.push("invalid field 'keep_firing_for' in recording rule".to_string());
        }
    } else if name.is_empty() && r.record.is_none() {
        // Reported above.
    }
    for label in r.labels.keys() {
        if !pulsedb_model::is_valid_label_name(label) || label == pulsedb_model::METRIC_NAME {
            errs.push(format!("invalid label name: {label}"));
        }
    }
    for annotation in r.annotations.keys() {
        if !pulsedb_model::is_valid_label_name(annotation) {
            errs.push(format!("invalid annotation name: {annotation}"));
        }
    }
    // Only alerting rules' labels and annotations are templates; a
    // recording rule's labels are taken as written (promtool checks no
    // template there).
    let templates = if kind == RuleKind::Alert {
        [("label", &r.labels), ("annotation", &r.annotations)].to_vec()
    } else {
        Vec::new()
    };
    for (what, map) in templates {
        for (k, v) in map {
            if let Err(e) = crate::template::check(v, &name) {
                errs.push(format!("template in {what} {k:?}: {e}"));
            }
        }
    }
    let mut parse = |what: &str, v: &Option<String>| -> Duration {
        v.as_deref().map_or(Duration::ZERO, |v| {
            duration(v).unwrap_or_else(|e| {
                errs.push(format!("{what}: {e}"));
                Duration::ZERO
            })
        })
    };
    let for_ = parse("for", &r.for_);
    let keep_firing_for = parse("keep_firing_for", &r.keep_firing_for);
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(Rule {
        kind,
        name,
        expr: expr.unwrap_or_default(),
        for_,
        keep_firing_for,
        labels: r.labels,
        annotations: r.annotations,
    })
}

/// Reads and checks a rule file.
pub fn load_file(path: &Path) -> Result<RuleFile, Error> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: shown.clone(), source })?;
    check_str(&shown, &text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations_as_prometheus_writes_them() {
        assert_eq!(duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(duration("0").unwrap(), Duration::ZERO);
        assert!(duration("5").is_err() && duration("m").is_err() && duration("1.5m").is_err());
        // As Prometheus' model.ParseDuration: units largest first, once each,
        // within Go's time.Duration.
        assert_eq!(duration("1d2h3m4s5ms").unwrap(), Duration::from_millis(93_784_005));
        assert!(duration("1s1m").is_err() && duration("1m1m").is_err() && duration("").is_err());
        assert_eq!(duration("100000y").unwrap_err(), "duration out of range: \"100000y\"");
        assert!(duration("292y").is_ok());
    }

    #[test]
    fn a_valid_file_reads_back() {
        let f = check_str(
            "x.yml",
            "groups:\n- name: g\n  interval: 30s\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: Down\n    expr: up == 0\n    for: 5m\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.instance }} down'}\n",
        )
        .unwrap();
        assert_eq!(f.groups[0].interval, Some(Duration::from_secs(30)));
        assert_eq!(f.groups[0].rules[1].for_, Duration::from_secs(300));
        assert_eq!(f.groups[0].rules[1].kind, RuleKind::Alert);
    }

    #[test]
    fn only_alerting_rules_have_templates() {
        // promtool 2.42 accepts the first and refuses the second.
        let rule = |kind: &str| {
            format!("groups:\n- name: g\n  rules:\n  - {kind}: x\n    expr: vector(1)\n    labels: {{a: '{{{{ bad'}}\n")
        };
        assert!(check_str("r.yml", &rule("record")).is_ok());
        assert!(check_str("a.yml", &rule("alert")).is_err());
    }
}
