#!/usr/bin/env bash
# Regex matchers through the label index, pulsedb next to VictoriaMetrics
# (BENCHMARKS.md, "Regex matchers through the label index"): SERIES (default
# 200,000) series of node_cpu_value with six labels (pod = api-NNNNN-D), one
# sample each, written by line protocol to both servers on loopback in
# bodies of 100,000 lines; each query five times over HTTP with curl;
# prints the median seconds per query and server.
# Needs a release build (cargo build --release) and victoria-metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$HOME/.cache/pulsedb/target}"
pulsedb="${PULSEDB_BIN:-$target/release/pulsedb}"
[ -x "$pulsedb" ] || { echo "no $pulsedb: run cargo build --release" >&2; exit 1; }
command -v victoria-metrics >/dev/null || { echo "victoria-metrics is missing: scripts/setup-deps.sh" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$work"; }
trap cleanup EXIT
series="${SERIES:-200000}"
python3 - "$work" "$series" <<'PY'
import sys, time
now, n = int(time.time()), int(sys.argv[2])
for part in range(0, n, 100000):
    with open(f"{sys.argv[1]}/series-{part:08d}.lp", "w") as f:
        for i in range(part, min(n, part + 100000)):
            f.write(f"node_cpu,pod=api-{i//10:05d}-{i%10},namespace=ns{i%50},node=n{i%300},"
                    f"container=c{i%7},cpu={i%16} value={i%100} {now}\n")
PY
"$pulsedb" serve --data-dir "$work/pulsedb" --listen 127.0.0.1:19431 --self-monitor-interval 0 --log-level warn >/dev/null &
pids+=($!)
victoria-metrics -storageDataPath="$work/vm" -httpListenAddr=127.0.0.1:19432 -search.latencyOffset=0s \
  -search.disableCache -loggerLevel=ERROR >/dev/null 2>&1 &
pids+=($!)
for port in 19431 19432; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 || curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
  for body in "$work"/series-*.lp; do
    curl -sf -XPOST --data-binary @"$body" "http://127.0.0.1:$port/write?precision=s"
  done
done
curl -sf http://127.0.0.1:19432/internal/force_flush >/dev/null; sleep 2
for q in 'count(node_cpu_value{pod=~"api-00001.*"})' 'count(node_cpu_value{pod=~"api-00001-.|api-00002-."})' \
         'count(node_cpu_value{pod=~".*-00001-.*"})' 'count(node_cpu_value{pod=~"api-00001.+"})' \
         'count(node_cpu_value{pod=~"api-00001-1|api-00002-2|api-00003-3|api-00004-4|api-00005-5|api-00006-6|api-00007-7|api-00008-8|api-00009-9|api-00010-0"})' \
         'count(node_cpu_value)'; do
  for name_port in pulsedb:19431 victoriametrics:19432; do
    port=${name_port#*:}
    times=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' -G "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$q"; done | sort -n)
    # The answer too: a server that refuses (VictoriaMetrics' series limits) is fast.
    answer=$(curl -s -G "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$q" | python3 -c '
import json, sys
a = json.load(sys.stdin)
print(a["data"]["result"][0]["value"][1] if a.get("status") == "success" and a["data"]["result"] else a.get("error", "empty"))')
    echo "$q  ${name_port%%:*}  median $(echo "$times" | sed -n 3p) s  answer $answer"
  done
done
