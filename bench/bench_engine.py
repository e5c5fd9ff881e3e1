"""Engine speed side by side with PyTorch (CPU) and plain NumPy, in one run.

    python bench/bench_engine.py [--repeat N]

Prints the median time of each workload per library and the ratio engine / PyTorch.
Workloads: 10,000 elementwise ops on 4-element tensors (forward, and forward + backward), a
1024x1024 float32 matmul forward + backward, and the walkthrough's recurrent loop
`for _ in range(100): h = W @ h + b` with hidden size 64, forward + backward.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gradview import engine  # noqa: E402

try:
    import torch
except ImportError:  # the table then has no PyTorch column
    torch = None

N_SMALL = 10_000


def median_time(fn, repeat):
    fn()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------
def small_ops(lib, backward):
    """N_SMALL ops: alternating mul and add on 4-element tensors, then (optionally) backward."""
    a0 = np.random.default_rng(0).random(4).astype(np.float32)
    b0 = (a0 * 0.5).copy()

    def run():
        a = lib.tensor(a0, requires_grad=True)
        b = lib.tensor(b0)
        y = a
        for _ in range(N_SMALL // 2):
            y = y * b
            y = y + a
        if backward:
            y.sum().backward()
    return run


def small_ops_numpy(backward):
    a = np.random.default_rng(0).random(4).astype(np.float32)
    b = a * 0.5

    def run():
        y = a
        for _ in range(N_SMALL // 2):
            y = y * b
            y = y + a
        if backward:  # reverse pass by hand: d/dy of (y*b + a) chain
            g = np.ones(4, dtype=np.float32)
            ga = np.zeros(4, dtype=np.float32)
            for _ in range(N_SMALL // 2):
                ga += g
                g = g * b
            ga += g
    return run


def matmul(lib, n=1024):
    rng = np.random.default_rng(0)
    a0 = rng.standard_normal((n, n)).astype(np.float32)
    b0 = rng.standard_normal((n, n)).astype(np.float32)
    a = lib.tensor(a0, requires_grad=True)
    b = lib.tensor(b0, requires_grad=True)

    def run():
        a.grad = None
        b.grad = None
        out = a @ b
        out.backward(lib.ones_like(out))
    return run


def matmul_numpy(n=1024):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)

    def run():
        out = a @ b
        g = np.ones_like(out)
        ga = g @ b.T  # noqa: F841
        gb = a.T @ g  # noqa: F841
    return run


def rnn_loop(lib, hidden=64, steps=100):
    rng = np.random.default_rng(0)
    w0 = (rng.standard_normal((hidden, hidden)) / hidden).astype(np.float32)
    h0 = rng.standard_normal((hidden, 1)).astype(np.float32)
    b0 = rng.standard_normal((hidden, 1)).astype(np.float32)
    W = lib.tensor(w0, requires_grad=True)
    h_init = lib.tensor(h0)
    b = lib.tensor(b0)

    def run():
        W.grad = None
        h = h_init
        for _ in range(steps):
            h = lib.matmul(W, h) + b
        h.sum().backward()
    return run


def rnn_loop_numpy(hidden=64, steps=100):
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((hidden, hidden)) / hidden).astype(np.float32)
    h0 = rng.standard_normal((hidden, 1)).astype(np.float32)
    b = rng.standard_normal((hidden, 1)).astype(np.float32)

    def run():
        hs = [h0]
        h = h0
        for _ in range(steps):
            h = W @ h + b
            hs.append(h)
        g = np.ones_like(h)
        gW = np.zeros_like(W)
        for t in range(steps, 0, -1):
            gW += g @ hs[t - 1].T
            g = W.T @ g
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(max(1, torch.get_num_threads()))
    workloads = [
        ("10k small ops, forward", lambda lib: small_ops(lib, False), lambda: small_ops_numpy(False)),
        ("10k small ops, fwd+bwd", lambda lib: small_ops(lib, True), lambda: small_ops_numpy(True)),
        ("matmul 1024 fwd+bwd", matmul, matmul_numpy),
        ("h = W@h + b x100 (64)", rnn_loop, rnn_loop_numpy),
    ]
    header = f"{'workload':26} {'engine':>10} {'pytorch':>10} {'numpy':>10} {'engine/pt':>10} {'numpy/pt':>9}"
    print(header)
    print("-" * len(header))
    for name, make, make_numpy in workloads:
        t_engine = median_time(make(engine), args.repeat)
        t_torch = median_time(make(torch), args.repeat) if torch is not None else float("nan")
        t_numpy = median_time(make_numpy(), args.repeat)
        print(f"{name:26} {t_engine * 1e3:8.2f}ms {t_torch * 1e3:8.2f}ms {t_numpy * 1e3:8.2f}ms "
              f"{t_engine / t_torch:10.2f} {t_numpy / t_torch:9.2f}")


if __name__ == "__main__":
    main()
