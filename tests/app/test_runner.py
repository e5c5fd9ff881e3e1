"""The cell runner: namespace, torch mapping, output, errors, graphs, limits and isolation."""
import pickle
import sys

import pytest

from gradview.app.runner import InProcessRunner, Settings, WorkerRunner, cell_filename, make_runner


def cells(*codes):
    return [(f"k{i}", code) for i, code in enumerate(codes)]


@pytest.fixture(params=["inprocess", "worker"])
def runner(request):
    r = InProcessRunner(time_limit=5) if request.param == "inprocess" else WorkerRunner(time_limit=5)
    yield r
    r.close()


def test_torch_is_the_engine_in_cells_only(runner):
    before = sys.modules.get("torch")
    res = runner.run(cells("import torch\nimport torch.nn.functional as F\nfrom torch import tensor\n"
                           "print(torch.__name__, F.__name__, tensor.__module__)"))
    assert res.ok, res.results[-1].error
    assert res.results[0].output.split() == ["gradview.engine", "gradview.engine.nn.functional", "gradview.engine.creation"]
    assert sys.modules.get("torch") is before  # nothing installed under the name torch here
    real = pytest.importorskip("torch")
    assert "engine" not in real.__name__ and hasattr(real, "_C")


def test_numpy_and_missing_torch_modules(runner):
    res = runner.run(cells("import numpy as np\nprint(np.arange(3).sum())"))
    assert res.results[0].output == "3\n"
    res = runner.run(cells("import torch.not_a_module"))
    assert "No module named 'torch.not_a_module'" in res.results[0].error


def test_namespace_carries_across_cells_and_runs(runner):
    res = runner.run(cells("a = 5", "b = a * 2", "print(a + b)"))
    assert res.ok and res.results[2].output == "15\n"
    # re-running from cell 2 sees what cell 0 defined earlier
    res = runner.run(cells("a = 5", "b = a * 3", "print(a + b)"), start=1)
    assert res.start == 1 and [r.cell_id for r in res.results] == ["k1", "k2"]
    assert res.results[1].output == "20\n"


def test_a_cell_runs_as_a_script_given_no_arguments(runner, monkeypatch):
    # the worker inherits the server's arguments (`--port 5006 ...`): a script's argparse must not see them
    monkeypatch.setattr(sys, "argv", ["server", "--port", "5006", "--address", "127.0.0.1"])
    code = ("import argparse, sys\n"
            "parser = argparse.ArgumentParser()\n"
            "parser.add_argument('--seed', type=int, default=3)\n"
            "print(parser.parse_args().seed, len(sys.argv))")
    res = runner.run(cells(code))
    assert res.ok, res.results[-1].error
    assert res.results[0].output == "3 1\n"
    assert sys.argv == ["server", "--port", "5006", "--address", "127.0.0.1"]


def test_stdout_and_stderr_per_cell(runner):
    res = runner.run(cells("print('one')", "import sys\nprint('two', file=sys.stderr)", "x = 1"))
    assert [r.output for r in res.results] == ["one\n", "two\n", ""]


def test_syntax_error_reports_line_and_stops(runner):
    res = runner.run(cells("x = 1", "y = 2\nz = (\n", "print('never')"))
    assert res.failed == 1 and len(res.results) == 2
    err = res.results[1]
    assert err.error_kind == "syntax" and err.error_line in (2, 3)
    assert "SyntaxError" in err.error and "Cell [2]" in err.error
    assert "<cell" not in err.error


def test_exception_traceback_is_cut_to_cells(runner):
    code_a = "def f(v):\n    return v.nonexistent\n"
    code_b = "import torch\nx = torch.ones(2)\nf(x)\n"
    res = runner.run(cells(code_a, code_b))
    err = res.results[1]
    assert err.error_kind == "exception" and err.error_line == 3
    lines = err.error.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "Cell [2], line 3, in <module>" in err.error and "Cell [1], line 2, in f" in err.error
    assert "AttributeError" in lines[-1]
    for hidden in ("runner.py", "engine/", "site-packages", "exec("):
        assert hidden not in err.error


