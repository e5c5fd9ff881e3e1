"""The names and keyword forms the engine takes from PyTorch's signatures (see signature_oracle.py):
each call below runs on the engine and on PyTorch with the same float64 inputs, and values, dtypes,
shapes and the gradients of a random projection of the outputs must match. Every name bound by
engine/ops/aliases.py and every ATen-order `torch.<nn name>` of engine/_torch_nn.py must have a
call here (checked below), so a name added there is a name tested against PyTorch."""
import re
import warnings

import numpy as np
import pytest

from gradview import engine
from gradview.engine import _torch_nn
from gradview.engine.ops import _registry
from tests.engine import pytorch_oracles as oracles

torch = pytest.importorskip("torch", reason="PyTorch is the reference implementation")

# inputs by name: float64 (requiring grad) unless named as an integer or a mask
SHAPES = {"x": (3, 4), "y": (3, 4), "v3": (3,), "v4": (4,), "m34": (3, 4), "m43": (4, 3), "b234": (2, 3, 4),
          "b245": (2, 4, 5), "n": (2, 3, 5), "img": (1, 2, 4, 4), "vol": (1, 1, 2, 4, 4), "w3": (3,), "sq": (3, 3),
          "emb": (5, 3), "cell_x": (2, 3), "h": (2, 4), "c": (2, 4), "wih4": (16, 3), "whh4": (16, 4),
          "wih3": (12, 3), "whh3": (12, 4), "wih1": (4, 3), "whh1": (4, 4), "bias4": (16,), "bias3": (12,),
          "bias1": (4,), "tbc": (5, 2, 3), "wtbc": (2, 3, 4), "btbc": (4,), "k1": (4, 3, 2), "theta": (1, 2, 3),
          "grid": (1, 3, 3, 2), "grid3": (1, 2, 3, 3, 3), "p01": (3, 4), "pos": (3, 4)}
INTEGERS = {"idx": np.array([[0, 2], [4, 1]]), "row": np.array([0, 2]), "target": np.array([1.0, -1.0, 1.0])}

