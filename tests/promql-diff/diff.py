#!/usr/bin/env python3
"""Differential test: runs every query in queries.txt against a real
Prometheus (HTTP API) and against pulsedb (`pulsedb query --format json`)
on the same data, and reports every mismatch. pulsedb runs each query
twice: from raw samples only (`--raw`, Prometheus' plan), whose values
must agree bit for bit (NaN equals NaN), and with its rollup planner,
whose values must agree within 1e-12 relative (summaries add partial sums
in another order). Label sets must agree exactly, and where Prometheus
refuses a query pulsedb must too.

Usage: diff.py <prometheus-url> <pulsedb-binary> <pulsedb-data-dir> <report-file>
"""
import json, math, subprocess, sys, urllib.parse, urllib.request

START = 1_699_999_200          # data start, seconds
END = START + 3 * 3600 - 15    # last sample
INSTANTS = [START + 1800, START + 3600 + 7, START + 7200, END, END + 200]
RANGE = (START, END + 300, 60)   # a 60 s step over everything and beyond the end

def prom(url, query, params):
    data = urllib.parse.urlencode(dict(params, query=query)).encode()
    try:
        with urllib.request.urlopen(url + ("/api/v1/query_range" if "step" in params else "/api/v1/query"), data, timeout=60) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)

def pulse(binary, data_dir, query, params, raw):
    args = [binary, "query", "--data-dir", data_dir, "--format", "json"] + (["--raw"] if raw else [])
    if "step" in params:
        args += ["--start", str(params["start"]), "--end", str(params["end"]), "--step", str(params["step"])]
    else:
        args += ["--time", str(params["time"])]
    args += ["--", query]  # a query may start with "-"
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        return {"status": "error", "error": r.stderr.strip()}
    return json.loads(r.stdout)

def value(s):
    return {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}.get(s, None) if s in ("NaN", "+Inf", "-Inf") else float(s)

TOLERANCE = 0.0

def close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if TOLERANCE == 0.0:
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b or abs(a - b) <= TOLERANCE * max(abs(a), abs(b))

def normalise(resp):
    """-> ('error',) or (type, {labels: [(t, v)]})."""
    if resp.get("status") != "success":
        return ("error",)
    d = resp["data"]
    t = d["resultType"]
    if t == "scalar":
        return (t, {(): [(float(d["result"][0]), value(d["result"][1]))]})
    out = {}
    for r in d["result"]:
        key = tuple(sorted(r["metric"].items()))
        pts = [r["value"]] if "value" in r else r["values"]
        out[key] = [(float(p[0]), value(p[1])) for p in pts]
    return (t, out)

def compare(a, b):
    if a[0] == "error" or b[0] == "error":
        return None if a[0] == b[0] else f"prometheus {a[0]}, pulsedb {b[0]}"
    if a[0] != b[0]:
        return f"result type prometheus {a[0]}, pulsedb {b[0]}"
    if a[1].keys() != b[1].keys():
        only_p = [dict(k) for k in a[1].keys() - b[1].keys()][:3]
        only_q = [dict(k) for k in b[1].keys() - a[1].keys()][:3]
        return f"series differ: only in prometheus {only_p}, only in pulsedb {only_q}"
    for k in a[1]:
        pa, pb = a[1][k], b[1][k]
        if len(pa) != len(pb) or any(ta != tb or not close(va, vb) for (ta, va), (tb, vb) in zip(pa, pb)):
            diff = [(p, q) for p, q in zip(pa, pb) if p[0] != q[0] or not close(p[1], q[1])][:3]
            return f"{dict(k)}: {len(pa)} vs {len(pb)} points; first differences {diff}"
    return None

def main():
    global TOLERANCE
    url, binary, data_dir, report = sys.argv[1:5]
    queries = [q.strip() for q in open(sys.argv[5] if len(sys.argv) > 5 else "queries.txt") if q.strip() and not q.startswith("#")]
    compared, mismatches, both_errors, order_dependent = 0, [], 0, 0
    for q in queries:
        cases = [{"time": t} for t in INSTANTS] + [{"start": RANGE[0], "end": RANGE[1], "step": RANGE[2]}]
        for params in cases:
            a = normalise(prom(url, q, params))
            for raw, tolerance in ((True, 0.0), (False, 1e-12)):
                TOLERANCE = tolerance
                b = normalise(pulse(binary, data_dir, q, params, raw))
                compared += 1
                both_errors += a[0] == "error" and b[0] == "error"
                problem = compare(a, b)
                if problem and raw:
                    # A range query's intermediate series come out of a Go
                    # map in Prometheus, so a sum over them adds in a random
                    # order: its own answer is not deterministic. Agreeing
                    # with one of its answers is agreeing exactly; if its
                    # answers vary, agreeing within 1e-12 is all one can ask.
                    answers = [a] + [normalise(prom(url, q, params)) for _ in range(8)]
                    if any(compare(x, b) is None for x in answers):
                        problem = None
                    elif any(x != a for x in answers[1:]):
                        TOLERANCE = 1e-12
                        problem = compare(a, b)
                        order_dependent += problem is None
                if problem:
                    plan = "raw samples" if raw else "rollup planner"
                    mismatches.append(f"{q}  {params}  ({plan})\n    {problem}")
    with open(report, "w") as f:
        f.write(f"{len(queries)} queries, {compared} comparisons ({len(INSTANTS)} instants + 1 range each, "
                f"from raw samples exactly and with the rollup planner within 1e-12), "
                f"{len(mismatches)} mismatches, {both_errors} refused by both, {order_dependent} where Prometheus' own "
                f"answer varies from run to run (compared within 1e-12)\n\n")
        f.write("\n".join(mismatches) + "\n")
    print(open(report).read()[:6000])
    sys.exit(1 if mismatches else 0)

main()