def test_graph_is_captured_per_cell(runner):
    res = runner.run(cells("import torch\nx = torch.tensor(2.0, requires_grad=True)",
                           "y = x\nfor i in range(3):\n    y = y * x\n"))
    assert res.ok
    graph = res.results[1].graph
    nodes = graph["steps"][-1]["nodes"]
    assert [n["kind"] for n in nodes] == ["leaf", "op", "op", "output"]
    assert [n["label"] for n in nodes[1:]] == ["mul", "mul", "mul"]
    # the leaf is where the cell above made it; the ops where this cell ran them
    assert (nodes[0]["label"], nodes[0]["file"], nodes[0]["line"]) == ("x", cell_filename("k0"), 2)
    assert all((n["file"], n["line"]) == (cell_filename("k1"), 3) for n in nodes[1:])
    # each node names the cell it came from, and the app reads the cell from that
    from gradview.app.state import node_cell_line
    assert [n["source"] for n in nodes] == ["k0", "k1", "k1", "k1"]
    assert [node_cell_line(n) for n in nodes] == [("k0", 2), ("k1", 3), ("k1", 3), ("k1", 3)]


CLASSIC = ("import torch\nx = torch.ones(2, 2, requires_grad=True)\ny = x + 2\nz = y * y * 3\n"
           "out = z.mean()\nout.backward()\n")


def test_the_runner_explains_a_gradient_from_the_steps_it_holds(runner):
    res = runner.run(cells(CLASSIC))
    assert res.ok
    step = res.results[0].graph["steps"][-1]
    x = next(n for n in step["nodes"] if n["label"] == "x")
    answer = runner.explain("k0", step["index"], x["id"])
    assert "error" not in answer, answer
    assert answer["target"] == "x" and answer["path_count"] == 2
    assert answer["total"]["data"] == [[4.5, 4.5], [4.5, 4.5]] == x["grad"]["data"]
    assert [p["contribution"]["data"] for p in answer["paths"]] == [[[2.25] * 2] * 2] * 2
    rules = [s["rule"] for s in answer["paths"][0]["steps"]]
    assert rules[0].startswith("grad_self = ") and "MeanBackward0" == answer["paths"][0]["steps"][0]["node"]
    # the two uses of y in y * y join at y's node: 2.25 + 2.25
    [join] = answer["joins"]
    assert join["node"] == "AddBackward0" and join["sum"]["data"] == [[4.5] * 2] * 2
    assert [p["grad"]["data"] for p in join["parts"]] == [[[2.25] * 2] * 2] * 2
    # an intermediate node: y's gradient is the same here (y = x + 2)
    y = next(n for n in step["nodes"] if n["label"] == "add")
    assert runner.explain("k0", step["index"], y["id"])["total"]["data"] == [[4.5] * 2] * 2


def test_the_runner_says_why_it_cannot_explain(runner):
    res = runner.run(cells("import torch\nx = torch.ones(2, requires_grad=True)\ny = x * 2\n", CLASSIC))
    assert res.ok
    step = res.results[0].graph["steps"][-1]
    assert "no backward()" in runner.explain("k0", step["index"], step["nodes"][0]["id"])["error"]
    assert "run it again" in runner.explain("k9", 0, "0")["error"]        # a cell that never ran
    assert "no gradient" in runner.explain("k1", res.results[1].graph["steps"][-1]["index"], "999")["error"]
    runner.reset()
    assert "error" in runner.explain("k1", 0, "0")                       # the names are gone, the capture too


def test_graph_up_to_failing_op_is_kept(runner):
    res = runner.run(cells("import torch\nx = torch.ones(2, requires_grad=True)\ny = x * 2\nz = y.exp()\n"
                           "bad = z @ torch.ones(3)\n"))
    err = res.results[0]
    assert err.error_kind == "exception" and err.error_line == 5
    labels = [n["label"] for n in err.graph["steps"][-1]["nodes"]]
    assert labels[:3] == ["x", "mul", "exp"]


def test_training_loop_steps_and_losses(runner):
    code = ("import torch\nw = torch.ones(3, requires_grad=True)\n"
            "for i in range(30):\n    loss = (w * w).sum()\n    loss.backward()\n"
            "    with torch.no_grad():\n        w -= 0.1 * w.grad\n    w.grad = None\n")
    res = runner.run(cells(code), settings=Settings(summary_size=8))
    steps = res.results[0].graph["steps"]
    closed = [s for s in steps if s["closed"]]
    assert len(closed) == 30
    losses = [s["loss"] for s in closed]
    assert losses == sorted(losses, reverse=True)
    assert sum(1 for s in steps if s["nodes"]) <= 21  # keep_steps=20 detailed, plus the open one


