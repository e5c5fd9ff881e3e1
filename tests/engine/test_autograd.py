"""Define-by-run autograd: leaves and grad_fn, backward's arguments, accumulation, retain_grad,
detach, grad modes, autograd.grad with higher order, hooks, custom Functions, long chains, freed
buffers, and in-place operations with version counters."""
import gc
import sys
import weakref

import numpy as np
import pytest

from gradview import engine
from gradview.engine import autograd
from tests.engine.helpers import reference_torch, run_both


def leaf(*values, dtype=engine.float64):
    return engine.tensor(list(values) if len(values) > 1 else values[0], dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------------------------------------
# leaves, grad_fn, next_functions
def test_leaf_and_grad_fn():
    x = engine.ones(2, 2, requires_grad=True)
    c = engine.ones(2, 2)
    assert x.is_leaf and x.requires_grad and x.grad is None and x.grad_fn is None
    assert c.is_leaf and not c.requires_grad
    y = x * 2 + c
    assert not y.is_leaf and y.requires_grad
    assert y.grad_fn.name() == "AddBackward0"
    (mul_node, _), (none_node, _) = y.grad_fn.next_functions
    assert mul_node.name() == "MulBackward0" and none_node is None
    acc, _ = mul_node.next_functions[0]
    assert acc.name() == "torch::autograd::AccumulateGrad"
    assert acc.variable is x
    assert (c * 2).grad_fn is None and not (c * 2).requires_grad


def _graph_signature(root):
    """The graph below a node as nested (name, children) tuples, for comparing with PyTorch."""
    if root is None:
        return None
    return (root.name(), tuple(_graph_signature(child) for child, _ in root.next_functions))


def test_graph_structure_matches_pytorch():
    def program(t, x, w):
        h = t.tanh(x @ w + 1)
        y = (h * h).sum(dim=1).mean() - h.max()
        return y

    ours, theirs = run_both(program, np.random.rand(3, 4), np.random.rand(4, 2))
    assert _graph_signature(ours.grad_fn) == _graph_signature(theirs.grad_fn)


def test_requires_grad_rules():
    x = engine.ones(3)
    x.requires_grad = True
    assert x.requires_grad_(False) is x and not x.requires_grad
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        engine.ones(2, dtype=engine.int64).requires_grad_()
    with pytest.raises(RuntimeError, match="Only Tensors of floating point"):
        engine.tensor([1, 2], requires_grad=True)
    y = engine.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad = False
    # integer results of differentiable inputs do not require grad
    assert not (y > 1).requires_grad
    assert not y.argmax().requires_grad


# ---------------------------------------------------------------------------------------------
# backward
def test_backward_scalar_and_accumulation():
    x = leaf(1.0, 2.0, 3.0)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 4, 6])
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5, 7, 9])  # summed, not overwritten
    x.grad = None
    x.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1, 1, 1])
    x.grad.zero_()
    assert x.grad.tolist() == [0, 0, 0]


def test_backward_with_gradient_argument():
    x = leaf(1.0, 2.0, 3.0)
    y = x * x
    y.backward(engine.tensor([1.0, 0.5, -1.0], dtype=engine.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, -6])
    z = x * 2
    z.backward(gradient=engine.tensor([1.0, 1.0, 1.0], dtype=engine.float64))
    np.testing.assert_allclose(x.grad.numpy(), [4, 4, -4])


def test_backward_gradient_shape_mismatch():
    x = leaf(1.0, 2.0, 3.0)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of torch.Size\(\[2\]\)"):
        (x * 2).backward(engine.ones(2, dtype=engine.float64))


def test_same_tensor_used_twice_gets_summed_gradient():
    def program(t, x):
        y = x * x + x.exp() * x
        return (y + y).sum()
    run_both(program, np.random.rand(4))


def test_diamond_and_shared_subgraphs_match_pytorch():
    def program(t, x, w):
        a = x @ w
        b = a.relu()
        c = a.sigmoid()
        d = b * c + a
        return d.sum(0), d.mean()
    run_both(program, np.random.randn(3, 4), np.random.randn(4, 5))


def test_unused_branch_and_nondifferentiable_paths():
    x = leaf(1.0, -2.0, 3.0)
    mask = x > 0
    y = (x * mask).sum() + x.argmax()  # the argmax path carries no gradient
    y.backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]


def test_retain_graph_allows_second_backward():
    x = leaf(2.0)
    y = x.exp() * x
    y.backward(retain_graph=True)
    first = x.grad.item()
    y.backward()
    assert x.grad.item() == pytest.approx(2 * first)


