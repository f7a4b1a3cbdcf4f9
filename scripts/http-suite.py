#!/usr/bin/env python3
"""The `pulsedb bench` query suite against a running server, over HTTP.

Times each suite query (and `vector(1)`, the HTTP floor) in a keep-alive
loop for a few seconds and prints its p50 in ms and the number of series it
answered. The data is the bench fleet (`pulsedb bench ... --target URL`, or
a data directory it left): query times are taken from the data's own first
and last samples, so a directory measured hours later reads the same data.

    scripts/http-suite.py [--port 9201] [--seconds 2] [--now UNIX_SECONDS]

The data must end within the 4 hours before `--now` (default: now).

Used for the A/B rows of BENCHMARKS.md: two servers (old and new binary) on
copies of one data directory, queried alternately.
"""
import argparse
import http.client
import json
import time
import urllib.parse

M, H = 60_000, 3_600_000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9201)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per query")
    parser.add_argument("--now", type=float, default=None, help="where to look for the data (default: now)")
    args = parser.parse_args()
    conn = http.client.HTTPConnection("127.0.0.1", args.port)

    def get(path, params):
        body = urllib.parse.urlencode(params)
        conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
        return conn.getresponse().read()

    def scalar(expr):
        at = args.now if args.now is not None else time.time()
        answer = json.loads(get("/api/v1/query", {"query": expr, "time": at}))
        return int(float(answer["data"]["result"][0]["value"][1])) * 1000

    stamps = 'timestamp(node_cpu_seconds_total{mode="user"})[4h:1s]'
    last, first = scalar(f"max(max_over_time({stamps}))"), scalar(f"min(min_over_time({stamps}))")

    def ranged(name, expr, span, step):
        end = last // step * step
        start = min(max(end - span, (first + step) // step * step + step), end)
        return name, expr, start, end, step

    cpu = "node_cpu_seconds_total"
    queries = [
        ranged("single-groupby-1-1-1", f'max by (host) (rate({cpu}{{host="host-0",mode="user"}}[1m]))', H, M),
        ranged("single-groupby-5-1-12",
               f'max by (host, mode) (rate({cpu}{{host="host-0",mode=~"user|system|idle|iowait|softirq"}}[1m]))',
               12 * H, M),
        ranged("cpu-max-all-8",
               f'max by (host, mode) (rate({cpu}{{host=~"host-0|host-1|host-2|host-3|host-4|host-5|host-6|host-7"}}[1h]))',
               8 * H, H),
        ranged("double-groupby-1", f'avg by (host) (rate({cpu}{{mode="user"}}[1h]))', 12 * H, H),
        ranged("high-cpu-1", f'sum by (host) (rate({cpu}{{host="host-0",mode!="idle"}}[1m])) > 0.9', 12 * H, M),
        ("lastpoint", f"last_over_time({cpu}[10m])", last // M * M, last // M * M, 0),
        ranged("groupby-orderby-limit", f'topk(5, max by (host) (rate({cpu}{{mode="user"}}[1m])))', 5 * M, M),
        ("vector(1)", "vector(1)", last, last, 0),
    ]
    for name, expr, start, end, step in queries:
        if step == 0:
            path, body = "/api/v1/query", {"query": expr, "time": end / 1000}
        else:
            path, body = "/api/v1/query_range", {"query": expr, "start": start / 1000, "end": end / 1000, "step": step / 1000}
        series = len(json.loads(get(path, body))["data"]["result"])
        for _ in range(5):
            get(path, body)
        times, until = [], time.time() + args.seconds
        while time.time() < until:
            started = time.perf_counter()
            get(path, body)
            times.append(time.perf_counter() - started)
        times.sort()
        print(f"{name} {times[len(times) // 2] * 1e3:.3f} ms ({series} series)")


if __name__ == "__main__":
    main()