def test_settings_dtype_and_device(runner):
    res = runner.run(cells("import torch\nprint(torch.get_default_dtype(), DEVICE)\nprint(torch.ones(1).dtype)"),
                     settings=Settings(dtype="float64"))
    assert res.results[0].output.split() == ["torch.float64", "cpu", "torch.float64"]
    res = runner.run(cells("import torch\nprint(torch.get_default_dtype())"), settings=Settings(dtype="float32"))
    assert res.results[0].output.strip() == "torch.float32"


def test_cuda_setting_puts_new_tensors_and_graph_on_the_gpu():
    """With a cuda device (here the CuPy look-alike), the device control makes it the default device:
    plain `torch.randn(...)` lands there, gradients stay there and the graph shows it."""
    from gradview import engine
    from tests.conftest import emulated_cuda
    runner = InProcessRunner(time_limit=5)
    code = cells("import torch\nx = torch.randn(3, requires_grad=True)\ny = (x.tanh() * 2).sum()\ny.backward()\n"
                 "print(x.device, x.grad.device, DEVICE, torch.zeros(1, device='cpu').device)")
    try:
        with emulated_cuda():
            res = runner.run(code, settings=Settings(device="cuda"))
            assert res.ok, res.results[0].error
            assert res.results[0].output.split() == ["cuda:0", "cuda:0", "cuda", "cpu"]
            nodes = res.results[0].graph["steps"][0]["nodes"]
            assert {n["device"] for n in nodes if n["op"] != "backward"} == {"cuda:0"}
            res = runner.run(code, settings=Settings(device="cpu"))
            assert res.results[0].output.split()[:2] == ["cpu", "cpu"]
    finally:
        runner.close()
        engine.set_default_device(None)


def test_same_seed_each_run(runner):
    code = cells("import torch\nprint(torch.randn(2).tolist())")
    assert runner.run(code).results[0].output == runner.run(code).results[0].output


def test_summaries_not_arrays(runner):
    res = runner.run(cells("import torch\nx = torch.randn(1000, 1000, requires_grad=True)\ny = (x * 2).sum()\n"
                           "y.backward()"), settings=Settings(summary_size=64))
    payload = pickle.dumps(res)
    assert len(payload) < 200_000
    x = next(n for n in res.results[0].graph["steps"][0]["nodes"] if n["label"] == "x")
    assert x["value"]["full"] is False and x["value"]["numel"] == 1_000_000 and "data" not in x["value"]


def test_cell_cannot_stop_the_runner(runner):
    res = runner.run(cells("raise SystemExit(3)", "print('after')"))
    assert res.results[0].error_kind == "exception" and "exit" in res.results[0].error
    res = runner.run(cells("x = input('name?')"))
    assert "input()" in res.results[0].error
    res = runner.run(cells("print('still here')"))
    assert res.ok and res.results[0].output == "still here\n"


def test_in_process_time_limit_stops_loops():
    r = InProcessRunner(time_limit=0.5)
    res = r.run(cells("n = 1", "while True:\n    n += 1\n"))
    assert res.failed == 1 and res.results[1].error_kind == "limit"
    assert "time limit" in res.results[1].error and res.limit == "time limit of 0.5 s"
    assert res.results[1].error_line in (1, 2)
    assert r.run(cells("print(n > 1)")).results[0].output == "True\n"  # namespace survives


def test_worker_overrun_is_killed_restarted_and_rebuilt():
    r = WorkerRunner(time_limit=1.0)
    try:
        first = r.run(cells("a = 41", "print('ok')"))
        pid = r.pid
        assert first.ok
        res = r.run(cells("a = 41", "b = a + 1", "while True:\n    pass\n"))
        assert res.failed == 2 and res.restarted and res.limit == "time limit of 1 s"
        assert res.results[2].error_kind == "limit" and "Time limit hit" in res.results[2].error
        assert [x.output for x in res.results[:2]] == ["", ""]
        assert r.pid != pid and r.restarts == 1
        assert any("rebuilt" in n for n in res.notes)
        after = r.run(cells("a = 41", "b = a + 1", "print(a, b)"), start=2)
        assert after.ok and after.results[0].output == "41 42\n"
    finally:
        r.close()


