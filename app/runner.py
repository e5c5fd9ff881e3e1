"""Run notebook cells under graph capture; no UI code here.

One `Runner` per browser session. `run(cells, start, settings)` runs `cells[start:]` top to bottom
in the session's namespace (the cells before `start` ran earlier and their names are still
there, as in Jupyter), each cell under its own `gradview.engine.graph.capture()`, and returns per-cell
printed output, error and captured graph (a plain dict: summaries, never whole big arrays).

Inside a cell `import torch` gives the engine: the cell namespace carries its own
`__builtins__` whose `__import__` maps `torch` and `torch.*` to `engine` and `engine.*`. Nothing
is installed under the name `torch`; a real `import torch` anywhere else in the process is
untouched.

Two implementations share the interface:

- `InProcessRunner` runs cells in this process (Pyodide, tests). An optional time limit is
  enforced by a trace function on cell frames (a loop in a cell stops; one long array op does not).
- `WorkerRunner` runs cells in a child process per session (the server). A run that passes the
  time limit (default 10 s) has its worker killed; a fresh worker is started and the cells that
  had run are re-run to rebuild the namespace. The worker's address space is capped (RLIMIT_AS,
  default 4 GiB): a failed allocation is reported as the memory limit and the worker replaced too.
  Its processes, file sizes and open files are bounded, and ending it ends every process it
  started (`gradview.app.confine`); hitting one of those limits replaces the worker as well.

`make_runner()` picks: the worker where processes exist, in-process under Pyodide.
"""
from __future__ import annotations

import builtins
import contextlib
import io
import linecache
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field, asdict

from .capacity import ServerFull, server_budget
from .confine import Confinement, WorkerLimits, apply_limits, limit_hit, resident_mb
from gradview.engine.viz.explanation import EXPLAIN_PATHS  # (the same number of paths as exported pages)

__all__ = ["Settings", "CellResult", "RunResult", "Session", "Runner", "InProcessRunner", "WorkerRunner",
           "make_runner", "cell_filename", "cell_id_from_filename", "DEFAULT_TIME_LIMIT",
           "DEFAULT_MEMORY_LIMIT_MB"]

DEFAULT_TIME_LIMIT = 10.0
STOP_GRACE_S = 0.5       # a worker asked to stop (SIGINT) that has not stopped by then is replaced
DEFAULT_MEMORY_LIMIT_MB = 4096   # a worker's address space (RLIMIT_AS); 0 or None: no limit
MAX_OUTPUT_CHARS = 20_000
CELL_PREFIX = "<cell "
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules[__package__.partition(".")[0]].__file__)))
# the engine's package name, beside this package: `import torch` in a cell gives it
ENGINE = f"{__package__.rpartition('.')[0]}.engine".lstrip(".")


def cell_filename(cell_id: str) -> str:
    """The file name a cell's code is compiled under (what tracebacks and captured nodes show)."""
    return f"{CELL_PREFIX}{cell_id}>"


def cell_id_from_filename(filename: str | None) -> str | None:
    if filename and filename.startswith(CELL_PREFIX) and filename.endswith(">"):
        return filename[len(CELL_PREFIX):-1]
    return None


@dataclass
class Settings:
    """What the controls choose; applied at the start of every run."""
    device: str = "cpu"
    dtype: str = "float32"
    summary_size: int = 64     # tensors with at most this many elements keep their full values
    keep_steps: int = 20       # training steps whose graphs are kept
    seed: int | None = 0       # the random seed set at the start of a run (None: leave it)
    max_nodes: int = 20_000    # nodes kept per step in what a run sends back (the rest are counted)


@dataclass
class CellResult:
    cell_id: str
    output: str = ""
    error: str | None = None
    error_kind: str | None = None   # "syntax", "exception", "limit", "crash"
    error_line: int | None = None   # 1-based line in this cell
    error_col: int | None = None
    graph: dict | None = None       # engine.graph capture dict for this cell
    duration: float = 0.0
    graph_s: float = 0.0            # of `duration`, the time spent turning the capture into `graph`


@dataclass
class RunResult:
    start: int
    results: list[CellResult] = field(default_factory=list)  # cells start, start + 1, ... that ran
    failed: int | None = None        # index of the cell that failed
    limit: str | None = None         # which limit was hit, in words
    restarted: bool = False          # the worker was replaced during this run
    stopped: bool = False            # stopped by request (Stop, a newer edit, Restart)
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self):
        return self.failed is None


class TimeLimitExceeded(BaseException):
    """Raised inside a cell when the run's time is up (a BaseException so `except Exception` in user
    code does not swallow it)."""


