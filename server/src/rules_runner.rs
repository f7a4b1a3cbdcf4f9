//! Runs recording-rule groups inside the server: each group on its own
//! task, evaluated at aligned times (every `interval`, shifted by a hash of
//! the group's name so that groups do not all wake together, as Prometheus
//! spreads them), the evaluation itself on a blocking thread, results
//! through the store's appender (durable like any write). A rule that fails
//! is logged and the others go on; shutdown stops the tasks before the
//! store closes.

use std::sync::Arc;
use std::time::Duration;

use pulsedb_rules::RuleGroup;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::AppState;

/// The group's first evaluation time after `now` (milliseconds).
fn next_time(now: i64, interval: i64, offset: i64) -> i64 {
    let base = now - (now - offset).rem_euclid(interval);
    base + interval
}

/// A rule group shared by its evaluation task and the APIs.
pub(crate) type SharedGroup = Arc<parking_lot::Mutex<RuleGroup>>;

/// The running rule groups and the tasks evaluating them.
#[derive(Debug, Default)]
pub(crate) struct RuleSet {
    pub(crate) groups: Vec<SharedGroup>,
    tasks: Vec<JoinHandle<()>>,
    stop: Option<watch::Sender<bool>>,
}

/// Every group of every file the `patterns` (globs) match; the first
/// refused file, or a pattern matching nothing, is the error.
pub(crate) fn load_rule_files(patterns: &[String]) -> anyhow::Result<Vec<pulsedb_rules::Group>> {
    let mut groups = Vec::new();
    for pattern in patterns {
        let paths: Vec<std::path::PathBuf> = glob::glob(pattern)
            .map_err(|e| anyhow::anyhow!("--rules {pattern:?}: {e}"))?
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("--rules {pattern:?}: {e}"))?;
        anyhow::ensure!(!paths.is_empty(), "--rules {pattern:?} matches no file");
        for path in paths {
            groups.extend(pulsedb_rules::load_file(&path)?.groups);
        }
    }
    Ok(groups)
}

/// Starts evaluating `groups` (the set must be stopped).
pub(crate) fn start(state: &Arc<AppState>, set: &mut RuleSet, groups: Vec<SharedGroup>) {
    let (stop, stopped) = watch::channel(false);
    set.tasks = spawn(state, &groups, state.config.rule_evaluation_interval, &stopped);
    set.groups = groups;
    set.stop = Some(stop);
}

/// Stops the set's tasks and waits for them (an evaluation in progress finishes).
pub(crate) async fn stop(set: &mut RuleSet) {
    if let Some(stop) = set.stop.take() {
        let _ = stop.send(true);
    }
    for task in set.tasks.drain(..) {
        let _ = task.await;
    }
}

/// Reads the rule files again: a set that does not check is refused and
/// the running rules stay; otherwise groups whose definition is unchanged
/// keep their alerts, and the rest start afresh.
pub(crate) async fn reload(state: &Arc<AppState>) -> anyhow::Result<usize> {
    let patterns = state.config.rule_files.clone();
    let groups = tokio::task::spawn_blocking(move || load_rule_files(&patterns)).await??;
    let mut set = state.rules.lock().await;
    let next: Vec<SharedGroup> = groups
        .into_iter()
        .map(|g| {
            set.groups.iter().find(|old| *old.lock().group() == g).cloned().unwrap_or_else(|| {
                Arc::new(parking_lot::Mutex::new(
                    RuleGroup::new(g, state.config.external_labels.clone()).with_external_url(state.config.alert_url()),
                ))
            })
        })
        .collect();
    stop(&mut set).await;
    let n = next.len();
    start(state, &mut set, next);
    tracing::info!(groups = n, "rules reloaded");
    Ok(n)
}

/// Starts one task per group; they stop when `stop` turns true.
fn spawn(
    state: &Arc<AppState>,
    groups: &[SharedGroup],
    default_interval: Duration,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    groups
        .iter()
        .map(|group| {
            let (name, interval) = {
                let g = group.lock();
                (g.group().name.clone(), g.group().interval.unwrap_or(default_interval).as_millis().max(1) as i64)
            };
            let offset = (xxhash_rust::xxh64::xxh64(name.as_bytes(), 0) % interval as u64) as i64;
            let (state, group, mut stop) = (Arc::clone(state), Arc::clone(group), stop.clone());
            let engine = pulsedb::Engine::new(state.config.query.clone());
            tokio::spawn(async move {
                let mut last_t: Option<i64> = None;
                loop {
                    let t = next_time(super::now_ms(), interval, offset);
                    if let Some(prev) = last_t {
                        let missed = ((t - prev) / interval - 1).max(0) as u64;
                        state.metrics.rule_rounds_missed.fetch_add(missed, std::sync::atomic::Ordering::Relaxed);
                    }
                    last_t = Some(t);
                    let wait = Duration::from_millis((t - super::now_ms()).max(0) as u64);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => break,
                    }
                    let (state, group, engine, name) =
                        (Arc::clone(&state), Arc::clone(&group), engine.clone(), name.clone());
                    let done = tokio::task::spawn_blocking(move || {
                        let mut g = group.lock();
                        let started = std::time::Instant::now();
                        let result = g.evaluate(&engine, &state.db, &mut state.db.appender(), t);
                        let m = &state.metrics;
                        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                        m.rule_nanos.fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
                        match result {
                            Ok(outcomes) => {
                                m.rule_evaluations.fetch_add(outcomes.len() as u64, std::sync::atomic::Ordering::Relaxed);
                                for o in outcomes.iter().filter(|o| o.error.is_some()) {
                                    m.rule_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                    tracing::warn!(group = %name, rule = %o.name, error = ?o.error, "rule evaluation failed");
                                }
                            }
                            Err(e) => tracing::warn!(group = %name, error = %e, "writing rule results failed"),
                        }
                        // As Prometheus: a firing alert expires at Alertmanager 4 resend
                        // delays (or intervals) after this unless sent again.
                        let resend = state.config.alert_resend_delay.as_millis() as i64;
                        let alerts = g.to_notify(t, resend);
                        let ends_at = t + 4 * resend.max(interval);
                        state.notifier.enqueue(&alerts, &state.config.external_labels, &state.config.alert_url(), ends_at);
                    })
                    .await;
                    if let Err(e) = done {
                        tracing::error!(error = %e, "rule evaluation task failed; the group stops");
                        break;
                    }
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluation_times_are_aligned_and_in_the_future() {
        assert_eq!(next_time(10_500, 1_000, 0), 11_000);
        assert_eq!(next_time(10_500, 1_000, 300), 11_300);
        for now in [0, 999, 1_000, 123_456_789] {
            let t = next_time(now, 15_000, 4_321);
            assert!(t > now && t - now <= 15_000 && (t - 4_321) % 15_000 == 0, "{now} → {t}");
        }
    }
}