def test_worker_crash_is_survived():
    r = WorkerRunner(time_limit=5)
    try:
        r.run(cells("keep = 'kept'"))
        res = r.run(cells("keep = 'kept'", "import os\nos._exit(7)"))
        assert res.results[-1].error_kind == "crash" and "exit code 7" in res.results[-1].error
        assert r.run(cells("keep = 'kept'", "print(keep)"), start=1).results[0].output == "kept\n"
    finally:
        r.close()


def test_worker_sessions_are_isolated():
    a, b = WorkerRunner(), WorkerRunner()
    try:
        a.run(cells("v = 'from a'"))
        b.run(cells("v = 'from b'"))
        assert a.run(cells("print(v)")).results[0].output == "from a\n"
        assert b.run(cells("print(v)")).results[0].output == "from b\n"
        b.reset()
        assert "NameError" in b.run(cells("print(v)")).results[0].error
    finally:
        a.close()
        b.close()


def test_make_runner_choice(monkeypatch):
    monkeypatch.setenv("GRADVIEW_RUNNER", "inprocess")
    monkeypatch.setenv("GRADVIEW_TIME_LIMIT", "3")
    r = make_runner()
    assert isinstance(r, InProcessRunner) and r.time_limit == 3
    r = make_runner("worker", time_limit=2)
    try:
        assert isinstance(r, WorkerRunner) and r.time_limit == 2
    finally:
        r.close()


def test_workers_have_no_address_space_cap_where_cuda_is(monkeypatch):
    """CUDA reserves more address space than any sane cap: with a GPU the default cap is off."""
    from gradview.app.runner import DEFAULT_MEMORY_LIMIT_MB, default_memory_limit_mb
    from tests.conftest import emulated_cuda
    monkeypatch.delenv("GRADVIEW_MEMORY_LIMIT_MB", raising=False)
    with emulated_cuda():
        assert default_memory_limit_mb() is None
        r = make_runner("worker", time_limit=2)
        try:
            assert r.memory_limit_mb is None
        finally:
            r.close()
        monkeypatch.setenv("GRADVIEW_MEMORY_LIMIT_MB", "2048")
        r = make_runner("worker", time_limit=2)
        try:
            assert r.memory_limit_mb == 2048  # an explicit setting still wins
        finally:
            r.close()
    from gradview import engine
    assert default_memory_limit_mb() == (None if engine.cuda.is_available() else DEFAULT_MEMORY_LIMIT_MB)


def test_long_output_keeps_head_and_tail(runner):
    res = runner.run(cells("for i in range(200000):\n    print(i)"))
    out = res.results[0].output
    assert len(out) < 25_000 and out.startswith("0\n1\n") and out.endswith("199999\n")
    assert "characters of output left out" in out


