"""Random programs checked against PyTorch: random shapes with broadcasting, random chains of unary,
binary, reduction, reshape, indexing, matmul and in-place steps. Each program is built by drawing
one step at a time (a step's choices depend on the shapes so far), then run on both libraries from
the same float64 inputs; values, dtypes, node names and input gradients must agree."""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from tests.engine.helpers import reference_torch, run_both

reference_torch()

# the `device` fixture holds for all of a test's examples (it only picks where the engine runs)
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,  # the same examples on every run
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

UNARY = {
    "neg": lambda t, x: -x,
    "exp": lambda t, x: t.exp(x.clamp(-4, 4)),
    "tanh": lambda t, x: x.tanh(),
    "sigmoid": lambda t, x: t.sigmoid(x),
    "sin": lambda t, x: x.sin(),
    "relu": lambda t, x: t.relu(x),
    "abs": lambda t, x: x.abs(),
    "square": lambda t, x: x * x,
    "log": lambda t, x: t.log(x.abs() + 1),
    "sqrt": lambda t, x: (x * x + 0.25).sqrt(),
    "rsqrt": lambda t, x: (x.abs() + 0.5).rsqrt(),
    "pow": lambda t, x: (x.abs() + 0.5) ** 1.5,
    "scale": lambda t, x: 0.5 * x - 1,
    "rdiv": lambda t, x: 1 / (x.abs() + 1),
    "clamp": lambda t, x: x.clamp(-0.5, 0.5),
    "where": lambda t, x: t.where(x > 0, x, x * 0.1),
    "mask_set": lambda t, x: _mask_set(x),
    "inplace": lambda t, x: _inplace(x),
}


def _mask_set(x):
    y = x.clone()
    y[y < -0.5] = 0.0
    return y


def _inplace(x):
    y = x * 1
    y.mul_(2).add_(x.tanh())
    return y


BINARY = {
    "add": lambda t, a, b: a + b,
    "sub": lambda t, a, b: a - b,
    "mul": lambda t, a, b: a * b,
    "div": lambda t, a, b: a / (b.abs() + 0.5),
    "pow": lambda t, a, b: (a.abs() + 0.5) ** b.tanh(),
    "maximum": lambda t, a, b: t.maximum(a, b),
    "minimum": lambda t, a, b: t.minimum(a, b),
    "where": lambda t, a, b: t.where(a > b, a, b * 2),
    "add_alpha": lambda t, a, b: t.add(a, b, alpha=0.5),
}


def _reduce(name, dim, keepdim):
    def fn(t, x):
        if name == "sum":
            return x.sum() if dim is None else x.sum(dim, keepdim=keepdim)
        if name == "mean":
            return x.mean() if dim is None else x.mean(dim, keepdim=keepdim)
        if name == "amax":
            return x.amax() if dim is None else x.amax(dim, keepdim=keepdim)
        if name == "logsumexp":
            return t.logsumexp(x.reshape(-1), 0) if dim is None else t.logsumexp(x, dim, keepdim=keepdim)
        if name == "var":
            return x.var(correction=0) if dim is None else x.var(dim, keepdim=keepdim, correction=0)
        if name == "norm":
            return (x * x + 1).norm() if dim is None else (x * x + 1).norm(dim=dim, keepdim=keepdim)
        if name == "prod":  # PyTorch's prod takes one dim only
            d = dim[0] if isinstance(dim, tuple) else dim
            return (x.tanh() + 2).prod() if d is None else (x.tanh() + 2).prod(d, keepdim=keepdim)
        raise ValueError(name)
    return fn


def _shape_after(fn, shape):
    """The shape a step produces, found by running it on NumPy-backed engine data."""
    from gradview import engine
    return tuple(fn(engine, engine.zeros(shape, dtype=engine.float64)).shape)


