"""A worker's processes, files and open files are bounded, and ending a worker ends all it started."""
import os
import sys
import threading
import time

import pytest

from gradview.app.confine import WorkerLimits, _cgroup_parent
from gradview.app.runner import WorkerRunner

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process limits are Linux's")

LIMITS = WorkerLimits(processes=24, file_mb=4, open_files=64)


def cells(*codes):
    return [(f"k{i}", code) for i, code in enumerate(codes)]


def alive(pid):
    """Whether `pid` is a process that has not ended (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids, seconds=5):
    deadline = time.time() + seconds
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


@pytest.fixture
def runner():
    r = WorkerRunner(time_limit=2, limits=LIMITS)
    yield r
    r.close()


START_CHILDREN = ("import subprocess\n"
                  "kids = [subprocess.Popen(['sleep', '300']),\n"
                  "        subprocess.Popen(['sleep', '301'], start_new_session=True)]\n"
                  "print(*[k.pid for k in kids])")


def test_children_end_with_a_worker_stopped_at_the_time_limit(runner):
    res = runner.run(cells(START_CHILDREN))
    kids = [int(p) for p in res.results[0].output.split()]
    assert all(alive(p) for p in kids)
    if _cgroup_parent() is None:
        kids = kids[:1]   # without a cgroup, a process in a session of its own is out of reach
    res = runner.run(cells(START_CHILDREN, "while True:\n    pass"), start=1)
    assert res.limit == "time limit of 2 s" and res.restarted
    assert wait_gone(kids) == []
    # the replay started new ones (the cell above ran again); closing the session ends those too
    res = runner.run(cells(START_CHILDREN))
    again = [int(p) for p in res.results[0].output.split()]
    runner.close()
    assert wait_gone(again[:2 if _cgroup_parent() else 1]) == []


def test_reset_ends_the_children(runner):
    res = runner.run(cells(START_CHILDREN))
    kid = int(res.results[0].output.split()[0])
    runner.reset()
    assert wait_gone([kid]) == []


def test_fork_loop_hits_the_process_limit_while_another_session_answers(runner):
    other = WorkerRunner(time_limit=5, limits=LIMITS)
    try:
        other.run(cells("n = 0"))
        box = []
        bomb = threading.Thread(target=lambda: box.append(runner.run(cells(
            "kept = 1", "import os, time\nwhile True:\n    if os.fork() == 0:\n        time.sleep(60)"))))
        bomb.start()
        slowest = 0.0
        while bomb.is_alive():
            t0 = time.perf_counter()
            answer = other.run(cells("n = 0", "n += 1\nprint('still here')"), start=1)
            slowest = max(slowest, time.perf_counter() - t0)
            assert answer.ok and answer.results[0].output == "still here\n"
        bomb.join()
        res = box[0]
        assert res.failed == 1 and res.results[-1].error_kind == "limit" and res.restarted
        assert res.limit == "process limit of 24 processes and threads"
        assert res.results[-1].error.startswith("Process limit hit:")
        assert slowest < 3.0
        after = runner.run(cells("kept = 1", "import os\nprint(kept, len(os.listdir('.')))"), start=1)
        assert after.results[0].output == "1 0\n"
    finally:
        other.close()


def test_a_disk_filling_cell_hits_the_file_size_limit(runner):
    res = runner.run(cells("kept = 2", "with open('big.bin', 'wb') as f:\n    while True:\n        f.write(b'0' * 2**20)"))
    assert res.failed == 1 and res.results[-1].error_kind == "limit" and res.restarted
    assert res.limit == "disk write limit of 4 MiB per file"
    assert res.results[-1].error.startswith("Disk write limit hit:")
    # the replaced worker's folder (and the big file in it) is gone; the new one starts empty
    out = runner.run(cells("kept = 2", "import os\nprint(kept, os.listdir('.'))"), start=1)
    assert out.results[0].output == "2 []\n"


def test_too_many_open_files_is_a_clear_limit(runner):
    res = runner.run(cells("files = [open(f'f{i}', 'w') for i in range(1000)]"))
    assert res.results[-1].error_kind == "limit" and res.limit == "open-file limit of 64"
    assert res.results[-1].error.startswith("Open-file limit hit:")


def test_the_worker_folder_is_private_and_removed(runner):
    res = runner.run(cells("import os\nopen('note.txt', 'w').write('hi')\nprint(os.getcwd())\nprint(os.environ['HOME'])"))
    where, home = res.results[0].output.split()
    assert where == home and os.path.isfile(os.path.join(where, "note.txt"))
    runner.close()
    assert not os.path.exists(where)
