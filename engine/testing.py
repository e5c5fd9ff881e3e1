"""Numerical gradient checks: `gradcheck` and `gradgradcheck`, with PyTorch's calling convention.

The analytical Jacobian (one backward pass per output element) is compared with central finite
differences taken in float64: every floating-point input is copied to a float64 leaf, so the check
is as precise as the op allows whatever dtype the caller used, and the caller's tensors are never
touched.
"""
import numpy as np

from .autograd import grad
from .creation import zeros_like
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytical and numerical gradients disagree."""


def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _float64_inputs(inputs):
    copies = []
    for x in inputs:
        if isinstance(x, Tensor) and x.dtype.is_floating_point:
            data = np.array(x.detach()._host(), dtype=np.float64, copy=True, order="C")  # perturbed through a flat view
            copy = _on_device(data, x.device)
            copy.requires_grad_(x.requires_grad)
            copies.append(copy)
        else:
            copies.append(x)
    return tuple(copies)


def _on_device(array, device):
    """A tensor of a host array, on `device` (where the checked function runs)."""
    if device.type != "cpu":
        array = device.backend.from_numpy(array, device.index)
    return Tensor._make(array, device=device)


def _differentiable_outputs(outputs):
    return [(i, o) for i, o in enumerate(outputs) if isinstance(o, Tensor) and o.dtype.is_floating_point]


def _numerical_jacobians(fn, inputs, wrt, eps):
    """{(output, input): J[n_out, n_in]} by central differences, perturbing each input in place.
    Grad mode stays on: the function may differentiate something itself (gradgradcheck does)."""
    jac = {}
    for j in wrt:
        flat = inputs[j]._data.reshape(-1)  # a view: inputs are fresh contiguous float64 copies
        for k in range(flat.size):
            orig = flat[k].item()  # a Python float: on CuPy `flat[k]` is a 0-d view that the writes below would move
            flat[k] = orig + eps
            plus = _flat_outputs(fn(*inputs))
            flat[k] = orig - eps
            minus = _flat_outputs(fn(*inputs))
            flat[k] = orig
            for (i, p), (_, m) in zip(plus, minus):
                col = jac.setdefault((i, j), np.zeros((p.size, flat.size)))
                col[:, k] = (p - m) / (2 * eps)
    return jac


def _flat_outputs(outputs):
    return [(i, o._host().astype(np.float64).reshape(-1)) for i, o in _differentiable_outputs(_as_tuple(outputs))]


def _analytical_jacobians(outputs, inputs, wrt):
    jac = {}
    targets = [inputs[j] for j in wrt]
    for i, out in _differentiable_outputs(outputs):
        n_out = out.numel()
        for j in wrt:
            jac[(i, j)] = np.zeros((n_out, inputs[j].numel()))
        if not out.requires_grad:
            continue  # the output does not depend on any input: its Jacobian is zero
        for k in range(n_out):
            seed = np.zeros(n_out, dtype=out._data.dtype)
            seed[k] = 1
            seed = _on_device(seed.reshape(out._data.shape), out.device)
            grads = grad(out, targets, grad_outputs=seed, retain_graph=True, allow_unused=True)
            for j, g in zip(wrt, grads):
                if g is not None:
                    jac[(i, j)][k] = g._host().astype(np.float64).reshape(-1)
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **kwargs):
    """Check `func`'s gradients against finite differences for every input that requires grad.

    Returns True when they agree; otherwise raises GradcheckError naming the output, the input and
    the largest difference (or returns False when `raise_exception=False`).
    """
    inputs = _float64_inputs(_as_tuple(inputs))
    wrt = [j for j, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of the them "
                         "have requires_grad=True.")
    outputs = _as_tuple(func(*inputs))
    analytical = _analytical_jacobians(outputs, inputs, wrt)
    numerical = _numerical_jacobians(func, inputs, wrt, eps)
    for (i, j), num in numerical.items():
        ana = analytical[(i, j)]
        if ana.shape != num.shape or not np.allclose(ana, num, rtol=rtol, atol=atol, equal_nan=False):
            diff = np.abs(ana - num) if ana.shape == num.shape else np.array([np.inf])
            worst = float(np.nanmax(diff)) if diff.size else 0.0
            if diff.size and np.isnan(diff).any():
                worst = float("nan")
            message = (f"Jacobian mismatch for output {i} with respect to input {j}, max difference {worst:.6g},\n"
                       f"numerical:{Tensor._make(num)}\nanalytical:{Tensor._make(ana)}\n")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  **kwargs):
    """Check second derivatives: gradcheck of the function (inputs, grad_outputs) -> input gradients,
    computed with create_graph=True."""
    inputs = _float64_inputs(_as_tuple(inputs))
    n = len(inputs)
    outputs = _differentiable_outputs(_as_tuple(func(*inputs)))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(_on_device(rng.standard_normal(o._data.shape), o.device).requires_grad_()
                             for _, o in outputs)
    grad_outputs = _float64_inputs(_as_tuple(grad_outputs))
    wrt = [j for j, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_derivatives(*args):
        xs, gs = args[:n], args[n:]
        outs = [o for _, o in _differentiable_outputs(_as_tuple(func(*xs)))]
        pairs = [(o, g) for o, g in zip(outs, gs) if o.requires_grad]
        grads = grad([o for o, _ in pairs], [xs[j] for j in wrt], grad_outputs=[g for _, g in pairs],
                     create_graph=True, allow_unused=True)
        return tuple(g if g is not None else zeros_like(xs[j]) for j, g in zip(wrt, grads))

    return gradcheck(first_derivatives, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


def assert_close(actual, expected, *, rtol=None, atol=None, equal_nan=False, check_dtype=True, msg=None):
    """A small `torch.testing.assert_close`: same shape (and dtype), values within tolerance."""
    a = actual if isinstance(actual, Tensor) else Tensor._make(np.asarray(actual))
    e = expected if isinstance(expected, Tensor) else Tensor._make(np.asarray(expected, dtype=a._data.dtype))
    if tuple(a.shape) != tuple(e.shape):
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: {a.shape} != {e.shape}.")
    if check_dtype and a.dtype is not e.dtype:
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match: {a.dtype} != {e.dtype}.")
    defaults = {"float16": (1e-3, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}
    d_rtol, d_atol = defaults.get(a.dtype.name, (0.0, 0.0))
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    x, y = a.detach()._host(), e.detach()._host()
    if not np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan):
        bad = ~np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)
        diff = np.abs(x.astype(np.float64) - y.astype(np.float64))
        raise AssertionError(msg or f"Tensor-likes are not close!\n\nMismatched elements: {int(bad.sum())} / "
                                    f"{bad.size}\nGreatest absolute difference: {float(np.nanmax(diff))}")