@st.composite
def programs(draw):
    """(input shapes, steps): each step is (kind, fn, argument positions in the value pool)."""
    base = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    n_inputs = draw(st.integers(1, 3))
    shapes = []
    for _ in range(n_inputs):
        # each input broadcasts against the base shape: a suffix of it, some sizes turned into 1
        keep = draw(st.integers(0, len(base)))
        suffix = base[len(base) - keep:]
        shapes.append(tuple(s if draw(st.booleans()) else 1 for s in suffix))
    pool = list(shapes)
    steps = []
    for _ in range(draw(st.integers(1, 7))):
        i = draw(st.integers(0, len(pool) - 1))
        shape = pool[i]
        kind = draw(st.sampled_from(["unary", "binary", "reduce", "reshape", "index", "matmul"]))
        fn, args = None, (i,)
        if kind == "unary":
            fn = UNARY[draw(st.sampled_from(sorted(UNARY)))]
        elif kind == "binary":
            j = draw(st.integers(0, len(pool) - 1))
            try:
                np.broadcast_shapes(shape, pool[j])
            except ValueError:
                continue
            fn, args = BINARY[draw(st.sampled_from(sorted(BINARY)))], (i, j)
        elif kind == "reduce":
            name = draw(st.sampled_from(["sum", "mean", "amax", "logsumexp", "var", "norm", "prod"]))
            dim = None
            if shape and draw(st.booleans()):
                dim = draw(st.integers(-len(shape), len(shape) - 1))
                if draw(st.booleans()) and len(shape) > 1:
                    other = draw(st.integers(0, len(shape) - 1))
                    dims = sorted({dim % len(shape), other})
                    dim = tuple(dims) if len(dims) > 1 else dims[0]
            fn = _reduce(name, dim, draw(st.booleans()))
        elif kind == "reshape":
            options = ["flatten", "unsqueeze", "reshape_back"]
            if len(shape) >= 2:
                options += ["transpose", "permute", "mT"]
            if 1 in shape:
                options += ["squeeze", "expand"]
            choice = draw(st.sampled_from(options))
            if choice == "flatten":
                fn = lambda t, x: x.reshape(-1)  # noqa: E731
            elif choice == "unsqueeze":
                d = draw(st.integers(-len(shape) - 1, len(shape)))
                fn = lambda t, x, d=d: x.unsqueeze(d)  # noqa: E731
            elif choice == "reshape_back":
                fn = lambda t, x: x.reshape(-1).reshape(x.shape)  # noqa: E731
            elif choice == "transpose":
                a, b = draw(st.integers(0, len(shape) - 1)), draw(st.integers(0, len(shape) - 1))
                fn = lambda t, x, a=a, b=b: x.transpose(a, b)  # noqa: E731
            elif choice == "permute":
                order = draw(st.permutations(range(len(shape))))
                fn = lambda t, x, order=tuple(order): x.permute(*order)  # noqa: E731
            elif choice == "mT":
                fn = lambda t, x: x.transpose(-2, -1).contiguous()  # noqa: E731
            elif choice == "squeeze":
                fn = lambda t, x: x.squeeze()  # noqa: E731
            else:
                target = tuple(3 if s == 1 else s for s in shape)
                fn = lambda t, x, target=target: x.expand(*target) * 1  # noqa: E731
        elif kind == "index":
            if not shape or shape[0] == 0:  # an earlier all-False mask can leave nothing to index
                continue
            choice = draw(st.sampled_from(["int", "slice", "step", "mask", "list", "ellipsis_none"]))
            n = shape[0]
            if choice == "int":
                k = draw(st.integers(-n, n - 1))
                fn = lambda t, x, k=k: x[k]  # noqa: E731
            elif choice == "slice":
                lo = draw(st.integers(0, n - 1))
                fn = lambda t, x, lo=lo: x[lo:]  # noqa: E731
            elif choice == "step":
                fn = lambda t, x: x[..., ::2]  # noqa: E731
            elif choice == "mask":  # a drawn mask, so the result's shape is known while drawing
                mask = draw(hnp.arrays(np.bool_, shape))
                mask.reshape(-1)[draw(st.integers(0, mask.size - 1))] = True  # never empty: later steps reduce it
                mask = mask.tolist()
                fn = lambda t, x, mask=mask: x[t.tensor(mask, dtype=t.bool)]  # noqa: E731
            elif choice == "list":
                picks = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))
                fn = lambda t, x, picks=picks: x[picks]  # noqa: E731
            else:
                fn = lambda t, x: x[None, ..., :1]  # noqa: E731
        else:  # matmul
            if not shape:
                continue
            if len(shape) == 1:
                fn = lambda t, x: x @ x  # noqa: E731
            else:
                fn = lambda t, x: x @ x.transpose(-2, -1)  # noqa: E731
        steps.append((fn, args))
        pool.append(_shape_after(lambda t, *xs, fn=fn, args=args: fn(t, *[xs[0]] * len(args)), shape)
                    if len(args) == 1 else tuple(np.broadcast_shapes(shape, pool[args[1]])))
    return shapes, steps


def interpret(t, inputs, steps):
    pool = list(inputs)
    for fn, args in steps:
        pool.append(fn(t, *[pool[a] for a in args]))
    return pool[-1]


@SETTINGS
@given(programs(), st.integers(0, 2 ** 16))
def test_random_program_matches_pytorch(device, program, seed):
    shapes, steps = program
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(s) for s in shapes]
    run_both(lambda t, *xs: interpret(t, xs, steps), *inputs, atol=1e-6, rtol=1e-6, seed=seed, device=device)


BROADCAST_OPS = [
    lambda t, a, b: a + b, lambda t, a, b: a * b - b, lambda t, a, b: a / (b * b + 1),
    lambda t, a, b: t.maximum(a, b), lambda t, a, b: t.where(a > 0, a, b), lambda t, a, b: (a - b) ** 2,
    lambda t, a, b: t.atan2(a, b + 3),
]


