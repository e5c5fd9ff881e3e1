"""The server's budget: places for workers, memory, idle workers stopped and restored."""
import os
import sys
import time

import pytest

from gradview.app.capacity import Budget, ServerFull, default_max_sessions
from gradview.app.runner import WorkerRunner

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="slots are POSIX file locks")


def cells(*codes):
    return [(f"k{i}", code) for i, code in enumerate(codes)]


@pytest.fixture
def budget(tmp_path):
    return Budget(max_sessions=2, total_memory_mb=100_000, idle_s=None, folder=str(tmp_path / "slots"), tick=0.1)


def wait_for(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_places_are_counted_and_given_back(budget):
    a, b = budget.take(), budget.take()
    with pytest.raises(ServerFull, match="all 2 places are taken"):
        budget.take()
    assert [i for i, _, _ in budget.held_slots()] == [0, 1]
    a.release()
    c = budget.take()
    assert c.index == 0
    # another server process (--num-procs) sees the same places: the lock is on the file
    import subprocess
    probe = ("import sys; from gradview.app.capacity import Budget, ServerFull\n"
             "try:\n    Budget(2, 100_000, None, sys.argv[1]).take()\nexcept ServerFull as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", probe, budget.folder], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert out.stdout.strip() == "all 2 places are taken", out.stderr
    b.release()
    c.release()
    assert budget.held_slots() == []


def test_a_spare_never_takes_the_last_place(budget):
    first = budget.take()
    with pytest.raises(ServerFull):
        budget.take(spare=True)   # one place left: it is a session's
    first.release()
    budget2 = Budget(3, 100_000, None, budget.folder + "-3")
    spare = budget2.take(spare=True)
    assert spare.index == 1 and len(budget2.held_slots()) == 1


def test_memory_budget_refuses_new_workers(tmp_path):
    tight = Budget(max_sessions=10, total_memory_mb=300, idle_s=None, folder=str(tmp_path / "s"), worker_mb=256)
    r = WorkerRunner(time_limit=5, slot=tight.take())
    try:
        assert r.run(cells("x = 1")).ok
        assert tight.used_mb() > 44   # a started worker's Python and NumPy
        with pytest.raises(ServerFull, match="MiB of the server's 300 MiB"):
            tight.take()
    finally:
        r.close()
    tight.take().release()


def test_defaults_come_from_the_machine(monkeypatch):
    for name in ("GRADVIEW_MAX_SESSIONS", "GRADVIEW_TOTAL_MEMORY_MB", "GRADVIEW_IDLE_MINUTES", "GRADVIEW_SLOTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    b = Budget.from_env()
    assert b.max_sessions == default_max_sessions(b.total_memory_mb) >= 1 and b.total_memory_mb > 0
    assert b.idle_s == 30 * 60
    monkeypatch.setenv("GRADVIEW_MAX_SESSIONS", "7")
    monkeypatch.setenv("GRADVIEW_IDLE_MINUTES", "0.5")
    b = Budget.from_env()
    assert b.max_sessions == 7 and b.idle_s == 30


def test_an_idle_worker_is_stopped_and_restored_when_its_user_returns(budget):
    budget.idle_s = 0.5
    r = WorkerRunner(time_limit=10, slot=budget.take())
    budget.watch(r)
    try:
        assert r.run(cells("import torch\na = torch.tensor(41.0)")).ok
        pid = r.pid
        assert wait_for(lambda: not r.has_worker() and not r.slot.held), "the idle worker was not stopped"
        assert r.pid is None and not r.slot.held and budget.held_slots() == []
        res = r.run(cells("import torch\na = torch.tensor(41.0)", "print(int(a) + 1)"), start=1)
        assert res.ok and res.results[0].output == "42\n"
        assert "stopped while idle" in res.notes[0] and "re-running the 1 cell(s) above" in res.notes[0]
        assert r.pid not in (None, pid) and r.slot.held
    finally:
        r.close()
    assert budget.held_slots() == []


def test_a_returning_session_is_told_when_the_server_filled_up_meanwhile(tmp_path):
    one = Budget(max_sessions=1, total_memory_mb=100_000, idle_s=None, folder=str(tmp_path / "one"))
    r = WorkerRunner(time_limit=10, slot=one.take())
    try:
        r.run(cells("kept = 5"))
        assert r.suspend("idle")
        newcomer = one.take()
        res = r.run(cells("kept = 5", "print(kept)"), start=1)
        assert res.failed == 1 and res.limit == "server full"
        assert res.results[0].error.startswith("The server is full (all 1 places are taken)")
        newcomer.release()
        res = r.run(cells("kept = 5", "print(kept)"), start=1)
        assert res.ok and res.results[0].output == "5\n"
    finally:
        r.close()


def test_past_the_memory_budget_the_largest_run_is_stopped(tmp_path):
    b = Budget(max_sessions=4, total_memory_mb=100_000, idle_s=None, folder=str(tmp_path / "m"), tick=0.2)
    big, small = WorkerRunner(time_limit=20, slot=b.take()), WorkerRunner(time_limit=20, slot=b.take())
    b.watch(big)
    b.watch(small)
    try:
        small.run(cells("x = 1"))
        big.run(cells("x = 1"))
        b.total_memory_mb = b.used_mb() + 150   # room for what runs now, not for 300 MiB more
        res = big.run(cells("x = 1", "import numpy as np\nblock = np.ones(300 * 2**20 // 8)\n"
                                     "while True:\n    pass"))
        assert res.failed == 1 and res.results[-1].error_kind == "limit" and res.restarted
        assert res.results[-1].error.startswith("Server memory limit hit:")
        assert small.has_worker() and small.run(cells("x = 1", "print(x)"), start=1).results[0].output == "1\n"
    finally:
        big.close()
        small.close()


def test_past_the_limit_a_new_visitor_gets_the_server_full_page(tmp_path):
    """A real server with room for one session: the second visitor is told to try again, and gets in
    once the first has left."""
    import asyncio
    pytest.importorskip("panel")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from bench.bench_load import ProtocolSession, ServerFullError, free_port, start_server, stop_server

    proc, url = start_server(free_port(), {"GRADVIEW_MAX_SESSIONS": "1", "GRADVIEW_SLOTS_DIR": str(tmp_path / "slots"),
                                           "GRADVIEW_IDLE_MINUTES": "0"}, session_lifetime_ms=1000)

    async def visit():
        first = await ProtocolSession.open(url)
        assert first.editors and first.nodes_id and first.title == "gradview"
        with pytest.raises(ServerFullError) as full:
            await ProtocolSession.open(url)
        assert "The server is full, try again in a few minutes" in str(full.value)
        assert "all 1 places are taken" in str(full.value)
        first.close()   # the first visitor leaves: once the server drops the session, the place is free
        deadline = time.monotonic() + 30
        while True:
            try:
                second = await ProtocolSession.open(url)
                break
            except ServerFullError:
                assert time.monotonic() < deadline, "the place of a closed session never came back"
                await asyncio.sleep(0.5)
        assert second.editors
        second.close()

    try:
        asyncio.run(asyncio.wait_for(visit(), 120))
    finally:
        stop_server(proc)
