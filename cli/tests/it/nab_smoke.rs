//! `pulsedb nab` end to end on two NAB files (the full run is in
//! BENCHMARKS.md): import, the anomaly query through the engine, NAB's
//! scoring with every profile.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use pulsedb_testkit::server::pulsedb_bin;

#[test]
fn nab_scores_two_files_through_the_engine() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/nab");
    let scratch = tempfile::tempdir().unwrap();
    let csv = scratch.path().join("scores.csv");
    let out = Command::new(pulsedb_bin())
        .args(["nab", "--data", data.to_str().unwrap(), "--only", "ec2_cpu_utilization_8", "--per-file"])
        .arg("--scores-out")
        .arg(&csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("1 files") || stdout.starts_with("2 files"), "{stdout}");
    for profile in ["standard", "reward_low_FP_rate", "reward_low_FN_rate"] {
        let line = stdout.lines().find(|l| l.starts_with(profile)).unwrap_or_else(|| panic!("{profile}: {stdout}"));
        let score: f64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!((0.0..=100.0).contains(&score), "{line}");
    }
    // The shipped threshold's score is printed too; one category here, so
    // no cross-category line.
    assert!(stdout.contains("standard at the shipped threshold pulsedb::ANOMALOUS (0.42)"), "{stdout}");
    assert!(!stdout.contains("the others chose"), "{stdout}");
    // Every scored point is in the CSV, with a score in [0, 1].
    let written = std::fs::read_to_string(&csv).unwrap();
    let mut lines = written.lines();
    assert_eq!(lines.next(), Some("file,timestamp_ms,value,score"));
    let points: usize = stdout.split(", ").nth(1).and_then(|p| p.split(' ').next()).unwrap().parse().unwrap();
    let scores: Vec<f64> = lines.map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!(scores.len(), points, "{stdout}");
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)) && scores.iter().any(|&s| s > 0.0));
    // ec2_cpu_utilization_825cc2's one window is found (97.2 at the last full run).
    let file = stdout.lines().find(|l| l.contains("825cc2")).unwrap();
    let score: f64 = file.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(score > 50.0, "{file}");
}
