"""The server's budget: how many workers may live at once, how much memory they may use together,
and idle sessions' workers stopped until their users come back.

- GRADVIEW_MAX_SESSIONS: live workers at once (sessions with a worker, plus the one kept ready).
  Default: what the machine's cores and memory allow (`default_max_sessions`).
- GRADVIEW_TOTAL_MEMORY_MB: resident memory of all workers together. Default: 75% of the machine's.
  A new session is admitted only while the workers use less than this minus what a new worker
  needs; when the running workers grow past it, the largest is stopped (its cell says why).
- GRADVIEW_IDLE_MINUTES: a session whose cells have not run for this long has its worker stopped
  (default 30; 0: never). Its next run starts a worker and re-runs the cells above first.

A session that cannot have a worker is told so ("the server is full, try again") instead of
slowing every other session down.

Each live worker holds a lock on one of GRADVIEW_MAX_SESSIONS slot files in one folder
(GRADVIEW_SLOTS_DIR, by default one per user and port in the temporary folder), and the file
says which processes are the worker's. So the count and the memory are the server's as a whole,
also when `--num-procs` runs it as several processes.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
import weakref

from .confine import processes_of, resident_mb

__all__ = ["ServerFull", "Budget", "Slot", "server_budget", "default_max_sessions", "machine_memory_mb"]

WORKER_MB = 256          # what a session is budgeted: a fresh worker (~90 MiB) and room to work
# sessions a core holds at p95 edit-to-graph <= 1 s: 2 measured on a core half busy with other
# work, about 4 estimated for a free one from the CPU an edit takes (bench/bench_load.py, README)
SESSIONS_PER_CORE = 4


class ServerFull(Exception):
    """No worker can be started now; the message says why, for the page."""


def machine_memory_mb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        return 8192.0


def default_max_sessions(total_memory_mb: float | None = None) -> int:
    total = machine_memory_mb() * 0.75 if total_memory_mb is None else total_memory_mb
    by_memory = int(total // WORKER_MB)
    by_cores = SESSIONS_PER_CORE * (os.cpu_count() or 1)
    return max(1, min(by_memory, by_cores))


class Slot:
    """A held place for one worker: a locked file that names the worker's processes."""

    def __init__(self, budget: "Budget", index: int, fd: int):
        self.budget, self.index, self._fd = budget, index, fd

    def record(self, sid: int | None, cgroup: str | None = None):
        """Say which processes are this slot's worker (its session id and cgroup, if any)."""
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{sid or 0} {cgroup or '-'}\n".encode(), 0)

    def release(self):
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)   # closing drops the lock

    @property
    def held(self):
        return self._fd is not None