def test_second_backward_through_freed_graph_raises():
    x = leaf(2.0)
    y = (x.exp() * x).sin()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_saved_tensors_released_after_backward():
    x = leaf(*np.arange(1.0, 5.0))
    big = x.exp()
    y = (big * big).sum()
    ref = weakref.ref(big)
    del big
    gc.collect()
    assert ref() is not None  # kept alive by the graph (MulBackward0 saves it)
    y.backward()
    gc.collect()
    assert ref() is None  # released with the saved values
    node = y.grad_fn.next_functions[0][0]
    assert node.saved is None


def test_graph_without_retain_is_collected():
    x = leaf(*np.arange(1.0, 5.0))
    y = (x.exp() * x).sum()
    ref = weakref.ref(y.grad_fn)
    y.backward()
    del y
    gc.collect()
    assert ref() is None


def test_create_graph_gives_differentiable_gradient():
    x = leaf(0.5, 1.5)
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([0.5, 1.5]) ** 2)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([0.5, 1.5]))


def test_backward_inputs_argument():
    x, w = leaf(1.0, 2.0), leaf(3.0, 4.0)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    assert w.grad.tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------------------------
# retain_grad, detach
def test_retain_grad_on_intermediate():
    x = leaf(1.0, 2.0)
    y = x * 3
    y.retain_grad()
    z = (y * y).sum()
    z.backward()
    assert y.retains_grad and not x.retains_grad
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 36.0])
    w = x * 2
    assert w.grad is None


def test_detach_shares_memory_and_cuts_graph():
    x = leaf(1.0, 2.0)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    d[0] = 10.0
    assert y[0].item() == 10.0  # same memory
    z = x * 3
    z.detach_()
    assert not z.requires_grad and z.grad_fn is None
    (x * d).sum().backward()
    assert x.grad.tolist() == [10.0, 4.0]


# ---------------------------------------------------------------------------------------------
# grad modes
def test_no_grad_context_and_decorator():
    x = leaf(1.0)
    with engine.no_grad():
        y = x * 2
        assert not engine.is_grad_enabled()
        with engine.enable_grad():
            z = x * 2
            assert engine.is_grad_enabled()
    assert engine.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @engine.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert engine.is_grad_enabled()

    @engine.enable_grad()
    def triple(t):
        return t * 3

    with engine.no_grad():
        assert triple(x).requires_grad

    @engine.no_grad  # bare, without parentheses
    def bare(t):
        return t * 2

    @engine.enable_grad
    def bare_enable(t):
        return t * 2

    assert not bare(x).requires_grad and engine.is_grad_enabled()
    with engine.no_grad():
        assert bare_enable(x).requires_grad
    assert bare.__name__ == "bare"


def test_inference_mode_and_data():
    x = leaf(1.0, 2.0)
    with engine.inference_mode():
        assert not (x * 2).requires_grad
    y = x * 2
    assert not y.data.requires_grad and y.data.tolist() == [2.0, 4.0]


def test_set_grad_enabled():
    x = leaf(1.0)
    with engine.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    engine.set_grad_enabled(False)
    try:
        assert not engine.is_grad_enabled()
    finally:
        engine.set_grad_enabled(True)
    assert engine.is_grad_enabled()

    @engine.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert not f(x).requires_grad and engine.is_grad_enabled()


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ValueError):
        with engine.no_grad():
            raise ValueError
    assert engine.is_grad_enabled()


# ---------------------------------------------------------------------------------------------
# autograd.grad
def test_autograd_grad_does_not_touch_dot_grad():
    x = leaf(1.0, 2.0)
    y = (x * x).sum()
    (g,) = autograd.grad(y, x)
    assert g.tolist() == [2.0, 4.0] and x.grad is None


def test_autograd_grad_second_and_third_derivative():
    x = leaf(0.7)
    y = x.sin() * x ** 3
    (g1,) = autograd.grad(y, x, create_graph=True)
    (g2,) = autograd.grad(g1, x, create_graph=True)
    (g3,) = autograd.grad(g2, x)
    v = 0.7
    assert g1.item() == pytest.approx(np.cos(v) * v ** 3 + 3 * v ** 2 * np.sin(v))
    assert g2.item() == pytest.approx(-np.sin(v) * v ** 3 + 6 * v ** 2 * np.cos(v) + 6 * v * np.sin(v))
    torch = reference_torch()
    tx = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    ty = tx.sin() * tx ** 3
    (t1,) = torch.autograd.grad(ty, tx, create_graph=True)
    (t2,) = torch.autograd.grad(t1, tx, create_graph=True)
    (t3,) = torch.autograd.grad(t2, tx)
    assert g3.item() == pytest.approx(t3.item())