class RunStopped(TimeLimitExceeded, KeyboardInterrupt):
    """Raised inside a cell when its worker is asked to stop (SIGINT): a KeyboardInterrupt, so a cell
    written for Jupyter (`except KeyboardInterrupt: ...`) handles it as there; the cells after it
    do not run either way."""

    def __init__(self, *args):
        super().__init__(*(args or ("stopped",)))


# ------------------------------------------------------------------------------------------------
# the namespace: torch -> engine, for this namespace only

def _mapped_name(name: str) -> str | None:
    if name == "torch":
        return ENGINE
    if name.startswith("torch."):
        return ENGINE + name[5:]
    return None


def _make_import(real_import=builtins.__import__):
    def __import__(name, globals=None, locals=None, fromlist=(), level=0):
        mapped = _mapped_name(name) if level == 0 else None
        if mapped is None:
            return real_import(name, globals, locals, fromlist, level)
        try:
            module = real_import(mapped, globals, locals, fromlist, level)
        except ModuleNotFoundError as exc:
            missing = (exc.name or mapped).replace(ENGINE, "torch", 1)
            raise ModuleNotFoundError(f"No module named '{missing}' (gradview's engine does not provide it)",
                                      name=missing) from None
        # `import torch` / `import torch.nn` bind `torch`: the engine, not a package that holds it
        return module if fromlist else sys.modules[ENGINE]
    return __import__


def _no_input(*args, **kwargs):
    raise RuntimeError("input() is not available in a cell: there is no console to type into")


def fresh_namespace() -> dict:
    cell_builtins = dict(vars(builtins))
    cell_builtins["__import__"] = _make_import()
    cell_builtins["input"] = _no_input
    return {"__name__": "__main__", "__doc__": None, "__builtins__": cell_builtins}


# ------------------------------------------------------------------------------------------------
# errors cut down to the user's code

def _cell_label(filename: str, labels: dict) -> str:
    cid = cell_id_from_filename(filename)
    return labels.get(cid, f"cell {cid}") if cid is not None else filename


def format_syntax_error(exc: SyntaxError, labels: dict) -> str:
    where = _cell_label(exc.filename or "", labels)
    text = "".join(traceback.format_exception_only(type(exc), exc))
    text = text.replace(f'File "{exc.filename}"', where)
    return text.rstrip("\n")


