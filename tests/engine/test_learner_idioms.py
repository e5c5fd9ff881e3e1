"""Idioms of public PyTorch teaching code, each against PyTorch: NumPy keyword names, legacy
Variable, range indices, histogram, storages, module paths (torch.utils.data.dataloader,
torch.nn.parallel, torch.distributed, torch.autograd.functional/profiler) and running a script
that imports its sibling module through `python -m gradview.engine.run`."""
import importlib
import subprocess
import sys

import numpy as np
import pytest

from gradview import engine
from tests.engine.helpers import assert_same_value, reference_torch


def _both(expression, **names):
    torch = reference_torch()
    return [eval(expression, {"torch": lib, "np": np, **names}) for lib in (engine, torch)]


@pytest.mark.parametrize("expression", [
    "torch.arange(6.).reshape(2, 3).sum(1, keepdims=True)", "torch.arange(6.).reshape(2, 3).argmax(axis=1)",
    "torch.mean(torch.arange(6.).reshape(2, 3), axis=0, keepdims=True)", "torch.arange(6.).reshape(2, 3).std(axis=1)",
    "torch.arange(6.).reshape(2, 3).max(axis=1).values", "torch.amax(torch.arange(6.).reshape(2, 3), axis=(0, 1))",
    "torch.arange(6).reshape(2, 3)[range(2), torch.tensor([0, 2])]", "torch.arange(6).reshape(2, 3)[range(1, 2)]",
    "torch.histogram(torch.tensor([1., 2., 1.]), bins=4)",
    "torch.histogram(torch.tensor([1., 2., 5.]), 3, range=(0., 4.))",
    "torch.nn.functional.mse_loss(torch.ones(2), torch.tensor([1, 3]))",
    "torch.ones(2, 3).storage().size()", "torch.ones(2, 3)[1].untyped_storage().nbytes()",
    "torch.arange(3.).storage().tolist()", "torch.ones(3).to(torch.float64, False, True)",
    "torch.inner(torch.tensor(2.), torch.ones(2, 2))", "torch.nonzero(torch.tensor(3.))",
])
def test_expressions(expression):
    ours, theirs = _both(expression)
    assert_same_value(ours, theirs, what=expression)


def test_variable():
    torch = reference_torch()
    for lib in (engine, torch):
        t = lib.ones(2)
        v = lib.autograd.Variable(t, requires_grad=True)
        assert v is not t and v.requires_grad and not t.requires_grad and v.is_leaf
        assert isinstance(t, lib.autograd.Variable)
        (v * 3).sum().backward()
        assert v.grad.tolist() == [3.0, 3.0]
        with pytest.warns(UserWarning) if lib is torch else _no_warning():
            assert not lib.autograd.Variable(t, volatile=True).requires_grad


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("path", ["utils.data.dataloader", "utils.data.dataset", "utils.data.sampler",
                                  "nn.parallel", "distributed", "autograd.functional", "autograd.profiler"])
def test_module_paths_import_under_torch(path):
    from gradview.engine.run import torch_alias
    with torch_alias():
        module = importlib.import_module(f"torch.{path}")
    assert module is importlib.import_module(f"gradview.engine.{path}")


def test_data_parallel_and_distributed():
    torch = reference_torch()
    for lib in (engine, torch):
        lib.manual_seed(0)
        model = lib.nn.parallel.DataParallel(lib.nn.Linear(3, 2))
        assert list(model.state_dict()) == ["module.weight", "module.bias"]
        assert model(lib.ones(4, 3)).shape == (4, 2)
    assert engine.distributed.is_available() is False


def test_autograd_functional_matches_pytorch():
    torch = reference_torch()
    results = []
    for lib in (engine, torch):
        F = lib.autograd.functional
        x = lib.tensor([1.0, 2.0], dtype=lib.float64)
        y = lib.tensor([0.5, 1.5], dtype=lib.float64)

        def cube(a):
            return (a ** 3).sum()

        def mix(a, b):
            return a * b.sin()
        results.append([F.jacobian(mix, (x, y)), F.hessian(cube, x), F.vjp(mix, (x, y), x)[1],
                        F.jvp(mix, (x, y), (y, x))[1], F.hvp(cube, x, y)[1], F.vhp(cube, x, y)[1]])
    assert_same_value(results[0], results[1], what="autograd.functional")


def test_profiler_table_counts_ops():
    with engine.autograd.profiler.profile() as prof:
        with engine.autograd.profiler.record_function("forward"):
            a = engine.ones(3, requires_grad=True)
            (a * 2).sum().backward()
            a.detach() * 3
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=10)
    assert "# of Calls" in table and "Self CPU time total" in table
    counts = {row.key: row.count for row in prof.key_averages()}
    assert counts == {"forward": 1, "mul": 2, "sum": 1}


def test_run_puts_the_script_folder_on_the_path(tmp_path):
    (tmp_path / "helper.py").write_text("import torch\n\ndef double(x):\n    return x * 2\n")
    (tmp_path / "main.py").write_text("import torch\nfrom helper import double\n"
                                      "print(double(torch.ones(2)).tolist())\n")
    result = subprocess.run([sys.executable, "-m", "gradview.engine.run", str(tmp_path / "main.py")], capture_output=True,
                            text=True, timeout=120, cwd=str(tmp_path.parent), env=_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[2.0, 2.0]"


def _env():
    import os
    env = dict(os.environ)
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_seeded_draws_follow_pytorch():
    # one multinomial sample takes PyTorch's exponential race even with replacement=True, and a
    # lazy convolution draws nothing until its first input
    torch = reference_torch()
    draws = []
    for lib in (engine, torch):
        g = lib.Generator().manual_seed(3)
        p = lib.tensor([0.1, 0.2, 0.3, 0.4])
        picks = [lib.multinomial(p, 1, replacement=True, generator=g).item() for _ in range(12)]
        lib.manual_seed(0)
        rows = lib.multinomial(lib.tensor([[0.5, 0.2, 0.3], [0.1, 0.1, 0.8]]), 1, replacement=True).tolist()
        lib.manual_seed(0)
        conv = lib.nn.LazyConv2d(4, 3)
        after = lib.rand(2).tolist()
        conv(lib.ones(1, 2, 5, 5))
        draws.append((picks, rows, after, conv.weight.detach().flatten()[:4].tolist()))
    assert draws[0][:3] == draws[1][:3]
    np.testing.assert_allclose(draws[0][3], draws[1][3], rtol=1e-6)


def test_multinomial_distribution_matches_pytorch():
    torch = reference_torch()
    results = []
    for lib in (engine, torch):
        lib.manual_seed(0)
        m = lib.distributions.Multinomial(10, lib.tensor([0.2, 0.3, 0.5]))
        s = m.sample((2,))
        batched = lib.distributions.Multinomial(4, logits=lib.tensor([[0.2, 0.3], [1.0, -1.0]]))
        b = batched.sample()
        results.append([s, m.log_prob(s), m.mean, m.variance, b, batched.log_prob(b)])
    assert_same_value(results[0], results[1], rtol=1e-5, what="Multinomial")


def test_backward_nodes_called_by_hand():
    torch = reference_torch()
    results = []
    for lib in (engine, torch):
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        results.append([Square.apply(x).grad_fn.apply(lib.ones(2)), (x * 3).grad_fn(lib.ones(2))[0]])
    assert_same_value(results[0], results[1], what="calling a backward node")