def test_hessian_vector_product_matches_pytorch():
    def program(t, x, w):
        loss = ((x @ w).tanh() ** 2).sum()
        (gw,) = t.autograd.grad(loss, w, create_graph=True)
        return (gw * gw).sum()
    run_both(program, np.random.randn(3, 4), np.random.randn(4, 2))


def test_autograd_grad_multiple_inputs_outputs_and_allow_unused():
    a, b, c = leaf(1.0, 2.0), leaf(3.0, 4.0), leaf(5.0)
    y1 = (a * b).sum()
    y2 = (a * 2).sum()
    ga, gb = autograd.grad([y1, y2], [a, b], retain_graph=True)
    assert ga.tolist() == [5.0, 6.0] and gb.tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        autograd.grad(y1, [a, c], retain_graph=True)
    ga, gc_ = autograd.grad(y1, [a, c], allow_unused=True)
    assert gc_ is None
    (g,) = autograd.grad(y2, [a], grad_outputs=engine.tensor(3.0, dtype=engine.float64))
    assert g.tolist() == [6.0, 6.0]


def test_autograd_grad_of_non_requiring_output():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        autograd.grad(engine.ones(2).sum(), engine.ones(2, requires_grad=True))


# ---------------------------------------------------------------------------------------------
# hooks
def test_tensor_hooks_see_and_replace_gradients():
    x = leaf(1.0, 2.0)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.clone()))
    y = x * 3
    y.register_hook(lambda g: g * 10)  # replaces the gradient flowing on from y
    y.sum().backward()
    assert seen[0].tolist() == [30.0, 30.0]
    assert x.grad.tolist() == [30.0, 30.0]
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert len(seen) == 1
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        engine.ones(2).register_hook(lambda g: g)


def test_hooks_match_pytorch():
    def program(t, x):
        y = x.exp()
        y.register_hook(lambda g: g * 2)
        z = (y * x).sum()
        return z
    run_both(program, np.random.randn(5))


# ---------------------------------------------------------------------------------------------
# custom Functions
class Cube(autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x ** 3 * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2 * ctx.scale, None


def test_custom_function():
    x = leaf(1.0, 2.0)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    assert y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]
    assert autograd.gradcheck(lambda t: Cube.apply(t, 1.5), (leaf(0.3, -0.8),))


def test_custom_function_needs_input_grad_and_no_grad_inside_forward():
    seen = {}

    class Probe(autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            seen["grad_mode"] = engine.is_grad_enabled()
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, None

    out = Probe.apply(leaf(1.0, 2.0), engine.ones(2, dtype=engine.float64))
    assert seen == {"needs": (True, False), "grad_mode": False}
    assert not Probe.apply(engine.ones(2), engine.ones(2)).requires_grad
    out.sum().backward()


def test_custom_function_saved_tensor_modified_in_place():
    x = leaf(1.0, 2.0)
    y = x * 1
    out = Cube.apply(y, 1.0)
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_custom_function_matches_pytorch():
    torch = reference_torch()

    def make(lib):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, w):
                ctx.save_for_backward(x, w)
                return x * w.exp()

            @staticmethod
            def backward(ctx, g):
                x, w = ctx.saved_tensors
                gx = g * w.exp() if ctx.needs_input_grad[0] else None
                gw = (g * x * w.exp()) if ctx.needs_input_grad[1] else None
                return gx, gw
        return Scale

    ours, theirs = make(engine), make(torch)
    run_both(lambda t, x, w: (ours if t is engine else theirs).apply(x, w).tanh(),
             np.random.randn(3), np.random.randn(3), names=False)


# ---------------------------------------------------------------------------------------------
# long graphs
def test_chain_of_100000_ops_does_not_recurse():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # backward must not depend on deep recursion
    try:
        x = engine.tensor(1.0, requires_grad=True)
        y = x
        for _ in range(100_000):
            y = y * 1.0
        y.backward()
        assert x.grad.item() == 1.0
        # ... and a long graph is also freed without recursing
        del y
        gc.collect()
    finally:
        sys.setrecursionlimit(limit)


def test_long_chain_with_autograd_grad_and_create_graph():
    x = engine.tensor(0.5, dtype=engine.float64, requires_grad=True)
    y = x
    for _ in range(2000):
        y = y * 1.0001
    (g,) = autograd.grad(y, x, create_graph=True)
    assert g.item() == pytest.approx(1.0001 ** 2000)


