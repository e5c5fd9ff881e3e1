"""In-place writes of values that require grad into tensors that do not (`b[0] = w * 2`,
`loss = torch.Tensor([0]); loss += ...`, `copy_`): the destination joins the graph exactly as in
PyTorch (CopySlices, CopyBackwards or the in-place op's own node), so gradients match PyTorch's."""
import re

import numpy as np
import pytest

from gradview import engine
from tests.engine.helpers import reference_torch


def _setitem_row(lib, dev, w):
    b = lib.zeros(2, 3, device=dev)
    b[0] = w * 2
    return b.sum() + w.sum(), b


def _setitem_mask(lib, dev, w):
    b = lib.zeros(3, device=dev)
    b[lib.tensor([True, False, True], device=dev)] = w[:2] * 3
    return (b * b).sum(), b


def _setitem_advanced(lib, dev, w):
    b = lib.ones(4, 3, device=dev)
    b[[0, 2]] = w.exp()
    return (b * lib.arange(12., device=dev).reshape(4, 3)).sum(), b


def _iadd_legacy(lib, dev, w):
    loss = lib.Tensor([0]).to(dev)
    loss += (w * 2).sum()
    return loss.sum(), loss


def _iadd_loop(lib, dev, w):
    total = lib.zeros(1, device=dev)
    for i in range(3):
        total += w[i] ** 2
    return total.sum(), total


def _copy(lib, dev, w):
    b = lib.zeros(3, device=dev)
    b.copy_(w * 3)
    return (b * b).sum(), b


def _copy_broadcast_dtype(lib, dev, w):
    b = lib.zeros(2, 3, dtype=lib.float64, device=dev)
    b.copy_(w)
    return (b * b).sum(), b


def _copy_into_view(lib, dev, w):
    b = lib.zeros(2, 3, device=dev)
    b[1].copy_(w * 3)
    return (b ** 3).sum(), b


def _mul_inplace(lib, dev, w):
    b = lib.full((3,), 2.0, device=dev)
    b.mul_(w * 3)
    return (b * b).sum(), b


def _fill_tensor(lib, dev, w):
    b = lib.zeros(2, device=dev)
    b.fill_(w[0] * 5)
    return (b * b).sum(), b


def _masked_fill_tensor(lib, dev, w):
    b = lib.zeros(3, device=dev)
    b.masked_fill_(lib.tensor([True, False, True], device=dev), w.sum())
    return (b * b).sum(), b


def _scatter_src(lib, dev, w):
    b = lib.zeros(2, 3, device=dev)
    b.scatter_(1, lib.tensor([[2, 1, 0], [0, 1, 2]], device=dev), w.expand(2, 3) * 2)
    return (b * lib.arange(6., device=dev).reshape(2, 3)).sum(), b


def _index_add(lib, dev, w):
    b = lib.zeros(4, 3, device=dev)
    b.index_add_(0, lib.tensor([1, 3], device=dev), w.expand(2, 3))
    return (b * b).sum(), b


def _view_then_write(lib, dev, w):
    b = lib.zeros(2, 3, device=dev)
    row = b[0]
    row += w
    return (b * b).sum() + row.sum(), b


def _view_made_before_write(lib, dev, w):
    b = lib.zeros(2, 3, device=dev)
    row, flipped = b[0], b.t()
    b += w * 2
    return row.sum() * 3 + (flipped * flipped).sum(), b


PROGRAMS = [_setitem_row, _setitem_mask, _setitem_advanced, _iadd_legacy, _iadd_loop, _copy,
            _copy_broadcast_dtype, _copy_into_view, _mul_inplace, _fill_tensor, _masked_fill_tensor,
            _scatter_src, _index_add, _view_then_write, _view_made_before_write]


def _run(lib, program, dev):
    w = lib.tensor([0.5, -1.5, 2.0], device=dev, requires_grad=True)
    out, written = program(lib, dev, w)
    node = type(written.grad_fn).__name__ if lib is not engine else written.grad_fn.short_name()
    out.backward()
    return written.detach().cpu().numpy(), node, w.grad.cpu().numpy()


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__.lstrip("_"))
def test_write_into_constant_builds_the_graph(program, device):
    torch = reference_torch()
    value, node, grad = _run(engine, program, device)
    t_value, t_node, t_grad = _run(torch, program, "cpu")
    np.testing.assert_allclose(value, t_value, rtol=1e-6)
    assert node == t_node
    np.testing.assert_allclose(grad, t_grad, rtol=1e-6)


def test_write_into_constant_keeps_the_old_value_for_backward():
    # mul_ into a constant saves the constant's old value: later writes must not change the gradient
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    b = engine.tensor([3.0, 4.0])
    b.mul_(w)
    b.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 4.0])


def test_copy_shape_errors_match_pytorch():
    torch = reference_torch()
    for dst, src in [((1, 3), (2, 3)), ((2, 3), (4,))]:
        with pytest.raises(RuntimeError) as theirs:
            torch.zeros(dst).copy_(torch.ones(src))
        with pytest.raises(RuntimeError, match=re.escape(str(theirs.value))):
            engine.zeros(dst).copy_(engine.ones(src))


def test_grad_fn_prints_as_pytorch():
    torch = reference_torch()
    for lib in (engine, torch):
        w = lib.ones(3, requires_grad=True)
        b = lib.zeros(2, 3)
        b[0] = w * 2
        c = lib.zeros(3)
        c.copy_(w)
        printed = (repr(b), repr(c), repr(b.grad_fn).split(" object")[0])
        if lib is engine:
            ours = printed
    assert ours == printed


def test_masked_fill_with_a_tensor_value_passes_its_gradient(device):
    torch = reference_torch()
    grads = []
    for lib, dev in ((engine, device), (torch, "cpu")):
        w = lib.tensor([0.5, -1.5, 2.0], device=dev, requires_grad=True)
        x = lib.arange(3.0, device=dev, requires_grad=True)
        out = x.masked_fill(lib.tensor([True, False, True], device=dev), w.sum())
        (out * out).sum().backward()
        grads.append((w.grad.cpu().numpy(), x.grad.cpu().numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0])
    np.testing.assert_allclose(grads[0][1], grads[1][1])


def test_captured_graph_draws_the_constant_written_into():
    from gradview.engine import graph
    with graph.capture() as g:
        w = engine.ones(3, requires_grad=True)
        b = engine.zeros(2, 3)
        b[0] = w * 2
        b.sum().backward()
    assert [n.label for n in g.steps[0].nodes] == ["w", "mul", "b", "setitem", "sum"]
