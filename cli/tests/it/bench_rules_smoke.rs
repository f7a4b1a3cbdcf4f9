//! A smoke run of `pulsedb bench-rules` (the full run is in BENCHMARKS.md):
//! a few generated rules over a small fleet, evaluated by pulsedb and by
//! Prometheus; both must record the same number of series.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use pulsedb_testkit::server::pulsedb_bin;

#[test]
fn rules_benchmark_smoke() {
    if Command::new("prometheus").arg("--version").output().is_err() {
        eprintln!("prometheus is not installed (scripts/setup-deps.sh installs it): skipped");
        return;
    }
    let out = Command::new(pulsedb_bin())
        .args(["bench-rules", "--rules", "20", "--groups", "2", "--rounds", "1", "--hosts", "8"])
        .args(["--duration", "10m", "--eval-interval", "2s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let recorded: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| pulsedb") || l.starts_with("| prometheus"))
        .map(|l| l.split('|').nth(5).unwrap().trim())
        .collect();
    assert_eq!(recorded.len(), 2, "{stdout}");
    assert_eq!(recorded[0], recorded[1], "both systems record the same series: {stdout}");
    assert_ne!(recorded[0], "0", "{stdout}");
}
