"""Runs cells when they change and puts the results into the state.

Edits are debounced: when typing pauses the edited cell and the cells after it run again. The pause
adapts to the cells: `DEBOUNCE_MIN_S` when the last run came back quickly, growing with slower runs
up to `DEBOUNCE_S`. Shift+Enter and "Run all" run at once. One run is in flight at a time; an edit
made meanwhile supersedes it (the run is stopped where it is and its results are never drawn) and
one follow-up run starts from the earliest cell touched. Stop and Restart stop the run in flight the
same way. Runs happen off the page's event loop (a thread on the server) and their results are
applied back on it through a `Scheduler`.

With `GRADVIEW_TIMING_LOG=FILE` every applied run appends one JSON line to FILE: the wall-clock
times (`time.time()`) of its phases (the last edit, the pause's end, the runner's work, applying
the results to the page objects, the page's changes handed to the document), the time the cells
ran and the time spent turning captures into graphs (`bench/bench_app.py` reads them).
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import traceback

from .runner import Runner, RunResult, Settings
from .state import AppState

__all__ = ["Controller", "Scheduler", "SyncScheduler", "ThreadScheduler", "DocScheduler", "DEBOUNCE_S",
           "DEBOUNCE_MIN_S", "adaptive_debounce"]

DEBOUNCE_S = 0.3         # the longest typing pause waited for (cells that take a while to run)
DEBOUNCE_MIN_S = 0.1     # the pause after a quick run
SHOW_RUNNING_AFTER_S = 0.15  # a run shows "running" only once it has taken this long


def adaptive_debounce(last_round_trip_s: float | None) -> float:
    """How long typing must pause before a run: half the last run's round trip, within
    [DEBOUNCE_MIN_S, DEBOUNCE_S] (a quick run is redone as soon as typing pauses; a slow one waits
    longer, so it is not started and superseded at every keystroke)."""
    if last_round_trip_s is None:
        return DEBOUNCE_MIN_S
    return min(DEBOUNCE_S, max(DEBOUNCE_MIN_S, 0.5 * last_round_trip_s))


class Scheduler:
    """Where timers fire and where background work goes."""

    def batch(self):
        """A context in which state changes reach the page as one message."""
        return contextlib.nullcontext()

    def call_later(self, delay: float, fn):
        raise NotImplementedError

    def cancel(self, handle):
        raise NotImplementedError

    def background(self, work, done):
        """Run `work()` off the page's loop, then `done(result)` on it."""
        raise NotImplementedError


class SyncScheduler(Scheduler):
    """Everything at once, in the caller (unit tests). Timers wait until `flush()`."""

    def __init__(self):
        self.timers = {}
        self._n = 0

    def call_later(self, delay, fn):
        self._n += 1
        self.timers[self._n] = fn
        return self._n

    def cancel(self, handle):
        self.timers.pop(handle, None)

    def flush(self):
        while self.timers:
            key = min(self.timers)
            self.timers.pop(key)()

    def background(self, work, done):
        done(work())


class ThreadScheduler(Scheduler):
    """Timers and work on threads; `done` runs on the worker thread (scripts without a page)."""

    def call_later(self, delay, fn):
        t = threading.Timer(delay, fn)
        t.daemon = True
        t.start()
        return t

    def cancel(self, handle):
        handle.cancel()

    def background(self, work, done):
        threading.Thread(target=lambda: done(work()), daemon=True).start()