CALLS = [
    # PyTorch's keyword names: input= for the first operand, and NumPy's axis=, keepdims=
    "torch.sum(input=x, axis=1, keepdims=True)",
    "torch.exp(input=x)",
    "torch.linalg.matrix_norm(input=sq)",
    "torch.linalg.vector_norm(input=x, ord=3)",
    "torch.zeros_like(input=x)",
    "torch.special.airy_ai(x=x)",
    "torch.special.spherical_bessel_j0(x=x)",
    "torch.special.scaled_modified_bessel_k1(x=pos)",
    "torch.special.chebyshev_polynomial_t(x=x, n=3)",
    "torch.nn.functional.one_hot(input=row, num_classes=4)",
    # PyTorch's names where the engine's differed
    "torch.addmv(input=v3, mat=m34, vec=v4, beta=0.5, alpha=2)",
    "torch.addr(input=m34, vec1=v3, vec2=v4)",
    "torch.baddbmm(n, batch1=b234, batch2=b245)",
    "torch.addbmm(n[0], batch1=b234, batch2=b245)",
    "torch.dot(v3, tensor=w3)",
    "torch.vdot(v3, other=w3)",
    "torch.kron(sq, other=v3)",
    "torch.dist(x, other=y, p=3)",
    "torch.cross(sq, other=sq.flip(0), dim=1)",
    "torch.index_put(x, indices=(row,), values=v4)",
    "torch.max(x, other=y)",
    "torch.min(x, other=y)",
    "torch.broadcast_to(v4, size=(3, 4))",
    "torch.reshape(x, shape=(4, 3))",
    "torch.permute(b234, dims=(2, 0, 1))",
    "torch.tile(v3, dims=(2,))",
    "torch.swapaxes(b234, axis0=0, axis1=2)",
    "torch.split(tensor=x, split_size_or_sections=2, dim=1)",
    "x.split(split_size=3, dim=1)",
    "torch.tensor_split(x, sections=3, dim=1)",
    "torch.tensor_split(x, indices=[1, 3], dim=1)",
    "torch.hsplit(x, sections=2)",
    "torch.vsplit(x, indices=[1])",
    "x.view(size=(4, 3))",
    "x.expand(size=(2, 3, 4))",
    "v4.repeat(repeats=(2, 1))",
    "x.sum_to_size(size=(1, 4))",
    "x.to(tensor=y)",
    "torch.linalg.lstsq(sq, b=m34).solution",
    "torch.bernoulli(p01, generator=torch.Generator().manual_seed(3))",
    "torch.bernoulli(p01, 0.3, generator=torch.Generator().manual_seed(3))",
    "x.detach().cauchy_(median=1.0, sigma=2.0, generator=torch.Generator().manual_seed(1))",
    "x.detach().log_normal_(mean=0.5, std=0.5, generator=torch.Generator().manual_seed(1))",
    "x.detach().geometric_(p=0.3, generator=torch.Generator().manual_seed(1))",
    "x.detach().random_(2, to=7, generator=torch.Generator().manual_seed(1))",
    # names from engine/ops/aliases.py
    "torch.row_stack([x, y])",
    "torch.detach(x)",
    "torch.detach_copy(x)",
    "torch.real(x)",
    "torch.conj_physical(x)",
    "x.conj_physical()",
    "x.detach().conj_physical_()",
    "torch.orgqr(sq, w3)",
    "m43.orgqr(v3)",
    "torch.nonzero_static(x > 0, size=20)",
    "torch.nonzero_static(x > 0, size=2, fill_value=7)",
    "x.nonzero_static(size=3)",
    "torch.select_copy(x, 1, 2)",
    "torch.slice_copy(x, 1, 1, 4, 2)",
    "torch.split_copy(x, 3, 1)",
    "torch.frobenius_norm(b234, (1, 2))",
    "torch.nuclear_norm(sq)",
    "torch.nuclear_norm(b234, (1, 2), True)",
    "torch.norm_except_dim(b234, 2, 1)",
    "torch.norm_except_dim(b234, 3, -1)",
    "torch.native_layer_norm(b234, [4], v4, v4.cos(), 1e-5)",
    "torch.native_batch_norm(b234, w3, w3.cos(), None, None, True, 0.1, 1e-5)",
    "torch.native_batch_norm(b234, w3, None, w3.detach().abs(), w3.detach().exp(), False, 0.1, 1e-5)",
    "torch.native_group_norm(n, w3, w3.sin(), 2, 3, 5, 3, 1e-5)",
    "x.__div__(y)",
    "x.detach().__idiv__(y, rounding_mode='floor')",
    "x.sum().__long__()",
    "x.sum().__nonzero__()",
    "x.__reversed__()",
    "x.__contains__(x[1, 2].item())",
    "x.__contains__(123.0)",
    "x.resize(2, 6)",
    "x.resize_as(m43)",
    "x.to_dense()",
    "x.detach().module_load(y)",
    "x.detach().module_load(y, assign=True)",
    "x.detach().apply_(lambda v: v * 2 + 1)",
    "x.detach().map_(v4.detach(), lambda a, b: a * b)",
    "x.detach().map2_(v4.detach(), y.detach(), lambda a, b, c: a + b * c)",
    "x.dim_order()",
    "x.t().dim_order()",
    "x.is_set_to(x)",
    "x.is_set_to(y)",
    "(x.is_distributed(), x.is_shared(), x.is_sparse_csr, x.is_mkldnn, x.is_nested, x.is_xla, x.is_ipu, "
    "x.is_mtia, x.is_maia, x.is_vulkan, torch.is_distributed(x), torch.get_device(x), x.volatile)",
    "x.const_data_ptr() == x.data_ptr()",
    "torch.from_dlpack(x.detach()) + 0",
    "x.detach().__dlpack__() is not None",
    "x.__dlpack_device__()[1]",
    # ATen's order and names for torch.<nn name> (engine/_torch_nn.py)
    "torch.embedding(emb, idx)",
    "torch.embedding(emb, idx, 2)",
    "torch.batch_norm(b234, w3, w3.cos(), None, None, True, 0.1, 1e-5, False)",
    "torch.instance_norm(b234, w3, w3.cos(), None, None, True, 0.1, 1e-5, False)",
    "torch.layer_norm(b234, [4], v4, None, 1e-5, True)",
    "torch.group_norm(n, 3, w3, w3.cos(), 1e-5, True)",
    "torch.dropout(x, 0.5, False)",
    "torch.alpha_dropout(x, 0.5, False)",
    "torch.feature_dropout(b234, 0.5, False)",
    "torch.feature_alpha_dropout(b234, 0.5, False)",
    "torch.manual_seed(4) and torch.native_dropout(x, 0.3, True)",
    "torch.manual_seed(4) and torch.native_dropout(b234.transpose(0, 2), 0.5, None)",
    "torch.native_dropout(x, 0.3, False)",
    "torch.rrelu(x, 0.1, 0.3, False)",
    "torch.rrelu(x, 0.1, 0.3, True, torch.Generator().manual_seed(2))",
    "torch.manual_seed(2) and torch.rrelu(x, 0.1, 0.3, True)",
    "torch.manual_seed(2) and torch.nn.functional.rrelu(x.float(), training=True)",
    "torch.max_pool1d_with_indices(b234, 2)",
    "torch.adaptive_max_pool1d(b234, 2)",
    "torch.conv_tbc(tbc, wtbc, btbc, 1)",
    "torch.convolution(b234, k1, None, [1], [1], [1], False, [0], 1)",
    "torch.convolution(b234, k1.transpose(0, 1), v4, [2], [0], [1], True, [1], 1)",
    "torch.grid_sampler(img, grid, 0, 0, False)",
    "torch.grid_sampler_2d(img, grid, 1, 1, True)",
    "torch.grid_sampler_3d(vol, grid3, 0, 2, False)",
    "torch.affine_grid_generator(theta, [1, 2, 3, 4], False)",
    "torch.kl_div(x.log_softmax(1), y.softmax(1), 2)",
    "torch.kl_div(x, y, 0, log_target=True)",
    "torch.binary_cross_entropy_with_logits(x, p01, None, pos.detach(), 1)",
    "torch.margin_ranking_loss(v3, w3, target, 0.1, 2)",
    "torch.hinge_embedding_loss(x, y.sign().detach(), 1.0, 0)",
    "torch.cosine_embedding_loss(x, y, target, 0.1, 1)",
    "torch.triplet_margin_loss(x, y, y.flip(0), 1.0, 2, 1e-6, True, 1)",
    "torch.poisson_nll_loss(x, pos, True, True, 1e-8, 2)",
    "torch.rnn_tanh_cell(cell_x, h, wih1, whh1, bias1, bias1.sin())",
    "torch.rnn_relu_cell(cell_x, h, wih1, whh1)",
    "torch.lstm_cell(cell_x, (h, c), wih4, whh4, bias4, bias4.cos())",
    "torch.gru_cell(cell_x, h, wih3, whh3, bias3, bias3.cos())",
    "torch.nn.functional.adaptive_max_pool1d_with_indices(b234, 3)",
    "torch.nn.functional.adaptive_max_pool2d_with_indices(img, 3)",
    "torch.nn.functional.adaptive_max_pool3d_with_indices(vol, 2)",
    "torch.nn.functional.linear_cross_entropy(x, m34, row.repeat(2)[:3] % 3, linear_bias=v3)",
    "torch.nn.functional.linear_cross_entropy(x, m34, row.repeat(2)[:3] % 3, reduction='sum', label_smoothing=0.1)",
]

