"""WebGPU backend benchmark, run inside Pyodide (a Web Worker) by bench/webgpu/index.html.

`run_bench(quick=False)` returns JSON with three tables, each against NumPy in the same Pyodide:
- per-op latency without readback: a chain of N ops is queued, then one synchronize(); the time
  per op (queueing from Python, sending, and the GPU's work), for raw arrays (the `xp` namespace)
  and for engine tensors (autograd bookkeeping included);
- readback: reading an array back (`.get()`), by size;
- matmul: n x n @ n x n in GFLOP/s for n = 64 ... 2048 (warm, synchronized).
"""
import json
import time

import numpy as np

from gradview import engine

RNG = np.random.default_rng(0)


def _timeit(fn, repeat, sync=None, min_time=0.05):
    """Seconds per call of fn: rounds of `repeat` calls (more until a round lasts min_time, as the
    browser's clock is coarse), each followed by sync(); the best of 3 rounds."""
    fn()
    if sync:
        sync()
    while True:
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        if sync:
            sync()
        if time.perf_counter() - t0 >= min_time:
            break
        repeat *= 4
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        if sync:
            sync()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best


def bench_ops(quick):
    backend = engine.backends.get("webgpu")
    from gradview.engine.backends.webgpu import core, xp
    sync = backend.synchronize
    rows = []
    n_ops = 100 if quick else 400
    for size in ((1024,), (512, 512)):
        h = RNG.standard_normal(size).astype(np.float32)
        h2 = RNG.standard_normal(size[-1:]).astype(np.float32)
        g, g2 = core.upload(h), core.upload(h2)
        idx_h = RNG.integers(0, size[0], size=size[0]).astype(np.intp)
        idx = core.upload(idx_h)
        mat_h = RNG.standard_normal((64, 64)).astype(np.float32)
        mat = core.upload(mat_h)
        cases = [
            ("add (broadcast row)", lambda m, a, b: m.add(a, b), (g, g2), (h, h2)),
            ("multiply by scalar", lambda m, a: m.multiply(a, 1.0001), (g,), (h,)),
            ("exp", lambda m, a: m.exp(a), (g,), (h,)),
            ("tanh", lambda m, a: m.tanh(a), (g,), (h,)),
            ("maximum (relu)", lambda m, a: m.maximum(a, 0.0), (g,), (h,)),
            ("where", lambda m, a: m.where(a > 0, a, 0.5), (g,), (h,)),
            ("sum over last axis", lambda m, a: m.sum(a, axis=-1), (g,), (h,)),
            ("transpose copy", lambda m, a: m.ascontiguousarray(a.T), (g,), (h,)),
            ("gather rows", lambda m, a, i: m.take(a, i, axis=0), (g, idx), (h, idx_h)),
            ("matmul 64x64", lambda m, a: m.matmul(a, a), (mat,), (mat_h,)),
        ]
        for name, fn, gargs, hargs in cases:
            if name == "matmul 64x64" and size != (1024,):
                continue
            t_gpu = _timeit(lambda: fn(xp, *gargs), n_ops, sync)
            t_np = _timeit(lambda: fn(np, *hargs), max(5, n_ops // 8))
            label = f"{name} {'x'.join(map(str, size))}" if name != "matmul 64x64" else name
            rows.append({"op": label, "webgpu_us": t_gpu * 1e6, "numpy_us": t_np * 1e6})
    # engine tensors: one op of the autograd engine, forward only and with grad tracking
    for grad in (False, True):
        for size in ((1024,), (512, 512)):
            h = RNG.standard_normal(size).astype(np.float32)
            tg = engine.tensor(h, device="webgpu", requires_grad=grad)
            tc = engine.tensor(h, requires_grad=grad)
            t_gpu = _timeit(lambda: tg * 1.0001 + 0.5, n_ops // 2, sync)
            t_np = _timeit(lambda: tc * 1.0001 + 0.5, max(5, n_ops // 16))
            rows.append({"op": f"tensor x * a + b {'x'.join(map(str, size))}{' (requires_grad)' if grad else ''}",
                         "webgpu_us": t_gpu / 2 * 1e6, "numpy_us": t_np / 2 * 1e6})
    return rows


def bench_readback(quick):
    from gradview.engine.backends.webgpu import core
    rows = []
    for n in (1, 1024, 1 << 16, 1 << 20) + (() if quick else (1 << 22,)):
        g = core.upload(np.ones(n, np.float32))
        t = _timeit(lambda: g.get(), 3 if n >= 1 << 20 else 20)
        rows.append({"elements": n, "ms": t * 1e3, "MB_per_s": n * 4 / t / 1e6})
    return rows


def bench_matmul(quick):
    backend = engine.backends.get("webgpu")
    from gradview.engine.backends.webgpu import core, xp
    rows = []
    sizes = (64, 128, 256, 512, 1024) + (() if quick else (2048,))
    for n in sizes:
        a = RNG.standard_normal((n, n)).astype(np.float32)
        b = RNG.standard_normal((n, n)).astype(np.float32)
        ga, gb = core.upload(a), core.upload(b)
        flop = 2.0 * n ** 3
        reps = max(1, int(2e8 // flop))
        t_gpu = _timeit(lambda: xp.matmul(ga, gb), reps, backend.synchronize)
        if n <= 1024 or not quick:
            np_reps = max(1, int(5e7 // flop))
            if n >= 2048:
                t0 = time.perf_counter()
                a @ b
                t_np = time.perf_counter() - t0
            else:
                t_np = _timeit(lambda: a @ b, np_reps)
        else:
            t_np = float("nan")
        err = float(np.abs(xp.matmul(ga, gb).get() - a @ b).max()) if n <= 512 else None
        rows.append({"n": n, "webgpu_gflops": flop / t_gpu / 1e9, "numpy_gflops": flop / t_np / 1e9,
                     "webgpu_ms": t_gpu * 1e3, "numpy_ms": t_np * 1e3, "max_err": err})
    return rows


def bench_training(quick):
    """20 steps of the 2-16-16-2 MLP on 64 points (cross-entropy, SGD with momentum)."""
    nn = engine.nn
    x_h = RNG.standard_normal((64, 2)).astype(np.float32)
    y_h = (x_h[:, 0] * x_h[:, 1] > 0).astype(np.int64)
    rows = []
    for width in (16, 256):
        out = {"model": f"2-{width}-{width}-2 MLP, 20 SGD steps"}
        for dev in ("cpu", "webgpu"):
            engine.manual_seed(0)
            model = nn.Sequential(nn.Linear(2, width), nn.Tanh(), nn.Linear(width, width), nn.ReLU(),
                                  nn.Linear(width, 2)).to(dev)
            opt = engine.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
            x, y = engine.tensor(x_h, device=dev), engine.tensor(y_h, device=dev)

            def step():
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                return loss
            step().item()  # warm: kernels compiled
            t0 = time.perf_counter()
            for _ in range(20):
                loss = step()
            loss.item()
            out[f"{dev}_ms_per_step"] = (time.perf_counter() - t0) / 20 * 1e3
        rows.append(out)
    return rows


def run_bench(quick=False):
    backend = engine.backends.get("webgpu")
    t0 = time.perf_counter()
    result = {"adapter": backend.info, "quick": quick,
              "ops": bench_ops(quick), "readback": bench_readback(quick), "matmul": bench_matmul(quick),
              "training": bench_training(quick)}
    result["seconds"] = time.perf_counter() - t0
    result["runtime"] = dict(backend.runtime.stats)
    return json.dumps(result)


def format_tables(result):
    """The report as plain-text tables."""
    lines = []
    a = result["adapter"]
    lines.append(f"adapter: {a.get('vendor')} {a.get('architecture')} {a.get('description')}".rstrip())
    lines.append("")
    lines.append("per-op latency, no readback (chain of ops, then one synchronize)")
    lines.append(f"{'op':44s} {'webgpu us':>10s} {'numpy us':>10s} {'webgpu/numpy':>13s}")
    for r in result["ops"]:
        ratio = r["webgpu_us"] / r["numpy_us"]
        lines.append(f"{r['op']:44s} {r['webgpu_us']:10.1f} {r['numpy_us']:10.1f} {ratio:13.2f}")
    lines.append("")
    lines.append("readback (array.get())")
    lines.append(f"{'elements':>10s} {'ms':>9s} {'MB/s':>9s}")
    for r in result["readback"]:
        lines.append(f"{r['elements']:10d} {r['ms']:9.3f} {r['MB_per_s']:9.1f}")
    lines.append("")
    lines.append("matmul n x n @ n x n")
    lines.append(f"{'n':>6s} {'webgpu GFLOP/s':>15s} {'numpy GFLOP/s':>14s} {'webgpu ms':>10s} {'numpy ms':>10s} "
                 f"{'speed-up':>9s}")
    for r in result["matmul"]:
        lines.append(f"{r['n']:6d} {r['webgpu_gflops']:15.2f} {r['numpy_gflops']:14.2f} {r['webgpu_ms']:10.1f} "
                     f"{r['numpy_ms']:10.1f} {r['webgpu_gflops'] / r['numpy_gflops']:9.2f}")
    lines.append("")
    lines.append("training")
    for r in result["training"]:
        lines.append(f"{r['model']:40s} cpu {r['cpu_ms_per_step']:8.2f} ms/step   "
                     f"webgpu {r['webgpu_ms_per_step']:8.2f} ms/step")
    return "\n".join(lines)
