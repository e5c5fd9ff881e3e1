"""The app in the browser: how the static site's Python worker starts app/main.py and stops cells.

`boot()` is what the site's web worker calls once Pyodide and the packages are in: it runs
app/main.py exactly as `panel serve` does (the same `build_app()`), with the page's query string as
the session's arguments (so `?nb=` share links work in the static site too), hooks the runner, and
returns the document for the page to draw.

Stopping a runaway cell from the page, without losing the cells:
- where the page is cross-origin isolated, the page writes SIGINT into Pyodide's interrupt buffer;
  the handler installed here asks the runner to stop, and the cell ends with "Stopped" as on the
  server;
- elsewhere the page ends the worker and starts a new one with `restore` = the cells as they were
  and the index of the cell that was running: the first run then re-runs the cells above it (to
  rebuild the namespace) and reports that cell as stopped, like `WorkerRunner` does on the server.
  To know which cell was running, `BrowserRunner` tells the page when a run starts and each time a
  cell ends.

Bokeh imports pandas inside `ColumnDataSource()` and `figure()` to test whether it was given a
DataFrame. The browser build leaves pandas out (5.7 MB); `install_pandas_placeholder()` puts a
small module in its place whose types nothing is an instance of, so those tests answer "no".
"""
from __future__ import annotations

import importlib.util
import os
import sys
import time
import types
from urllib.parse import parse_qs

from .runner import CellResult, Runner, RunResult, TimeLimitExceeded

__all__ = ["BrowserRunner", "boot", "install_pandas_placeholder", "restored_result", "session_arguments"]

STOP_MESSAGE = ("Stopped: the run was interrupted and Python restarted in a fresh worker; "
                "the cells above were run again to rebuild the namespace.")


# ------------------------------------------------------------------------------------------------
# pandas, for Bokeh's isinstance checks only

class _Unavailable:
    """Stands for a pandas type; nothing is an instance of it."""

    def __init__(self, *args, **kwargs):
        raise ImportError("pandas is not part of gradview's browser build")


def install_pandas_placeholder(force: bool = False) -> bool:
    """Put a `pandas` placeholder in `sys.modules` unless real pandas can be imported."""
    if "pandas" in sys.modules and not force:
        return False
    if not force and importlib.util.find_spec("pandas") is not None:
        return False

    def module(name, **attrs):
        m = types.ModuleType(name, "Placeholder: pandas is not part of gradview's browser build.")
        m.__dict__.update(attrs)

        def __getattr__(attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            raise AttributeError(f"pandas.{attr}: pandas is not part of gradview's browser build")
        m.__getattr__ = __getattr__
        sys.modules[name] = m
        return m

    def kind(name):
        return type(name, (_Unavailable,), {"__module__": "pandas"})

    names = ("DataFrame", "Series", "Index", "MultiIndex", "RangeIndex", "DatetimeIndex", "PeriodIndex",
             "TimedeltaIndex", "Timestamp", "Timedelta", "Period", "Categorical", "CategoricalDtype",
             "StringDtype", "Interval", "DateOffset")
    groupby = module("pandas.core.groupby", GroupBy=kind("GroupBy"), DataFrameGroupBy=kind("DataFrameGroupBy"),
                     SeriesGroupBy=kind("SeriesGroupBy"))
    core = module("pandas.core", groupby=groupby)
    extensions = module("pandas.api.extensions", ExtensionDtype=kind("ExtensionDtype"),
                        ExtensionArray=kind("ExtensionArray"))
    api_types = module("pandas.api.types")
    api = module("pandas.api", extensions=extensions, types=api_types)
    module("pandas", __version__="0+unavailable", __path__=[], core=core, api=api,
           NaT=object(), NA=object(), **{n: kind(n) for n in names})
    return True


# ------------------------------------------------------------------------------------------------
# the runner, seen from the page

def restored_result(cells, start, stopped: int, inner: RunResult) -> RunResult:
    """The first run after a restart: `inner` ran the cells above `stopped`; that cell reads as stopped."""
    result = RunResult(start=start, results=list(inner.results), restarted=True, notes=list(inner.notes),
                       duration=inner.duration)
    if inner.failed is not None:
        result.failed = inner.failed
        result.limit = inner.limit
        result.notes.append("Rebuilding the namespace stopped at an error above the stopped cell.")
        return result
    cid = cells[stopped][0]
    result.results.append(CellResult(cell_id=cid, error=STOP_MESSAGE, error_kind="limit"))
    result.failed = stopped
    result.limit = "stopped"
    if stopped > 0:
        result.notes.append(f"Namespace rebuilt by re-running the {stopped} cell(s) above.")
    return result


class BrowserRunner(Runner):
    """Wraps the in-process runner: tells the page what runs, and replays after a restart."""

    def __init__(self, inner: Runner, post=None, stopped: int | None = None):
        self.inner = inner
        self.post = post or (lambda msg: None)
        self.stopped = stopped          # index of the cell that was stopped before a restart
        self.time_limit = inner.time_limit
        self.running = False

    def run(self, cells, start=0, settings=None, on_cell=None) -> RunResult:
        cells = [tuple(c) for c in cells]
        self.running = True
        self.post({"type": "run-start", "ids": [c[0] for c in cells], "codes": [c[1] for c in cells],
                   "start": start})

        def cell_done(result):
            self.post({"type": "cell-done", "id": result.cell_id})
            if on_cell is not None:
                on_cell(result)
        try:
            stopped, self.stopped = self.stopped, None
            if stopped is not None and start <= stopped < len(cells):
                inner = self.inner.run(cells[:stopped], start, settings, on_cell=cell_done) \
                    if stopped > start else RunResult(start=start)
                return restored_result(cells, start, stopped, inner)
            return self.inner.run(cells, start, settings, on_cell=cell_done)
        finally:
            self.running = False
            self.post({"type": "run-end"})

    def reset(self):
        self.inner.reset()

    def explain(self, cell_id, step_index, node_id) -> dict:
        return self.inner.explain(cell_id, step_index, node_id)

    def interrupt(self):
        self.inner.interrupt()

    def close(self):
        self.inner.close()


# ------------------------------------------------------------------------------------------------
# start-up in the worker

def session_arguments(query: str, cells: list[str] | None = None) -> dict[str, list[bytes]]:
    """The page's query string as Tornado would give it (`{name: [bytes, ...]}`); restored cells
    travel as a share token in `nb`."""
    args = {k: [v.encode() for v in vals] for k, vals in parse_qs((query or "").lstrip("?")).items()}
    if cells is not None:
        from .notebook import encode_share
        args["nb"] = [encode_share(list(cells)).encode()]
    return args


def _main_path() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "main.py")


