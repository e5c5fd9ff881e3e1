"""Serve the WebGPU pages (static/webgpu/, bench/webgpu/) with a local Pyodide distribution and the
engine wheel on 127.0.0.1, and run Python in a Web Worker of headless Chromium.

Used by tests/browser/test_webgpu.py and bench/webgpu/run.py. Nothing is downloaded: the Pyodide
distribution comes from `python -m gradview.app.pyodide_dist` (or its cache) and the browser is the system
Chromium.
"""
from __future__ import annotations

import json
import shutil
import sys
import threading
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from gradview.engine.viz.headless import CHROMIUM_ARGS, WEBGPU_ARGS, find_chromium  # noqa: E402,F401

CHROMIUM = find_chromium() or "/usr/bin/chromium"


def make_root(dist: Path, www: Path) -> tuple[Path, str]:
    """A web root: pyodide/ (the distribution), webgpu/ (static/webgpu), bench/ (bench/webgpu) and
    wheels/<the engine wheel>. Returns the root and the wheel's path under it."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from gradview.app.build import build_wheel
    www = Path(www)
    if www.exists():
        shutil.rmtree(www)
    www.mkdir(parents=True)
    (www / "pyodide").symlink_to(Path(dist).resolve() / "pyodide", target_is_directory=True)
    shutil.copytree(ROOT / "static" / "webgpu", www / "webgpu")
    shutil.copytree(ROOT / "bench" / "webgpu", www / "bench",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheel = build_wheel(www / "wheels")
    return www, f"wheels/{wheel.name}"


def start_server(www: Path):
    from gradview.app.build import serve
    srv = serve(www, 0, log=lambda m: None)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"


def offline_route(context, left: list):
    """Abort (and note) every request that leaves 127.0.0.1."""
    def route(r):
        u = urllib.parse.urlsplit(r.request.url)
        if u.scheme in ("data", "blob") or u.hostname == "127.0.0.1":
            r.continue_()
        else:
            left.append(r.request.url)
            r.abort()
    context.route("**/*", route)


class Worker:
    """One page of static/webgpu/harness.html: Python booted in a Web Worker; `run(code)` runs code
    there with runPythonAsync and returns the value of its last expression (as a string)."""

    def __init__(self, browser, base: str, wheel: str, nogpu: bool = False, timeout_ms: int = 120_000):
        self.left = []
        self.console = []
        self.context = browser.new_context()
        offline_route(self.context, self.left)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.set_default_timeout(timeout_ms)
        query = urllib.parse.urlencode({"pyodide": "../pyodide/", "wheel": "../" + wheel,
                                        **({"nogpu": "1"} if nogpu else {})})
        self.page.goto(f"{base}webgpu/harness.html?{query}")
        booted = self.page.evaluate("() => window.booted")
        if not booted["ok"]:
            raise RuntimeError(f"Pyodide did not boot: {booted.get('error')}\n" + "\n".join(self.console[-20:]))
        self.boot_seconds = booted["seconds"]

    def run(self, code: str, timeout_ms: int | None = None):
        if timeout_ms is not None:
            self.page.set_default_timeout(timeout_ms)
        msg = self.page.evaluate("(code) => window.runPy(code)", code)
        if not msg["ok"]:
            raise RuntimeError(msg["error"])
        return msg["value"]

    def run_json(self, code: str, timeout_ms: int | None = None):
        return json.loads(self.run(code, timeout_ms))

    def close(self):
        self.context.close()
