"""The static site in a real headless Chromium, fully offline.

Builds the local Pyodide distribution (once per session, into $GRADVIEW_CACHE or .cache/ of the
checkout; skipped with the reason only if the package registries cannot be reached), builds the
site with it under a sub-path, serves it on 127.0.0.1 and drives /usr/bin/chromium with every
request that leaves 127.0.0.1 aborted and counted. Checks: the app boots, the walkthrough draws its
graph, an edit redraws it, a syntax error shows and recovers, a runaway loop is stopped (by
restarting Python, as on a static host; and by interrupting in place when cross-origin isolated),
and no request left the machine.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
BOOT_TIMEOUT_MS = 180_000

pytest.importorskip("panel", reason="panel is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")

sys.path.insert(0, str(ROOT))
from gradview.app.build import build_site, serve  # noqa: E402
from gradview.app.pyodide_dist import RegistryUnavailable, build_dist  # noqa: E402

JS_NODES = """() => {
  const doc = window.gradview && window.gradview.jsdoc;
  const m = doc && doc.get_model_by_name('graph-nodes');
  return m ? [...m.data.id].length : null;
}"""

JS_EDITOR_TEXT = """() => [...Bokeh.index.query((v) => v._editor != null && v.model.css_classes.includes('gv-cell'))]
  .filter((v) => v.el.isConnected)
  .sort((a, b) => a.el.getBoundingClientRect().top - b.el.getBoundingClientRect().top)
  .map((v) => v._editor.getValue())"""


def cache_dir() -> Path:
    env = os.environ.get("GRADVIEW_CACHE")
    return Path(env) if env else ROOT / ".cache"


@pytest.fixture(scope="session")
def pyodide_dist():
    out = cache_dir() / "pyodide-dist"
    t0 = time.perf_counter()
    try:
        build_dist(out, cache_dir() / "pyodide")
    except RegistryUnavailable as exc:
        pytest.skip(f"the package registries cannot be reached to assemble the Pyodide distribution: {exc}")
    print(f"\nPyodide distribution ready in {time.perf_counter() - t0:.1f} s: {out}")
    return out


@pytest.fixture(scope="session")
def www(pyodide_dist, tmp_path_factory):
    """A web root with the site two folders down (the site must not assume it is at /)."""
    root = tmp_path_factory.mktemp("www")
    build_site(root / "projects" / "gradview", pyodide_dist, quiet=True)
    return root


def _start(root, isolated):
    log = []
    srv = serve(root, 0, isolated=isolated, log=log.append)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, log


@pytest.fixture(scope="session")
def site_url(www):
    srv, log = _start(www, isolated=False)
    yield f"http://127.0.0.1:{srv.server_address[1]}/projects/gradview/", log
    srv.shutdown()


@pytest.fixture(scope="session")
def isolated_url(www):
    srv, log = _start(www, isolated=True)
    yield f"http://127.0.0.1:{srv.server_address[1]}/projects/gradview/", log
    srv.shutdown()



class Offline:
    """A browser context in which every request that leaves 127.0.0.1 is aborted and counted."""

    def __init__(self, browser):
        self.left = []
        self.failed = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.context.route("**/*", self._route)
        self.context.on("response", lambda r: self.failed.append((r.url, r.status)) if r.status >= 400 else None)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.console = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def _route(self, route):
        u = urllib.parse.urlsplit(route.request.url)
        if u.scheme in ("data", "blob") or u.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.left.append(route.request.url)
            route.abort()

    def boot(self, url):
        self.page.goto(url)
        self.page.wait_for_function("() => ['ready', 'failed'].includes(document.body.dataset.gvState)",
                                    timeout=BOOT_TIMEOUT_MS)
        state = self.page.evaluate("() => [gradview.state, gradview.error]")
        assert state[0] == "ready", f"boot failed: {state[1]}\n" + "\n".join(self.console[-20:])

    def close(self):
        self.context.close()


@pytest.fixture
def offline(browser):
    o = Offline(browser)
    yield o
    o.close()


def text_of(locator):
    return locator.evaluate("""(el) => el.shadowRoot
      ? [...el.shadowRoot.children].filter((c) => !['STYLE', 'LINK'].includes(c.tagName))
          .map((c) => c.innerText).join('')
      : el.innerText""")


def wait_nodes(page, predicate, timeout=20):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = page.evaluate(JS_NODES)
        if last is not None and predicate(last):
            return last
        time.sleep(0.05)
    raise AssertionError(f"graph never matched; last node count: {last}")


def visible_errors(page):
    return [text_of(e) for e in page.locator(".gv-error").all() if e.is_visible()]


def type_at_end(page, index, text):
    page.locator(".gv-cell").nth(index).click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text, delay=5)


def start_runaway(page):
    """Add a cell-ending infinite loop to the last cell and wait until it is running."""
    last = page.locator(".gv-cell").count() - 1
    type_at_end(page, last, "\nwhile True: pass")
    # the run of the whole loop, not of a half-typed line that ends by itself
    page.wait_for_function("() => gradview.run != null && performance.now() - gradview.run.t0 > 300 && "
                           "gradview.run.codes.some((c) => c.includes('while True: pass'))", timeout=20_000)
    return last


def test_static_site_offline_end_to_end(offline, site_url):
    url, log = site_url
    page = offline.page
    offline.boot(url)

    # the walkthrough example draws its graph
    first = wait_nodes(page, lambda n: n > 0)
    time.sleep(0.5)
    first = wait_nodes(page, lambda n: n > 0)
    assert not visible_errors(page)

    # editing a cell redraws it: new operations typed at the end of the last cell add their nodes
    last = page.locator(".gv-cell").count() - 1
    type_at_end(page, last, "\nq = torch.ones(2, requires_grad=True)\nr = (q * 3).sum()")
    wait_nodes(page, lambda n: n > first)

    # a syntax error shows, and the next edit recovers
    type_at_end(page, 0, "\nz = 1 +")
    page.locator(".gv-error").first.wait_for(state="visible")
    assert any("SyntaxError" in t for t in visible_errors(page))
    page.keyboard.type(" 2")
    page.wait_for_function("() => true")
    deadline = time.time() + 20
    while visible_errors(page) and time.time() < deadline:
        time.sleep(0.05)
    assert not visible_errors(page)

    # a runaway loop is stopped with the app's own Stop button (which the page shows and enables
    # while Python is busy): Python restarts, the cells stay
    last = start_runaway(page)
    page.locator(".gv-stop button:not([disabled])").click(timeout=5_000)
    page.wait_for_function("() => gradview.restarts === 1 && gradview.state === 'ready'", timeout=BOOT_TIMEOUT_MS)
    texts = page.evaluate(JS_EDITOR_TEXT)
    assert "while True:" in texts[last] and "r = (q * 3).sum()" in texts[last] and "z = 1 + 2" in texts[0]
    deadline = time.time() + 30
    while not any("Stopped" in t for t in visible_errors(page)) and time.time() < deadline:
        time.sleep(0.1)
    assert any("Stopped" in t for t in visible_errors(page)), visible_errors(page)
    wait_nodes(page, lambda n: n > 0)     # the cells above were run again

    assert offline.left == [], f"requests left the machine: {offline.left}"
    assert [f for f in offline.failed if "/projects/gradview/" in f[0]] == [], offline.failed


def test_isolated_site_interrupts_the_cell_in_place(offline, isolated_url):
    url, log = isolated_url
    page = offline.page
    offline.boot(url)
    assert page.evaluate("() => gradview.interruptible") is True
    wait_nodes(page, lambda n: n > 0)
    start_runaway(page)
    t0 = time.perf_counter()
    page.locator("#gv-runbar-stop").click()
    page.wait_for_function("() => gradview.run == null", timeout=10_000)
    stopped_in = time.perf_counter() - t0
    deadline = time.time() + 10
    while not any("Stopped" in t for t in visible_errors(page)) and time.time() < deadline:
        time.sleep(0.05)
    assert any("Stopped" in t for t in visible_errors(page)), visible_errors(page)
    assert page.evaluate("() => gradview.restarts") == 0
    assert stopped_in < 3.0
    assert offline.left == [], f"requests left the machine: {offline.left}"
