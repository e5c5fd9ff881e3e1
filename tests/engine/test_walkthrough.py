"""The walkthrough from the engine issue runs unchanged on the engine and prints what PyTorch prints;
the recurrent loop at its end gives PyTorch's values and gradients for any number of steps."""
import contextlib
import io
import textwrap

import numpy as np
import pytest

from gradview import engine
from tests.engine.helpers import reference_torch

WALKTHROUGH = textwrap.dedent('''
    x = torch.randn(5, 3, dtype=torch.float)
    x = torch.tensor([0, 1, 2, 3, 4])
    print(x)

    x = torch.randn(5, 3)
    y = torch.randn(5, 3)
    result = torch.empty(5, 3)
    torch.add(x, y, out=result)
    print(torch.equal(result, x + y))
    y.add_(x)
    y.copy_(x)
    y.t_()
    print(y.shape, torch.equal(y, x.t()))

    a = torch.ones(5)
    b = a.numpy()
    a.add_(1)
    print(a, b)

    import numpy as np
    a = np.ones(5)
    b = torch.from_numpy(a)
    np.add(a, 1, out=a)
    print(b)

    x = torch.randn(1)
    if torch.cuda.is_available():
        device = torch.device("cuda")
        y = torch.ones_like(x, device=device)
        x = x.to(device)
        z = x + y
        print(z)
        print(z.to("cpu", torch.double))

    x = torch.ones(2, 2, requires_grad=True)
    print(x)
    y = x + 1
    print(y)
    print(y.grad_fn.name())
    z = y * y * 2
    out = z.mean()
    print(z, out)
    out.backward()
    print(x.grad)
''')


def run_script(lib, source):
    buffer = io.StringIO()
    namespace = {"torch": lib}
    with contextlib.redirect_stdout(buffer):
        exec(compile(source, "<walkthrough>", "exec"), namespace)
    return buffer.getvalue(), namespace


def test_walkthrough_prints_what_pytorch_prints():
    torch = reference_torch()
    ours, _ = run_script(engine, WALKTHROUGH)
    theirs, _ = run_script(torch, WALKTHROUGH)
    assert ours == theirs


def test_walkthrough_known_output():
    """The deterministic lines, spelled out (this part needs no PyTorch)."""
    ours, ns = run_script(engine, WALKTHROUGH)
    expected = textwrap.dedent('''\
        tensor([0, 1, 2, 3, 4])
        True
        torch.Size([3, 5]) True
        tensor([2., 2., 2., 2., 2.]) [2. 2. 2. 2. 2.]
        tensor([2., 2., 2., 2., 2.], dtype=torch.float64)
        tensor([[1., 1.],
                [1., 1.]], requires_grad=True)
        tensor([[2., 2.],
                [2., 2.]], grad_fn=<AddBackward0>)
        AddBackward0
        tensor([[8., 8.],
                [8., 8.]], grad_fn=<MulBackward0>) tensor(8., grad_fn=<MeanBackward0>)
        tensor([[2., 2.],
                [2., 2.]])
        ''')
    assert ours == expected
    assert ns["x"].grad.tolist() == [[2.0, 2.0], [2.0, 2.0]]


RECURRENCE = textwrap.dedent('''
    for _ in range(T):
        h = torch.matmul(W, h) + b
''')


@pytest.mark.parametrize("steps", [1, 2, 5, 13, 40])
def test_recurrent_loop_matches_pytorch(steps):
    torch = reference_torch()
    rng = np.random.default_rng(steps)
    W0 = (rng.standard_normal((4, 4)) * 0.5).astype(np.float32)
    h0 = rng.standard_normal((4, 1)).astype(np.float32)
    b0 = rng.standard_normal((4, 1)).astype(np.float32)
    results = {}
    for lib in (engine, torch):
        W = lib.tensor(W0.copy(), requires_grad=True)
        h = lib.tensor(h0.copy())
        b = lib.tensor(b0.copy())
        namespace = {"torch": lib, "W": W, "h": h, "b": b, "T": steps}
        exec(RECURRENCE, namespace)
        h = namespace["h"]
        assert h.grad_fn.name() == "AddBackward0"
        h.sum().backward()
        results[lib.__name__.rpartition(".")[2]] = (h.detach().numpy().copy(), W.grad.numpy().copy())
    (h_ours, g_ours), (h_theirs, g_theirs) = results["engine"], results["torch"]
    np.testing.assert_allclose(h_ours, h_theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-4, atol=1e-4)


def test_recurrent_loop_graph_grows_with_steps():
    """The graph is rebuilt on every run: T steps give T matmul nodes and T add nodes."""
    for steps in (1, 3, 8):
        W = engine.randn(4, 4, requires_grad=True)
        h = engine.randn(4, 1)
        b = engine.randn(4, 1)
        for _ in range(steps):
            h = engine.matmul(W, h) + b
        seen, stack = set(), [h.grad_fn]
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            stack.extend(child for child, _ in node.next_functions)
        names = sorted(node.name() for node in seen)
        assert names == ["AddBackward0"] * steps + ["MmBackward0"] * steps + ["torch::autograd::AccumulateGrad"]