def format_exception(exc: BaseException, labels: dict, cell_id: str | None = None) -> tuple[str, int | None, str | None]:
    """(traceback text with only the frames from cells, the deepest line in cell `cell_id` (or in any cell
    when None), that line's cell id)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(CELL_PREFIX)]
    lines = ["Traceback (most recent call last):"] if frames else []
    previous, repeated = None, 0
    for f in frames + [None]:
        here = (f.filename, f.lineno, f.name) if f is not None else None
        if here is not None and here == previous:
            repeated += 1
            continue
        if repeated:  # deep recursion: one line for the repeats, as Python's own tracebacks do
            lines.append(f"  [Previous line repeated {repeated:,} more time{'s' if repeated != 1 else ''}]")
            repeated = 0
        if f is None:
            break
        previous = here
        lines.append(f"  {_cell_label(f.filename, labels)}, line {f.lineno}, in {f.name}")
        if f.line:
            lines.append(f"    {f.line.strip()}")
    only = "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
    lines.append(only)
    if isinstance(exc, RecursionError):
        lines.append(f"Recursion limit hit: calls nested deeper than {sys.getrecursionlimit():,} levels "
                     f"(a function that calls itself without reaching its base case?).")
    mine = [f for f in frames if cell_id is None or cell_id_from_filename(f.filename) == cell_id]
    last = mine[-1] if mine else None
    return "\n".join(lines), (last.lineno if last else None), (cell_id_from_filename(last.filename) if last else None)


class _Tee(io.TextIOBase):
    """The cell's stdout and stderr, together, as one text: the first and the last part of it when a
    cell prints more than MAX_OUTPUT_CHARS (a print loop cannot fill memory)."""

    def __init__(self, limit=MAX_OUTPUT_CHARS):
        self._half = limit // 2
        self._head = []
        self._head_n = 0
        self._tail = []
        self._tail_n = 0
        self._total = 0

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        n = len(text)
        self._total += n
        if self._head_n < self._half:
            take = text[:self._half - self._head_n]
            self._head.append(take)
            self._head_n += len(take)
            text = text[len(take):]
        if text:
            self._tail.append(text)
            self._tail_n += len(text)
            if self._tail_n > 2 * self._half:
                joined = "".join(self._tail)[-self._half:]
                self._tail, self._tail_n = [joined], len(joined)
        return n

    def getvalue(self):
        head = "".join(self._head)
        tail = "".join(self._tail)
        kept = len(head) + len(tail)
        if self._total <= kept:
            return head + tail
        tail = tail[-self._half:]
        skipped = self._total - len(head) - len(tail)
        return f"{head}\n... ({skipped:,} characters of output left out) ...\n{tail}"


# ------------------------------------------------------------------------------------------------
# one namespace and the way cells run in it

def _capture_cm(settings: Settings):
    try:
        from gradview.engine import graph as graph_mod
    except Exception:  # capture layer not available: run without a graph
        return None
    # each node names the cell its code came from (its "source")
    return graph_mod.capture(full_values=settings.summary_size, keep_steps=settings.keep_steps,
                             source_of=cell_id_from_filename)


def _apply_settings(settings: Settings, ns: dict):
    from gradview import engine
    dtype = getattr(engine, settings.dtype, None)
    if isinstance(dtype, engine.dtype):
        engine.set_default_dtype(dtype)
    device = settings.device if settings.device == "cpu" or engine.backends.is_available(settings.device) else "cpu"
    engine.set_default_device(device)  # torch.randn(...) in a cell lands on the chosen device
    ns["DEVICE"] = engine.device(device)
    if settings.seed is not None:
        engine.manual_seed(settings.seed)


class Session:
    """A cell namespace plus the logic to run cells in it (used directly in-process and inside a worker)."""

    def __init__(self, memory_limit_mb=None):
        self.ns = fresh_namespace()
        self._deadline = None
        self._cancel = False
        self._in_exec = False     # cell code is running (a stop request raises there)
        self._stop_asked = False  # a stop request came during this run
        self.memory_limit_mb = memory_limit_mb   # what the process is limited to (for messages only)
        self.graphs = {}          # cell id -> its last run's capture (engine.graph.Graph), for explain

    def reset(self):
        self.ns = fresh_namespace()
        self.graphs = {}

    def explain(self, cell_id, step_index, node_id, max_paths=EXPLAIN_PATHS) -> dict:
        """Why node `node_id` of cell `cell_id`'s step `step_index` got its gradient: the
        Explanation's dict ({"error": text} when there is nothing to explain)."""
        graph = self.graphs.get(cell_id)
        if graph is None:
            return {"error": "this cell's capture is gone (run it again to ask)"}
        step = next((s for s in graph.steps if s.index == step_index), None)
        if step is None:
            return {"error": f"step {step_index} is no longer kept (run the cell again to ask)"}
        known = {str(n.id): n.id for n in step.nodes}
        if str(node_id) not in known:
            return {"error": "this node has no gradient to explain"}
        try:
            return step.explain(known[str(node_id)]).to_dict(max_paths=max_paths)
        except (ValueError, RuntimeError, KeyError) as exc:
            return {"error": str(exc)}

    # a trace function that stops cell code past the deadline; engine frames are not traced
    def _global_trace(self, frame, event, arg):
        if frame.f_code.co_filename.startswith(CELL_PREFIX):
            self._check_deadline()
            return self._local_trace
        return None

    def _local_trace(self, frame, event, arg):
        if event == "line":
            self._check_deadline()
        return self._local_trace

    def _check_deadline(self):
        if self._cancel:
            self._cancel = False
            raise TimeLimitExceeded("stopped")
        if self._deadline is not None and time.perf_counter() > self._deadline:
            raise TimeLimitExceeded("time")

    def cancel(self):
        self._cancel = True

    def on_sigint(self, signum=None, frame=None):
        """A worker's SIGINT handler: stop the cell where it is (a loop that never starts a new line
        too); outside cell code (capture, sending results) the run stops after the current cell."""
        self._stop_asked = True
        if self._in_exec:
            self._in_exec = False
            raise RunStopped()

    def run(self, cells, start=0, settings=None, time_limit=None, capture=True, on_cell=None) -> RunResult:
        """Run `cells[start:]` (a list of (cell_id, code)). `on_cell(result)` hears of each cell as it ends."""
        settings = settings or Settings()
        t_run = time.perf_counter()
        result = RunResult(start=start)
        labels = {cid: f"Cell [{i + 1}]" for i, (cid, _) in enumerate(cells)}
        _apply_settings(settings, self.ns)
        self._deadline = (t_run + time_limit) if time_limit else None
        self._limit = time_limit or 0
        self.last_limit = None
        self._cancel = False
        self._stop_asked = False
        traced = time_limit is not None and time_limit > 0
        for index in range(start, len(cells)):
            cid, code = cells[index]
            cell = self._run_cell(cid, code, labels, settings, capture, traced)
            result.results.append(cell)
            if on_cell is not None:
                on_cell(cell)
            if cell.error is not None:
                result.failed = index
                if cell.error_kind == "limit":
                    result.limit = self.last_limit
                    result.stopped = self.last_limit == "stopped"
                break
            if self._stop_asked:   # stopped outside cell code, or the cell caught KeyboardInterrupt
                result.stopped = True
                result.limit = "stopped"
                break
        self._deadline = None
        result.duration = time.perf_counter() - t_run
        return result

    def _run_cell(self, cid, code, labels, settings, capture, traced) -> CellResult:
        cell = CellResult(cell_id=cid)
        filename = cell_filename(cid)
        t0 = time.perf_counter()
        try:
            compiled = compile(code, filename, "exec", dont_inherit=True)
        except SyntaxError as exc:
            cell.error = format_syntax_error(exc, labels)
            cell.error_kind = "syntax"
            cell.error_line = exc.lineno
            cell.error_col = exc.offset
            cell.duration = time.perf_counter() - t0
            return cell
        except (ValueError, OverflowError, MemoryError, RecursionError) as exc:  # e.g. null bytes in source
            cell.error = f"{type(exc).__name__}: {exc}"
            cell.error_kind = "syntax"
            cell.duration = time.perf_counter() - t0
            return cell
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        if not isinstance(self.ns.get("__builtins__"), dict) or self.ns["__builtins__"] is vars(builtins):
            # a cell deleted or replaced its builtins: without them exec would hand the next cell the
            # process's own, and an edit there would reach every session in this process
            self.ns["__builtins__"] = fresh_namespace()["__builtins__"]
        out = _Tee()
        cm = _capture_cm(settings) if capture else None
        graph_obj = None
        # a cell runs as a script given no arguments: argparse in it must not read the arguments
        # the server or the worker process were started with
        argv, sys.argv = sys.argv, [filename]
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                if traced:
                    sys.settrace(self._global_trace)
                try:
                    if cm is not None:
                        with cm as graph_obj:
                            self._in_exec = True
                            exec(compiled, self.ns)
                    else:
                        self._in_exec = True
                        exec(compiled, self.ns)
                finally:
                    self._in_exec = False
                    sys.argv = argv
                    if traced:
                        sys.settrace(None)
        except TimeLimitExceeded as exc:
            cell.error_kind = "limit"
            text, line, where = format_exception(exc, labels, cid)
            cell.error_line = line
            head = text.rsplit("\n", 1)[0] if "\n" in text else ""
            if str(exc) == "stopped":
                self.last_limit = "stopped"
                cell.error = f"Stopped by request.\n{head}".rstrip()
            else:
                self.last_limit = f"time limit of {self._limit:g} s"
                cell.error = (f"Time limit hit: the run took longer than its {self.last_limit} and was "
                              f"stopped here.\n{head}").rstrip()
        except MemoryError as exc:
            cell.error_kind = "limit"
            text, line, _ = format_exception(exc, labels, cid)
            cell.error_line = line
            self.last_limit = (f"memory limit of {self.memory_limit_mb:,} MiB" if self.memory_limit_mb
                               else "memory limit (an allocation failed)")
            cell.error = f"Memory limit hit: the cell asked for more memory than it may use ({self.last_limit}).\n{text}"
        except SystemExit as exc:
            cell.error_kind = "exception"
            cell.error = f"SystemExit: the cell called exit({'' if exc.code is None else exc.code!r}); nothing stopped"
        except BaseException as exc:  # noqa: BLE001  anything a cell raises (KeyboardInterrupt too) is its output
            cell.error_kind = "exception"
            cell.error, cell.error_line, _ = format_exception(exc, labels, cid)
            hit = limit_hit(exc)   # a worker's process, file size or open-file limit
            if hit is not None:
                cell.error_kind = "limit"
                self.last_limit, message = hit
                cell.error = f"{message} Its worker process was restarted.\n{cell.error}"
        cell.output = out.getvalue()
        if cell.error is not None and len(cell.error) > MAX_OUTPUT_CHARS:
            half = MAX_OUTPUT_CHARS // 2
            cell.error = f"{cell.error[:half]}\n... (error text cut) ...\n{cell.error[-half:]}"
        if graph_obj is not None:
            self.graphs[cid] = graph_obj
        else:
            self.graphs.pop(cid, None)
        if graph_obj is not None:
            t_graph = time.perf_counter()
            try:
                # past the node cap a step keeps its outputs and the nodes closest to them
                cell.graph = graph_obj.to_dict(max_nodes=settings.max_nodes)
            except Exception as exc:  # noqa: BLE001
                cell.output += f"\n(graph capture failed: {type(exc).__name__}: {exc})"
            cell.graph_s = time.perf_counter() - t_graph
        cell.duration = time.perf_counter() - t0
        return cell


