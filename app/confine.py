"""What a worker process may do, and ending everything it started.

A worker (see `gradview.app.runner.WorkerRunner`) starts in a session and process group of its own, in a
private working directory (its HOME and TMPDIR too, removed when the worker ends), under limits:

- processes: at most `processes` tasks (processes and threads) at once. Where a pids cgroup can be
  created (cgroup v1 `pids` writable, as for root on most Linux machines, or a delegated cgroup v2
  folder named by GRADVIEW_CGROUP) each worker gets a cgroup of its own with `pids.max`: that
  holds for root too. Otherwise RLIMIT_NPROC, which counts every process of the user and does not
  bind root: the worker's allowance is the user's count at its start plus `processes`.
- file size: RLIMIT_FSIZE, the largest file the worker may write (`file_mb`).
- open files: RLIMIT_NOFILE (`open_files`).
- address space: RLIMIT_AS, the runner's memory limit (each process of the worker has its own).

A cell that runs into one gets a clear message (`limit_hit`), and its worker is replaced.

Ending a worker kills its process group, then every process still in its cgroup or its session
(a process that made a session of its own escapes the latter, not the former), and reaps the ones
handed to the server as orphans (the server is their subreaper), so none is left, not even as a
zombie holding a process slot.
"""
from __future__ import annotations

import atexit
import contextlib
import errno
import itertools
import os
import shutil
import signal
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass

__all__ = ["WorkerLimits", "Confinement", "limit_hit", "apply_limits", "resident_mb", "processes_of"]

PIDS_V1 = "/sys/fs/cgroup/pids"


@dataclass(frozen=True)
class WorkerLimits:
    """Per-worker limits besides time and memory (None: no limit)."""
    processes: int | None = 64       # tasks at once, threads included
    file_mb: int | None = 1024       # the largest file a worker may write
    open_files: int | None = 1024

    @classmethod
    def from_env(cls) -> "WorkerLimits":
        """GRADVIEW_PROCESS_LIMIT, GRADVIEW_FILE_LIMIT_MB, GRADVIEW_OPEN_FILES_LIMIT (0: no limit)."""
        def read(name, default):
            value = os.environ.get(name)
            return default if value in (None, "") else (int(value) or None)
        return cls(processes=read("GRADVIEW_PROCESS_LIMIT", cls.processes),
                   file_mb=read("GRADVIEW_FILE_LIMIT_MB", cls.file_mb),
                   open_files=read("GRADVIEW_OPEN_FILES_LIMIT", cls.open_files))


# ------------------------------------------------------------------------------------------------
# /proc

def _stat(pid) -> tuple[str, int, int] | None:
    """(state, parent pid, session id) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()   # the name may hold spaces and parentheses
    return fields[0], int(fields[1]), int(fields[3])


def _pids():
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit():
                yield int(name)


def processes_of(sids=(), cgroups=()) -> set[int]:
    """Live processes (zombies left out) in these sessions or cgroups: the processes of workers."""
    found = set()
    for path in cgroups:
        if path:
            found.update(_cgroup_processes(path))
    sids = {s for s in sids if s}
    if sids:
        for pid in _pids():
            st = _stat(pid)
            if st is not None and st[2] in sids and st[0] != "Z":
                found.add(pid)
    return found


def _user_tasks(uid: int) -> int:
    """Tasks (processes and threads, zombies too) of user `uid`: what RLIMIT_NPROC counts."""
    n = 0
    for pid in _pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                n += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return n


def resident_mb(pids) -> float:
    """Resident memory of these processes together, in MiB."""
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1])
    return total * page / 2**20


# ------------------------------------------------------------------------------------------------
# cgroups

def _writable_dir(path) -> bool:
    return os.path.isdir(path) and os.access(path, os.W_OK)


def _cgroup_parent() -> str | None:
    """Where worker cgroups go: GRADVIEW_CGROUP (a cgroup folder with the pids controller that this
    user may write), else a folder in a writable cgroup v1 pids hierarchy, else None. Cached."""
    global _PARENT
    if _PARENT is not False:
        return _PARENT
    parent = None
    named = os.environ.get("GRADVIEW_CGROUP")
    if named:
        parent = named if _writable_dir(named) else None
    elif sys.platform.startswith("linux") and os.path.isfile(os.path.join(PIDS_V1, "cgroup.procs")):
        own = "/"
        with contextlib.suppress(OSError):
            for line in open("/proc/self/cgroup"):
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if "pids" in controllers.split(","):
                    own = path
        base = os.path.join(PIDS_V1, own.lstrip("/"))
        if _writable_dir(base):
            _remove_stale_cgroups(base)
            parent = os.path.join(base, f"gradview-{os.getpid()}")
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError:
                parent = None
    _PARENT = parent
    return parent


_PARENT: str | None | bool = False
_names = itertools.count()


def _new_cgroup(processes: int) -> str | None:
    parent = _cgroup_parent()
    if parent is None:
        return None
    path = os.path.join(parent, f"worker-{next(_names)}")
    try:
        os.mkdir(path)
        with open(os.path.join(path, "pids.max"), "w") as f:
            f.write(str(processes))
        return path
    except OSError:
        with contextlib.suppress(OSError):
            os.rmdir(path)
        return None


def _cgroup_processes(path) -> list[int]:
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def _remove_cgroup_tree(path):
    """Kill what is left in a server's worker cgroups and remove them."""
    with contextlib.suppress(OSError):
        for name in os.listdir(path):
            child = os.path.join(path, name)
            if os.path.isdir(child):
                for _ in range(100):
                    left = _cgroup_processes(child)
                    if not left:
                        break
                    for pid in left:
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                    time.sleep(0.01)
                with contextlib.suppress(OSError):
                    os.rmdir(child)
        os.rmdir(path)