@SETTINGS
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4),
       st.sampled_from(range(len(BROADCAST_OPS))), st.integers(0, 2 ** 16))
def test_broadcasting_binary_ops_match_pytorch(device, shapes, op_index, seed):
    (sa, sb), _ = shapes
    rng = np.random.default_rng(seed)
    run_both(BROADCAST_OPS[op_index], rng.standard_normal(sa), rng.standard_normal(sb), seed=seed, device=device)


@st.composite
def basic_indexes(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    index = draw(hnp.basic_indices(shape, allow_ellipsis=True, allow_newaxis=True))
    return shape, index


@SETTINGS
@given(basic_indexes(), st.integers(0, 2 ** 16))
def test_random_basic_indexing_reads_and_writes(device, case, seed):
    shape, index = case
    if isinstance(index, tuple) and any(isinstance(p, slice) and p.step is not None and p.step < 0 for p in index):
        return  # negative steps are not supported by PyTorch
    if isinstance(index, slice) and index.step is not None and index.step < 0:
        return
    rng = np.random.default_rng(seed)

    def program(t, x, v):
        y = x * 1
        read = y[index] * 2
        y[index] = v.sum()
        return read, y

    run_both(program, rng.standard_normal(shape), rng.standard_normal(3), names=False, seed=seed, device=device)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.data())
def test_random_advanced_indexing(device, shape, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    dim = data.draw(st.integers(0, len(shape) - 1))
    picks = data.draw(st.lists(st.integers(-shape[dim], shape[dim] - 1), min_size=1, max_size=5))
    index = (slice(None),) * dim + (picks,)

    def program(t, x):
        y = x.exp()
        out = y[index]
        z = y.clone()
        z[index] = 0.0
        mask = x > 0
        return out, z, x[mask], x.index_select(dim, t.tensor([p % shape[dim] for p in picks]))

    run_both(program, rng.standard_normal(shape), names=False, device=device)


PROMOTION_OPS = {
    "add": lambda t, a, b: a + b, "sub": lambda t, a, b: a - b, "mul": lambda t, a, b: a * b,
    "div": lambda t, a, b: a / b, "floordiv": lambda t, a, b: a // b, "mod": lambda t, a, b: a % b,
    "pow": lambda t, a, b: a ** b, "lt": lambda t, a, b: a < b, "eq": lambda t, a, b: a == b,
    "and": lambda t, a, b: a & b, "where": lambda t, a, b: t.where(t.ones((), dtype=t.bool), a, b),
}
OPERAND_KINDS = ["float32", "float64", "int64", "int32", "bool", "py_int", "py_float", "py_bool"]


def _operand(t, kind, zero_dim, rng):
    if kind == "py_int":
        return int(rng.integers(1, 4))
    if kind == "py_float":
        return float(rng.uniform(0.5, 2))
    if kind == "py_bool":
        return True
    shape = () if zero_dim else (2, 3)
    if kind == "bool":
        data = rng.random(shape) > 0.3
    elif kind.startswith("int"):
        data = rng.integers(1, 4, size=shape)
    else:
        data = rng.uniform(0.5, 2.0, size=shape)
    return t.tensor(np.asarray(data).tolist(), dtype=getattr(t, kind))


@SETTINGS
@given(st.sampled_from(sorted(PROMOTION_OPS)), st.sampled_from(OPERAND_KINDS), st.sampled_from(OPERAND_KINDS[:5]),
       st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2 ** 16))
def test_type_promotion_and_errors_match_pytorch(device, op, kind_a, kind_b, zero_a, zero_b, swap, seed):
    """Any two operands (tensors of any dtype, 0-d or not, or Python scalars on either side): the
    result has PyTorch's dtype and values, or both libraries raise the same exception type."""
    from gradview import engine
    torch = reference_torch()
    results = []
    for lib, dev in ((engine, device), (torch, "cpu")):
        rng = np.random.default_rng(seed)
        with lib.device(dev):
            a, b = _operand(lib, kind_a, zero_a, rng), _operand(lib, kind_b, zero_b, rng)
            if swap:
                a, b = b, a
            try:
                results.append(PROMOTION_OPS[op](lib, a, b))
            except Exception as exc:  # noqa: BLE001 - the exception type is what is compared
                results.append(exc)
    ours, theirs = results
    if isinstance(theirs, Exception):
        assert isinstance(ours, type(theirs)), f"PyTorch raised {theirs!r}, the engine gave {ours!r}"
        return
    assert not isinstance(ours, Exception), f"the engine raised {ours!r}, PyTorch gave {theirs}"
    assert str(ours.dtype) == str(theirs.dtype)
    assert ours.device.type == device
    np.testing.assert_allclose(ours.cpu().numpy().astype(np.float64), theirs.numpy().astype(np.float64), rtol=1e-6)