class DocScheduler(Scheduler):
    """A Bokeh document's loop: timers via the document, work on a thread, results on the next tick.

    Work may start while the session is still being set up (the first run starts with the page):
    then it is waited for up to `first_wait` seconds so its results go out with the page itself;
    results that come later wait for `ready()`.
    """

    def __init__(self, doc, ready: bool = True, first_wait: float = 2.0):
        self.doc = doc
        self._ready = ready
        self._waiting = []
        self._lock = threading.Lock()
        self.first_wait = first_wait

    @contextlib.contextmanager
    def batch(self):
        if not self._ready:  # the page is being built: nothing is sent yet
            yield
            return
        from panel.io.document import hold
        from panel.io.state import set_curdoc
        with set_curdoc(self.doc), hold(self.doc):
            yield

    def ready(self):
        """The session is up: deliver what waited for it."""
        with self._lock:
            self._ready = True
            waiting, self._waiting = self._waiting, []
        for fn in waiting:
            # on the next tick: while the page's onload callbacks run, held changes would not be sent
            self.doc.add_next_tick_callback(fn)

    def call_later(self, delay, fn):
        return self.doc.add_timeout_callback(fn, int(delay * 1000))

    def cancel(self, handle):
        try:
            self.doc.remove_timeout_callback(handle)
        except ValueError:  # already fired
            pass

    def background(self, work, done):
        box = []

        def deliver():
            with self._lock:
                if not self._ready:
                    self._waiting.append(lambda: done(box[0]))
                    return
            try:
                self.doc.add_next_tick_callback(lambda: done(box[0]))
            except Exception:  # the session ended meanwhile
                pass

        if not self._ready:
            worker = threading.Thread(target=lambda: box.append(work()), daemon=True)
            worker.start()
            worker.join(self.first_wait)
            if box:
                done(box[0])  # in time: the page is built with the results
            else:
                threading.Thread(target=lambda: (worker.join(), deliver()), daemon=True).start()
            return

        def target():
            box.append(work())
            deliver()
        threading.Thread(target=target, daemon=True).start()


class AsyncioScheduler(Scheduler):
    """The running asyncio loop (Pyodide): work runs on the loop itself, there are no threads."""

    def __init__(self):
        import asyncio
        self.loop = asyncio.get_event_loop()

    def call_later(self, delay, fn):
        return self.loop.call_later(delay, fn)

    def cancel(self, handle):
        handle.cancel()

    def background(self, work, done):
        self.loop.call_soon(lambda: done(work()))