def _hook(app, post, stopped):
    """Put a `BrowserRunner` between the app and its runner, and stop runs on SIGINT."""
    import signal

    inner = app.runner
    runner = BrowserRunner(inner, post, stopped)
    app.runner = runner
    app.controller.runner = runner

    def on_sigint(signum, frame):
        # the page wrote SIGINT into the interrupt buffer: stop the run where it is (even in a loop
        # that never starts a new line); between runs there is nothing to stop
        if runner.running:
            inner.interrupt()
            raise TimeLimitExceeded("stopped")
    signal.signal(signal.SIGINT, on_sigint)
    return runner


async def boot(query: str = "", restore=None, post=None):
    """Run app/main.py in this (Pyodide) process and return (docs_json, render_items, root_ids)."""
    import runpy

    t0 = time.perf_counter()
    if restore is not None and hasattr(restore, "to_py"):
        restore = restore.to_py()
    if post is not None and not callable(post):
        post = None
    send = _js_poster(post) if post is not None else None
    install_pandas_placeholder()
    from panel.io.document import MockSessionContext, Request
    from panel.io.pyodide import init_doc, write_doc
    from panel.io.state import state

    init_doc()
    doc = state.curdoc
    arguments = session_arguments(query, restore.get("cells") if restore else None)

    class PageSession(MockSessionContext):
        @property
        def request(self):
            return Request(headers={}, cookies={}, arguments=arguments)

    doc._session_context = lambda: PageSession(document=doc)
    ns = runpy.run_path(_main_path(), run_name="__main__")
    app = ns.get("_app")
    if app is not None:
        _hook(app, send, restore.get("stop") if restore else None)
    t1 = time.perf_counter()
    out = await write_doc()
    if send is not None:
        send({"type": "timing", "app_s": t1 - t0, "doc_s": time.perf_counter() - t1})
    return out


def _js_poster(post):
    from pyodide.ffi import to_js
    import js

    def send(msg):
        post(to_js(msg, dict_converter=js.Object.fromEntries))
    return send