def _remove_stale_cgroups(base):
    """Cgroups of servers that are gone (killed before they could clean up)."""
    with contextlib.suppress(OSError):
        for name in os.listdir(base):
            if name.startswith("gradview-") and name[9:].isdigit() and _stat(int(name[9:])) is None:
                _remove_cgroup_tree(os.path.join(base, name))


def _remove_parent_cgroup():
    if isinstance(_PARENT, str):
        _remove_cgroup_tree(_PARENT)


def _become_subreaper():
    """Orphans of the workers come to this process (not init, which may never reap them), so that
    ending a worker can reap them."""
    global _SUBREAPER
    if _SUBREAPER or not sys.platform.startswith("linux"):
        return
    _SUBREAPER = True
    with contextlib.suppress(Exception):
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


_SUBREAPER = False


# ------------------------------------------------------------------------------------------------
# one worker's confinement

class Confinement:
    """The working directory, cgroup and process group of one worker process, from spawn to end."""

    def __init__(self, limits: WorkerLimits):
        self.limits = limits
        self.workdir = None
        self.cgroup = None
        self.pid = None
        _LIVE.add(self)

    def prepare(self, env: dict) -> dict:
        """Before the worker starts: its folder and cgroup; the arguments for subprocess.Popen (a new
        session, the folder as working directory, the environment that tells the worker its limits)."""
        _remove_stale_folders()
        self.workdir = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
        if self.limits.processes:
            self.cgroup = _new_cgroup(self.limits.processes)
        env = dict(env, HOME=self.workdir, TMPDIR=self.workdir)
        env["GRADVIEW_WORKER_LIMITS"] = ",".join(
            str(v or 0) for v in (self.limits.processes, self.limits.file_mb, self.limits.open_files))
        env.pop("GRADVIEW_WORKER_CGROUP", None)
        if self.cgroup is not None:
            env["GRADVIEW_WORKER_CGROUP"] = self.cgroup   # the cgroup, not RLIMIT_NPROC, counts
        return {"start_new_session": True, "cwd": self.workdir, "env": env}

    def started(self, pid: int):
        """Right after the worker started (before it runs any cell): put it in its cgroup."""
        _become_subreaper()
        self.pid = pid
        if self.cgroup is not None:
            try:
                with open(os.path.join(self.cgroup, "cgroup.procs"), "w") as f:
                    f.write(str(pid))
            except OSError:
                self._remove_cgroup()

    def processes(self) -> list[int]:
        """The worker's live processes."""
        if self.pid is None:
            return []
        return sorted(processes_of([self.pid], [self.cgroup]))

    def end(self, proc=None, timeout: float = 5.0):
        """Kill the worker and every process it started; reap them; remove its folder and cgroup."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            killed = set()
            deadline = time.monotonic() + timeout
            while True:
                left = [p for p in self.processes() if p != os.getpid()]
                if not left or time.monotonic() > deadline:
                    break
                for p in left:
                    with contextlib.suppress(OSError):
                        os.kill(p, signal.SIGKILL)
                killed.update(left)
                time.sleep(0.01)
            if proc is not None:
                with contextlib.suppress(Exception):
                    proc.wait(timeout=timeout)
            self._reap(pid, killed)
        self._remove_cgroup()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        self.pid = None

    def _reap(self, sid, killed):
        """Collect the exit status of the worker's orphans handed to this process (never the
        worker's own, which its Popen waits for)."""
        me = os.getpid()
        candidates = set(killed)
        for pid in _pids():
            st = _stat(pid)
            if st is not None and st[1] == me and st[2] == sid:
                candidates.add(pid)
        candidates.discard(sid)
        deadline = time.monotonic() + 2.0
        for pid in candidates:
            while True:
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    break        # not this process's child (or reaped already)
                if done or time.monotonic() > deadline:
                    break
                time.sleep(0.005)

    def _remove_cgroup(self):
        if self.cgroup is not None:
            deadline = time.monotonic() + 2.0
            while True:
                try:
                    os.rmdir(self.cgroup)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
            self.cgroup = None


