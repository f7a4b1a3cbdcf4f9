#!/usr/bin/env bash
# Bytes per sample of two real-world data shapes the compression bench does
# not have, pulsedb next to VictoriaMetrics (BENCHMARKS.md, "Irregular
# spacing and stepped readings"): generated here, deterministically, in
# the shapes of the held-out data issue 17 names (no such data is in the
# repository):
# - traffic: 7 series x 2,500 samples at irregular gaps in whole minutes
#   (mostly 5, also 4-20 and up to 2 h), integer speeds and travel times
#   and a three-decimal occupancy;
# - meter: 7 series x 20,000 one-minute readings of a household meter
#   (power in steps of 0.002 kW, voltage in hundredths, current in steps
#   of 0.2 A, three sub-meters in whole watt-hours, mostly 0).
# and, for reference, the 24 real NAB series of testdata/nab.
# pulsedb: `pulsedb import` of a CSV (ends in compacted blocks), the bytes
# of `blocks/` (chunks, rollups, block index, meta.json); the RocksDB label
# index is printed apart. VictoriaMetrics: `/api/v1/import/prometheus`,
# force_flush and force_merge, the bytes of `data/**/*.bin` (its index is
# not counted either).
# Needs a release build (cargo build --release) and victoria-metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$HOME/.cache/pulsedb/target}"
pulsedb="${PULSEDB_BIN:-$target/release/pulsedb}"
[ -x "$pulsedb" ] || { echo "no $pulsedb: run cargo build --release" >&2; exit 1; }
command -v victoria-metrics >/dev/null || { echo "victoria-metrics is missing: scripts/setup-deps.sh" >&2; exit 1; }
work=$(mktemp -d)
vm_pid=""
cleanup() { [ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
python3 - "$work" <<'PY'
import math, random, sys
out = sys.argv[1]
random.seed(7)

def traffic():
    rows = []
    for s in range(7):
        t = 1441000000000 - 1441000000000 % 60000
        kind = s % 3
        v = [60, 300, 5.0][kind]
        for _ in range(2500):
            r = random.random()
            gap = 5 if r < 0.55 else (random.choice([4, 6, 9, 10, 11, 14, 15, 20]) if r < 0.95 else random.randint(16, 120))
            t += gap * 60000
            if kind == 0:
                v = max(0, min(85, v + random.choice([-3, -2, -1, 0, 0, 0, 1, 2, 3])
                               + (random.random() < 0.02) * random.randint(-30, 10)))
                value = str(int(v))
            elif kind == 1:
                v = max(60, v + random.randint(-40, 40))
                value = str(int(v))
            else:
                v = max(0.0, min(40.0, v + random.gauss(0, 1.5)))
                value = "%.3f" % (round(v * 1000) / 1000)
            rows.append(("traffic_%d" % s, t, value))
    return rows

def meter():
    rows = []
    t0 = 1166000000000 - 1166000000000 % 60000
    p, q, volts, sub = 1.0, 0.1, 240.0, [0, 0, 0]
    for i in range(20000):
        t = t0 + i * 60000
        p = max(0.078, p * math.exp(random.gauss(0, 0.08)) + (random.random() < 0.01) * random.uniform(0, 3))
        if random.random() < 0.02:
            p = random.uniform(0.1, 1.5)
        q = max(0.0, min(1.0, q + random.gauss(0, 0.03)))
        volts = max(225, min(252, volts + random.gauss(0, 0.4)))
        for k, (start, top) in enumerate([(0.005, 38), (0.01, 40), (0.3, 18)]):
            if sub[k] == 0:
                if random.random() < start:
                    sub[k] = random.randint(1, top)
            elif random.random() < 0.1:
                sub[k] = 0
            elif random.random() < 0.3:
                sub[k] = max(0, sub[k] + random.randint(-2, 2))
        rows += [
            ("global_active_power", t, "%.3f" % (round(p / 0.002) * 0.002)),
            ("global_reactive_power", t, "%.3f" % (round(q / 0.002) * 0.002)),
            ("voltage", t, "%.2f" % volts),
            ("global_intensity", t, "%.1f" % (round(p * 1000 / volts / 0.2) * 0.2)),
        ] + [("sub_metering_%d" % (k + 1), t, "%d" % sub[k]) for k in range(3)]
    return rows

def nab():
    # The 24 real NAB series in the repository, one value per timestamp.
    import csv, datetime, glob, os
    rows = []
    for path in sorted(glob.glob("testdata/nab/real*/*.csv")):
        seen = {}
        for row in csv.DictReader(open(path)):
            when = datetime.datetime.strptime(row["timestamp"], "%Y-%m-%d %H:%M:%S")
            seen[int(when.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)] = row["value"]
        name = os.path.basename(path)[:-4]
        rows += [("nab_" + name.replace("-", "_").replace(".", "_"), t, v) for t, v in sorted(seen.items())]
    return rows

for name, rows in (("traffic", traffic()), ("meter", meter()), ("nab", nab())):
    with open(f"{out}/{name}.csv", "w") as f:
        f.write("metric,labels,timestamp,value\n")
        for m, t, v in rows:
            f.write('%s,"{source=""%s""}",%d,%s\n' % (m, name, t, v))
    with open(f"{out}/{name}.prom", "w") as f:
        for m, t, v in rows:
            f.write('%s{source="%s"} %s %d\n' % (m, name, v, t))
    with open(f"{out}/{name}.count", "w") as f:
        f.write(str(len(rows)))
PY
port=18431
printf "%-8s %9s %18s %14s %24s\n" shape samples "pulsedb blocks" "label index" "VictoriaMetrics data"
for shape in traffic meter nab; do
    n=$(cat "$work/$shape.count")
    "$pulsedb" import --data-dir "$work/p-$shape" --retention 100y "$work/$shape.csv" >/dev/null 2>&1
    blocks=$(find "$work/p-$shape/blocks" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
    index=$(find "$work/p-$shape/index" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
    victoria-metrics -storageDataPath="$work/vm-$shape" -retentionPeriod=100y \
        -httpListenAddr=127.0.0.1:$port >/dev/null 2>&1 &
    vm_pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
    curl -sf --data-binary "@$work/$shape.prom" "http://127.0.0.1:$port/api/v1/import/prometheus"
    curl -sf "http://127.0.0.1:$port/internal/force_flush"
    sleep 2
    curl -sf "http://127.0.0.1:$port/internal/force_merge"
    sleep 5
    vm=$(find "$work/vm-$shape/data" -name '*.bin' -printf '%s\n' | awk '{s += $1} END {print s}')
    kill "$vm_pid"; wait "$vm_pid" 2>/dev/null || true; vm_pid=""
    awk -v s="$shape" -v n="$n" -v b="$blocks" -v i="$index" -v v="$vm" 'BEGIN {
        printf "%-8s %9d %9d B %6.3f/s %9d B %12d B %6.3f/s  (%.2fx)\n", s, n, b, b / n, i, v, v / n, b / v }'
done
