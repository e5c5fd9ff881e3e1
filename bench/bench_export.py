"""What "why this gradient?" answers add to an exported page: bytes and export time.

    python bench/bench_export.py [--repeat 3] [--json OUT]

For the walkthrough (x = torch.ones(2, 2); y = x + 2; z = y * y * 3; out = z.mean()) and two
1,000-node graphs (a tanh cell unrolled 333 times: long paths; a sum of 250 terms: short ones), reports the page's bytes and the time of
`to_html` with the answers (the default) and without (`explain=False`), and how many nodes the
page holds answers for (the page's bound: engine.viz.export.EXPLAIN_NODES, EXPLAIN_BYTES).
"""
from __future__ import annotations

import argparse
import json
import linecache
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PROGRAMS = {
    "walkthrough": """\
x = torch.ones(2, 2, requires_grad=True)
y = x + 2
z = y * y * 3
out = z.mean()
out.backward()
""",
    "unrolled tanh, 1,000 nodes": """\
w = torch.randn(4, requires_grad=True)
b = torch.randn(4, requires_grad=True)
h = torch.randn(4)
for k in range(333):
    h = torch.tanh(h * w + b)
out = h.sum()
out.backward()
""",
    "wide sum, 1,000 nodes": """x = torch.randn(4, requires_grad=True)
out = x.sum()
for k in range(250):
    out = out + (x * k).tanh().sum()
out.backward()
""",
}


def measure(name, code, repeat):
    import gradview.engine as torch
    from gradview.engine import graph, viz
    from gradview.engine.viz.export import explanations_of
    filename = f"<{name}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    torch.manual_seed(0)
    with graph.capture() as g:
        exec(compile(code, filename, "exec"), {"torch": torch})
    row = {"program": name, "nodes": g.steps[-1].node_count}
    for label, kw in (("with", {}), ("without", {"explain": False})):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            page = viz.to_html(g, **kw)
            times.append(time.perf_counter() - t)
        row[f"bytes {label}"] = len(page.encode())
        row[f"seconds {label}"] = min(times)
    row["bytes added"] = row["bytes with"] - row["bytes without"]
    step = g.steps[-1]
    answers = explanations_of([(step, step.to_dict())])
    row["answers"] = len(answers.tables[0])
    row["reached"] = sum(1 for n in step.to_dict()["nodes"] if n["grad"] is not None)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    rows = [measure(name, code, args.repeat) for name, code in PROGRAMS.items()]
    for r in rows:
        print(f"{r['program']}: {r['nodes']} nodes, answers for {r['answers']} of {r['reached']}; page "
              f"{r['bytes without']:,} → {r['bytes with']:,} bytes (+{r['bytes added']:,}); to_html "
              f"{r['seconds without']:.2f} s → {r['seconds with']:.2f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