_LIVE = weakref.WeakSet()   # confinements of this process, ended when it exits
FOLDER_PREFIX = "gradview-worker-"
_SWEPT = False


def _remove_stale_folders():
    """Once per process: worker folders left by servers that are gone (killed before they could
    clean up), named after the server's process id."""
    global _SWEPT
    if _SWEPT:
        return
    _SWEPT = True
    root = tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for name in os.listdir(root):
            owner = name[len(FOLDER_PREFIX):].split("-", 1)[0]
            if name.startswith(FOLDER_PREFIX) and owner.isdigit() and _stat(int(owner)) is None:
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _end_all():
    """At exit: end the workers still running (their processes, folders and cgroups)."""
    for confinement in list(_LIVE):
        with contextlib.suppress(Exception):
            confinement.end(timeout=1.0)
    _remove_parent_cgroup()


atexit.register(_end_all)


# ------------------------------------------------------------------------------------------------
# inside the worker

def apply_limits(memory_limit_mb=None):
    """Called first thing in a worker: set its resource limits from what the server passed."""
    import resource
    processes, file_mb, open_files = (int(x) or None for x in
                                      os.environ.get("GRADVIEW_WORKER_LIMITS", "0,0,0").split(","))
    cgroup = os.environ.pop("GRADVIEW_WORKER_CGROUP", None)

    def cap(which, value):
        with contextlib.suppress(ValueError, OSError):
            hard = resource.getrlimit(which)[1]
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))

    if memory_limit_mb:
        cap(resource.RLIMIT_AS, int(memory_limit_mb) * 2**20)
    if file_mb:
        cap(resource.RLIMIT_FSIZE, int(file_mb) * 2**20)
    if open_files:
        cap(resource.RLIMIT_NOFILE, int(open_files))
    if processes and not cgroup and os.getuid() != 0 and os.path.isdir("/proc"):
        # the user's tasks are counted from /proc: without it (macOS) there is no fair allowance to set
        cap(resource.RLIMIT_NPROC, _user_tasks(os.getuid()) + processes)
    global _LIMITS
    _LIMITS = (processes, file_mb, open_files, cgroup)


_LIMITS = None


def _at_process_limit(processes, cgroup) -> bool:
    """Whether a failed start of a process (EAGAIN) came from the process limit."""
    if cgroup:
        try:
            with open(os.path.join(cgroup, "pids.current")) as f:
                return int(f.read()) >= processes - 1
        except (OSError, ValueError):
            return True
    import resource
    soft = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    return soft != resource.RLIM_INFINITY and _user_tasks(os.getuid()) >= soft - 1


def limit_hit(exc: BaseException) -> tuple[str, str] | None:
    """(the limit in words, the message for the cell) when `exc` (or what caused it) is a worker
    limit being hit, else None."""
    if _LIMITS is None:
        return None
    processes, file_mb, open_files, cgroup = _LIMITS
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError):
            if exc.errno == errno.EAGAIN and processes and _at_process_limit(processes, cgroup):
                what = f"process limit of {processes} processes and threads"
                return what, (f"Process limit hit: the cell started more processes than a session may have "
                              f"at once ({processes}, threads included).")
            if exc.errno == errno.EFBIG and file_mb:
                what = f"disk write limit of {file_mb:,} MiB per file"
                return what, (f"Disk write limit hit: a file the cell wrote grew past the {file_mb:,} MiB "
                              f"a session may write to one file.")
            if exc.errno == errno.EMFILE and open_files:
                what = f"open-file limit of {open_files:,}"
                return what, (f"Open-file limit hit: the cell had more files open at once than a session "
                              f"may ({open_files:,}).")
        exc = exc.__cause__ or exc.__context__
    return None