# calls PyTorch refuses, the engine too, with PyTorch's exception type
RAISING = [
    "torch.mm(m34, m43, torch.float64)",
    "torch.linalg.svd(sq, driver='gesvd')",
    "torch.linalg.svdvals(sq, driver='gesvd')",
    "torch.imag(x)",
]


def _inputs(lib):
    rng = np.random.default_rng(0)
    out = {"torch": lib, "np": np}
    for name, shape in SHAPES.items():
        data = rng.uniform(0.1, 0.9, size=shape) if name in ("p01",) else \
            rng.uniform(0.5, 2.0, size=shape) if name == "pos" else rng.standard_normal(size=shape)
        out[name] = lib.tensor(data, dtype=lib.float64, requires_grad=True)
    for name, data in INTEGERS.items():
        out[name] = lib.tensor(data)
    return out


def _run(expr, lib):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = _inputs(lib)
        return eval(expr, names), names  # noqa: S307  (the expressions are this file's own)


@pytest.mark.parametrize("expr", CALLS)
def test_call_matches_pytorch(expr):
    theirs, names_t = _run(expr, torch)
    ours, names_o = _run(expr, engine)
    problem = oracles._compare(ours, theirs, 1e-7, 1e-9)
    assert problem is None, problem
    leaves_t = [v for k, v in names_t.items() if isinstance(v, torch.Tensor) and v.requires_grad]
    leaves_o = [names_o[k] for k, v in names_t.items() if isinstance(v, torch.Tensor) and v.requires_grad]
    try:
        grads_t = oracles._grads(theirs, leaves_t, torch)
    except RuntimeError:  # no derivative in PyTorch (a sampler, a *_copy it leaves underived)
        return
    if grads_t is None:
        return
    grads_o = oracles._grads(ours, leaves_o, engine)
    if grads_o is None:  # no graph here: PyTorch's gradients must be zero (a sampler's)
        assert not any(g is not None and g.detach().numpy().any() for g in grads_t)
        return
    for a, b in zip(grads_o, grads_t):
        if b is None:
            assert a is None or not a.detach().numpy().any()
            continue
        assert a is not None, "no gradient where PyTorch has one"
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("expr", RAISING)
def test_refused_as_pytorch_refuses(expr):
    with pytest.raises(Exception) as theirs:
        _run(expr, torch)
    with pytest.raises(type(theirs.value)):
        _run(expr, engine)