# ------------------------------------------------------------------------------------------------
# the interface and its two implementations

class Runner:
    """Runs cells for one session. Subclasses: InProcessRunner, WorkerRunner."""

    time_limit: float | None = None

    def run(self, cells, start=0, settings=None, on_cell=None) -> RunResult:
        raise NotImplementedError

    def reset(self):
        """Forget every name: the next run starts from an empty namespace."""
        raise NotImplementedError

    def explain(self, cell_id, step_index, node_id) -> dict:
        """Why a node of a cell's last run got its gradient (Session.explain): the explanation's
        dict, or {"error": text}."""
        return {"error": "this runner cannot explain gradients"}

    def interrupt(self):
        """Stop the run in flight, if any (it ends with a "stopped" error)."""

    def close(self):
        """Release what the runner holds (a worker process)."""


_INPROCESS_LOCK = threading.RLock()  # the capture recorder and default dtype are process-wide


class InProcessRunner(Runner):
    """Cells run in this process, in a namespace of their own."""

    def __init__(self, time_limit: float | None = None):
        self.time_limit = time_limit
        self.session = Session()

    def run(self, cells, start=0, settings=None, on_cell=None) -> RunResult:
        cells = [tuple(c) for c in cells]
        with _INPROCESS_LOCK:
            return self.session.run(cells, start, settings, self.time_limit, on_cell=on_cell)

    def reset(self):
        self.session.reset()

    def explain(self, cell_id, step_index, node_id) -> dict:
        with _INPROCESS_LOCK:
            return self.session.explain(cell_id, step_index, node_id)

    def interrupt(self):
        self.session.cancel()