class Budget:
    """Slots, memory and idle time for the workers of one server."""

    def __init__(self, max_sessions: int, total_memory_mb: float, idle_s: float | None, folder: str,
                 tick: float = 2.0, worker_mb: float = WORKER_MB):
        self.max_sessions = int(max_sessions)
        self.total_memory_mb = float(total_memory_mb)
        self.idle_s = idle_s or None
        self.folder = folder
        self.tick = tick
        self.worker_mb = worker_mb
        os.makedirs(folder, mode=0o700, exist_ok=True)
        self._runners = weakref.WeakSet()
        self._lock = threading.Lock()
        self._monitor = None

    @classmethod
    def from_env(cls) -> "Budget":
        env = os.environ
        total = float(env.get("GRADVIEW_TOTAL_MEMORY_MB") or machine_memory_mb() * 0.75)
        sessions = int(env.get("GRADVIEW_MAX_SESSIONS") or default_max_sessions(total))
        idle = float(env.get("GRADVIEW_IDLE_MINUTES") or 30) * 60
        folder = env.get("GRADVIEW_SLOTS_DIR") or os.path.join(
            tempfile.gettempdir(), f"gradview-slots-{os.getuid() if hasattr(os, 'getuid') else 0}-{_port()}")
        return cls(sessions, total, idle, folder)

    # -- slots ----------------------------------------------------------------------------------------
    def _path(self, index):
        return os.path.join(self.folder, f"slot-{index:04d}")

    def _try(self, index) -> int | None:
        import fcntl   # POSIX only; the budget is the server's (no worker processes in Pyodide)
        fd = os.open(self._path(index), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            os.close(fd)
            return None

    def take(self, spare: bool = False) -> Slot:
        """A slot for a new worker, or ServerFull. `spare`: a worker started ahead of need, which
        may never take the last free slot (nor the last memory) from a session."""
        held = []   # free slots locked while looking (a spare needs two: it takes the second)
        try:
            for index in range(self.max_sessions):
                fd = self._try(index)
                if fd is None:
                    continue
                held.append(fd)
                if spare and len(held) < 2:
                    continue
                self.ensure_room(2 if spare else 1)
                held.remove(fd)
                slot = Slot(self, index, fd)
                slot.record(None)
                return slot
            raise ServerFull(f"all {self.max_sessions} places are taken")
        finally:
            for fd in held:
                os.close(fd)

    def ensure_room(self, workers: int = 1):
        """ServerFull unless the workers' memory leaves room for `workers` more."""
        used = self.used_mb()
        if used > self.total_memory_mb - self.worker_mb * workers:
            raise ServerFull(f"the sessions running now use {used:,.0f} MiB of the server's "
                             f"{self.total_memory_mb:,.0f} MiB")

    def held_slots(self) -> list[tuple[int, int, str | None]]:
        """(index, worker session id, cgroup) of every slot held now, by any process."""
        out = []
        for index in range(self.max_sessions):
            fd = self._try(index)
            if fd is not None:
                os.close(fd)
                continue
            sid, cgroup = 0, None
            with contextlib.suppress(OSError, ValueError):
                with open(self._path(index)) as f:
                    text = f.read().split()
                if text:
                    sid = int(text[0])
                    cgroup = None if text[1] == "-" else text[1]
            out.append((index, sid, cgroup))
        return out

    def used_mb(self) -> float:
        """Resident memory of every live worker (all their processes), in MiB."""
        held = self.held_slots()
        return resident_mb(processes_of([sid for _, sid, _ in held], [cgroup for _, _, cgroup in held]))

    # -- idle workers and memory ---------------------------------------------------------------------
    def watch(self, runner):
        """Stop `runner`'s worker when idle or when it is the largest past the memory budget."""
        with self._lock:
            self._runners.add(runner)
            if self._monitor is None or not self._monitor.is_alive():
                self._monitor = threading.Thread(target=self._watch_loop, daemon=True, name="gradview-budget")
                self._monitor.start()

    def forget(self, runner):
        with self._lock:
            self._runners.discard(runner)

    def _watch_loop(self):
        while True:
            time.sleep(self.tick)
            with contextlib.suppress(Exception):
                self.check()

    def check(self):
        """One round: stop idle workers, then the largest while over the memory budget."""
        runners = list(self._runners)
        now = time.monotonic()
        if self.idle_s:
            for r in runners:
                if r.has_worker() and now - r.last_active > self.idle_s:
                    r.suspend("idle")
        used = self.used_mb()
        if used > self.total_memory_mb:
            sizes = [(r.resident_mb(), r) for r in runners if r.has_worker()]
            if sizes:
                size, largest = max(sizes, key=lambda x: x[0])
                largest.evict(f"server memory limit of {self.total_memory_mb:,.0f} MiB (the sessions together "
                              f"used {used:,.0f} MiB; this one the most, {size:,.0f} MiB)")


def _port() -> str:
    from .__main__ import option_value  # the launcher reads its command line the same way
    return option_value(sys.argv, "--port") or "5006"


_BUDGET = None
_BUDGET_LOCK = threading.Lock()


def server_budget() -> Budget:
    """This server's budget (from the environment, made once)."""
    global _BUDGET
    with _BUDGET_LOCK:
        if _BUDGET is None:
            _BUDGET = Budget.from_env()
        return _BUDGET
