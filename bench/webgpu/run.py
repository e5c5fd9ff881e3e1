"""WebGPU backend benchmark: per-op latency without readback, readback cost, matmul GFLOP/s for
n = 64 ... 2048 and a small training loop, each against NumPy in the same Pyodide, as ratios.

    python bench/webgpu/run.py            # headless Chromium here (SwiftShader), prints the tables
    python bench/webgpu/run.py --quick    # fewer repetitions, no 2048 matmul
    python bench/webgpu/run.py --serve    # serve the page for a browser with a real GPU

The page is bench/webgpu/index.html: it starts Pyodide in a Web Worker, installs the engine wheel
and runs bench_webgpu.py there. Everything is served from 127.0.0.1 (a local Pyodide distribution
made by `python -m gradview.app.pyodide_dist`, reused from .cache/pyodide-dist or $GRADVIEW_CACHE).

On this machine the WebGPU adapter is SwiftShader, a CPU emulation: its figures show the overheads
(Python queueing a kernel, the JavaScript bridge, reading back), not what a GPU computes.

Running it on a real GPU: start `python bench/webgpu/run.py --serve [--port 8000]` on a machine
with a GPU and open the printed address in a desktop Chrome or Edge (version 137 or later: WebGPU
and JSPI, which `pyodide.ffi.run_sync` needs to wait for the GPU, are on by default; on Linux start
Chrome with --enable-unsafe-webgpu --enable-features=Vulkan if WebGPU is off). The tables appear
in the page when done; add ?quick=1 to the address for a shorter run. To reach it from another
machine, forward the port (ssh -L 8000:127.0.0.1:8000 host): the server listens on 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402
from bench_webgpu import format_tables  # noqa: E402


def dist_dir(explicit: str | None) -> Path:
    from gradview.app.pyodide_dist import build_dist, is_dist
    cache = Path(os.environ.get("GRADVIEW_CACHE") or ROOT / ".cache")
    out = Path(explicit) if explicit else cache / "pyodide-dist"
    if not is_dist(out):
        build_dist(out, cache / "pyodide")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python bench/webgpu/run.py", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, no 2048 matmul")
    ap.add_argument("--serve", action="store_true", help="serve the page for a browser instead of running it here")
    ap.add_argument("--port", type=int, default=8000, help="with --serve (default 8000)")
    ap.add_argument("--dist", default=None,
                    help="a Pyodide distribution (default: .cache/pyodide-dist, made if missing)")
    ap.add_argument("--json", default=None, help="also write the raw results to this file")
    args = ap.parse_args(argv)

    www, wheel = harness.make_root(dist_dir(args.dist), Path(tempfile.mkdtemp(prefix="gv-bench-")) / "www")
    query = urllib.parse.urlencode({"pyodide": "../pyodide/", "wheel": "../" + wheel,
                                    **({"quick": "1"} if args.quick else {})})
    if args.serve:
        from gradview.app.build import serve
        srv = serve(www, args.port)
        print(f"open http://127.0.0.1:{srv.server_address[1]}/bench/index.html?{query}", flush=True)
        try:
            srv.serve_forever()
        except KeyboardInterrupt:
            pass
        return 0

    from playwright.sync_api import sync_playwright
    srv, base = harness.start_server(www)
    t0 = time.perf_counter()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=harness.CHROMIUM,
                                        args=harness.CHROMIUM_ARGS + harness.WEBGPU_ARGS)
            context = browser.new_context()
            left = []
            harness.offline_route(context, left)
            page = context.new_page()
            page.goto(f"{base}bench/index.html?{query}")
            page.wait_for_function("() => window.benchResult || window.benchError", timeout=30 * 60 * 1000,
                                   polling=1000)
            error = page.evaluate("() => window.benchError")
            if error:
                print(error, file=sys.stderr)
                return 1
            result = json.loads(page.evaluate("() => window.benchResult"))
            browser.close()
    finally:
        srv.shutdown()
    print(format_tables(result))
    print(f"\n(benchmark {result['seconds']:.0f} s in the browser, {time.perf_counter() - t0:.0f} s in all; "
          f"kernels queued {result['runtime']['dispatches']}, sent in {result['runtime']['batches']} batches, "
          f"{result['runtime']['pipelines']} pipelines)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