def _send(sock_file, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock_file.write(len(data).to_bytes(8, "little") + data)
    sock_file.flush()


def _recv(sock_file):
    head = sock_file.read(8)
    if len(head) < 8:
        raise EOFError("worker pipe closed")
    size = int.from_bytes(head, "little")
    data = sock_file.read(size)
    if len(data) < size:
        raise EOFError("worker pipe closed")
    return pickle.loads(data)


class WorkerRunner(Runner):
    """Cells run in a child process of their own, one per session.

    The child speaks a small pickle protocol over a socket pair: ("run", cells, start, settings)
    is answered by one ("cell", CellResult) per cell as it ends, then ("done", RunResult).

    With a `slot` of the server's budget (`gradview.app.capacity`) the worker may be stopped while the session
    lives on (`suspend`: idle, or the server short of memory); the next run then takes a place again,
    starts a worker and re-runs the cells above first, or says the server is full.
    """

    def __init__(self, time_limit: float | None = DEFAULT_TIME_LIMIT,
                 memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB, start: bool = True,
                 limits: WorkerLimits | None = None, slot=None):
        self.time_limit = time_limit
        self.memory_limit_mb = memory_limit_mb
        self.limits = limits or WorkerLimits.from_env()
        self.slot = slot                      # this worker's place in the server's budget (or None)
        self.last_active = time.monotonic()   # when a run last ended (idle workers are stopped)
        self._suspended = None                # why the worker was stopped while the session lives on
        self._stop_reason = None              # why the run in flight is being stopped from outside
        self._proc = None
        self._confinement = None
        self._sock = None
        self._file = None
        self._lock = threading.Lock()         # one run at a time
        self._run_no = 0                      # counts runs, so a late stop timer knows its run
        self._ready_pid = None                # the worker that said ready (SIGINT would end one starting)
        self._start_thread = None
        self.restarts = 0
        if start:
            # start the child in the background: the page comes up while Python and NumPy load
            self._start_thread = threading.Thread(target=self._ensure_started, daemon=True)
            self._start_thread.start()

    # -- process handling ------------------------------------------------------------------------
    def _spawn(self):
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        code = f"from gradview.app.runner import _worker_main; _worker_main({child.fileno()}, {self.memory_limit_mb!r})"
        confinement = Confinement(self.limits)
        try:
            proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=(child.fileno(),),
                                    stdin=subprocess.DEVNULL, close_fds=True, **confinement.prepare(env))
        except BaseException:
            confinement.end()
            raise
        finally:
            child.close()
        confinement.started(proc.pid)
        if self.slot is not None:
            self.slot.record(proc.pid, confinement.cgroup)
        self._proc, self._sock, self._confinement = proc, parent, confinement
        self._file = parent.makefile("rwb")
        ready = _recv(self._file)
        if ready != ("ready",):
            raise RuntimeError(f"worker failed to start: {ready!r}")
        self._ready_pid = proc.pid   # from now on it takes SIGINT as a stop request

    def _ensure_started(self):
        with contextlib.suppress(Exception):
            if self._proc is None or self._proc.poll() is not None:
                self._kill()
                self._spawn()

    def _alive(self):
        return self._proc is not None and self._proc.poll() is None

    def _kill(self):
        """End the worker and every process it started."""
        proc, sock, f, confinement = self._proc, self._sock, self._file, self._confinement
        self._proc = self._sock = self._file = self._confinement = None
        if confinement is not None:
            confinement.end(proc)
        elif proc is not None and proc.poll() is None:
            proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)
        for thing in (f, sock):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()

    def _wait_started(self):
        t = self._start_thread
        if t is not None:
            t.join()
            self._start_thread = None
        if not self._alive():
            self._kill()
            self._spawn()

    @property
    def pid(self):
        return self._proc.pid if self._proc is not None else None

    # -- the interface -----------------------------------------------------------------------------
    def run(self, cells, start=0, settings=None, on_cell=None) -> RunResult:
        cells = [tuple(c) for c in cells]
        settings = settings or Settings()
        with self._lock:
            self._run_no += 1
            t0 = time.perf_counter()
            try:
                resumed = self._resume(cells[:start], settings) if self._suspended is not None else None
            except ServerFull as full:
                cid = cells[start][0] if start < len(cells) else "?"
                cell = CellResult(cell_id=cid, error_kind="limit", error=(
                    f"The server is full ({full}). This session's worker was stopped while {self._suspended} "
                    f"and cannot start again yet: try again in a minute. Your cells are kept."))
                return RunResult(start=start, results=[cell], failed=start, limit="server full")
            self._wait_started()
            result = self._exchange(cells, start, settings, on_cell, self.time_limit)
            if resumed:
                result.notes.insert(0, resumed)
            if result.limit == "stopped":
                result.stopped = True
            stopped_in_place = result.stopped and self._alive()
            if (result.failed is not None and result.results and not stopped_in_place
                    and result.results[-1].error_kind in ("limit", "crash")):
                self._restart_and_replay(cells[:result.failed], settings, result)
            self._stop_reason = None
            result.duration = time.perf_counter() - t0
            self.last_active = time.monotonic()
            return result

    def _exchange(self, cells, start, settings, on_cell, limit, capture=True) -> RunResult:
        """Send one run and collect its answer; on overrun or a dead worker, the result says so."""
        deadline = (time.perf_counter() + limit) if limit else None
        results = []
        try:
            _send(self._file, ("run", cells, start, asdict(settings), capture))
            while True:
                wait = None if deadline is None else max(0.0, deadline - time.perf_counter())
                self._sock.settimeout(wait)
                try:
                    msg = _recv(self._file)
                finally:
                    with contextlib.suppress(Exception):
                        self._sock.settimeout(None)
                if msg[0] == "cell":
                    results.append(msg[1])
                    if on_cell is not None:
                        on_cell(msg[1])
                elif msg[0] == "done":
                    run = msg[1]
                    run.results = results
                    return run
        except (TimeoutError, socket.timeout):
            return self._overrun(cells, start, results, f"time limit of {limit:g} s", "limit")
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            code = None
            if self._proc is not None:
                with contextlib.suppress(Exception):
                    code = self._proc.wait(timeout=1)
            if self._stop_reason:
                return self._overrun(cells, start, results, self._stop_reason, "limit")
            if code is not None and code < 0 and -code == getattr(__import__("signal"), "SIGKILL", 9):
                # killed from outside while running: the kernel's out-of-memory killer, as a rule
                why = "memory limit (the worker process was killed, most likely for running out of memory)"
            elif code is not None and code < 0:
                why = f"the worker process died from signal {-code}" + (
                    " (a stack overflow? deep recursion past sys.setrecursionlimit)" if -code == 11 else "")
            else:
                why = f"the worker process stopped (exit code {code})" if code is not None else f"the worker failed ({exc})"
            return self._overrun(cells, start, results, why, "crash")

    def _overrun(self, cells, start, results, what, kind) -> RunResult:
        index = start + len(results)
        cid = cells[index][0] if index < len(cells) else (cells[-1][0] if cells else "?")
        if what == "stopped":
            msg = "Stopped: the run was interrupted and the worker process restarted."
        elif what.startswith("server memory"):
            msg = (f"Server memory limit hit: the {what}. This run was stopped to keep the server up; "
                   f"its worker process was restarted.")
        elif kind == "limit":
            msg = (f"Time limit hit: the run took longer than its {what} and was stopped in this cell. "
                   f"Its worker process was restarted.")
        elif what.startswith("memory limit"):
            msg = f"Memory limit hit: {what}. Its worker process was restarted."
        else:
            msg = f"The cell's process ended abruptly: {what} (a crash, or memory ran out). It was restarted."
        cell = CellResult(cell_id=cid, error=msg, error_kind=kind)
        run = RunResult(start=start, results=list(results) + [cell], failed=index, limit=what)
        self._kill()
        return run

    def _restart_and_replay(self, cells, settings, result: RunResult):
        self._stop_reason = None
        self.restarts += 1
        result.restarted = True
        note = self._fresh_worker(cells, settings)
        if note:
            result.notes.append(note)

    def _fresh_worker(self, cells, settings) -> str | None:
        """Replace the worker by a new one and re-run `cells` (the ones above) in it; what to tell."""
        self._kill()
        self._spawn()
        if not cells:
            return None
        replay = self._exchange(cells, 0, settings, None, self.time_limit, capture=False)
        if replay.failed is not None and replay.results and replay.results[-1].error_kind in ("limit", "crash"):
            self._kill()
            self._spawn()
            return "Rebuilding the namespace hit the limit too: it starts empty; run all to rebuild it."
        return f"Namespace rebuilt by re-running the {len(replay.results)} cell(s) above."

    # -- the server's budget -------------------------------------------------------------------------
    def has_worker(self) -> bool:
        return self._suspended is None and self._alive()

    def resident_mb(self) -> float:
        confinement = self._confinement
        return resident_mb(confinement.processes()) if confinement is not None else 0.0

    def suspend(self, why: str) -> bool:
        """Stop the worker and give its place back while the session lives on; False when a run is
        in flight. `why` completes "stopped while ..."."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._start_thread is not None and self._start_thread.is_alive():
                return False
            self._kill()
            self._suspended = why
            if self.slot is not None:
                self.slot.release()
            return True
        finally:
            self._lock.release()

    def evict(self, why: str):
        """The server is short of memory and this worker is the largest: stop its run (the cell says
        `why`), or the worker itself when idle."""
        if not self.suspend("the server was short of memory") and self._proc is not None:
            self._stop_reason = why
            with contextlib.suppress(Exception):
                self._proc.kill()

    def _resume(self, cells, settings) -> str:
        """A place and a new worker after `suspend`, with `cells` (the ones above) re-run: the note."""
        if self.slot is not None and not self.slot.held:
            self.slot = self.slot.budget.take()
        why, self._suspended = self._suspended, None
        rebuilt = self._fresh_worker(cells, settings)
        return f"This session's worker had been stopped while {why}; a new one started." + (f" {rebuilt}" if rebuilt else "")

    def explain(self, cell_id, step_index, node_id, timeout: float = 30.0) -> dict:
        """Asks the worker, which holds the steps: ("explain", cell id, step index, node id) is
        answered by ("explained", dict)."""
        with self._lock:
            if self._suspended is not None:
                return {"error": "this session's worker was stopped since the run (run the cells again to ask)"}
            self._wait_started()  # (a worker started afresh holds no capture: its session says so)
            try:
                self._sock.settimeout(timeout)
                _send(self._file, ("explain", cell_id, step_index, node_id))
                msg = _recv(self._file)
            except (TimeoutError, socket.timeout, EOFError, OSError, pickle.UnpicklingError) as exc:
                # the pipe is out of step now: start afresh rather than read a stale answer later
                self._kill()
                self._spawn()
                return {"error": f"the worker did not answer ({type(exc).__name__}); run the cells again to ask"}
            finally:
                with contextlib.suppress(Exception):
                    self._sock.settimeout(None)
            return msg[1] if msg and msg[0] == "explained" else {"error": "the worker answered something else"}

    def reset(self):
        with self._lock:
            if self._suspended is not None:
                return   # no worker, no names: the next run starts one
            self._kill()
            self._spawn()

    def interrupt(self, grace: float = STOP_GRACE_S):
        """Stop the run in flight: SIGINT stops the cell where it is (the worker and its names live
        on); a worker still running `grace` seconds later (a cell that ignores KeyboardInterrupt, a
        long call into C) is killed and replaced, and the cells above re-run."""
        proc, run_no = self._proc, self._run_no
        if not self._lock.locked() or proc is None:
            return
        if proc.pid == self._ready_pid:
            with contextlib.suppress(Exception):
                os.kill(proc.pid, signal.SIGINT)

        def kill_if_still_running():
            if self._lock.locked() and self._run_no == run_no and self._proc is proc and proc.poll() is None:
                self._stop_reason = "stopped"
                with contextlib.suppress(Exception):
                    proc.kill()
        timer = threading.Timer(grace, kill_if_still_running)
        timer.daemon = True
        timer.start()

    def close(self):
        t = self._start_thread
        if t is not None:
            t.join(timeout=10)
        self._kill()
        if self.slot is not None:
            self.slot.budget.forget(self)
            self.slot.release()

    def __del__(self):
        with contextlib.suppress(Exception):
            self._kill()


def _watch_parent(every: float = 1.0):
    """End this worker when the server that started it is gone, even while a cell loops (a closed pipe
    is only noticed between runs)."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(0)
    threading.Thread(target=watch, daemon=True, name="gradview-parent-watch").start()


