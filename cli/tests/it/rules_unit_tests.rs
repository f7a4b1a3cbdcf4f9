//! `pulsedb test rules` against `promtool test rules` (Debian's Prometheus
//! 2.42) on the corpus of `testdata/rules/unit/`: 19 test files (`for`,
//! `keep_firing_for`, templates with control structures, queries, functions
//! and Go's edge cases, staleness, counters, absent series, the expanding
//! notation), five of them written to fail — and on
//! the health rules pulsedb ships (`deploy/rules/pulsedb.test.yml`). Both
//! tools must give every file the same verdict.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use pulsedb_testkit::server::pulsedb_bin;

#[test]
fn pulsedb_and_promtool_agree_on_every_rule_test_file() {
    let root =
        PathBuf::from(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()))
            .join("..");
    let mut files: Vec<PathBuf> = ["testdata/rules/unit", "deploy/rules"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let promtool = Command::new("promtool").arg("--version").output().is_ok();
    for file in &files {
        let ours = Command::new(pulsedb_bin()).args(["test", "rules"]).arg(file).output().unwrap();
        let should_fail = file.file_name().unwrap().to_string_lossy().starts_with("fails_");
        assert_eq!(
            !ours.status.success(),
            should_fail,
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&ours.stdout)
        );
        if promtool {
            let theirs = Command::new("promtool").args(["test", "rules"]).arg(file).output().unwrap();
            assert_eq!(ours.status.success(), theirs.status.success(), "{}: promtool disagrees", file.display());
        }
    }
}
