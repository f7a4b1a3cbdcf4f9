//! Recording rules evaluated against a real data directory: what a rule
//! writes equals the query it records, under the rule's name and labels;
//! a series that disappears ends with a staleness marker; a rule that
//! errors is reported while the others of its group still write.
#![allow(clippy::unwrap_used)]

use pulsedb::{Batch, Db, Labels, Options, Value};
use pulsedb_rules::{check_str, RuleGroup};

const MIN: i64 = 60_000;

fn db(dir: &std::path::Path) -> Db {
    let mut o = Options::default();
    o.background_maintenance = false;
    o.sync = pulsedb::SyncMode::Never;
    o.retention = std::time::Duration::ZERO;
    Db::open(dir, o).unwrap()
}

fn group(text: &str) -> RuleGroup {
    RuleGroup::new(check_str("test.yml", text).unwrap().groups.remove(0), Labels::default())
}

#[test]
fn recorded_series_equal_their_query_and_end_when_their_source_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let mut batch = Batch::new();
    for (instance, values) in [("1", [1.0, 1.0, 1.0]), ("2", [1.0, 0.0, 0.0])] {
        let labels = Labels::metric("up", [("job", "api"), ("instance", instance)]);
        batch.add(labels, values.iter().enumerate().map(|(k, &v)| pulsedb::Sample::new(k as i64 * MIN, v)));
    }
    db.append(&batch).unwrap();
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n    labels: {team: core}\n  - record: up:healthy\n    expr: up > 0\n  - record: broken\n    expr: label_replace(up, \"instance\", \"\", \"\", \"\")\n",
    );
    let engine = pulsedb::Engine::default();
    for t in [0, MIN] {
        let outcomes = g.evaluate(&engine, &db, &mut db.appender(), t).unwrap();
        assert_eq!(outcomes.len(), 3);
        assert!(outcomes[0].error.is_none() && outcomes[1].error.is_none());
        assert!(outcomes[2].error.as_deref().unwrap().contains("same labelset"), "{outcomes:?}");
    }
    // The recorded sum equals the query, under the rule's name and labels.
    let Value::Vector(v) = db.query("job:up:sum", MIN).unwrap() else { panic!() };
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].labels, Labels::metric("job:up:sum", [("job", "api"), ("team", "core")]));
    let Value::Vector(want) = db.query("sum by (job) (up)", MIN).unwrap() else { panic!() };
    assert_eq!(v[0].v.to_bits(), want[0].v.to_bits());
    // instance 2 went to 0 at 1 min: up:healthy lost it then, with a staleness marker.
    let Value::Vector(healthy) = db.query("up:healthy", MIN).unwrap() else { panic!() };
    let instances: Vec<&str> = healthy.iter().map(|s| s.labels.get("instance").unwrap()).collect();
    assert_eq!(instances, ["1"], "{healthy:?}");
    let series = db
        .select(
            &[pulsedb::Matcher::equal("__name__", "up:healthy"), pulsedb::Matcher::equal("instance", "2")],
            0,
            i64::MAX,
        )
        .unwrap();
    let last = series[0].samples.last().unwrap();
    assert!(last.t == MIN && last.v.to_bits() == pulsedb::STALE_NAN, "{series:?}");
}

#[test]
fn a_group_limit_refuses_a_rule_that_writes_too_many_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let mut batch = Batch::new();
    for i in 0..3 {
        batch.push(Labels::metric("x", [("i", i.to_string())]), 0, 1.0);
    }
    db.append(&batch).unwrap();
    let mut g = group("groups:\n- name: g\n  limit: 2\n  rules:\n  - record: x:copy\n    expr: x\n");
    let outcomes = g.evaluate(&pulsedb::Engine::default(), &db, &mut db.appender(), 0).unwrap();
    assert!(outcomes[0].error.as_deref().unwrap().contains("exceeded limit of 2 with 3 series"), "{outcomes:?}");
}