def _called_names():
    text = " ".join(CALLS + RAISING)
    return set(re.findall(r"[.](\w+)\(", text)) | set(re.findall(r"[.](\w+)\b", text))


def test_every_added_name_is_called_here():
    """The names engine/ops/aliases.py binds and the ATen-order torch.<nn name> functions all have a call above."""
    bound = _registry.bound_in("gradview.engine.ops.aliases")
    names = {n for kind in ("torch", "method", "prop") for n in bound[kind]}
    names |= _torch_nn.NAMES - _torch_nn.SAME_AS_FUNCTIONAL
    missing = sorted(names - _called_names())
    assert not missing, f"no call compares these with PyTorch: {missing}"


def test_oracle_corrections_say_what_pytorch_accepts():
    """signature_oracle.HAND_BOUND replaces override lambdas that misname PyTorch's hand-bound methods."""
    from tests.engine import signature_oracle
    x, y = torch.ones(2), torch.zeros(2, dtype=torch.float64)
    assert set(signature_oracle.HAND_BOUND) == {"torch.Tensor.__nonzero__", "torch.Tensor.to"}
    with pytest.raises(TypeError):
        x.__nonzero__(as_tuple=False)  # what the override's lambda says it takes
    with pytest.raises(TypeError):
        x.to(other=y)
    assert x.to(tensor=y).dtype == torch.float64 and x[:1].__nonzero__() is True


def test_opinfo_functions_take_their_operands_by_pytorch_names():
    """Each torch-level OpInfo function whose PyTorch signature names its first operand `input` runs
    its first sample with every argument passed by name (the first as `input=`, the others by the
    engine's names, which the signature check holds to PyTorch's) and gives PyTorch's result."""
    import inspect
    pytest.importorskip("expecttest", reason="PyTorch's OpInfo database needs expecttest")
    from tests.engine import signature_oracle
    public = signature_oracle.public_names()
    checked, failures = 0, {}
    for op in oracles.load_op_db():
        full = f"torch.{op.name}"
        if full not in public or op.op is not getattr(torch, op.name, None):
            continue
        overloads = signature_oracle.torch_overloads(full, *public[full]) or []
        if not any(o and o[0][0] == "input" for o in overloads):
            continue
        ours = getattr(engine, op.name, None)
        dtype = oracles.pick_dtype(op)
        if dtype is None or ours is None:
            continue
        sample = next(iter(op.sample_inputs("cpu", dtype)), None)
        if sample is None:
            continue
        try:
            bound = inspect.signature(ours).bind(sample.input, *sample.args, **sample.kwargs)
        except TypeError:
            continue
        params = inspect.signature(ours).parameters
        if any(params[name].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
               for name in bound.arguments):
            continue
        kwargs = {("input" if i == 0 else name): value for i, (name, value) in enumerate(bound.arguments.items())}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                theirs = op.op(sample.input, *sample.args, **sample.kwargs)
            except Exception:  # noqa: BLE001  (PyTorch refuses this sample)
                continue
            try:
                result = ours(**oracles.to_engine(kwargs))
            except Exception as exc:  # noqa: BLE001
                failures[op.name] = f"{type(exc).__name__}: {exc}"
                continue
        problem = oracles._compare(result, theirs, *oracles._tolerances(dtype))
        if problem is not None:
            failures[op.name] = problem
        checked += 1
    assert checked > 100
    assert not failures, failures
