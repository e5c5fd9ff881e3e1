"""`torch.autograd.profiler`: `profile` counts and times the ops run inside it and prints
PyTorch's table (`prof.key_averages().table(sort_by="cpu_time_total")`); `record_function` labels
a block, which the table lists as one row.

Ops are heard through the same hook as graph capture (chained, so both work at once). An op's time
is measured from the previous event to its end, so it includes the Python between ops.
"""
import collections
import functools
import time

from . import _state


class _Row:
    def __init__(self, key):
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0  # microseconds, as PyTorch reports them

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    self_cpu_time_total = property(lambda self: self.cpu_time_total)


class _Recorder:
    """Forwards every call to the recorder it replaced (graph capture), after timing it."""

    def __init__(self, profile, previous):
        self._profile, self._previous = profile, previous

    def __call__(self, op, inputs, result, params):
        self._profile._event(op.kind if hasattr(op, "kind") else str(op))
        if self._previous is not None:
            self._previous(op, inputs, result, params)

    def begin_backward(self, outputs):  # the backward pass itself is not recorded (as for capture)
        if self._previous is not None:
            self._previous.begin_backward(outputs)
        _state.recorder = None

    def end_backward(self, outputs):
        if self._previous is not None:
            self._previous.end_backward(outputs)
        _state.recorder = self

    def optimizer_step(self, optimizer, call):  # the update runs whether or not a capture notes it
        if self._previous is not None:
            return self._previous.optimizer_step(optimizer, call)
        return call()

    def __getattr__(self, name):
        previous = self._previous
        if previous is None:
            return lambda *args, **kwargs: None
        return getattr(previous, name)


class EventList(list):
    def table(self, sort_by=None, row_limit=100, header=None, **kwargs):
        key = {"cpu_time_total": "cpu_time_total", "self_cpu_time_total": "cpu_time_total",
               "cpu_time": "cpu_time", "count": "count"}.get(sort_by)
        rows = sorted(self, key=lambda r: getattr(r, key), reverse=True) if key else list(self)
        rows = rows[:row_limit] if row_limit and row_limit > 0 else rows
        total = sum(r.cpu_time_total for r in self) or 1.0
        width = max([len("Name")] + [len(r.key) for r in rows]) + 2
        head = f"{'Name':<{width}}{'Self CPU %':>12}{'Self CPU':>12}{'CPU total %':>13}{'CPU total':>12}" \
               f"{'CPU time avg':>14}{'# of Calls':>12}"
        line = "-" * len(head)
        out = [line, head, line]
        for r in rows:
            share = f"{100 * r.cpu_time_total / total:.2f}%"
            out.append(f"{r.key:<{width}}{share:>12}{_us(r.cpu_time_total):>12}{share:>13}"
                       f"{_us(r.cpu_time_total):>12}{_us(r.cpu_time):>14}{r.count:>12}")
        out += [line, f"Self CPU time total: {_us(total)}", ""]
        return "\n".join(([header] if header else []) + out)

    def total_average(self):
        row = _Row("Total")
        row.count = sum(r.count for r in self)
        row.cpu_time_total = sum(r.cpu_time_total for r in self)
        return row


def _us(value):
    return f"{value / 1000:.3f}ms" if value >= 1000 else f"{value:.3f}us"


class profile:
    """Records the engine's ops between __enter__ and __exit__ (arguments PyTorch takes are accepted)."""

    _active = []

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False, with_flops=False,
                 profile_memory=False, with_stack=False, with_modules=False, use_kineto=False, use_cpu=True,
                 experimental_config=None, acc_events=False, custom_trace_id_callback=None):
        self.enabled = enabled
        self._rows = collections.OrderedDict()
        self._last = None

    def __enter__(self):
        if self.enabled:
            self._saved = _state.recorder
            _state.recorder = _Recorder(self, self._saved)
            self._last = time.perf_counter()
            profile._active.append(self)
        return self

    def __exit__(self, *exc):
        if self.enabled:
            _state.recorder = self._saved
            profile._active.remove(self)
        return False

    def _event(self, key, elapsed=None):
        now = time.perf_counter()
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = _Row(key)
        row.count += 1
        row.cpu_time_total += 1e6 * (now - self._last if elapsed is None else elapsed)
        self._last = now

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        return EventList(self._rows.values())

    def table(self, *args, **kwargs):
        return self.key_averages().table(*args, **kwargs)

    def export_chrome_trace(self, path):
        raise NotImplementedError("profile.export_chrome_trace is not supported")

    def __str__(self):
        return self.table()


class record_function:
    """A labelled block: one row in the profiler's table, timed from entry to exit."""

    def __init__(self, name, args=None):
        self.name = name

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        elapsed = time.perf_counter() - self._start
        for prof in profile._active:
            prof._event(self.name, elapsed)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapped
