"""The static build's parts that need neither a browser nor the registries: versions, the pandas
stand-in, the runner hook that restores cells after a restart, the gradview wheel, the page."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from gradview.app import versions as V  # noqa: E402
from gradview.app.browser import BrowserRunner, install_pandas_placeholder, session_arguments  # noqa: E402
from gradview.app.notebook import decode_share  # noqa: E402
from gradview.app.runner import InProcessRunner  # noqa: E402


# -- versions: one place, both sides covered ----------------------------------------------------------

def test_server_versions_are_the_app_extra_pins():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["app"]
    assert f"panel=={V.SERVER_PANEL}" in extra and f"bokeh=={V.SERVER_BOKEH}" in extra


def test_site_wheel_metadata_is_the_projects():
    from gradview.app import build
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert build.REQUIRES == project["dependencies"] and build.SUMMARY == project["description"]
    assert project["dynamic"] == ["version"]   # read from gradview.__version__, the one place it is written


def test_installed_panel_and_bokeh_are_the_server_versions():
    panel = pytest.importorskip("panel")
    bokeh = pytest.importorskip("bokeh")
    assert (panel.__version__, bokeh.__version__) == (V.SERVER_PANEL, V.SERVER_BOKEH)


def test_browser_wheels_pin_the_browser_versions_and_every_download():
    by_name = {w.name: w for w in V.BROWSER_WHEELS}
    assert by_name["panel"].version == V.BROWSER_PANEL and by_name["bokeh"].version == V.BROWSER_BOKEH
    for w in V.BROWSER_WHEELS:
        assert w.source in ("official", "pypi", "sdist"), w
        if w.source != "official":
            assert len(w.sha256) == 64, f"{w.name} is downloaded without a pinned sha256"
    assert not set(by_name) & set(V.LEFT_OUT)


def test_the_build_refuses_other_panel_or_bokeh_than_the_browser_runs(monkeypatch):
    pytest.importorskip("panel")
    from gradview.app import build
    build.check_versions()  # installed == browser today
    monkeypatch.setattr(V, "BROWSER_PANEL", "0.0.1")
    with pytest.raises(build.BuildError, match="install those to build"):
        build.check_versions()


# -- pandas stand-in ----------------------------------------------------------------------------------

def test_bokeh_and_panel_work_with_the_pandas_placeholder():
    """Run in a fresh interpreter in which importing real pandas fails, as in the browser build."""
    pytest.importorskip("panel")
    code = r"""
