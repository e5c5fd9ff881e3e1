"""Speed of the static site in headless Chromium, with the local Pyodide distribution.

    python bench/bench_static.py [--site DIR] [--dist DIR] [--runs 3] [--edits 20] [--json OUT]

Builds the site (and the distribution, into the download cache) unless --site is given, serves it
on 127.0.0.1 (no request may leave: those are aborted and counted) and measures:

- cold load: a fresh browser profile, from navigation to a usable app (Python ready, page drawn);
- warm load: the same profile loading the page again (browser cache, compiled wasm cache);
- bytes: response bodies the server sent for a cold and for a warm load;
- edit-to-graph: a cell whose graph has about 100 nodes; one edit typed into the editor, until the
  graph's `graph-nodes` source holds the new graph (includes the app's typing debounce), and the
  same with Shift+Enter (runs at once).

Goals: cold within 10 s, warm within 5 s, under 25 MB, edit-to-graph p95 within 400 ms.
Prints medians (and p95 for edits), the boot phases of the median loads (python, packages, app =
app_python importing and building the app + doc_python serialising its document, render, total),
and writes them as JSON with --json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradview.app.build import build_site, serve  # noqa: E402
from gradview.app.notebook import encode_share  # noqa: E402
from gradview.app.pyodide_dist import build_dist, default_cache  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# Request interception would turn the browser's HTTP cache off (no warm load): instead every host but
# 127.0.0.1 resolves to nothing, and requests to other hosts are counted.
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
# 1 leaf + 2 nodes per step + the sum: 100 nodes for 49 steps
CELL = ("import torch\nx = torch.ones(3, requires_grad=True)\ny = x\nfor i in range({n}):\n"
        "    y = torch.sin(y) * 1.01\nloss = y.sum()\nloss.backward()")

JS_COUNT = "() => { const m = gradview.jsdoc && gradview.jsdoc.get_model_by_name('graph-nodes'); " \
           "return m ? [...m.data.id].length : -1; }"


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main(argv=None):
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--site", type=Path)
    ap.add_argument("--dist", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="gv-bench-"))
    site = args.site
    if site is None:
        dist = args.dist or default_cache().parent / "pyodide-dist"
        if args.dist is None:
            build_dist(dist, default_cache())
        site = tmp / "site"
        build_site(site, dist, quiet=True)
    stats = {}
    srv = serve(site, 0, stats=stats, log=lambda m: None)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}/"
    left = []

    def watch(request):
        u = urllib.parse.urlsplit(request.url)
        if not (u.scheme in ("data", "blob") or u.hostname == "127.0.0.1"):
            left.append(request.url)

    def load(page, url):
        before = dict(stats)
        t0 = time.perf_counter()
        page.goto(url)
        page.wait_for_function("() => ['ready', 'failed'].includes(document.body.dataset.gvState)", timeout=180_000)
        elapsed = time.perf_counter() - t0
        state, err, timings = page.evaluate("() => [gradview.state, gradview.error, gradview.timings]")
        if state != "ready":
            raise SystemExit(f"boot failed: {err}")
        return {"s": elapsed, "bytes": stats.get("bytes", 0) - before.get("bytes", 0),
                "requests": stats.get("requests", 0) - before.get("requests", 0),
                "phases_ms": {k: round(v) for k, v in timings.items()}}

    cold, warm = [], []
    edit_typed, edit_run = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for i in range(args.runs):
            with tempfile.TemporaryDirectory() as profile:
                ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS,
                                                           viewport={"width": 1280, "height": 860})
                ctx.on("request", watch)
                page = ctx.new_page()
                cold.append(load(page, base))
                page.close()
                page = ctx.new_page()
                warm.append(load(page, base))
                ctx.close()
            print(f"run {i + 1}: cold {cold[-1]['s']:.2f} s ({cold[-1]['bytes'] / 1e6:.1f} MB), "
                  f"warm {warm[-1]['s']:.2f} s ({warm[-1]['bytes'] / 1e6:.2f} MB)", flush=True)

        # edit-to-graph on a ~100-node cell
        ctx = browser.new_context(viewport={"width": 1280, "height": 860})
        ctx.on("request", watch)
        page = ctx.new_page()
        load(page, base + "?nb=" + encode_share([CELL.format(n=49)]))
        page.wait_for_function(f"() => ({JS_COUNT})() >= 100", timeout=60_000)
        nodes = page.evaluate(JS_COUNT)
        page.wait_for_timeout(500)
        n = 49
        for i in range(2 * args.edits):
            new = 48 if n == 49 else 49
            page.evaluate("""([old]) => {
              const v = [...Bokeh.index.query((v) => v._editor != null && v.model.css_classes.includes('gv-cell'))][0];
              const ed = v._editor; ed.focus(); ed.find('range(' + old + ')');
              const r = ed.getSelectionRange();
              ed.selection.setSelectionRange({start: {row: r.start.row, column: r.start.column + 6},
                                              end: {row: r.start.row, column: r.start.column + 8}});
            }""", [n])
            before = page.evaluate(JS_COUNT)
            typed = i < args.edits
            t0 = page.evaluate("() => performance.now()")
            page.keyboard.type(str(new))
            if not typed:
                page.keyboard.press("Shift+Enter")
            t1 = page.evaluate_handle(f"""() => new Promise((resolve) => {{
              const count = {JS_COUNT};
              const check = () => count() !== {before} ? resolve(performance.now()) : requestAnimationFrame(check);
              check();
            }})""").json_value()
            (edit_typed if typed else edit_run).append(t1 - t0)
            n = new
            page.wait_for_timeout(400)   # let the app settle between edits
        ctx.close()
        browser.close()
    srv.shutdown()

    def summary(xs):
        return {"median": round(statistics.median(xs), 3), "min": round(min(xs), 3), "max": round(max(xs), 3)}

    result = {
        "cold_load_s": summary([r["s"] for r in cold]),
        "warm_load_s": summary([r["s"] for r in warm]),
        "cold_bytes_mb": round(statistics.median([r["bytes"] for r in cold]) / 1e6, 2),
        "warm_bytes_mb": round(statistics.median([r["bytes"] for r in warm]) / 1e6, 3),
        "cold_phases_ms": cold[len(cold) // 2]["phases_ms"],
        "warm_phases_ms": warm[len(warm) // 2]["phases_ms"],
        "edit_nodes": nodes,
        "edit_typed_ms": {"median": round(statistics.median(edit_typed)), "p95": round(percentile(edit_typed, 0.95))},
        "edit_shift_enter_ms": {"median": round(statistics.median(edit_run)), "p95": round(percentile(edit_run, 0.95))},
        "requests_left_machine": len(left),
    }
    c, w = result["cold_phases_ms"], result["warm_phases_ms"]
    print("phases, cold / warm (ms): " + ", ".join(f"{k} {c.get(k, '-')} / {w.get(k, '-')}" for k in c))
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