# ---------------------------------------------------------------------------------------------
# in-place operations
def test_inplace_returns_self_and_bumps_version():
    x = engine.zeros(3)
    v = x._version
    assert x.add_(1) is x and x._version == v + 1
    assert x.mul_(2) is x and x._version == v + 2
    x[0] = 5
    assert x._version == v + 3
    x += 1
    assert x._version == v + 4 and x.tolist() == [6.0, 3.0, 3.0]
    view = x[1:]
    view.zero_()
    assert x.tolist() == [6.0, 0.0, 0.0] and x._version == view._version


def test_modifying_saved_tensor_raises_pytorchs_error():
    torch = reference_torch()
    for lib in (engine, torch):
        x = lib.ones(3, requires_grad=True)
        y = x.exp()
        z = y.sin()  # saves y
        y.add_(1)
        with pytest.raises(RuntimeError) as info:
            z.sum().backward()
        message = str(info.value)
        assert message.startswith(
            "one of the variables needed for gradient computation has been modified by an inplace operation: "
            "[torch.FloatTensor [3]], which is output 0 of Add, is at version 1; expected version 0 instead.")


def test_modifying_saved_output_raises():
    x = engine.ones(3, requires_grad=True)
    y = x.exp()  # saves its output
    y.mul_(2)
    with pytest.raises(RuntimeError, match="output 0 of Exp, is at version 1; expected version 0"):
        y.sum().backward()


def test_inplace_on_leaf_requiring_grad_raises():
    x = engine.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                           "operation."):
        x.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x[0] = 2.0
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                           "in-place operation."):
        x[1:].mul_(2)
    with engine.no_grad():
        x.add_(1)  # allowed: this is how optimizers update parameters
    assert x.tolist() == [2.0, 2.0, 2.0] and x.is_leaf and x.requires_grad


def test_inplace_on_non_leaf_is_differentiable():
    def program(t, x):
        y = x * 2
        y.add_(1).mul_(x)
        y.sub_(x.sin(), alpha=0.5)
        y.clamp_(min=-1.0)
        return y
    run_both(program, np.random.randn(6))


def test_mask_assignment_on_non_leaf_is_differentiable():
    def program(t, x):
        y = x * 1
        y[y > 0] = 0
        return y
    ours, _ = run_both(program, np.array([1.0, -2.0, 3.0, -4.0]))
    x = engine.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * 1
    y[y > 0] = 0
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


def test_assignment_of_tensor_values_is_differentiable_in_both():
    def program(t, x, v):
        y = x.clone()
        y[1:3] = v * 2
        y[0, [0, 2]] = v[0, :2]
        return y
    run_both(program, np.random.randn(4, 3), np.random.randn(2, 3))


def test_inplace_on_view_of_non_leaf_goes_through_copyslices():
    def program(t, x):
        y = x * 1
        row = y[1]
        row.mul_(3)
        y[:, 0].exp_()
        return y
    ours, theirs = run_both(program, np.random.randn(3, 4))
    assert ours.grad_fn.name() == "torch::autograd::CopySlices"


def test_view_sees_base_update_and_gradient():
    def program(t, x):
        y = x * 3
        v = y.view(-1)
        y.mul_(x)  # the view sees the change
        return v * 1
    run_both(program, np.random.randn(2, 3), names=False)


def test_out_argument_rejects_autograd():
    x = engine.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        engine.add(x, x, out=engine.empty(2))


def _views_then_base_changes(t, x):
    y = x * 3
    row, flat = y[0], y.view(-1)
    y.mul_(x)
    return row * 1, flat.exp()


def _sibling_view_changes(t, x):
    y = x * 3
    a, b = y[0], y[:, 1]
    a.mul_(2)
    return b * 1, y.sum()


def _view_of_view_changes(t, x):
    y = x * 3
    a = y[0]
    b = a[1:]
    y.add_(x)
    b.mul_(x[0, 1:])
    return a * 1, y


def _assignment_after_view(t, x):
    y = x * 1
    a = y[1]
    y[1:] = 0
    return a * 2, y


def _expanded_view(t, x):
    y = x * 1
    e = y.unsqueeze(0).expand(2, 3, 4)
    y.mul_(2)
    return e * 1


@pytest.mark.parametrize("program", [_views_then_base_changes, _sibling_view_changes, _view_of_view_changes,
                                     _assignment_after_view, _expanded_view])
def test_views_made_before_an_inplace_change_follow_the_base(program):
    """A view taken before its base (or a sibling view) changed in place gets its gradient through
    the base's new node, so values and gradients both match PyTorch."""
    run_both(program, np.random.randn(3, 4), names=False)