def test_huge_graphs_are_cut_to_a_node_budget(runner):
    res = runner.run(cells("import torch\nx = torch.ones(2, requires_grad=True)\ny = x\n"
                           "for i in range(300):\n    y = y * 1.1\n"), settings=Settings(max_nodes=100))
    step = res.results[0].graph["steps"][-1]
    # 99 nodes kept (the last ones, nearest the result) and one standing for the 202 left out
    assert len(step["nodes"]) == 100 and step["nodes_left_out"] == 202 and step["node_count"] == 301
    assert step["nodes"][0]["kind"] == "elided" and step["nodes"][-1]["kind"] == "output"
    ids = {n["id"] for n in step["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in step["edges"])


@pytest.mark.parametrize("kind", ["inprocess", "worker"])
def test_interrupt_stops_a_run(kind):
    import threading
    import time
    r = InProcessRunner(time_limit=30) if kind == "inprocess" else WorkerRunner(time_limit=30)
    try:
        r.run(cells("kept = 7"))
        box = []
        t = threading.Thread(target=lambda: box.append(r.run(cells("kept = 7", "while True:\n    pass"), start=1)))
        t.start()
        time.sleep(0.8)
        t0 = time.perf_counter()
        r.interrupt()
        t.join(10)
        assert box and time.perf_counter() - t0 < 5
        res = box[0]
        assert res.failed == 1 and res.results[-1].error_kind == "limit" and res.limit == "stopped"
        assert "Stopped" in res.results[-1].error
        assert r.run(cells("kept = 7", "print(kept)"), start=1).results[0].output == "7\n"
    finally:
        r.close()


def _run_in_thread(r, *args, **kwargs):
    import threading
    box = []
    t = threading.Thread(target=lambda: box.append(r.run(*args, **kwargs)), daemon=True)
    t.start()
    return t, box


def test_a_stop_ends_the_cell_in_place_at_once_and_the_worker_keeps_its_names():
    import time
    r = WorkerRunner(time_limit=30)
    try:
        r.run(cells("kept = 7"))
        pid = r.pid
        t, box = _run_in_thread(r, cells("kept = 7", "n = 0\nwhile True:\n    n += 1", "after = 1"), start=1)
        time.sleep(0.8)
        t0 = time.perf_counter()
        r.interrupt()
        t.join(5)
        took = time.perf_counter() - t0
        assert box, "the run did not end"
        res = box[0]
        assert took < 0.4, f"stopping took {took:.2f} s"
        assert res.stopped and res.limit == "stopped" and res.failed == 1 and not res.restarted
        assert res.results[-1].error_kind == "limit" and res.results[-1].error.startswith("Stopped by request.")
        assert len(res.results) == 1     # the cell after the stopped one did not run
        assert r.pid == pid              # the same worker: no restart, no replay
        out = r.run(cells("kept = 7", "print(kept, n > 0, 'after' in dir())"), start=1).results[0].output
        assert out == "7 True False\n"
    finally:
        r.close()


def test_a_cell_catching_keyboard_interrupt_ends_and_the_cells_after_it_do_not_run():
    import time
    r = WorkerRunner(time_limit=30)
    try:
        r.run(cells("pass"))   # the worker is up
        code = "try:\n    while True:\n        pass\nexcept KeyboardInterrupt:\n    print('caught')"
        t, box = _run_in_thread(r, cells(code, "print('after')"))
        time.sleep(0.8)
        r.interrupt()
        t.join(5)
        res = box[0]
        assert res.stopped and res.failed is None and not res.restarted
        assert [c.output for c in res.results] == ["caught\n"]
    finally:
        r.close()


def test_a_cell_that_ignores_the_stop_is_killed_after_the_grace_period_and_the_worker_replaced():
    import time
    r = WorkerRunner(time_limit=30)
    try:
        r.run(cells("kept = 7"))
        pid = r.pid
        code = "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass"
        t, box = _run_in_thread(r, cells("kept = 7", code), start=1)
        time.sleep(0.8)
        t0 = time.perf_counter()
        r.interrupt(grace=0.3)
        t.join(10)
        res = box[0]
        assert 0.3 <= time.perf_counter() - t0 < 5
        assert res.stopped and res.restarted and res.failed == 1 and r.pid != pid
        assert res.results[-1].error.startswith("Stopped: the run was interrupted")
        assert r.run(cells("kept = 7", "print(kept)"), start=1).results[0].output == "7\n"   # replayed
    finally:
        r.close()


def test_memory_limit_is_reported_and_the_worker_replaced():
    r = WorkerRunner(time_limit=5, memory_limit_mb=1024)
    try:
        for bomb in ("import torch\nx = torch.zeros(10**6, 10**6)", "x = [0] * 10**9"):
            res = r.run(cells("kept = 3", bomb))
            assert res.failed == 1 and res.results[-1].error_kind == "limit" and res.restarted
            assert res.limit == "memory limit of 1,024 MiB" and "Memory limit hit" in res.results[-1].error
        assert r.run(cells("kept = 3", "print(kept)"), start=1).results[0].output == "3\n"
    finally:
        r.close()


def test_deep_recursion_is_one_clear_error(runner):
    res = runner.run(cells("def f(n):\n    return f(n + 1)\nf(0)"))
    err = res.results[0].error
    assert "RecursionError" in err and "Recursion limit hit" in err and "Previous line repeated" in err
    assert len(err) < 2_000


def test_a_spinning_worker_ends_with_its_server():
    import os
    import subprocess
    import time
    code = ("import sys, threading, time, os\nsys.path.insert(0, %r)\nfrom app.runner import WorkerRunner\n"
            "r = WorkerRunner(time_limit=60)\nr._wait_started()\nprint(r.pid, flush=True)\n"
            "threading.Thread(target=lambda: r.run([('a', 'while True:\\n    pass')]), daemon=True).start()\n"
            "time.sleep(1)\nos._exit(0)\n") % os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    pid = int(out.stdout.split()[0])
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
            if os.path.isdir("/proc"):
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        return   # ended; handed to this process (the workers' subreaper) to be reaped
        except (ProcessLookupError, FileNotFoundError):
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    pytest.fail("the worker outlived the process that started it")
