"""Median wall time of engine.viz.layout.layout on synthetic computation graphs.

Run from the repository root: python bench/bench_layout.py [repeats]
"""

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradview.engine.viz.layout import LayoutNode, layout  # noqa: E402


def chain_with_side_inputs(n):
    """x -> op1 -> op2 -> ..., each op also fed by its own weight (n nodes)."""
    nodes = [LayoutNode("x")]
    edges = []
    prev = "x"
    k = 0
    while len(nodes) + 2 <= n:
        w, op = f"w{k}", f"op{k}"
        nodes += [LayoutNode(w, group=f"block{k // 10}"), LayoutNode(op, group=f"block{k // 10}")]
        edges += [(prev, op), (w, op)]
        prev = op
        k += 1
    return nodes, edges


def wide_layered(layers, width, seed=0):
    """layers x width nodes, each fed by two nodes of the layer before, plus a
    few skip connections over 2-5 layers."""
    rng = random.Random(seed)
    nodes = [LayoutNode(f"n{i}_{j}") for i in range(layers) for j in range(width)]
    edges = []
    for i in range(1, layers):
        for j in range(width):
            for p in rng.sample(range(width), 2):
                edges.append((f"n{i - 1}_{p}", f"n{i}_{j}"))
            if rng.random() < 0.05 and i >= 5:
                edges.append((f"n{i - rng.randint(2, 5)}_{rng.randrange(width)}", f"n{i}_{j}"))
    return nodes, edges


def loop_with_shared_weights(n):
    """An unrolled recurrent loop: h = tanh(W @ h + U @ x_t), W and U shared by
    every step, each step's output collected by one final stack (n nodes)."""
    nodes = [LayoutNode("W"), LayoutNode("U"), LayoutNode("h0")]
    edges = []
    outs = []
    t = 0
    while len(nodes) + 6 <= n:
        ids = [f"x{t}", f"Wh{t}", f"Ux{t}", f"add{t}", f"h{t + 1}", f"out{t}"]
        nodes += [LayoutNode(i, group=f"loop.step{t}") for i in ids]
        edges += [("W", f"Wh{t}"), (f"h{t}", f"Wh{t}"), ("U", f"Ux{t}"), (f"x{t}", f"Ux{t}"),
                  (f"Wh{t}", f"add{t}"), (f"Ux{t}", f"add{t}"), (f"add{t}", f"h{t + 1}"),
                  (f"h{t + 1}", f"out{t}")]
        outs.append(f"out{t}")
        t += 1
    nodes.append(LayoutNode("stack"))
    edges += [(o, "stack") for o in outs]
    return nodes, edges


def median_time(nodes, edges, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        layout(nodes, edges)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    cases = [
        ("chain + side inputs, 1,000 nodes", chain_with_side_inputs(1000)),
        ("wide 10 layers x 100, 1,000 nodes", wide_layered(10, 100)),
        ("chain + side inputs, 10,000 nodes", chain_with_side_inputs(10000)),
        ("wide 100 layers x 100, 10,000 nodes", wide_layered(100, 100)),
        ("loop, shared weights, 10,000 nodes", loop_with_shared_weights(10000)),
    ]
    for name, (nodes, edges) in cases:
        t = median_time(nodes, edges, repeats)
        print(f"{name:40s} {len(edges):6d} edges  median {t * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
