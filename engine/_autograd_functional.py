"""`torch.autograd.functional`: jacobian, hessian, vjp, jvp, vhp and hvp of a Python function, built
on `autograd.grad` (reverse mode, one backward per output element for the Jacobian)."""
from . import autograd


def _as_tuple(x):
    return (x, False) if isinstance(x, tuple) else ((x,), True)


def _prepare(inputs, create_graph):
    """Fresh leaves that require grad (or differentiable aliases under create_graph)."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_(True)
                 for x in inputs)


def _grads(outputs, inputs, grad_outputs, create_graph):
    from .creation import zeros_like
    grads = autograd.grad(outputs, inputs, grad_outputs, retain_graph=True, create_graph=create_graph,
                          allow_unused=True)
    return tuple(zeros_like(x) if g is None else g for x, g in zip(inputs, grads))


def _finish(values, create_graph):
    return tuple(v if create_graph else v.detach() for v in values)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    from .ops.shape import stack
    inputs, single_in = _as_tuple(inputs)
    inputs = _prepare(inputs, create_graph)
    outputs, single_out = _as_tuple(func(*inputs))
    blocks = []
    for out in outputs:
        flat = out.reshape(-1)
        rows = [[] for _ in inputs]
        for i in range(flat.numel()):
            if flat.requires_grad:
                grads = _grads(flat[i], inputs, None, create_graph)
            else:
                from .creation import zeros_like
                grads = tuple(zeros_like(x) for x in inputs)
            for j, g in enumerate(grads):
                rows[j].append(g)
        block = []
        for x, row in zip(inputs, rows):
            jac = stack(row).reshape(tuple(out.shape) + tuple(x.shape)) if row else \
                x.new_zeros(tuple(out.shape) + tuple(x.shape))
            block.append(jac if create_graph else jac.detach())
        blocks.append(tuple(block))
    if single_out:
        return blocks[0][0] if single_in else blocks[0]
    return tuple(b[0] for b in blocks) if single_in else tuple(blocks)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    _, single_in = _as_tuple(inputs)

    def gradient(*xs):
        out = func(*xs)
        grads = _grads(out, xs, None, True)
        return grads[0] if single_in else grads
    return jacobian(gradient, inputs, create_graph=create_graph)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    inputs, single_in = _as_tuple(inputs)
    inputs = _prepare(inputs, create_graph)
    outputs = func(*inputs)
    grads = _grads(outputs, inputs, v, create_graph)
    outs, single_out = _as_tuple(outputs)
    outs = _finish(outs, create_graph)
    grads = _finish(grads, create_graph)
    return (outs[0] if single_out else outs), (grads[0] if single_in else grads)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """J v by the double-backward trick: the VJP with a dummy cotangent u is linear in u."""
    from .creation import zeros_like
    inputs, single_in = _as_tuple(inputs)
    inputs = _prepare(inputs, True)
    outputs = func(*inputs)
    outs, single_out = _as_tuple(outputs)
    dummies = tuple(zeros_like(o).requires_grad_(True) for o in outs)
    grads = _grads(outs, inputs, dummies, True)
    vs, _ = _as_tuple(v) if v is not None else ((None,) * len(inputs), True)
    if v is None:
        from .creation import ones_like
        vs = tuple(ones_like(x) for x in inputs)
    result = _grads(grads, dummies, vs, create_graph)
    outs, result = _finish(outs, create_graph), _finish(result, create_graph)
    return (outs[0] if single_out else outs), (result[0] if single_out else result)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    inputs, single_in = _as_tuple(inputs)
    inputs = _prepare(inputs, True)
    out = func(*inputs)
    grads = _grads(out, inputs, None, True)
    vs = _as_tuple(v)[0] if v is not None else None
    if vs is None:
        from .creation import ones_like
        vs = tuple(ones_like(x) for x in inputs)
    result = _finish(_grads(grads, inputs, vs, create_graph), create_graph)
    out = out if create_graph else out.detach()
    return out, (result[0] if single_in else result)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    # the Hessian of a twice-differentiable scalar function is symmetric: H v = (v^T H)^T
    return vhp(func, inputs, v, create_graph, strict)
