"""One training step (forward, backward, optimizer step) of four models, on the engine and on
PyTorch's CPU build side by side, with the same weights and batches.

    python bench/bench_nn.py [--repeat N] [--threads N]

Steps of the two libraries alternate, so both see the same machine load, and both run with the
same number of threads (1 by default: NumPy's BLAS and PyTorch's thread pools spin-wait and
fight over the cores when both are multi-threaded in one process). Prints the median time per
step for each and the ratio engine / PyTorch. PyTorch is optional: without it only the engine
column is printed.
"""
import argparse
import os
import statistics
import sys
import time


def _threads_from_argv(default="1"):
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return default


# thread counts must be fixed before NumPy or PyTorch load their thread pools
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _threads_from_argv()

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from gradview import engine  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:  # pragma: no cover
    torch = None


class _LSTMClassifier:
    """An LSTM over the whole sequence, then a linear layer on the last output."""

    @staticmethod
    def build(lib, inputs, hidden, classes):
        nn = lib.nn

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(inputs, hidden, batch_first=True)
                self.fc = nn.Linear(hidden, classes)

            def forward(self, x):
                out, _ = self.lstm(x)
                return self.fc(out[:, -1])

        return Model()


def build(lib, name):
    nn = lib.nn
    if name == "mlp_small":
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if name == "mlp_large":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    if name == "lstm":
        return _LSTMClassifier.build(lib, 32, 128, 10)
    raise ValueError(name)


CASES = [
    ("MLP 784-128-10, batch 64", "mlp_small", (64, 784), "sgd"),
    ("MLP 784-512-512-10, batch 256", "mlp_large", (256, 784), "sgd"),
    ("CNN 2 conv, 1x28x28, batch 32", "cnn", (32, 1, 28, 28), "sgd"),
    ("LSTM h128, 50 steps, batch 16", "lstm", (16, 50, 32), "adam"),
]


def make_optimizer(lib, model, kind):
    if kind == "sgd":
        return lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return lib.optim.Adam(model.parameters(), lr=1e-3)


class _Stepper:
    """One model, its optimizer and batch: `step()` runs and times one training step."""

    def __init__(self, lib, model, x, y, kind):
        self.lib, self.model, self.x, self.y = lib, model, x, y
        self.opt = make_optimizer(lib, model, kind)
        self.loss_fn = lib.nn.functional.cross_entropy
        self.times = []
        self.loss = None

    def step(self, record=True):
        start = time.perf_counter()
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        elapsed = time.perf_counter() - start
        if record:
            self.times.append(elapsed)
        self.loss = float(loss.item())


def time_steps(lib, model, x, y, kind, repeat, warmup=3):
    """Median seconds per step and the last loss, for one library alone."""
    stepper = _Stepper(lib, model, x, y, kind)
    for i in range(warmup + repeat):
        stepper.step(record=i >= warmup)
    return statistics.median(stepper.times), stepper.loss


def run(repeat, warmup=3):
    rng = np.random.default_rng(0)
    rows = []
    for title, name, shape, kind in CASES:
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, 10, size=shape[0])
        ours = build(engine, name)
        steppers = [_Stepper(engine, ours, engine.tensor(x), engine.tensor(y), kind)]
        if torch is not None:
            theirs = build(torch, name)
            ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
            steppers.append(_Stepper(torch, theirs, torch.tensor(x), torch.tensor(y), kind))
        for i in range(warmup + repeat):
            for stepper in steppers:
                stepper.step(record=i >= warmup)
        t_ours = statistics.median(steppers[0].times)
        t_theirs = statistics.median(steppers[1].times) if len(steppers) > 1 else None
        rows.append((title, t_ours, t_theirs, steppers[0].loss, steppers[1].loss if len(steppers) > 1 else None))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="threads for both libraries (default 1)")
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(args.threads)
    rows = run(args.repeat)
    print(f"{'one training step (median)':34s} {'engine ms':>10s} {'PyTorch ms':>11s} {'ratio':>7s}")
    for title, ours, theirs, loss_ours, loss_theirs in rows:
        if theirs is None:
            print(f"{title:34s} {ours * 1e3:10.3f} {'-':>11s} {'-':>7s}")
        else:
            print(f"{title:34s} {ours * 1e3:10.3f} {theirs * 1e3:11.3f} {ours / theirs:7.2f}")
    if torch is not None:
        print(f"(PyTorch {torch.__version__} and NumPy {np.__version__}, {torch.get_num_threads()} thread(s) each; "
              f"losses after the last step agree to {max(abs(r[3] - r[4]) for r in rows):.1e})")


if __name__ == "__main__":
    main()
