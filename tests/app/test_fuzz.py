"""Broken, half-typed and hostile programs through both runners: each ends in a result or a clear
error within its limit, and the runner answers afterwards.

The programs are the examples (app/examples/*.py) cut at random places, with lines deleted, swapped
or doubled, characters dropped and junk typed in, plus endless loops, memory bombs and deep
recursion. Most go through the in-process runner with a short time limit; a smaller set, with
every loop and bomb, through a worker process with a memory limit.
"""
from __future__ import annotations

import glob
import os
import random
import time

import pytest

from gradview.app.notebook import parse_percent
from gradview.app.runner import InProcessRunner, WorkerRunner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 20240611
N_INPROCESS = 1_000
INPROCESS_LIMIT = 0.5
WORKER_LIMIT = 1.0
MARGIN = 3.0          # time the runner may take past its limit (capture, restart, replay)
ERROR_KINDS = {"syntax", "exception", "limit", "crash"}

JUNK = ["(", ")", "[", "]", ":", ",", ".", "torch.", "lambda", "**", "=", "\"", "'", "\\", "#", "\t", "    ",
        "@", "None", "yield", "await ", "import ", "x[", "-1", "1e308", "nan", "\x00", "é", "if", "else"]

# hostile cells safe to run in this process (no real allocation happens; loops are traced)
HOSTILE_INPROCESS = [
    "while True:\n    pass",
    "n = 0\nwhile True:\n    n += 1",
    "def f(n):\n    return f(n + 1)\nf(0)",
    "def a(n):\n    return b(n)\ndef b(n):\n    return a(n)\na(0)",
    "import torch\nx = torch.zeros(10**6, 10**6)",
    "import torch\nx = torch.ones(10**13)",
    "import numpy as np\nx = np.empty((10**7, 10**7))",
    "print('x' * 10**6)",
    "for i in range(10**5):\n    print(i)",
    "raise SystemExit(3)",
    "exit()",
    "raise KeyboardInterrupt",
    "raise MemoryError",
    "raise RecursionError('deep')",
    "input('name? ')",
    "import torch.nothing_here",
    "import torch\ntorch.ones(2) @ torch.ones(3)",
    "1 / 0",
    "class A:\n    def __repr__(self):\n        raise ValueError('bad repr')\nprint(A())",
    "import torch\nx = torch.ones(3, requires_grad=True)\nwhile True:\n    x = x * 1.0",
    "eval('(' * 200 + ')' * 200)",
    "exec('x = ' + '[' * 500 + ']' * 500)",
    "del __builtins__\nprint(1)",
    "__builtins__['print'] = None",
    "",
    "\x00",
    "import torch\ny = torch.tensor(float('nan'), requires_grad=True)\n(y * 2).backward()\nprint(y.grad)",
]

# only in a worker: they allocate for real, or loop inside one C call where no trace can stop them
HOSTILE_WORKER = [
    "x = [0] * 10**9",
    "x = bytearray(10**10)",
    "import numpy as np\nx = np.ones(10**9)",
    "import torch\nx = torch.ones(30_000, 30_000)\ny = x + 1",
    "x = []\nwhile True:\n    x.append(' ' * 10**6)",
    "import itertools\nsum(itertools.count())",
    "while True:\n    pass",
    "import time\ntime.sleep(60)",
    "import sys\nsys.setrecursionlimit(10**6)\ndef f(n):\n    return f(n + 1)\nf(0)",
    "def f(n):\n    return f(n + 1)\nf(0)",
    "import os\nos._exit(1)",
    "import torch\nx = torch.zeros(10**6, 10**6)",
]


def _examples():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "app", "examples", "*.py"))):
        with open(path, encoding="utf-8") as f:
            out.append(parse_percent(f.read()))
    assert out, "no examples to mutate"
    return out


