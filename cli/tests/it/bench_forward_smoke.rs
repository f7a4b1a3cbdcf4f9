//! A smoke run of `pulsedb bench-forward` (the full run is in
//! BENCHMARKS.md): a small stream through pulsedb alone, pulsedb forwarding
//! to VictoriaMetrics, and vmagent; every figure of the table is reported
//! and the backlog drains.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use pulsedb_testkit::server::pulsedb_bin;

#[test]
fn forwarding_benchmark_smoke() {
    let out = Command::new(pulsedb_bin())
        .args([
            "bench-forward",
            "--rate",
            "5000",
            "--series",
            "500",
            "--duration",
            "3s",
            "--outage",
            "3s",
            "--runs",
            "1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for figure in [
        "forwarding's own CPU µs per sample",
        "vmagent CPU µs per relayed sample",
        "ratio forwarding / vmagent",
        "forwarding lag p50 / p99",
        "drained at × the ingest rate",
        "pulsedb RSS during the outage",
    ] {
        assert!(stdout.lines().any(|l| l.contains(figure)), "no {figure:?} in\n{stdout}");
    }
    let drained = stdout.lines().find(|l| l.contains("drained at")).unwrap();
    assert!(drained.contains("15000 samples in"), "the whole 3 s backlog drained: {drained}");
}
