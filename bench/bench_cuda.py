"""The engine's cuda device (CuPy) side by side with PyTorch CUDA and hand-written CuPy, in one run.

    python bench/bench_cuda.py [--repeat N]

Workloads:
- an 8192x8192 float32 matmul (TFLOP/s; both libraries call cuBLAS);
- one training step (forward, backward, optimizer step) of the MLP 784-512-512-10 at batch 256 and
  of the LSTM classifier, the models and optimizers of bench/bench_nn.py, with the same weights;
- the MLP step written directly in CuPy (no autograd, no engine): what the GPU needs at least;
- one small op on 4 elements: the per-op floor (CuPy's kernel launch plus the engine's bookkeeping).
Prints medians (timed between device synchronisations) and ratios to PyTorch. Exits with a message
where no GPU or CuPy is present.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gradview import engine  # noqa: E402
from bench_nn import build, make_optimizer  # noqa: E402  (the same models and optimizers as on the cpu)


def timed(fn, sync, repeat, warmup=3):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul(lib, device, n=8192):
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal((n, n), dtype=np.float32), device=device)
    b = lib.tensor(rng.standard_normal((n, n), dtype=np.float32), device=device)
    return lambda: a @ b


def training_step(name, shape, optimizer):
    """A step builder for one bench_nn model: (lib, device, weights) -> step function."""
    def make(lib, device, weights):
        rng = np.random.default_rng(0)
        model = build(lib, name)
        model.load_state_dict({k: lib.tensor(v) for k, v in weights(name).items()})
        model.to(device)
        opt = make_optimizer(lib, model, optimizer)
        x = lib.tensor(rng.standard_normal(shape).astype(np.float32), device=device)
        y = lib.tensor(rng.integers(0, 10, size=shape[0]), device=device)

        def step():
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        step.model = model
        return step
    return make


def cupy_mlp_step(cp, weights, batch=256):
    """The MLP step in plain CuPy: the same layers, cross-entropy, backward and SGD with momentum."""
    rng = np.random.default_rng(0)
    w = weights("mlp_large")
    params = [cp.asarray(w[f"{i}.{kind}"]) for i in (0, 2, 4) for kind in ("weight", "bias")]
    bufs = [None] * len(params)
    x = cp.asarray(rng.standard_normal((batch, 784)).astype(np.float32))
    y = cp.asarray(rng.integers(0, 10, size=batch))
    rows = cp.arange(batch)

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h1 = cp.maximum(x @ w1.T + b1, 0)
        h2 = cp.maximum(h1 @ w2.T + b2, 0)
        logits = h2 @ w3.T + b3
        p = cp.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[rows, y] -= 1
        g3 = p / batch
        g2 = (g3 @ w3) * (h2 > 0)
        g1 = (g2 @ w2) * (h1 > 0)
        grads = [g1.T @ x, g1.sum(0), g2.T @ h1, g2.sum(0), g3.T @ h2, g3.sum(0)]
        for i, (param, grad) in enumerate(zip(params, grads)):
            bufs[i] = grad if bufs[i] is None else bufs[i] * 0.9 + grad
            param -= 0.01 * bufs[i]
    step.params = params
    return step


def small_op(lib, device):
    a = lib.ones(4, device=device)
    b = lib.ones(4, device=device)
    return lambda: a * b


WORKLOADS = [
    ("matmul 8192 fp32", lambda lib, device, weights: matmul(lib, device)),
    ("MLP 784-512-512-10 b256 step", training_step("mlp_large", (256, 784), "sgd")),
    ("LSTM h128 50 steps b16 step", training_step("lstm", (16, 50, 32), "adam")),
    ("one small op (4 elements)", lambda lib, device, weights: small_op(lib, device)),
]


def torch_weights(torch):
    """Weights for each model, drawn once by PyTorch and loaded into every library."""
    cache = {}

    def weights(name):
        if name not in cache:
            torch.manual_seed(0)
            cache[name] = {k: v.detach().cpu().numpy() for k, v in build(torch, name).state_dict().items()}
        return cache[name]
    return weights


def run(repeat, libs, weights, sizes=None):
    """{workload: {library: seconds}} for libs = {name: (module, device, sync)}."""
    results = {}
    for title, make in WORKLOADS:
        if sizes is not None and title not in sizes:
            continue
        results[title] = {lib: timed(make(mod, device, weights), sync, repeat)
                          for lib, (mod, device, sync) in libs.items()}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if not engine.cuda.is_available():
        print("no CUDA device for the engine (needs CuPy and an NVIDIA GPU): nothing to measure")
        return
    import cupy
    import torch
    weights = torch_weights(torch)
    libs = {"engine": (engine, "cuda", engine.cuda.synchronize), "pytorch": (torch, "cuda", torch.cuda.synchronize)}
    print(f"device: {engine.cuda.get_device_name()}  (CuPy {cupy.__version__}, PyTorch {torch.__version__})")
    results = run(args.repeat, libs, weights)
    sync = cupy.cuda.Device().synchronize
    results["MLP 784-512-512-10 b256 step"]["cupy"] = timed(cupy_mlp_step(cupy, weights), sync, args.repeat)
    a = cupy.asarray(np.random.default_rng(0).standard_normal((8192, 8192), dtype=np.float32))
    results["matmul 8192 fp32"]["cupy"] = timed(lambda: a @ a, sync, args.repeat)
    print(f"{'workload':30} {'engine':>10} {'pytorch':>10} {'cupy':>10} {'engine/pt':>10} {'cupy/pt':>8}")
    for title, t in results.items():
        cp = f"{t['cupy'] * 1e3:8.3f}ms" if "cupy" in t else f"{'-':>10}"
        ratio = f"{t['cupy'] / t['pytorch']:8.2f}" if "cupy" in t else f"{'-':>8}"
        extra = ""
        if title.startswith("matmul"):
            extra = "  " + "  ".join(f"{lib} {2 * 8192 ** 3 / s / 1e12:.1f} TFLOP/s" for lib, s in t.items())
        print(f"{title:30} {t['engine'] * 1e3:8.3f}ms {t['pytorch'] * 1e3:8.3f}ms {cp} "
              f"{t['engine'] / t['pytorch']:10.2f} {ratio}{extra}")


if __name__ == "__main__":
    main()