def _worker_main(fd: int, memory_limit_mb=None):
    """The child process: one Session, answering runs until the pipe closes."""
    apply_limits(memory_limit_mb)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # until the session can take it (below)
    _watch_parent()
    sock = socket.socket(fileno=fd)
    f = sock.makefile("rwb")
    from gradview import engine  # noqa: F401  load the engine before saying ready
    with contextlib.suppress(Exception):
        import gradview.engine.graph; from gradview import engine  # noqa: F401
    session = Session(memory_limit_mb=int(memory_limit_mb) if memory_limit_mb else None)
    signal.signal(signal.SIGINT, session.on_sigint)   # Stop: the cell ends where it is
    me = os.getpid()

    def sent(cell):
        if os.getpid() != me:
            os._exit(0)   # a process the cell forked: it never answers for the worker
        _send(f, ("cell", cell))
    _send(f, ("ready",))
    while True:
        try:
            msg = _recv(f)
        except EOFError:
            return
        if msg[0] == "run":
            _, cells, start, settings, capture = msg
            try:
                run = session.run(cells, start, Settings(**settings), None, capture=capture, on_cell=sent)
            except Exception as exc:  # noqa: BLE001  e.g. a cell broke the engine module itself
                run = RunResult(start=start, failed=start)
                run.notes.append(f"The run could not start: {type(exc).__name__}: {exc}. Restart to begin afresh.")
            if os.getpid() != me:
                os._exit(0)
            run.results = []  # already sent one by one
            _send(f, ("done", run))
        elif msg[0] == "explain":
            _, cid, step_index, node_id = msg
            try:
                answer = session.explain(cid, step_index, node_id)
            except Exception as exc:  # noqa: BLE001  the worker answers whatever happens
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            _send(f, ("explained", answer))
        elif msg[0] == "reset":
            session.reset()
            _send(f, ("done", RunResult(start=0)))
        elif msg[0] == "close":
            return


