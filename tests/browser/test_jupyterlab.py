"""The %%gradview magic in a real JupyterLab page: a local JupyterLab server (token off, on
127.0.0.1, its own config folders), the example notebook run from the page in headless Chromium
with every request for anywhere else aborted; the graph shows below the cell and its step slider
works, with no page or console errors. About half a minute."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (pip install jupyterlab)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[docs]')")

from tests.app.integrations.sites import EXAMPLES, ROOT  # noqa: E402

JS_KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status === 'idle' : document.querySelector('.jp-Dialog .jp-mod-accept') !== null;
}"""

JS_STEP = """(value) => {
  const doc = Bokeh.documents[0];
  if (value !== null) doc.get_model_by_name('graph-step').value = value;
  return JSON.stringify([...doc.get_model_by_name('graph-nodes').data.value_text]);
}"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on the example notebook's folder: its base address."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(os.path.join(EXAMPLES, "notebook.ipynb"), root)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    args = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=",
            "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/api/status", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:])
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_magic_in_jupyterlab(browser, lab):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    aborted, errors, console = [], [], []

    def route(r):
        url = r.request.url
        if url.startswith((lab, "data:", "blob:", "about:")):
            r.continue_()
        else:
            aborted.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    try:
        page.goto(lab + "/lab/tree/notebook.ipynb")
        page.wait_for_function(JS_KERNEL_IDLE, timeout=60_000)
        if page.query_selector(".jp-Dialog .jp-mod-accept"):  # "Select Kernel": take the notebook's own
            page.click(".jp-Dialog .jp-mod-accept")
            page.wait_for_function(JS_KERNEL_IDLE, timeout=60_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        page.wait_for_selector(".jp-OutputArea-output iframe", timeout=60_000)
        frame = next(f for f in page.frames if f is not page.main_frame)
        frame.wait_for_function("() => window.Bokeh && Bokeh.documents.length === 1 && "
                                "Bokeh.documents[0].get_model_by_name('graph-nodes') !== null", timeout=30_000)
        labels = frame.evaluate("() => [...Bokeh.documents[0].get_model_by_name('graph-nodes').data.label]")
        assert {"w", "exp", "mul", "sum"} <= set(labels)
        first = frame.evaluate(JS_STEP, None)
        frame.evaluate(JS_STEP, 2)
        page.wait_for_timeout(200)
        assert frame.evaluate(JS_STEP, None) != first  # the step slider works inside the notebook
        page.wait_for_function("() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                               ".some((o) => o.textContent.includes('tensor(['))", timeout=30_000)
        assert aborted == [] and errors == [] and console == []
    finally:
        page.close()