class Controller:
    """Connects the state to a runner."""

    def __init__(self, state: AppState, runner: Runner, scheduler: Scheduler | None = None,
                 debounce: float | None = None):
        self.state = state
        self.runner = runner
        self.scheduler = scheduler or SyncScheduler()
        self.debounce = debounce     # a fixed typing pause in seconds; None: adaptive_debounce()
        self._timer = None
        self._pending_start: int | None = None
        self._in_flight = False
        self._flight_start = 0       # the first cell of the run in flight
        self._superseded = False     # the run in flight was stopped for a newer one: not drawn
        self._reset_next = False     # forget every name before the next run (Restart)
        self._closed = False
        self.listeners = []          # fn(run_result) after each applied run (benchmarks, tests)
        self.last_timing = {}
        self._last_round_trip = None
        self._last_edit_at = None
        self._run_id = 0
        self._running_timer = None
        self._timing_log = os.environ.get("GRADVIEW_TIMING_LOG") or None

    def pause(self) -> float:
        """The typing pause before the next run."""
        return self.debounce if self.debounce is not None else adaptive_debounce(self._last_round_trip)

    # -- requests ------------------------------------------------------------------------------------
    def edit(self, cell_id: str, code: str):
        """The text of a cell changed: mark it and what follows stale, run after a pause."""
        state = self.state
        cell = state.cell(cell_id)
        if cell.code == code and self._timer is None:
            return
        index = state.index(cell_id)
        self._last_edit_at = time.time()
        # the pause is timed from now, before the page is told what went stale
        if self._timer is not None:
            self.scheduler.cancel(self._timer)
        self._timer = self.scheduler.call_later(self.pause(), self._fire)
        self._pending_start = index if self._pending_start is None else min(self._pending_start, index)
        self._supersede()
        with self.scheduler.batch():
            cell.code = code
            self._mark_stale(index)
            state.pending = True
            state.focus(cell_id)

    def run_from(self, index: int):
        """Run `cells[index:]` now (Shift+Enter, structural changes)."""
        if self._timer is not None:
            self.scheduler.cancel(self._timer)
            self._timer = None
        index = max(0, min(index, len(self.state.cells) - 1))
        self._pending_start = index if self._pending_start is None else min(self._pending_start, index)
        self._supersede()
        with self.scheduler.batch():
            self._mark_stale(index)
            self.state.pending = True
            self._launch()

    def run_cell(self, cell_id: str):
        self.run_from(self.state.index(cell_id))

    def run_all(self):
        self.run_from(0)

    def reset_and_run_all(self):
        """Forget every name and run the notebook top to bottom (a run in flight is stopped first;
        the names are forgotten off the page's loop, just before the run)."""
        self._reset_next = True
        self.run_from(0)

    def explain(self, node_id: str | None = None):
        """Ask the runner why a node shown (the selected one by default) got its gradient; the
        answer lands in state.explanation ({"node", "step", "answer"}), unless the cells ran again
        or another node was chosen meanwhile."""
        state = self.state
        node_id = state.selected_node if node_id is None else node_id
        target = state.explain_target(node_id)
        if target is None:
            state.explanation = {"node": node_id, "step": state.step,
                                 "answer": {"error": "no backward() reached this node: no gradient to explain"}}
            return
        asked = {"node": node_id, "step": state.step}
        run_count = state.run_count
        state.explanation = dict(asked, answer={"pending": True})

        def work():
            try:
                return self.runner.explain(*target)
            except Exception as exc:  # noqa: BLE001  the page stays up whatever the runner does
                return {"error": f"{type(exc).__name__}: {exc}"}

        def done(answer):
            current = state.explanation or {}
            if state.run_count != run_count or {k: current.get(k) for k in asked} != asked:
                return   # the graph or the question changed since: this answer is for another
            with self.scheduler.batch():
                state.explanation = dict(asked, answer=answer)

        self.scheduler.background(work, done)

    def stop(self):
        """Stop the run in flight where it is; its cell says it was stopped."""
        if self._in_flight:
            self.runner.interrupt()

    def _supersede(self):
        """A newer run is wanted: stop the one in flight, whose results will not be drawn; the next
        run starts no later than it did (its cells may have run only in part)."""
        if not self._in_flight or self._superseded:
            return
        self._superseded = True
        self._pending_start = min(self._pending_start, self._flight_start)
        self.runner.interrupt()

    def close(self):
        self._closed = True
        for handle in (self._timer, self._running_timer):
            if handle is not None:
                self.scheduler.cancel(handle)
        self._timer = self._running_timer = None
        self.runner.close()

    # -- running ---------------------------------------------------------------------------------------
    def _mark_stale(self, index: int):
        for c in self.state.cells[index:]:
            if c.status in ("done", "error", "skipped"):
                c.status = "stale"

    def _fire(self):
        self._timer = None
        with self.scheduler.batch():
            self._launch()

    def _settings(self) -> Settings:
        s = self.state
        return Settings(device=s.device, dtype=s.dtype, summary_size=s.summary_size)

    def _launch(self):
        if self._in_flight or self._pending_start is None or self._closed:
            return
        state = self.state
        start = min(self._pending_start, len(state.cells) - 1)
        self._pending_start = None
        cells = [(c.id, c.code) for c in state.cells]
        settings = self._settings()
        self._in_flight = True
        self._flight_start = start
        self._superseded = False
        reset, self._reset_next = self._reset_next, False
        self._run_id += 1
        run_id = self._run_id
        t0 = time.perf_counter()
        times = {"edit": self._last_edit_at, "launch": time.time()}
        self._last_edit_at = None

        def show_running():
            # only runs that take a while say so: a quick run's results are the only message it sends
            self._running_timer = None
            if self._in_flight and self._run_id == run_id:
                with self.scheduler.batch():
                    state.pending = self._timer is not None
                    state.running = True
                    for c in state.cells[start:]:
                        c.status = "running"

        self._running_timer = self.scheduler.call_later(SHOW_RUNNING_AFTER_S, show_running)

        def work():
            times["work"] = time.time()
            try:
                if reset:
                    self.runner.reset()
                return self.runner.run(cells, start, settings)
            except Exception as exc:  # noqa: BLE001  the page stays up whatever the runner does
                result = RunResult(start=start)
                result.notes.append(f"The runner failed: {type(exc).__name__}: {exc}")
                result.failed = start
                result.notes.append(traceback.format_exc(limit=3))
                return result

        def done(result):
            times["done"] = time.time()
            if self._running_timer is not None:
                self.scheduler.cancel(self._running_timer)
                self._running_timer = None
            superseded = self._superseded
            with self.scheduler.batch():
                try:
                    if not superseded:   # a newer run is on its way: this one's results are not drawn
                        self._apply(cells, result, time.perf_counter() - t0)
                        times["applied"] = time.time()
                    else:
                        for c in state.cells[start:]:
                            if c.status == "running":
                                c.status = "stale"
                finally:
                    self._in_flight = False
                    if self._pending_start is not None and self._timer is None:
                        self._launch()
                    else:
                        state.pending = self._timer is not None
                        state.running = False
            if not superseded:
                times["sent"] = time.time()
                self._log_timing(times, result)

        self.scheduler.background(work, done)

    def _log_timing(self, times, result):
        if not self._timing_log:
            return
        record = dict(times, ran_s=sum(r.duration for r in result.results),
                      graph_s=sum(getattr(r, "graph_s", 0.0) for r in result.results),
                      runner_s=result.duration, cells=len(result.results),
                      nodes=sum(len(s.get("nodes", ())) for r in result.results if r.graph
                                for s in r.graph.get("steps", ())))
        with contextlib.suppress(OSError), open(self._timing_log, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def _apply(self, cells, result: RunResult, elapsed: float):
        state = self.state
        by_id = {c.id: c for c in state.cells}
        ran = {r.cell_id: r for r in result.results}
        failed_id = result.results[-1].cell_id if result.failed is not None and result.results else None
        syntax_stop = failed_id is not None and result.results[-1].error_kind == "syntax"
        started = False
        for i, (cid, code) in enumerate(cells):
            cell = by_id.get(cid)
            if i == result.start:
                started = True
            if not started or cell is None:
                continue
            if cid in ran:
                r = ran[cid]
                edited_since = cell.code != code
                cell.param.update(
                    output=r.output, error=r.error, error_kind=r.error_kind, error_line=r.error_line,
                    error_col=r.error_col, ran_code=code, duration=r.duration,
                    status="stale" if edited_since else ("error" if r.error else "done"))
                if not (r.error_kind == "syntax"):
                    cell.graph = r.graph
            else:
                # not reached: an earlier cell failed; a syntax error ran nothing, so graphs stay
                if not syntax_stop:
                    cell.graph = None
                cell.status = "skipped" if cell.code == code else "stale"
        notes = list(result.notes)
        if result.limit and not (result.stopped and result.limit == "stopped"):
            notes.insert(0, f"Limit hit: {result.limit}.")
        state.errors = notes
        state.explanation = None   # it explained the graph before this run
        state.rebuild_steps()
        if result.stopped and result.limit == "stopped":
            where = result.failed if result.failed is not None else result.start + len(result.results) - 1
            state.message = f"Stopped at cell [{where + 1}] by request."
        elif result.failed is not None:
            state.message = f"Stopped at cell [{result.failed + 1}]" + (f" ({result.limit})" if result.limit else "")
        else:
            state.message = f"Ran {len(result.results)} cell(s) in {result.duration * 1000:.0f} ms."
        state.run_count += 1
        self.last_timing = {"run_s": result.duration, "round_trip_s": elapsed}
        self._last_round_trip = elapsed
        for fn in list(self.listeners):
            try:
                fn(result)
            except Exception:  # noqa: BLE001
                traceback.print_exc(file=sys.stderr)