import sys
class NoPandas:
    def find_spec(self, name, path, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("no pandas here")
sys.meta_path.insert(0, NoPandas())
sys.path.insert(0, %r)
from gradview.app.browser import install_pandas_placeholder
assert install_pandas_placeholder(force=True)
import pandas
assert pandas.__version__ == "0+unavailable"
import panel as pn
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from bokeh.document import Document
from bokeh.embed.util import standalone_docs_json_and_render_items
src = ColumnDataSource(dict(x=[1, 2], y=[3, 4]), name="graph-nodes")
p = figure(x_range=(0, 3))
p.scatter("x", "y", source=src)
src.stream(dict(x=[3], y=[5]))
doc = Document()
pn.Column(pn.pane.Bokeh(p), pn.widgets.Button(name="b"), pn.pane.Markdown("**md**")).server_doc(doc)
standalone_docs_json_and_render_items(doc.roots, suppress_callback_warning=True)
try:
    pandas.DataFrame()
except ImportError as e:
    assert "browser build" in str(e)
else:
    raise AssertionError("the placeholder made a DataFrame")
print("ok")
""" % str(ROOT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


def test_placeholder_is_not_installed_where_pandas_exists():
    if "pandas" not in sys.modules:
        pytest.importorskip("pandas")
    assert install_pandas_placeholder() is False


# -- the runner hook ----------------------------------------------------------------------------------

CELLS = [("a", "x = 1"), ("b", "y = x + 1"), ("c", "while True: pass"), ("d", "z = y")]


def test_browser_runner_tells_the_page_what_runs():
    posted = []
    runner = BrowserRunner(InProcessRunner(), posted.append)
    result = runner.run(CELLS[:2])
    assert result.ok
    assert [m["type"] for m in posted] == ["run-start", "cell-done", "cell-done", "run-end"]
    assert posted[0]["ids"] == ["a", "b"] and posted[0]["codes"] == ["x = 1", "y = x + 1"]


def test_first_run_after_a_restart_rebuilds_above_and_reports_the_stopped_cell():
    inner = InProcessRunner()
    runner = BrowserRunner(inner, None, stopped=2)
    result = runner.run(CELLS)
    assert result.failed == 2 and result.limit == "stopped" and result.restarted
    assert [r.cell_id for r in result.results] == ["a", "b", "c"]
    assert result.results[-1].error_kind == "limit" and "Stopped" in result.results[-1].error
    assert inner.session.ns["y"] == 2          # the namespace was rebuilt
    assert any("re-running the 2 cell(s)" in n for n in result.notes)
    # later runs are ordinary
    again = runner.run(CELLS[:2] + [("d", "z = y")])
    assert again.ok and inner.session.ns["z"] == 2


def test_sigint_stops_a_runaway_cell_even_on_one_line():
    """What the page's interrupt buffer does in Pyodide: SIGINT in the middle of a run."""
    import _thread
    import signal
    import threading
    import types
    from gradview.app.browser import _hook

    inner = InProcessRunner(time_limit=30)
    app = types.SimpleNamespace(runner=inner, controller=types.SimpleNamespace(runner=None))
    old = signal.getsignal(signal.SIGINT)
    try:
        runner = _hook(app, None, None)
        assert app.controller.runner is runner
        threading.Timer(0.3, _thread.interrupt_main).start()
        result = runner.run([("a", "x = 1"), ("b", "while True: pass"), ("c", "y = 2")])
        assert result.failed == 1 and result.results[-1].error_kind == "limit"
        assert result.results[-1].error.startswith("Stopped")
        _thread.interrupt_main()            # between runs SIGINT does nothing
        assert runner.run([("a", "x = 1")]).ok
    finally:
        signal.signal(signal.SIGINT, old)


def test_session_arguments_carry_query_and_restored_cells():
    args = session_arguments("?foo=1&foo=2&bar=x")
    assert args == {"foo": [b"1", b"2"], "bar": [b"x"]}
    args = session_arguments("?nb=old", ["a = 1", "while True: pass"])
    assert decode_share(args["nb"][0].decode()) == ["a = 1", "while True: pass"]


# -- the wheel and the page ---------------------------------------------------------------------------

def test_wheel_holds_engine_and_app_and_not_the_build_tools(tmp_path):
    from gradview.app import build
    wheel = build.build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    app_dir = build.__package__.replace(".", "/")                            # where the app is imported from
    engine_dir = app_dir.rpartition("/")[0] + "/engine" if "/" in app_dir else "engine"
    assert f"{engine_dir}/__init__.py" in names and f"{app_dir}/main.py" in names and f"{app_dir}/browser.py" in names
    assert f"{app_dir}/examples/walkthrough.py" in names and f"{engine_dir}/backends/webgpu/bridge.js" in names
    assert "gradview/__init__.py" in names   # the version, which the engine reports
    assert f"{app_dir}/build.py" not in names and not any("__pycache__" in n for n in names)
    version = wheel.name.split("-")[1]
    assert version.startswith("0.1.0+g")
    assert build.build_wheel(tmp_path / "again").name == wheel.name   # same checkout, same wheel


def test_cdn_site_uses_relative_addresses_for_its_own_files(tmp_path):
    pytest.importorskip("panel")
    from gradview.app.build import build_site
    cfg = build_site(tmp_path / "site", None, quiet=True)
    site = tmp_path / "site"
    page = (site / "index.html").read_text()
    assert cfg["mode"] == "cdn" and cfg["pyodide"] == V.PYODIDE_CDN
    assert 'src="gradview.js?v=' in page and 'href="gradview.css?v=' in page
    assert f"bokeh-{V.BROWSER_BOKEH}.min.js" in page and f"panel/{V.BROWSER_PANEL}/dist/panel.min.js" in page
    wheel = [r for r in cfg["requirements"] if r.startswith("pyodide/gradview-")]
    assert wheel and (site / wheel[0]).is_file()
    embedded = json.loads(page.split('<script id="gv-config" type="application/json">')[1].split("</script>")[0])
    assert embedded["worker"].startswith("worker.js?v=")
    for name in ("gradview.js", "worker.js", "gradview.css", ".nojekyll"):
        assert (site / name).exists()
    # building again replaces the site; a folder that is not a site is left alone
    build_site(site, None, quiet=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    from gradview.app.build import BuildError
    with pytest.raises(BuildError, match="refusing"):
        build_site(other, None, quiet=True)
    assert (other / "keep.txt").exists()


def test_local_page_must_not_name_other_sites_or_missing_files(tmp_path):
    from gradview.app.build import BuildError, _localize
    (tmp_path / "cdn/bokeh/release").mkdir(parents=True)
    (tmp_path / "cdn/bokeh/release/bokeh-3.7.3.min.js").write_text("")
    ok = '<script src="https://cdn.bokeh.org/bokeh/release/bokeh-3.7.3.min.js"></script>'
    assert _localize(ok, tmp_path) == '<script src="cdn/bokeh/release/bokeh-3.7.3.min.js"></script>'
    inline = '<script src="data:text/javascript,ace.define(1)"></script>'  # inline code names no file
    assert _localize(inline, tmp_path) == inline
    with pytest.raises(BuildError, match="other sites"):
        _localize('<script src="https://example.org/x.js"></script>', tmp_path)
    with pytest.raises(BuildError, match="does not have"):
        _localize('<script src="https://cdn.bokeh.org/bokeh/release/bokeh-gl-3.7.3.min.js"></script>', tmp_path)
