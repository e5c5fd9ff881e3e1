"""Graph capture and drawing benchmarks; prints medians.

1. Capture overhead: small-op workloads run plainly and under engine.graph.capture() (ratio of
   medians; "+dict" also builds every value/gradient summary with to_dict()); then what building
   every kept step's backward graph and explaining one parameter's gradient adds, as a share of
   capture time.
2. Layout + Bokeh document build for synthetic captured steps of 1,000 and 10,000 nodes (drawn
   expanded, and as drawn by default, folded by module and loop above 2,000 nodes).
3. Time to first paint of an exported 1,000-node page in headless Chromium, and the frame rate of its
   step-through player stepping event by event (skipped when /usr/bin/chromium or Playwright is
   missing).

Run from the repository root: python bench/bench_graph.py [--quick] [--skip-browser]
"""
import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gradview.engine as torch  # noqa: E402
from gradview.engine import graph  # noqa: E402


# ---------------------------------------------------------------------------------------------
# workloads
def mlp_training(steps=10):
    """A 32-64-10 MLP on a batch of 64, MSE loss, hand-written SGD."""
    torch.manual_seed(0)
    w1 = torch.randn(32, 64, requires_grad=True)
    b1 = torch.zeros(64, requires_grad=True)
    w2 = torch.randn(64, 10, requires_grad=True)
    b2 = torch.zeros(10, requires_grad=True)
    x = torch.randn(64, 32)
    y = torch.randn(64, 10)
    for _ in range(steps):
        h = (x @ w1 + b1).relu()
        loss = ((h @ w2 + b2 - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for p in (w1, b1, w2, b2):
                p -= 0.01 * p.grad
                p.grad = None


def rnn_unrolled(steps=4, length=16):
    """A tanh RNN with 32 hidden units unrolled over 16 time steps."""
    torch.manual_seed(0)
    wx = torch.randn(8, 32, requires_grad=True)
    wh = torch.randn(32, 32, requires_grad=True)
    xs = torch.randn(length, 4, 8)
    for _ in range(steps):
        h = torch.zeros(4, 32)
        for t in range(length):
            h = torch.tanh(xs[t] @ wx + h @ wh)
        loss = h.pow(2).sum()
        loss.backward()
        wx.grad = wh.grad = None


def tiny_chain(steps=4, length=250):
    """The worst case: 16-element elementwise ops, where the engine's own work per op is tiny."""
    x = torch.randn(16, requires_grad=True)
    for _ in range(steps):
        h = x
        for _ in range(length):
            h = h * 1.01 + 0.1
        h.sum().backward()
        x.grad = None


def wide_mlp(steps=5):
    """The same MLP with 256 hidden units on a batch of 256: ops of tens of microseconds."""
    torch.manual_seed(0)
    w1 = torch.randn(64, 256, requires_grad=True)
    w2 = torch.randn(256, 10, requires_grad=True)
    x = torch.randn(256, 64)
    y = torch.randn(256, 10)
    for _ in range(steps):
        loss = (((x @ w1).relu() @ w2 - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for p in (w1, w2):
                p -= 0.001 * p.grad
                p.grad = None


def module_adam(steps=10):
    """An nn.Sequential MLP (32 -> 64 -> 10) trained with Adam: the capture notes each update."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(64, 32)
    y = torch.randn(64, 10)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()


WORKLOADS = [("mlp training (64x32 -> 64 -> 10)", mlp_training), ("rnn unrolled x16 (hidden 32)", rnn_unrolled),
             ("tiny elementwise chain (16 elements)", tiny_chain), ("wider mlp (256x64 -> 256 -> 10)", wide_mlp),
             ("nn mlp with Adam (32 -> 64 -> 10)", module_adam)]


def _median_runs(fns, repeats):
    """Median CPU time of this process per function (steadier than wall time on a shared machine;
    nothing here waits on I/O), the functions interleaved so machine load hits all alike."""
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            t0 = time.process_time()
            fn()
            times[name].append(time.process_time() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def bench_capture(repeats):
    print("capture overhead (median CPU time; ratio = capture / plain)")
    for title, work in WORKLOADS:
        def captured(work=work):
            with graph.capture():
                work()

        def with_dict(work=work):
            with graph.capture() as g:
                work()
            g.to_dict()

        failed = []

        def read(work=work, upto=0):
            with graph.capture() as g:
                work()
            steps = [s for s in g.steps if s.closed and not s.truncated]
            for s in steps:
                [n.to_dict() for n in s.nodes]  # the forward nodes, summaries included
            if upto >= 1:
                for s in steps:
                    s.backward_graph()
            if upto >= 2:
                failed.append(explain_one(steps))

        work()
        captured()
        m = _median_runs({"plain": work, "capture": captured, "dict": with_dict, "forward": read,
                          "backward": lambda: read(upto=1), "explained": lambda: read(upto=2)}, repeats)
        bw, ex = m["backward"] - m["forward"], m["explained"] - m["backward"]
        print(f"  {title:38s} plain {m['plain'] * 1e3:8.2f} ms   capture {m['capture'] * 1e3:8.2f} ms "
              f"(x{m['capture'] / m['plain']:.2f})   +to_dict {m['dict'] * 1e3:8.2f} ms (x{m['dict'] / m['plain']:.2f})")
        print(f"  {'':38s} capture + forward nodes read {m['forward'] * 1e3:8.2f} ms; backward graphs add "
              f"{bw * 1e3:.2f} ms ({bw / m['forward']:+.0%}), one explanation {ex * 1e3:.2f} ms "
              f"({ex / m['forward']:+.0%}); together {(bw + ex) / m['capture']:+.0%} of capture alone"
              + (f" (the explanation raised: {failed[-1]})" if failed and failed[-1] else ""))


def explain_one(steps):
    """The explanation of the gradient of the last step's first leaf that got one (one "why this
    gradient?"). Returns the explanation's error message, if it raised one."""
    if steps:
        last = steps[-1]
        leaf = next((n for n in last.nodes if n.kind in ("leaf", "param") and n.grad is not None), None)
        if leaf is not None:
            try:
                last.explain(leaf.id)
            except (RuntimeError, ValueError) as exc:
                return str(exc)
    return None


# ---------------------------------------------------------------------------------------------
# layout and document build
def synthetic_step(n_nodes, seed=0):
    """A step dict shaped like a captured deep MLP: blocks of (param, matmul, param, add, relu) in
    modules, run in a loop, ending in a loss."""
    import random
    rng = random.Random(seed)
    nodes = [{"id": "x", "label": "x", "kind": "leaf", "op": None, "shape": [64, 32], "dtype": "float32",
              "device": "cpu", "line": 3, "file": "train.py", "code": "x = torch.randn(64, 32)", "module": None,
              "value": {"numel": 2048, "min": -3.0, "max": 3.1, "mean": 0.0, "std": 1.0},
              "grad": None, "time_us": None}]
    edges = []
    prev = "x"
    k = 0
    while len(nodes) + 5 < n_nodes:
        block = f"model.layers.{k}"
        g = {"numel": 4096, "norm": 10 ** rng.uniform(-4, 1), "min": -1.0, "max": 1.0, "mean": 0.0, "std": 0.3}
        for name, kind, op in (("weight", "param", None), ("matmul", "op", "MmBackward0"),
                               ("bias", "param", None), ("add", "op", "AddBackward0"), ("relu", "op", "ReluBackward0")):
            nid = f"param:{block}.{name}" if kind == "param" else f"train.py:12:{name}#{k}"
            nodes.append({"id": nid, "label": f"{block.split('.', 1)[1]}.{name}" if kind == "param" else name,
                          "kind": kind, "op": op, "shape": [64, 64], "dtype": "float32", "device": "cpu", "line": 12,
                          "file": "train.py", "code": "x = layer(x)", "module": block,
                          "value": {"numel": 4096, "min": -2.0, "max": 2.0, "mean": 0.1, "std": 0.5},
                          "grad": dict(g, norm=g["norm"] * rng.uniform(0.5, 2)), "time_us": 12.5})
        wid, mm, bid, add, relu = [n["id"] for n in nodes[-5:]]
        edges += [(prev, mm), (wid, mm), (mm, add), (bid, add), (add, relu)]
        prev = relu
        k += 1
    nodes.append({"id": "train.py:20:mean#0", "label": "mean", "kind": "output", "op": "MeanBackward0", "shape": [],
                  "dtype": "float32", "device": "cpu", "line": 20, "file": "train.py", "code": "loss = x.mean()",
                  "module": None, "value": {"numel": 1, "full": True, "data": 0.5}, "grad": {"numel": 1, "norm": 1.0},
                  "time_us": 3.0})
    edges.append((prev, nodes[-1]["id"]))
    return {"index": 0, "loss": 0.5, "nodes": nodes, "edges": [{"source": a, "target": b} for a, b in edges]}


def bench_draw(repeats):
    from bokeh.embed import json_item
    from gradview.engine.viz import GraphView
    print("layout + Bokeh document build (median)")
    for n in (1000, 10000):
        step = synthetic_step(n)
        for label, kwargs in (("expanded", {"max_nodes": None}), ("default", {})):
            times = []
            sizes = []
            for _ in range(repeats):
                gc.collect()
                t0 = time.perf_counter()
                view = GraphView(step, **kwargs)
                times.append(time.perf_counter() - t0)
                sizes.append(len(view.nodes.data["id"]))
            t0 = time.perf_counter()
            json_item(view.root)
            ser = time.perf_counter() - t0
            print(f"  {n:6,d} nodes {label:9s} ({sizes[0]:6,d} drawn): build {statistics.median(times):6.3f} s, "
                  f"+ serialise {ser:6.3f} s")


def bench_first_paint(repeats):
    from gradview.engine.viz import save_html
    if not os.path.exists("/usr/bin/chromium"):
        print("first paint: skipped (/usr/bin/chromium missing)")
        return
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("first paint: skipped (playwright missing)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "graph.html")
        save_html(synthetic_step(1000), path)
        url = Path(path).as_uri()
        times = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run"])
            for _ in range(repeats):
                page = browser.new_page()
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                           else route.abort())
                t0 = time.perf_counter()
                page.goto(url)
                # painted: the graph's canvas exists and BokehJS has rendered the document
                page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                                       "Bokeh.documents[0].get_model_by_name('graph-nodes') !== null && "
                                       "[...Bokeh.index.query((v) => v.canvas_view !== undefined)].length > 0")
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                times.append(time.perf_counter() - t0)
                page.close()
            print(f"first paint of an exported 1,000-node page (headless Chromium, median of {repeats}): "
                  f"{statistics.median(times):.3f} s  (file {os.path.getsize(path) / 1e6:.1f} MB)")
            bench_player(browser, url)
            browser.close()


# the player stepping one event per frame: set the slider, let the frame that draws it pass, repeat;
# frames per second = events shown / time (the player's own work, its redraw and the browser's paint)
JS_PLAYER_FPS = """async (count) => {
  const slider = Bokeh.documents[0].get_model_by_name('graph-player');
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  slider.value = 0;
  await frame(); await frame();
  const t0 = performance.now();
  for (let k = 1; k <= count; k++) { slider.value = k % slider.end; await frame(); }
  const t = (performance.now() - t0) / 1000;
  return {fps: count / t, end: slider.end, label: Bokeh.documents[0].get_model_by_name('graph-player-label').text};
}"""


def bench_player(browser, url, count=300):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                           "Bokeh.documents[0].get_model_by_name('graph-player') !== null && "
                           "[...Bokeh.index.query((v) => v.canvas_view !== undefined)].length > 0")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    r = page.evaluate(JS_PLAYER_FPS, count)
    page.close()
    print(f"player on the 1,000-node page ({r['end']} events, {count} steps one per frame, 1280x800): "
          f"{r['fps']:.1f} frames/s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--skip-browser", action="store_true")
    args = ap.parse_args()
    bench_capture(5 if args.quick else 15)
    bench_draw(1 if args.quick else 3)
    if not args.skip_browser:
        bench_first_paint(2 if args.quick else 5)


if __name__ == "__main__":
    main()