def _mutate(rng: random.Random, code: str) -> str:
    lines = code.split("\n")
    how = rng.randrange(7)
    if how == 0 and code:                      # typing stopped half way
        return code[:rng.randrange(len(code))]
    if how == 1 and len(lines) > 1:            # a line deleted
        del lines[rng.randrange(len(lines))]
    elif how == 2 and len(lines) > 1:          # two lines swapped
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif how == 3 and code:                    # a span of characters deleted
        i = rng.randrange(len(code))
        return code[:i] + code[i + rng.randint(1, 12):]
    elif how == 4:                             # junk typed somewhere
        i = rng.randrange(len(code) + 1)
        return code[:i] + rng.choice(JUNK) + code[i:]
    elif how == 5 and lines:                   # a line doubled, or its indentation changed
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i] if rng.random() < 0.5 else "  " + lines[i])
    else:                                      # numbers changed to edge values
        import re
        return re.sub(r"\b\d+(\.\d+)?\b", lambda m: rng.choice([m.group(0), "0", "-1", "1e-45", "3"]), code)
    return "\n".join(lines)


def _program(rng: random.Random, examples, hostile):
    cells = list(rng.choice(examples))
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(cells))
        cells[k] = _mutate(rng, cells[k])
    if rng.random() < 0.08:
        cells.insert(rng.randrange(len(cells) + 1), rng.choice(hostile))
    return [(f"c{i}", c) for i, c in enumerate(cells)]


def _check(res, cells, limit, took):
    assert took < limit + MARGIN, (took, cells)
    assert res.results, cells
    if res.failed is None:
        assert len(res.results) == len(cells) and all(c.error is None for c in res.results)
    else:
        bad = res.results[-1]
        assert bad.error and bad.error_kind in ERROR_KINDS, (bad, cells)
        if bad.error_kind == "limit":
            assert res.limit and any(w in bad.error for w in ("Time limit", "Memory limit", "Stopped")), bad.error
    for c in res.results:
        assert len(c.output) < 25_000 and (c.error is None or len(c.error) < 25_000)


def test_inprocess_fuzz():
    rng = random.Random(SEED)
    examples = _examples()
    programs = [[("h", h)] for h in HOSTILE_INPROCESS]
    while len(programs) < N_INPROCESS:
        programs.append(_program(rng, examples, HOSTILE_INPROCESS))
    kinds = {}
    runner = InProcessRunner(time_limit=INPROCESS_LIMIT)
    slowest = 0.0
    for i, cells in enumerate(programs):
        if i % 50 == 0:
            runner = InProcessRunner(time_limit=INPROCESS_LIMIT)  # a namespace shared by some programs
        t0 = time.perf_counter()
        res = runner.run(cells)
        took = time.perf_counter() - t0
        slowest = max(slowest, took)
        _check(res, cells, INPROCESS_LIMIT, took)
        kind = "ok" if res.ok else res.results[-1].error_kind
        kinds[kind] = kinds.get(kind, 0) + 1
    assert len(programs) >= 1_000
    assert kinds.get("ok") and kinds.get("syntax") and kinds.get("exception") and kinds.get("limit"), kinds
    assert InProcessRunner(time_limit=1).run([("a", "print(6 * 7)")]).results[0].output == "42\n"
    print(f"\n{len(programs)} programs in-process: {kinds}; slowest {slowest:.2f} s")


@pytest.fixture
def worker():
    r = WorkerRunner(time_limit=WORKER_LIMIT, memory_limit_mb=1024)
    yield r
    r.close()


def test_worker_fuzz(worker):
    rng = random.Random(SEED + 1)
    examples = _examples()
    programs = [[("k", "kept = 'yes'"), ("h", h)] for h in HOSTILE_WORKER]
    while len(programs) < 36:
        programs.append(_program(rng, examples, HOSTILE_WORKER))
    limits = {}
    for cells in programs:
        t0 = time.perf_counter()
        res = worker.run(cells)
        took = time.perf_counter() - t0
        _check(res, cells, WORKER_LIMIT, took)
        if res.limit:
            key = res.limit.split(" (")[0]
            limits[key] = limits.get(key, 0) + 1
        # the worker answers at once, with the names the cells above the failure made
        t0 = time.perf_counter()
        after = worker.run([("z", "print(6 * 7)")])
        assert after.ok and after.results[0].output == "42\n" and time.perf_counter() - t0 < 5, after
        if cells[0] == ("k", "kept = 'yes'"):
            seen = worker.run([("k", "kept = 'yes'"), ("p", "print(kept)")], start=1)
            assert seen.results[0].output == "yes\n", (cells, seen)
    assert any(k.startswith("time limit") for k in limits) and any(k.startswith("memory limit") for k in limits), limits
    print(f"\n{len(programs)} programs in a worker: limits hit {limits}; restarts {worker.restarts}")
