#!/usr/bin/env python3
"""Medians of several `pulsedb bench --json` runs, as a Markdown table.

    scripts/bench-medians.py [--baseline "pulsedb (http)"] run-1.json run-2.json run-3.json

One column per system (in the order of the first run), the median of each
figure over the runs, then the baseline system's median (default: the
first) divided by each other system's (for latencies and bytes, below 1
means the baseline is better; for rates, above 1).
"""
import json
import statistics
import sys


def figures(system):
    out = {}
    ingest = system.get("ingest")
    if ingest:
        out["ingest samples/s (wall)"] = ingest["samples"] / ingest["seconds"]
        cpu = ingest["cpu_seconds"] + (ingest.get("server_cpu_seconds") or 0)
        out["ingest samples per CPU-second (client+server)"] = ingest["samples"] / cpu
        if ingest.get("server_cpu_seconds"):
            out["ingest samples per server CPU-second"] = ingest["samples"] / ingest["server_cpu_seconds"]
    if system.get("disk_bytes") and system.get("disk_samples"):
        out["bytes/sample on disk"] = system["disk_bytes"] / system["disk_samples"]
    if system.get("peak_rss_bytes"):
        out["peak RSS MiB"] = system["peak_rss_bytes"] / 2**20
        if system.get("active_series"):
            out["peak RSS bytes per series"] = system["peak_rss_bytes"] / system["active_series"]
    for key, name in [("flush_seconds", "flush s"), ("compaction_seconds", "compaction s"),
                      ("restart_crash_seconds", "restart after kill -9 s"),
                      ("restart_graceful_seconds", "graceful restart s")]:
        if system.get(key) is not None:
            out[name] = system[key]
    for q in system.get("queries", []):
        out[f"{q['name']} p50 ms"] = q["p50_ms"]
        out[f"{q['name']} p99 ms"] = q["p99_ms"]
    return out


def main(args):
    baseline = None
    if args and args[0] == "--baseline":
        baseline, args = args[1], args[2:]
    paths = args
    runs = [json.load(open(p)) for p in paths]
    names = [s["system"] for s in runs[0]["systems"]]
    if baseline:
        names.remove(baseline)
        names.insert(0, baseline)
    per_system = {n: {} for n in names}
    for run in runs:
        for s in run["systems"]:
            for k, v in figures(s).items():
                per_system.setdefault(s["system"], {}).setdefault(k, []).append(v)
    keys = []
    for n in names:
        for k in per_system[n]:
            if k not in keys:
                keys.append(k)
    print(f"Medians of {len(runs)} runs: " + ", ".join(paths))
    print()
    header = ["figure"] + names + [f"{names[0]} / {n}" for n in names[1:]]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for k in keys:
        medians = [statistics.median(per_system[n][k]) if per_system[n].get(k) else None for n in names]
        cells = [k] + [fmt(m) for m in medians]
        for m in medians[1:]:
            cells.append(f"{medians[0] / m:.2f}" if m and medians[0] is not None else "-")
        print("| " + " | ".join(cells) + " |")
    for run in runs:
        wb = run.get("write_bench")
        if wb:
            print(f"\nwrite bench: promtool {wb['promtool_samples_per_second']:.0f}/s, "
                  f"pulsedb {wb['pulsedb_samples_per_second']:.0f}/s")


def fmt(v):
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


if __name__ == "__main__":
    main(sys.argv[1:])
