#!/usr/bin/env python3
"""Records prometheus-2.42.txt: what a real Prometheus answers for every
math function and operator pulsedb computes with Go's float64 math
(query/src/gomath/), on random and special inputs. Starts Prometheus
(Debian's 2.42; scripts/install-prometheus.sh) on a free loopback port
with a temporary data directory, and stops it by PID.

    query/testdata/gomath/record.py     # rewrites prometheus-2.42.txt
"""
import itertools, json, math, os, random, socket, subprocess, sys, tempfile, time
import urllib.parse, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FUNCS = ["exp", "ln", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
         "asinh", "acosh", "atanh", "deg", "rad"]

def lit(x):
    if math.isnan(x): return "NaN"
    if math.isinf(x): return "Inf" if x > 0 else "-Inf"
    return repr(x)

def random_input(name):
    if name in ("asin", "acos", "atanh"): return random.uniform(-1, 1)
    if name == "acosh": return random.choice([random.uniform(1, 2), random.uniform(1, 1e8)])
    if name in ("exp", "sinh", "cosh", "tanh"):
        return random.choice([random.uniform(-30, 30), random.uniform(-700, 700), random.uniform(-1e-4, 1e-4)])
    if name in ("sin", "cos", "tan"):
        return random.choice([random.uniform(-4, 4), random.uniform(-1e4, 1e4), random.uniform(-1e22, 1e22)])
    if name in ("atan", "asinh"):
        return random.choice([random.uniform(-3, 3), random.uniform(-1e9, 1e9), random.uniform(-1e-5, 1e-5)])
    return random.choice([random.uniform(0, 10), random.uniform(0, 1e9), random.uniform(0, 1e-3), random.uniform(0.9, 1.1)])

SPECIALS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, 1e-320, -1e-320, 5e-324,
            1e308, -1e308, 1.7976931348623157e308, 2.2250738585072014e-308, 1e-10, 709.78, 709.79, -745.2, -745.1,
            710.0, 20.9, 21.1, 0.625, 0.66, 2.414, 536870912.0, 536870911.9, 1e300, math.pi, math.pi / 2, 0.7,
            0.70001, 44.0, 44.1, 268435456.0, 268435457.0]
PAIRS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 2.5, 1e-320, 1e308,
         10.0, 0.1, 1e19, 1e20]

def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write("global: {}\n")
    prom = subprocess.Popen(["prometheus", f"--config.file={tmp}/prometheus.yml", f"--storage.tsdb.path={tmp}/data",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def query(expr):
            url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": "1000"})
            d = json.load(urllib.request.urlopen(url))
            r = d["data"]["result"]
            return r[0]["value"][1] if r else None
        for _ in range(100):
            try:
                query("1")
                break
            except Exception:
                time.sleep(0.1)
        out = open(os.path.join(HERE, "prometheus-2.42.txt"), "w")
        out.write("# Answers of Prometheus 2.42.0+ds (Debian, amd64 with FMA) to f(vector(x)), vector(x) ^ vector(y),\n"
                  "# vector(y) atan2 vector(x) and vector(x) % vector(y): 'name x [y] answer'. Recorded by record.py.\n")
        def one(name, x):
            got = query(f"{name}(vector({lit(x)}))")
            if got is not None: out.write(f"{name} {lit(x)} {got}\n")
        def two(name, op, x, y):
            got = query(f"vector({lit(x)}) {op} vector({lit(y)})")
            if got is not None: out.write(f"{name} {lit(x)} {lit(y)} {got}\n")
        random.seed(11)
        for name in FUNCS:
            for _ in range(300):
                one(name, random_input(name))
        for _ in range(600):
            x = random.choice([random.uniform(0, 10), random.uniform(0, 1e3), random.uniform(-10, 10)])
            y = random.choice([random.uniform(-5, 5), float(random.randint(-20, 20)), random.uniform(-300, 300), 0.5, -0.5])
            two("pow", "^", x, y)
        for _ in range(300):
            two("atan2", "atan2", random.uniform(-10, 10), random.uniform(-10, 10))
        for name in FUNCS + ["sqrt", "abs", "ceil", "floor", "sgn", "round"]:
            for x in SPECIALS:
                one(name, x)
        for x, y in itertools.product(PAIRS, PAIRS):
            two("pow", "^", x, y)
            two("atan2", "atan2", x, y)
            two("mod", "%", x, y)
        random.seed(5)
        for _ in range(300):
            one("exp", random.uniform(-746, -700))
        for _ in range(300):
            one("ln", random.choice([random.uniform(0, 1e-310), random.uniform(0, 2.3e-308)]))
    finally:
        prom.terminate()
        prom.wait()

if __name__ == "__main__":
    main()
