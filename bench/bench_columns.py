"""Time from a captured step to the graph's columns (layout, node/edge/group columns), beside the
time of the run that produced the step.

The program is the one `bench/bench_app.py` edits: a loop of two ops per iteration (2n + 2 nodes).
For 100, 1,000 and 4,000 nodes it prints medians of: the run (the program executed under
`engine.graph.capture()`, plus `to_dict()`), the columns drawn fresh, and the columns of an edit
(the loop one iteration longer, laid out around the previous drawing's positions, as
`GraphView.update` does), each as drawn by default (folded above 2,000 nodes) and fully expanded.
The ratio is columns / run.

    python bench/bench_columns.py [--repeats 5] [--root DIR]

--root imports `engine` from another checkout, so two versions can be timed in alternation on the
same machine load (run the two commands one after the other, a few times).
"""
from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import sys
import time
from pathlib import Path

PROGRAM = ("import torch\nx = torch.ones(4, requires_grad=True)\ny = x\nfor i in range({n}):\n"
           "    y = torch.sin(y) * 1.01\nloss = y.sum()\nloss.backward()\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    ap.add_argument("--sizes", default="100,1000,4000")
    args = ap.parse_args()
    sys.path.insert(0, args.root)
    try:
        import gradview.engine as engine
    except ImportError:  # a checkout from before the engine was a gradview package
        import engine
    graph = importlib.import_module(engine.__name__ + ".graph")
    node_columns = importlib.import_module(engine.__name__ + ".viz.bokeh_view").node_columns

    def run(n):
        ns = {"torch": engine}
        with graph.capture() as g:
            exec(compile(PROGRAM.format(n=n).replace("import torch\n", ""), "<cell>", "exec"), ns)
        return g.steps[-1].to_dict()

    def timed(fn):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out

    print(f"engine from {args.root}; medians of {args.repeats} (ms); ratio = columns / run")
    for size in (int(s) for s in args.sizes.split(",")):
        n = (size - 2) // 2
        runs, cols = [], {}
        for _ in range(args.repeats):
            t, step = timed(lambda: run(n))
            runs.append(t)
            _, step2 = timed(lambda: run(n + 1))
            for label, kw in (("default", {}), ("expanded", {"max_nodes": None})):
                t_fresh, (c, _, _, _) = timed(lambda: node_columns(step, **kw))
                prev = dict(zip(c["id"], zip(map(float, c["x"]), map(float, c["y"]))))
                t_edit, _ = timed(lambda: node_columns(step2, previous=prev, **kw))
                cols.setdefault(label, ([], []))
                cols[label][0].append(t_fresh)
                cols[label][1].append(t_edit)
        r = statistics.median(runs)
        line = f"{size:5d} nodes: run {r * 1e3:7.1f}"
        for label, (fresh, edit) in cols.items():
            f, e = statistics.median(fresh), statistics.median(edit)
            line += f" | {label}: fresh {f * 1e3:7.1f} (x{f / r:.2f}) edit {e * 1e3:7.1f} (x{e / r:.2f})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