_spare: list = []          # one started, unused worker kept ready for the next session
_spare_lock = threading.Lock()


def _take_spare(memory_limit_mb, budget):
    """A worker started earlier (its start off the page's critical path), and start the next one
    where the budget leaves room for it."""
    with _spare_lock:
        runner = _spare.pop() if _spare else None
        if runner is not None and runner.memory_limit_mb != memory_limit_mb:
            runner.close()
            runner = None
        if runner is not None:
            try:
                budget.ensure_room(1)
            except ServerFull:
                _spare.append(runner)
                raise
        with contextlib.suppress(ServerFull):
            _spare.append(WorkerRunner(memory_limit_mb=memory_limit_mb, slot=budget.take(spare=True)))
    return runner


def default_memory_limit_mb() -> int | None:
    """The workers' address-space cap unless GRADVIEW_MEMORY_LIMIT_MB says otherwise: none where the
    cuda device is available, since CUDA reserves far more address space than it uses and would
    fail to start under the cap (time and output limits still apply)."""
    try:
        from gradview import engine
        if engine.cuda.is_available():
            return None
    except Exception:  # noqa: BLE001
        pass
    return DEFAULT_MEMORY_LIMIT_MB


def make_runner(kind: str | None = None, time_limit: float | None = None, spare: bool = False) -> Runner:
    """The runner for this platform: `kind` "worker" or "inprocess"; default from GRADVIEW_RUNNER, else
    the worker where subprocesses exist (not in Pyodide). `spare=True` (the server) hands out a worker
    started in advance and starts another for the next caller, within the server's budget
    (`gradview.app.capacity`): ServerFull when there is no room for another session."""
    kind = kind or os.environ.get("GRADVIEW_RUNNER") or ("inprocess" if sys.platform == "emscripten" else "worker")
    if time_limit is None:
        time_limit = float(os.environ.get("GRADVIEW_TIME_LIMIT", DEFAULT_TIME_LIMIT))
    if kind == "inprocess":
        return InProcessRunner(time_limit=time_limit)
    mem = os.environ.get("GRADVIEW_MEMORY_LIMIT_MB")
    mem = (int(mem) or None) if mem else default_memory_limit_mb()
    if not spare:
        return WorkerRunner(time_limit=time_limit, memory_limit_mb=mem)
    budget = server_budget()
    runner = _take_spare(mem, budget)
    if runner is None:
        runner = WorkerRunner(time_limit=time_limit, memory_limit_mb=mem, slot=budget.take())
    runner.time_limit = time_limit
    runner.last_active = time.monotonic()
    budget.watch(runner)
    return runner