#[test]
fn alerts_go_pending_firing_and_resolved_as_in_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    // up of instance 1, a sample a minute: down from 1 min to 4 min.
    let values = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let mut batch = Batch::new();
    batch.add(
        Labels::metric("up", [("instance", "1"), ("job", "node")]),
        values.iter().enumerate().map(|(k, &v)| pulsedb::Sample::new(k as i64 * MIN, v)),
    );
    db.append(&batch).unwrap();
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 2m\n    keep_firing_for: 1m\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.instance }} of {{ $labels.job }} is down ({{ $value }})'}\n",
    );
    let engine = pulsedb::Engine::default();
    let mut states = Vec::new();
    for k in 0..8 {
        g.evaluate(&engine, &db, &mut db.appender(), k * MIN).unwrap();
        let alerts: Vec<_> = g.alerting_rule(0).unwrap().alerts().cloned().collect();
        states.push(alerts.first().map_or("none", |a| a.state.as_str()));
        if k == 3 {
            let a = &alerts[0];
            assert_eq!(
                a.labels,
                Labels::new([("alertname", "Down"), ("instance", "1"), ("job", "node"), ("severity", "page")])
            );
            assert_eq!(a.annotations["summary"], "1 of node is down (0)");
            assert_eq!((a.active_at, a.fired_at), (MIN, Some(3 * MIN)));
        }
    }
    // Pending from 1 min, firing at 3 min (2 min later), still firing at
    // 5 min (keep_firing_for), resolved at 6 min, then kept as inactive.
    assert_eq!(states, ["none", "pending", "pending", "firing", "firing", "firing", "inactive", "inactive"]);
    // The ALERTS series follow the state; ALERTS_FOR_STATE holds when it became active.
    let Value::Vector(v) = db.query("ALERTS", 2 * MIN).unwrap() else { panic!() };
    assert_eq!(v[0].labels.get("alertstate"), Some("pending"));
    let Value::Vector(v) = db.query("ALERTS", 4 * MIN).unwrap() else { panic!() };
    assert_eq!(v[0].labels.get("alertstate"), Some("firing"));
    let Value::Vector(v) = db.query("ALERTS_FOR_STATE", 4 * MIN).unwrap() else { panic!() };
    assert_eq!(v[0].v, 60.0);
    // Once resolved, the series end with a staleness marker.
    let Value::Vector(v) = db.query("ALERTS", 6 * MIN).unwrap() else { panic!() };
    assert!(v.is_empty(), "{v:?}");
}

#[test]
fn notifications_skip_pending_send_firing_resend_and_announce_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let mut batch = Batch::new();
    batch.add(
        Labels::metric("up", [("instance", "1")]),
        [1.0, 0.0, 0.0, 0.0, 1.0].iter().enumerate().map(|(k, &v)| pulsedb::Sample::new(k as i64 * MIN, v)),
    );
    db.append(&batch).unwrap();
    let mut g = group("groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 1m\n");
    let engine = pulsedb::Engine::default();
    let mut sent: Vec<Vec<&str>> = Vec::new();
    for k in 0..5 {
        g.evaluate(&engine, &db, &mut db.appender(), k * MIN).unwrap();
        sent.push(g.to_notify(k * MIN, 2 * MIN).iter().map(|a| a.state.as_str()).collect::<Vec<_>>());
    }
    // 1 min pending: nothing; 2 min firing: sent; 3 min: within the resend delay;
    // 4 min resolved: the resolution is sent at once.
    let none: Vec<&str> = Vec::new();
    assert_eq!(sent, vec![none.clone(), none.clone(), vec!["firing"], none, vec!["inactive"]]);
}

