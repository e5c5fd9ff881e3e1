"""The engine's CUDA (CuPy) backend side by side with PyTorch CUDA, in one run, on a GPU.

    python bench/bench_cuda.py [--repeat N]

Workloads: an 8192x8192 float32 matmul (TFLOP/s), one training step of an MLP 784-512-512-10 at
batch 256 (forward, backward, SGD step), and the per-op floor on a 4-element tensor. Prints
medians and engine / PyTorch ratios. Exits with a message where no GPU or CuPy is present.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import engine  # noqa: E402


def timed(fn, sync, repeat):
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


def matmul(lib, n=8192):
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal((n, n), dtype=np.float32), device="cuda")
    b = lib.tensor(rng.standard_normal((n, n), dtype=np.float32), device="cuda")
    return lambda: a @ b


def mlp_step(lib):
    rng = np.random.default_rng(0)
    sizes = [784, 512, 512, 10]
    params = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        w = lib.tensor(rng.standard_normal((fan_in, fan_out), dtype=np.float32) / np.sqrt(fan_in), device="cuda",
                       requires_grad=True)
        b = lib.zeros(fan_out, device="cuda", requires_grad=True)
        params += [w, b]
    x = lib.tensor(rng.standard_normal((256, 784), dtype=np.float32), device="cuda")
    y = lib.tensor(rng.integers(0, 10, 256), device="cuda")

    def step():
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i < len(params) - 2:
                h = h.relu()
        loss = (h.logsumexp(1) - h.gather(1, y.view(-1, 1)).view(-1)).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= 0.01 * p.grad
    return step


def small_op(lib):
    a = lib.ones(4, device="cuda")
    b = lib.ones(4, device="cuda")
    return lambda: a * b


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    if not engine.cuda.is_available():
        print("no CUDA device for the engine (needs CuPy and an NVIDIA GPU): nothing to measure")
        return
    import torch
    libs = {"engine": (engine, engine.cuda.synchronize), "pytorch": (torch, torch.cuda.synchronize)}
    print(f"device: {engine.cuda.get_device_name()}")
    print(f"{'workload':28} {'engine':>12} {'pytorch':>12} {'engine/pt':>10}")
    for name, make in [("matmul 8192 fp32", matmul), ("MLP 784-512-512-10 b256", mlp_step),
                       ("one small op (4 elems)", small_op)]:
        t = {lib: timed(make(mod), sync, args.repeat) for lib, (mod, sync) in libs.items()}
        extra = ""
        if name.startswith("matmul"):
            extra = "  " + "  ".join(f"{lib} {2 * 8192 ** 3 / t[lib] / 1e12:.1f} TFLOP/s" for lib in t)
        print(f"{name:28} {t['engine'] * 1e3:10.3f}ms {t['pytorch'] * 1e3:10.3f}ms "
              f"{t['engine'] / t['pytorch']:10.2f}{extra}")


if __name__ == "__main__":
    main()
