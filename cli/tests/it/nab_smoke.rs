//! `pulsedb nab` end to end on two NAB files (the full run is in
//! BENCHMARKS.md): import, the anomaly query through the engine, NAB's
//! scoring with every profile.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use pulsedb_testkit::server::pulsedb_bin;

#[test]
fn nab_scores_two_files_through_the_engine() {
    let data = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
    )
    .join("../testdata/nab");
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
    // Every point is in the CSV with the query's raw answer: a score in
    // [0, 1] (never NaN) wherever the model has a sample to learn from.
    let written = std::fs::read_to_string(&csv).unwrap();
    let mut lines = written.lines();
    assert_eq!(lines.next(), Some("file,timestamp_ms,value,score"));
    let first_line = stdout.lines().next().unwrap();
    let points: usize = first_line.split(", ").find_map(|part| part.strip_suffix(" points")).unwrap().parse().unwrap();
    let answers: Vec<&str> = lines.map(|l| l.rsplit(',').next().unwrap()).collect();
    assert_eq!(answers.len(), points, "{stdout}");
    let scores: Vec<f64> = answers.iter().filter(|a| !a.is_empty()).map(|a| a.parse().unwrap()).collect();
    let files: usize = first_line.split(' ').next().unwrap().parse().unwrap();
    assert!(scores.len() + files >= answers.len(), "only each file's first point may go unanswered");
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "a score outside [0, 1] or NaN");
    assert!(scores.iter().any(|&s| s > 0.0));
    // ec2_cpu_utilization_825cc2's one window is found (97.2 at the last full run).
    let file = stdout.lines().find(|l| l.contains("825cc2")).unwrap();
    let score: f64 = file.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(score > 50.0, "{file}");
}
