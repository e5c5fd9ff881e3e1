"""Many sessions at once against one server: edit-to-graph latency, errors and isolation.

Starts `panel serve app/main.py` on 127.0.0.1 and opens N sessions (default 20), each a browser
context of one headless Chromium (/usr/bin/chromium, through Playwright's async API), so the
numbers include drawing the graph in the page. Each session, for D seconds (default 60), sets its cell's code as the editor would
(a chain of n multiplications, n changing every edit) and waits for the graph with n + 1 nodes;
latency is from setting the code to the graph arriving, including the app's 300 ms typing pause.
Each cell also defines `secret_<session>` and adds 100 nodes per *other* session's secret it can
see, so a leak between sessions shows as a wrong node count.

    python bench/bench_load.py [--sessions 20] [--seconds 60]
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from engine.viz.headless import CHROMIUM_ARGS, find_chromium  # noqa: E402

CODE = """import torch
secret_{k} = {k}
seen = [name for name in globals() if name.startswith('secret_') and name != 'secret_{k}']
x = torch.tensor(2.0, requires_grad=True)
y = x
for i in range({n} + 100 * len(seen)):
    y = y * x
"""
EDIT_TIMEOUT = 20.0
STAGGER = 1.0


def start_server(port, time_limit="10"):
    env = dict(os.environ, PYTHONPATH=ROOT, GRADVIEW_TIME_LIMIT=time_limit)
    env.pop("GRADVIEW_RUNNER", None)
    proc = subprocess.Popen(["panel", "serve", "app/main.py", "--port", str(port), "--address", "127.0.0.1",
                             f"--allow-websocket-origin=127.0.0.1:{port}", "--num-procs", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/main"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("panel serve exited")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("panel serve did not come up")


JS_COUNT = """() => {
  const doc = window.Bokeh && Bokeh.documents[0];
  const m = doc && doc.get_model_by_name('graph-nodes');
  return m ? m.data.id.length : null;
}"""
JS_SET_CODE = """(code) => {
  const v = [...Bokeh.index.query((v) => v._editor != null && v.model.css_classes.includes('gv-cell'))][0];
  v._editor.setValue(code, 1);
}"""


class Client:
    """One browser context (one session) editing its cell in a bounded loop."""

    def __init__(self, k, url, seconds):
        self.k, self.url, self.seconds = k, url, seconds
        self.latencies, self.errors, self.leaks = [], [], 0
        self.done = False

    async def run(self, browser):
        try:
            await self._run(browser)
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"session {self.k}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        self.done = True

    async def _run(self, browser):
        import asyncio
        from app.notebook import encode_share
        rng = random.Random(self.k)
        n = 1
        context = await browser.new_context(viewport={"width": 1000, "height": 700})
        try:
            page = await context.new_page()
            page.set_default_timeout(120_000)
            await page.goto(f"{self.url}?nb={encode_share([CODE.format(k=self.k, n=n)])}",
                            wait_until="domcontentloaded")
            await page.wait_for_function(f"() => ({JS_COUNT})() === 2")
            end = time.perf_counter() + self.seconds
            while time.perf_counter() < end:
                n = rng.choice([m for m in range(1, 40) if m != n])
                t0 = time.perf_counter()
                await page.evaluate(JS_SET_CODE, CODE.format(k=self.k, n=n))
                while True:
                    c = await page.evaluate(JS_COUNT)
                    now = time.perf_counter()
                    if c == n + 1:
                        self.latencies.append(now - t0)
                        break
                    if c is not None and c >= n + 101:
                        self.leaks += 1
                        break
                    if now - t0 > EDIT_TIMEOUT:
                        self.errors.append(f"session {self.k}: no graph of {n + 1} nodes after "
                                           f"{EDIT_TIMEOUT:g} s (has {c})")
                        break
                    await asyncio.sleep(0.02)
                await asyncio.sleep(rng.uniform(0.2, 0.6))
        finally:
            await context.close()


async def drive(url, sessions, seconds):
    import asyncio
    from playwright.async_api import async_playwright
    clients = [Client(k, url, seconds) for k in range(sessions)]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            async def staggered(c):
                await asyncio.sleep(STAGGER * c.k)  # tabs opened one after another, as people arrive
                await c.run(browser)
            await asyncio.wait_for(asyncio.gather(*(staggered(c) for c in clients)), seconds + 180)
        finally:
            await browser.close()
    return clients


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--url", help="an already running server's page (default: start one on 127.0.0.1)")
    args = ap.parse_args(argv)
    proc = None
    if args.url:
        url = args.url
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc, url = start_server(port)
    try:
        import asyncio
        t_open = time.perf_counter()
        clients = asyncio.run(drive(url, args.sessions, args.seconds))
        wall = time.perf_counter() - t_open
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    lat = sorted(x for c in clients for x in c.latencies)
    errors = [e for c in clients for e in c.errors]
    leaks = sum(c.leaks for c in clients)
    stuck = [c.k for c in clients if not c.done]
    print(f"{args.sessions} sessions, {args.seconds:g} s of edits each ({wall:.0f} s wall), {os.cpu_count()} CPUs")
    if lat:
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
        print(f"edits redrawn: {len(lat)}  edit-to-graph p50 {p(0.5) * 1000:.0f} ms  p95 {p(0.95) * 1000:.0f} ms  "
              f"max {lat[-1] * 1000:.0f} ms  mean {statistics.mean(lat) * 1000:.0f} ms")
    per = [len(c.latencies) for c in clients]
    print(f"edits per session: min {min(per)}, max {max(per)}")
    print(f"errors: {len(errors)}  sessions that saw another's variables: {leaks}  clients still running: {stuck}")
    for e in errors[:10]:
        print("  " + e)
    return 0 if not errors and not leaks and not stuck and lat else 1


if __name__ == "__main__":
    sys.exit(main())