def test_backward_from_several_roots_that_depend_on_each_other():
    def program(t, x):
        y = x * 3
        return y * 2, y  # the second root is also an inner node of the first
    run_both(program, np.random.randn(3))
    x = leaf(1.0, 2.0)
    y = x * 3
    autograd.backward([y, y * 2], [engine.ones(2, dtype=engine.float64)] * 2)
    assert x.grad.tolist() == [9.0, 9.0]


OVERWRITES = {
    "zero_": lambda t, y: y.zero_(),
    "fill_": lambda t, y: y.fill_(2.0),
    "copy_": lambda t, y: y.copy_(t.ones(3, dtype=t.float64)),
    "uniform_": lambda t, y: y.uniform_(),
    "normal_": lambda t, y: y.normal_(),
    "random_": lambda t, y: y.random_(0, 5),
    "eq_": lambda t, y: y.eq_(1.5),
    "view_zero_": lambda t, y: y[1:].zero_(),
    "view_fill_": lambda t, y: y[:2].fill_(-1.0),
}


@pytest.mark.parametrize("name", list(OVERWRITES))
def test_overwriting_a_tensor_in_the_graph_stops_its_gradient(name):
    """zero_, fill_, copy_ of a constant, random fills: the old value gets no gradient through the
    overwritten part (the gradient used to flow through as if nothing had changed)."""
    torch = reference_torch()
    results = []
    for lib in (engine, torch):
        x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        y = x * 1.5
        OVERWRITES[name](lib, y)
        assert y.requires_grad
        (y * 2).sum().backward()
        results.append((x.grad.tolist(), y.grad_fn.name()))
    (ours, our_name), (theirs, their_name) = results
    assert ours == theirs
    if name in ("zero_", "uniform_", "normal_", "random_", "eq_"):
        assert our_name == their_name


def test_overwriting_a_leaf_in_place_needs_no_grad():
    w = engine.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w.normal_()
    with engine.no_grad():
        w.normal_()
        w.zero_()
    assert w.is_leaf and w.grad_fn is None and w.tolist() == [0.0, 0.0, 0.0]


SAVED_ONLY_WHEN_NEEDED = {
    # (program, whether PyTorch raises the in-place error at backward)
    "mul_by_constant": (lambda t, h, c: (h * c, h.relu_()), False),
    "mul_constant_first": (lambda t, h, c: (c * h, h.mul_(2)), False),
    "div_by_constant": (lambda t, h, c: (h / (c + 2), h.add_(1)), False),
    "matmul_constant_right": (lambda t, h, c: (h @ c.t(), h.sin_()), False),
    "matmul_constant_left": (lambda t, h, c: (c.t() @ h, h.exp_()), False),
    "mul_both_need": (lambda t, h, c: (h * h.detach().requires_grad_(), h.add_(1)), True),
    "constant_modified": (lambda t, h, c: (h * c, c.add_(1)), True),
    "div_constant_numerator": (lambda t, h, c: (c / h, h.add_(1)), True),
}


@pytest.mark.parametrize("name", list(SAVED_ONLY_WHEN_NEEDED))
def test_inputs_are_saved_only_for_gradients_that_are_taken(name):
    """y = h * c with c constant keeps c but not h, so changing h in place afterwards is fine, as in
    PyTorch; where PyTorch keeps the changed tensor, both raise."""
    program, raises = SAVED_ONLY_WHEN_NEEDED[name]
    torch = reference_torch()
    grads = []
    for lib in (engine, torch):
        x = lib.tensor(np.linspace(0.5, 2.0, 9).reshape(3, 3), requires_grad=True)
        c = lib.tensor(np.linspace(-1.0, 1.0, 9).reshape(3, 3))
        h = x * 1
        y, _ = program(lib, h, c)
        if raises:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                y.sum().backward()
            continue
        y.sum().backward()
        grads.append(x.grad.numpy().copy())
    if not raises:
        np.testing.assert_allclose(grads[0], grads[1])


def test_post_accumulate_grad_hook_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference implementation")
    results = []
    for lib in (engine, torch):
        w = lib.ones(3, requires_grad=True)
        seen = []
        handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
        (w * 2).sum().backward()
        (w * 3).sum().backward()
        handle.remove()
        (w * 1).sum().backward()
        with pytest.raises(RuntimeError, match="non-leaf"):
            (w * 2).register_post_accumulate_grad_hook(lambda p: None)
        results.append((seen, w.grad.tolist()))
    assert results[0] == results[1]
