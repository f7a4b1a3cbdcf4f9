#!/usr/bin/env python3
"""Records or checks the expected results of query/testdata/*.test scripts
against a real Prometheus, through `promtool test rules` (Debian's
Prometheus 2.42; scripts/install-prometheus.sh installs it when missing).

    record-with-promtool.py --check  [files...]   # exit 1 if any expectation differs from Prometheus
    record-with-promtool.py --record [files...]   # rewrite expectations with Prometheus' answers

Instant evals are evaluated as they are; range evals as one instant eval
per step. `eval_fail` cases must be errors in Prometheus too. extensions.test
(functions added after 2.42, and pulsedb's refusals) is not for 2.42 to say. Ordering
(eval_ordered) is not checked: promtool sorts its output.
"""
import json, math, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

def parse_time_ms(s):
    try:
        return int(round(float(s) * 1000))
    except ValueError:
        pass
    units = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 604800000, "y": 31536000000}
    total = 0
    for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", s):
        total += int(n) * units[u]
    return total

def go_duration(ms):
    return f"{ms}ms"

def parse_file(path):
    """Yields blocks: ('load', interval, [series lines]) / ('clear',) / ('eval', line_index, command, [expected])."""
    lines = open(path).read().split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        start = i
        i += 1
        if not line or line.startswith("#"):
            out.append(("raw", lines[start]))
            continue
        block = []
        while i < len(lines) and lines[i][:1].isspace() and lines[i].strip():
            block.append(lines[i].strip())
            i += 1
        if line == "clear":
            out.append(("clear",))
        elif line.startswith("load "):
            out.append(("load", line[5:].strip(), block))
        elif line.startswith("eval"):
            out.append(("eval", line, block))
        else:
            raise SystemExit(f"{path}: unknown command {line}")
    return out

def series_of(line):
    end = line.find("}")
    end = end + 1 if end >= 0 else (line.find(" ") if " " in line else len(line))
    return line[:end].strip(), line[end:].split()

def eval_points(cmd):
    """(kind, expr, [times ms], is_range)."""
    w = cmd.split()
    kind = w[0]
    if w[1] == "range":
        start, end, step = parse_time_ms(w[3]), parse_time_ms(w[5]), parse_time_ms(w[7])
        expr = cmd.split(None, 8)[8]
        return kind, expr, list(range(start, end + 1, step)), True
    return kind, cmd.split(None, 4)[4], [parse_time_ms(w[3])], False

SAMPLE = re.compile(r"(\{[^}]*\}) (\S+?)(?:, |$)")

