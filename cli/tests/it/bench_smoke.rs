//! A seconds-long `pulsedb bench` on a small fleet: every phase completes,
//! the figures are plausible, and pulsedb serve answers the suite exactly
//! as the embedded API does (the bench itself fails if not).
#![allow(clippy::unwrap_used)]

use serde_json::Value;

#[test]
fn bench_smoke_run_completes_with_plausible_figures() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let html = dir.path().join("bench.html");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pulsedb"))
        .args(["bench", "--hosts", "4", "--interval", "10s", "--duration", "2h"])
        .args(["--history-series", "4", "--history-days", "2"])
        .args(["--runs", "2", "--quiet", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--json")
        .arg(&json)
        .arg("--report")
        .arg(&html)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench failed:\n{stdout}\n{stderr}");
    for phase in ["history", "ingest", "restart", "flush", "compaction", "queries"] {
        assert!(stderr.lines().any(|l| l.trim_start().starts_with(phase)), "no {phase} summary in:\n{stderr}");
    }
    assert!(stdout.contains("bytes/sample on disk"), "{stdout}");

    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let expected_samples = 4 * 41 * 720;
    assert_eq!(report["workload"]["samples"], expected_samples);
    let systems = report["systems"].as_array().unwrap();
    assert_eq!(systems.len(), 2, "embedded and HTTP");
    let embedded = &systems[0];
    assert_eq!(embedded["ingest"]["samples"], expected_samples);
    assert_eq!(embedded["ingest"]["client"], "embedded");
    assert!(embedded["ingest"]["seconds"].as_f64().unwrap() > 0.0);
    assert!(embedded["ingest"]["series_created"].as_u64().unwrap() >= 4 * 41);
    // Every ingested sample reached a block (the flush marker stays in the head).
    assert_eq!(embedded["disk_samples"], expected_samples);
    let bytes_per_sample = embedded["disk_bytes"].as_f64().unwrap() / embedded["disk_samples"].as_f64().unwrap();
    // The label index dominates a tiny run; a real one is near 1 byte.
    assert!((0.2..64.0).contains(&bytes_per_sample), "bytes/sample {bytes_per_sample}");
    assert!(embedded["wal_bytes"].as_u64().unwrap() > 0);
    assert!(embedded["restart_crash_seconds"].as_f64().unwrap() > 0.0);
    assert!(embedded["restart_graceful_seconds"].as_f64().unwrap() > 0.0);
    assert!(embedded["peak_rss_bytes"].as_u64().unwrap() > 1 << 20);

    let suite = ["single-groupby-1-1-1", "single-groupby-5-1-12", "cpu-max-all-8", "double-groupby-1", "high-cpu-1"];
    let suite = suite.into_iter().chain(["lastpoint", "groupby-orderby-limit", "rollup-avg-1h-history"]);
    for name in suite {
        for system in systems {
            let q = system["queries"].as_array().unwrap().iter().find(|q| q["name"] == name);
            let q = q.unwrap_or_else(|| panic!("{} lacks {name}", system["system"]));
            assert!(q["p50_ms"].as_f64().unwrap() > 0.0, "{name}");
            assert!(q["series"].as_u64().unwrap() > 0 || name == "high-cpu-1", "{name} answered nothing");
        }
    }
    assert_eq!(systems[1]["system"], "pulsedb (http)");
    assert_eq!(systems[1]["differences"].as_array().unwrap().len(), 0);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("lastpoint"));
}

/// Over remote-write (`--compare pulsedb`), the fleet is encoded first and
/// replayed by the senders asked for, or generated while sent with
/// `--live-client`; either way every sample arrives and the answers match.
#[test]
fn bench_over_remote_write_replays_or_generates_the_whole_fleet() {
    let expected_samples = 3 * 41 * 360;
    for (extra, senders, replayed) in
        [(&["--senders", "3", "--samples-per-request", "300"][..], 3, true), (&["--live-client"][..], 2, false)]
    {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("bench.json");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pulsedb"))
            .args(["bench", "--hosts", "3", "--interval", "10s", "--duration", "1h", "--history-series", "0"])
            .args(["--runs", "1", "--quiet", "--compare", "pulsedb", "--json"])
            .arg(&json)
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "bench {extra:?} failed:\n{stderr}");
        assert_eq!(stderr.contains("replayed to each server"), replayed, "{stderr}");
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let http = &report["systems"][1];
        assert_eq!(http["system"], "pulsedb (http)");
        assert_eq!(http["ingest"]["samples"], expected_samples, "{extra:?}");
        assert_eq!(http["ingest"]["concurrency"], senders, "{extra:?}");
        assert_eq!(http["ingest"]["encoded_beforehand_seconds"].is_f64(), replayed);
        assert_eq!(http["ingest"]["client"], if replayed { "replay" } else { "live" });
        if replayed {
            // Each sender's 360 steps x 41 series in full requests of 300.
            assert_eq!(http["ingest"]["requests"], 3 * (360 * 41u64).div_ceil(300), "{extra:?}");
        }
        assert_eq!(http["disk_samples"], expected_samples, "{extra:?}: every sample stored");
        assert_eq!(http["differences"].as_array().unwrap().len(), 0, "{extra:?}");
    }
}

#[test]
fn bench_refuses_requests_of_no_samples_and_no_senders() {
    for (flag, value) in [("--samples-per-request", "0"), ("--senders", "0")] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pulsedb"))
            .args(["bench", "--quiet", flag, value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flag} {value} accepted");
        assert!(stderr.contains(flag) && stderr.contains("0 is not in 1..="), "{stderr}");
    }
}
