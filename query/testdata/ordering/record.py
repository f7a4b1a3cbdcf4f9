#!/usr/bin/env python3
"""Records prometheus-2.42.json: for each case (a function, its k, the
input values in order), the order (`i` labels) in which a real Prometheus 2.42
returns the samples of sort, sort_desc, topk and bottomk over vectors with
many equal values (and NaN), built with `or` so that the input order is
fixed. promtool sorts what it prints, so the order is read from the HTTP
API of a Prometheus this script starts on a free loopback port (stopped by
PID). query/tests/it/ordering.rs replays it.

    query/testdata/ordering/record.py
"""
import json, os, random, socket, subprocess, tempfile, time, urllib.parse, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

def vector_of(values):
    terms = [f'label_replace(vector({v}), "i", "{n:03}", "", "")' for n, v in enumerate(values)]
    return " or ".join(terms)

def cases():
    random.seed(42)
    out = []
    for n in (5, 12, 13, 20, 49, 50, 64, 100, 150):
        for kind in ("all equal", "few values", "with NaN", "descending", "ascending"):
            if kind == "all equal":
                values = ["1"] * n
            elif kind == "few values":
                values = [str(random.choice([1, 2, 3])) for _ in range(n)]
            elif kind == "with NaN":
                values = [random.choice(["1", "2", "NaN"]) for _ in range(n)]
            elif kind == "descending":
                values = [str(n - i // 3) for i in range(n)]
            else:
                values = [str(i // 4) for i in range(n)]
            for f in ("sort", "sort_desc"):
                out.append({"function": f, "values": " ".join(values)})
            for k in (1, 3, 10, 40):
                if k <= n:
                    out.append({"function": "topk", "k": k, "values": " ".join(values)})
                    out.append({"function": "bottomk", "k": k, "values": " ".join(values)})
    return out

def query_of(case):
    """The query a case stands for (query/tests/it/ordering.rs builds the same)."""
    v = vector_of(case["values"].split())
    if "k" in case:
        return f"{case['function']}({case['k']}, {v})"
    return f"{case['function']}({v})"

def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write("global: {}\n")
    prom = subprocess.Popen(["prometheus", f"--config.file={tmp}/prometheus.yml", f"--storage.tsdb.path={tmp}/data",
                             f"--web.listen-address=127.0.0.1:{port}", "--query.max-samples=100000000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def query(expr):
            data = urllib.parse.urlencode({"query": expr, "time": "1000"}).encode()
            d = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query", data))
            return [int(r["metric"]["i"]) for r in d["data"]["result"]]
        for _ in range(100):
            try:
                query("1")
                break
            except Exception:
                time.sleep(0.1)
        recorded = [dict(case, order=query(query_of(case))) for case in cases()]
        with open(os.path.join(HERE, "prometheus-2.42.json"), "w") as f:
            f.write("[\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in recorded) + "\n]\n")
    finally:
        prom.terminate()
        prom.wait()

if __name__ == "__main__":
    main()