def run_promtool(interval, series, tests):
    doc = {"rule_files": [], "evaluation_interval": "1m", "tests": [{
        "interval": go_duration(interval),
        "input_series": [{"series": s, "values": v} for s, v in series],
        "promql_expr_test": [{"expr": e, "eval_time": go_duration(t), "exp_samples": []} for e, t in tests],
    }]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
        name = f.name
    run = subprocess.run(["promtool", "test", "rules", name], capture_output=True, text=True)
    out = run.stdout + run.stderr
    os.unlink(name)
    results = {}
    for m in re.finditer(r'expr: (".*?"), time: (\S+?),(.*?)(?=\n    expr: |\Z)', out, re.S):
        expr, time, body = json.loads(m.group(1)), m.group(2), m.group(3)
        key = (expr, parse_time_ms(time))
        if body.strip().startswith("err:"):
            results[key] = ("error", body.strip()[4:].strip())
            continue
        got = re.search(r"got: (.*)", body)
        samples = SAMPLE.findall(got.group(1).strip()) if got else []
        results[key] = ("ok", [(l, float(v.replace("+Inf", "inf"))) for l, v in samples])
    return results

def fmt(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e15:
        return "-0" if v == 0 and math.copysign(1, v) < 0 else str(int(v))
    return repr(v)

def close(a, b):
    """Bit for bit (the sign of zero too); any NaN equals any NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)

def expected_lines(kind, times, is_range, results_per_time):
    if kind == "eval_fail":
        return []
    if not is_range:
        return [f"{l} {fmt(v)}" for l, v in results_per_time[0]]
    series = {}
    for k, res in enumerate(results_per_time):
        for l, v in res:
            series.setdefault(l, [None] * len(times))[k] = v
    return [l + " " + " ".join("_" if v is None else fmt(v) for v in vals) for l, vals in sorted(series.items())]

def process(path, record):
    blocks = parse_file(path)
    problems = []
    # Group evals by the data loaded before them.
    groups, current = [], None
    for b in blocks:
        if b[0] in ("load",):
            current = {"interval": parse_time_ms(b[1]), "series": [series_of(l) for l in b[2]], "evals": []}
            current["series"] = [(s, " ".join(v)) for s, v in current["series"]]
            groups.append(current)
        elif b[0] == "clear":
            current = {"interval": 60000, "series": [], "evals": []}
            groups.append(current)
        elif b[0] == "eval":
            if current is None:
                current = {"interval": 60000, "series": [], "evals": []}
                groups.append(current)
            current["evals"].append(b)
    answers = {}
    for g in groups:
        tests = []
        for b in g["evals"]:
            kind, expr, times, _ = eval_points(b[1])
            tests += [(expr, t) for t in times]
        if not tests:
            continue
        if not g["series"]:
            g["series"] = [("promql_test_placeholder", "0")]
        # promtool loads series in Go map order, so a sum over three or more
        # series may add them in another order from one run to the next: a
        # case agrees if any of a few runs gives the file's answer.
        runs = [run_promtool(g["interval"], g["series"], tests)]
        for attempt in range(12):
            wants = [evaluate(b, runs) for b in g["evals"]]
            if all(agrees(b, w) for b, w in zip(g["evals"], wants)) or attempt == 11:
                break
            runs.append(run_promtool(g["interval"], g["series"], tests))
        for b, w in zip(g["evals"], wants):
            kind, answers_by_run, failed = w
            if kind == "eval_fail":
                if not failed:
                    problems.append(f"{path}: {b[1]}: Prometheus does not fail")
                answers[id(b)] = []
                continue
            if failed and "not a vector or scalar" in failed:
                continue  # a range vector: promtool cannot say; written by hand
            if failed:
                problems.append(f"{path}: {b[1]}: Prometheus fails: {failed}")
                continue
            _, _, _, is_range = eval_points(b[1])
            matching = [want for want in answers_by_run if same(b[2], want, is_range)]
            answers[id(b)] = matching[0] if matching else answers_by_run[0]
            if not record and not matching:
                problems.append(f"{path}: {b[1]}\n    file:       {b[2]}\n    prometheus: {answers_by_run[0]}")
    if record:
        out = []
        for b in blocks:
            if b[0] == "raw":
                out.append(b[1])
            elif b[0] == "clear":
                out.append("clear")
            elif b[0] == "load":
                out.append(f"load {b[1]}")
                out += ["  " + l for l in b[2]]
            else:
                out.append(b[1])
                out += ["  " + l for l in answers.get(id(b), b[2])]
        open(path, "w").write("\n".join(out).rstrip("\n") + "\n")
    return problems

def evaluate(b, runs):
    """(kind, [expected lines per promtool run], error or None) of one eval."""
    kind, expr, times, is_range = eval_points(b[1])
    answers, failed = [], None
    for res in runs:
        per_time = []
        for t in times:
            r = res.get((expr, t), ("ok", []))
            if r[0] == "error":
                failed = r[1]
            per_time.append(r[1] if r[0] == "ok" else [])
        want = expected_lines(kind, times, is_range, per_time)
        if kind == "eval_ordered":
            # promtool sorts by labels: keep the file's (hand-written) order.
            want = reorder_like(b[2], want)
        answers.append(want)
    return kind, answers, failed

def agrees(b, w):
    kind, answers_by_run, failed = w
    if kind == "eval_fail" or failed:
        return True
    is_range = eval_points(b[1])[3]
    return any(same(b[2], want, is_range) for want in answers_by_run)

def norm_labels(l):
    m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)?\{(.*)\}$", l.strip())
    if not m:
        return l.strip()
    pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"', m.group(2))
    if m.group(1):
        pairs.append(("__name__", m.group(1)))
    return tuple(sorted(pairs))

def parse_value(tok):
    return {"NaN": float("nan"), "Inf": float("inf"), "+Inf": float("inf"), "-Inf": float("-inf"), "stale": float("nan")}.get(tok) if tok in ("NaN", "Inf", "+Inf", "-Inf", "stale") else float(tok)

def reorder_like(file_lines, want_lines):
    """want_lines in the order of file_lines' label sets, with the file's
    spelling of each label set; want_lines as they are if the sets differ."""
    by_labels = {}
    for l in want_lines:
        s, toks = series_of(l)
        by_labels[norm_labels(s)] = toks
    keys = [norm_labels(series_of(l)[0]) for l in file_lines]
    if sorted(keys) != sorted(by_labels):
        return want_lines
    return [series_of(l)[0] + " " + " ".join(by_labels[k]) for l, k in zip(file_lines, keys)]

def same(file_lines, want_lines, is_range):
    def parse(lines):
        out = {}
        for l in lines:
            s, toks = series_of(l)
            out[norm_labels(s)] = toks
        return out
    a, b = parse(file_lines), parse(want_lines)
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = expand(a[k]), expand(b[k])
        if len(x) != len(y):
            return False
        for p, q in zip(x, y):
            if (p is None) != (q is None) or (p is not None and not close(p, q)):
                return False
    return True

def expand(toks):
    out = []
    for t in toks:
        if t == "_":
            out.append(None)
        elif t.startswith("_x"):
            out += [None] * int(t[2:])
        elif re.match(r"^.+x\d+$", t) and not t.startswith("0x"):
            head, n = t.rsplit("x", 1)
            m = re.match(r"^(-?[^+-]+)([+-].+)?$", head)
            start, inc = parse_value(m.group(1)), parse_value(m.group(2)) if m.group(2) else 0.0
            out += [start + inc * k for k in range(int(n) + 1)]
        else:
            out.append(parse_value(t))
    return out

def main():
    args = sys.argv[1:]
    record = "--record" in args
    files = [a for a in args if not a.startswith("--")] or sorted(
        os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".test") and not f.startswith("extensions"))
    problems = []
    for f in files:
        problems += process(f, record)
    for p in problems:
        print(p)
    print(f"{len(files)} files, {len(problems)} problems")
    sys.exit(1 if problems else 0)

main()
