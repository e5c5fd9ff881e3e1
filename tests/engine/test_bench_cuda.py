"""bench/bench_cuda.py only measures on a GPU; here its workloads run once on the emulated cuda
device (tests/emulated_cupy.py), so the script is known to work before it meets one."""
import importlib.util
import os

import numpy as np
import pytest

from gradview import engine
from tests import emulated_cupy
from tests.conftest import emulated_cuda

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "bench_cuda.py")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_cuda", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_workloads_run_on_the_cuda_device(bench):
    torch = pytest.importorskip("torch")
    weights = bench.torch_weights(torch)
    with emulated_cuda():
        libs = {"engine": (engine, "cuda", engine.cuda.synchronize), "pytorch": (torch, "cpu", lambda: None)}
        results = bench.run(1, libs, weights, sizes={"MLP 784-512-512-10 b256 step", "LSTM h128 50 steps b16 step",
                                                     "one small op (4 elements)"})
    assert set(results) == {"MLP 784-512-512-10 b256 step", "LSTM h128 50 steps b16 step", "one small op (4 elements)"}
    assert all(t > 0 for row in results.values() for t in row.values())


def test_hand_written_cupy_step_does_what_the_engine_step_does(bench):
    """The plain-CuPy reference is the same computation as the engine's MLP step (so the ratio
    compares like with like): three steps leave the same weights."""
    torch = pytest.importorskip("torch")
    weights = bench.torch_weights(torch)
    cp = emulated_cupy.make_module()
    reference = bench.cupy_mlp_step(cp, weights, batch=32)
    ours = bench.training_step("mlp_large", (32, 784), "sgd")(engine, "cpu", weights)
    for _ in range(3):
        reference()
        ours()
    for mine, theirs in zip(ours.model.parameters(), reference.params):
        np.testing.assert_allclose(mine.detach().numpy(), cp.asnumpy(theirs), rtol=1e-4, atol=1e-6)