#[test]
fn a_restart_neither_forgets_a_firing_alert_nor_restarts_its_for() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let mut batch = Batch::new();
    batch.add(
        Labels::metric("up", [("instance", "1")]),
        (0..20).map(|k| pulsedb::Sample::new(k * MIN, if k >= 2 { 0.0 } else { 1.0 })),
    );
    db.append(&batch).unwrap();
    let text = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 5m\n";
    let engine = pulsedb::Engine::default();
    let mut before = group(text);
    for k in 0..9 {
        before.evaluate(&engine, &db, &mut db.appender(), k * MIN).unwrap();
    }
    let fired = before.alerting_rule(0).unwrap().alerts().next().unwrap().clone();
    assert_eq!((fired.state.as_str(), fired.active_at), ("firing", 2 * MIN));
    // A new group, as after a restart, evaluated a minute later: firing at
    // once, active since 2 min, from ALERTS_FOR_STATE.
    let mut after = group(text);
    after.evaluate(&engine, &db, &mut db.appender(), 9 * MIN).unwrap();
    let restored = after.alerting_rule(0).unwrap().alerts().next().unwrap().clone();
    assert_eq!((restored.state.as_str(), restored.active_at), ("firing", 2 * MIN));
    // Without that history a new alert waits out its `for`.
    let other = tempfile::tempdir().unwrap();
    let fresh_db = db_for_restore(other.path());
    let mut fresh = group(text);
    fresh.evaluate(&engine, &fresh_db, &mut fresh_db.appender(), 9 * MIN).unwrap();
    assert_eq!(fresh.alerting_rule(0).unwrap().alerts().next().unwrap().state.as_str(), "pending");
}

fn db_for_restore(dir: &std::path::Path) -> Db {
    let db = db(dir);
    let mut batch = Batch::new();
    batch.add(Labels::metric("up", [("instance", "1")]), (0..20).map(|k| pulsedb::Sample::new(k * MIN, 0.0)));
    db.append(&batch).unwrap();
    db
}

#[test]
fn a_query_offset_evaluates_and_writes_that_far_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    let mut batch = Batch::new();
    batch.add(Labels::metric("x", [("i", "1")]), (0..5).map(|k| pulsedb::Sample::new(k * MIN, k as f64)));
    db.append(&batch).unwrap();
    let mut g = group("groups:\n- name: g\n  query_offset: 2m\n  rules:\n  - record: x:copy\n    expr: x\n");
    g.evaluate(&pulsedb::Engine::default(), &db, &mut db.appender(), 4 * MIN).unwrap();
    let series = db.select(&[pulsedb::Matcher::equal("__name__", "x:copy")], 0, i64::MAX).unwrap();
    // Evaluated at 4 min − 2 min: the value there, written there.
    assert_eq!(series[0].samples, [pulsedb::Sample::new(2 * MIN, 2.0)]);
}

#[test]
fn anomaly_functions_work_in_rules() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path());
    // Two hours of a quiet series at 1 min, then a jump.
    let mut batch = Batch::new();
    let value = |k: i64| if k < 120 { 10.0 + (k % 5) as f64 * 0.1 } else { 50.0 };
    batch.add(Labels::metric("load", [("host", "a")]), (0..=120).map(|k| pulsedb::Sample::new(k * MIN, value(k))));
    db.append(&batch).unwrap();
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: load:anomaly\n    expr: anomaly_score(load[2h])\n  - alert: LoadAnomalous\n    expr: anomaly_max(load[2h], 300) >= 0.42\n    annotations: {summary: 'score {{ $value }}'}\n",
    );
    let engine = pulsedb::Engine::default();
    for t in [119 * MIN, 120 * MIN] {
        let outcomes = g.evaluate(&engine, &db, &mut db.appender(), t).unwrap();
        assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    }
    let recorded = db.select(&[pulsedb::Matcher::equal("__name__", "load:anomaly")], 0, i64::MAX).unwrap();
    let scores: Vec<f64> = recorded[0].samples.iter().map(|s| s.v).collect();
    assert!(scores[0] < 0.42 && scores[1] >= 0.42, "{scores:?}");
    let alerts: Vec<_> = g.alerting_rule(1).unwrap().alerts().cloned().collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].state.as_str(), "firing");
}
