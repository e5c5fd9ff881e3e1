"""PyTorch's own test oracles, run against the engine.

- OpInfo (`torch.testing._internal.common_methods_invocations.op_db`): every op PyTorch tests, with
  sample inputs. Each op the engine has runs a bounded number of those samples as a function, a
  method and an in-place method; values, dtypes, shapes and the gradients of a fixed random
  projection of the outputs must match PyTorch's.
- `torch.overrides.get_testing_overrides()`: every public function and Tensor method, with the
  parameters PyTorch accepts (tests/engine/signature_oracle.py). Each name must exist in the engine
  and accept PyTorch's parameter names, or sit in that file's reasoned exclusion list.

Neither demands full coverage: `opinfo_passing.txt` and `signature_passing.txt` list what passes
today, and the tests fail when one of those regresses. After fixing more, refresh them with
`python -m tests.engine.pytorch_oracles --update` (it prints the coverage figures too).
"""
import math
import pathlib
import sys
import types
import warnings

import numpy as np

from gradview import engine
from tests.engine.signature_oracle import run_signatures, signature_summary  # noqa: F401  (re-exported)

HERE = pathlib.Path(__file__).parent
OPINFO_BASELINE = HERE / "opinfo_passing.txt"
SIGNATURE_BASELINE = HERE / "signature_passing.txt"

SAMPLES_PER_OP = 3          # bounded, so the whole table runs in about a minute
ELEMENT_LIMIT = 20_000      # samples with more elements than this are skipped (time, not coverage)

# ops whose values cannot match sample by sample, or that lie outside what the engine is, each with
# the reason; they are counted, not run
SPARSE_COMPLEX = "sparse, quantized, complex or bfloat16: kinds of tensor the engine does not have"
INTERNAL = "PyTorch internals (aten ops, jiterator kernels, private names)"
EXCLUDED = {
    "eigenvectors are defined up to sign": ["linalg.eigh", "linalg.eig", "symeig"],
    "random (samples with dropout)": ["nn.functional.scaled_dot_product_attention",
                                      "nn.functional.multi_head_attention_forward"],
    "random: compared by seeded streams in test_random_streams, not by OpInfo values": (
        "bernoulli normal uniform multinomial rand_like randn_like randint_like randint cauchy exponential "
        "geometric log_normal nn.functional.dropout nn.functional.dropout2d nn.functional.dropout3d "
        "nn.functional.alpha_dropout nn.functional.feature_alpha_dropout nn.functional.rrelu "
        "nn.functional.gumbel_softmax nn.functional.fractional_max_pool2d "
        "nn.functional.fractional_max_pool3d randn rand normal_").split(),
    "uninitialised memory": "empty empty_like new_empty new_empty_strided empty_strided empty_permuted".split(),
    SPARSE_COMPLEX: ("view_as_real view_as_complex complex polar conj conj_physical resolve_conj resolve_neg imag "
                     "real cfloat cdouble chalf bfloat16 to_sparse "
                     # the Fourier transforms whose result is complex (the real-result ones are run)
                     "fft.fft fft.ifft fft.fft2 fft.ifft2 fft.fftn fft.ifftn fft.rfft fft.rfft2 fft.rfftn "
                     "fft.ihfft fft.ihfft2 fft.ihfftn "
                     "linalg.eigvals").split(),  # the eigenvalues of a real matrix are complex
    INTERNAL: ["max_pool2d_with_indices_backward"],
}
EXCLUDED_PREFIXES = {"sparse.": SPARSE_COMPLEX, "_": INTERNAL, "torch.ops.": INTERNAL, "jiterator_": INTERNAL}


def exclusion_reason(name):
    for reason, names in EXCLUDED.items():
        if name in names:
            return reason
    for prefix, reason in EXCLUDED_PREFIXES.items():
        if name.startswith(prefix) and not name.startswith("__"):
            return reason
    return None


# ---------------------------------------------------------------------------------------------
# OpInfo
def op_key(op):
    return op.name + ("." + op.variant_test_name if op.variant_test_name else "")


def load_op_db():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal.common_methods_invocations import op_db
    return op_db


def engine_callable(path, root=engine):
    obj = root
    for part in path.split("."):
        try:
            obj = getattr(obj, part)
        except (AttributeError, ImportError):
            return None
    return obj


def pick_dtype(op):
    import torch
    supported = op.supported_dtypes("cpu")
    for dt in (torch.float64, torch.float32, torch.int64, torch.bool):
        if dt in supported:
            return dt
    return None


def to_engine(value, device="cpu"):
    """A sample's torch values as the engine's (tensors copied, dtypes and sizes by name)."""
    import torch
    if isinstance(value, torch.Tensor):
        t = _partial_view(value, device)
        if t is None:
            t = engine.tensor(value.detach().numpy().copy(), device=device)
        if value.requires_grad:
            t.requires_grad_(True)
        return t
    if isinstance(value, torch.dtype):
        return getattr(engine, str(value).split(".")[1])
    if isinstance(value, torch.Size):
        return engine.Size(value)
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, torch.memory_format):
        return None
    if isinstance(value, list):
        return [to_engine(v, device) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(to_engine(v, device) for v in value)
    if isinstance(value, dict):
        return {k: to_engine(v, device) for k, v in value.items()}
    if isinstance(value, (torch.layout, torch.Generator, torch.nn.Module)):
        raise _Unsupported(type(value).__name__)
    return value


def _partial_view(value, device):
    """A tensor that sees only part of its memory (base[5:15]) as the same view of a copy of that
    memory, so that ops reading the memory itself (as_strided) see what PyTorch's see; else None."""
    import torch
    if value.layout != torch.strided or value.untyped_storage().nbytes() == value.numel() * value.element_size():
        return None
    n = value.untyped_storage().nbytes() // value.element_size()
    memory = torch.empty(0, dtype=value.dtype).set_(value.untyped_storage(), 0, (n,), (1,))
    view = engine.tensor(memory.detach().numpy().copy(), device=device).as_strided(
        tuple(value.shape), value.stride(), value.storage_offset())
    return view.requires_grad_(True) if value.requires_grad else view


class _Unsupported(Exception):
    """A sample uses something the comparison cannot carry over (a generator, a layout)."""


def _leaves(value):
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(_leaves(v))
        return out
    if isinstance(value, dict):
        return _leaves(list(value.values()))
    return [value]


def _is_tensor(value):
    return type(value).__name__ in ("Tensor", "Parameter")


def _compare(ours, theirs, rtol, atol):
    """None when an engine output matches PyTorch's, else what differs."""
    ours_l, theirs_l = _leaves(ours), _leaves(theirs)
    if len(ours_l) != len(theirs_l):
        return f"{len(ours_l)} outputs, PyTorch {len(theirs_l)}"
    for i, (o, t) in enumerate(zip(ours_l, theirs_l)):
        if _is_tensor(t):
            if not isinstance(o, engine.Tensor):
                return f"output {i}: {type(o).__name__}, not a Tensor"
            if tuple(o.shape) != tuple(t.shape):
                return f"output {i}: shape {tuple(o.shape)}, PyTorch {tuple(t.shape)}"
            if str(o.dtype) != str(t.dtype):
                return f"output {i}: dtype {o.dtype}, PyTorch {t.dtype}"
            a, b = o.detach().cpu().numpy(), t.detach().resolve_conj().resolve_neg().numpy()
            if not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
                return f"output {i}: values differ (max {np.nanmax(np.abs(a.astype(float) - b.astype(float)))})"
        elif isinstance(t, float) and isinstance(o, (int, float)):
            if not math.isclose(o, t, rel_tol=rtol, abs_tol=atol) and not (math.isnan(o) and math.isnan(t)):
                return f"output {i}: {o} != {t}"
        elif t != o and not (isinstance(t, float) and math.isnan(t)):
            return f"output {i}: {o!r} != {t!r}"
    return None


def _projection(outputs, lib):
    """sum(out * c) over the floating outputs that require grad, c a fixed random cotangent."""
    total = None
    for k, out in enumerate(_leaves(outputs)):
        if _is_tensor(out) and out.requires_grad and out.dtype.is_floating_point:
            c = np.random.default_rng(k).uniform(0.5, 1.5, size=tuple(out.shape))
            term = (out * lib.tensor(c, dtype=out.dtype, device=out.device)).sum()
            total = term if total is None else total + term
    return total


def _grads(outputs, inputs, lib):
    total = _projection(outputs, lib)
    wrt = [t for t in inputs if _is_tensor(t) and t.requires_grad]
    if total is None or not wrt:
        return None
    return lib.autograd.grad(total, wrt, allow_unused=True)


def run_sample(fn_ours, fn_theirs, sample, check_grad, rtol, atol, inplace=False, device="cpu",
               pytorch_grad_wrong=False):
    """Compare one sample; None when it matches, else a short reason. Raises _Unsupported.
    `pytorch_grad_wrong`: where the gradients differ from PyTorch's, central differences decide."""
    import torch
    args_t = (sample.input,) + tuple(sample.args)
    if inplace:
        args_t = (sample.input.detach().clone(),) + tuple(sample.args)
        check_grad = False
    args_o = to_engine(args_t, device)  # before PyTorch runs: an in-place variant changes its input
    kwargs_o = to_engine(sample.kwargs, device)
    try:
        theirs = fn_theirs(*args_t, **sample.kwargs)
    except Exception as exc:  # noqa: BLE001  (PyTorch refuses the variant for this sample)
        raise _Unsupported(f"PyTorch raises {type(exc).__name__}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = fn_ours(*args_o, **kwargs_o)
    except Exception as exc:  # noqa: BLE001  (reported, not raised: the table keeps going)
        return f"raises {type(exc).__name__}: {str(exc)[:120]}"
    problem = _compare(ours, theirs, rtol, atol)
    if problem is not None or not check_grad:
        return problem
    leaves_t = [t for t in _leaves(args_t) + _leaves(sample.kwargs) if isinstance(t, torch.Tensor)]
    leaves_o = [t for t in _leaves(args_o) + _leaves(kwargs_o) if isinstance(t, engine.Tensor)]
    try:
        g_t = _grads(theirs, leaves_t, torch)
    except Exception:  # noqa: BLE001
        return None  # no gradient in PyTorch for this sample: nothing to compare
    if g_t is None:
        return None
    try:
        g_o = _grads(ours, leaves_o, engine)
    except Exception as exc:  # noqa: BLE001
        return f"backward raises {type(exc).__name__}: {str(exc)[:120]}"
    if g_o is None:
        return "no gradient"
    for i, (a, b) in enumerate(zip(g_o, g_t)):
        if b is None:
            continue
        if a is None:
            if bool((b != 0).any()):
                return f"gradient {i}: none, PyTorch nonzero"
            continue
        if not np.allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=rtol * 10, atol=atol * 10,
                           equal_nan=True):
            if pytorch_grad_wrong:
                return _central_differences_problem(fn_ours, args_o, kwargs_o, g_o, rtol, atol)
            return f"gradient {i}: values differ"
    return None


def _central_differences_problem(fn_ours, args, kwargs, grads, rtol, atol, eps=1e-6):
    """None when the engine's gradients of the projection match central differences of it, else what differs."""
    wrt = [t for t in _leaves(args) + _leaves(kwargs) if _is_tensor(t) and t.requires_grad]

    def projection():
        with engine.no_grad():
            total = _projection_values(fn_ours(*args, **kwargs))
        return total

    for i, (t, g) in enumerate(zip(wrt, grads)):
        flat = t.detach().view(-1)   # shares t's memory: writing it perturbs the input
        numeric = np.zeros(flat.shape[0])
        for k in range(flat.shape[0]):
            x0 = float(flat[k])
            flat[k] = x0 + eps
            up = projection()
            flat[k] = x0 - eps
            down = projection()
            flat[k] = x0
            numeric[k] = (up - down) / (2 * eps)
        ours = np.zeros(flat.shape[0]) if g is None else g.detach().cpu().numpy().reshape(-1)
        if not np.allclose(ours, numeric, rtol=rtol * 10, atol=atol * 100):
            return f"gradient {i}: differs from PyTorch's and from central differences"
    return None


def _projection_values(outputs):
    total = 0.0
    for k, out in enumerate(_leaves(outputs)):
        if _is_tensor(out) and out.dtype.is_floating_point:
            c = np.random.default_rng(k).uniform(0.5, 1.5, size=tuple(out.shape))
            total += float((out.detach().cpu().numpy() * c).sum())
    return total


def variants(op):
    """(variant name, engine callable, torch callable, in-place) for the forms the OpInfo has."""
    out = []
    if op.op is not None and _torch_path(op.name) is op.op:
        out.append(("function", engine_callable(op.name), op.op, False))
    elif isinstance(op.op, types.FunctionType) and op.op.__qualname__.startswith("Tensor."):
        out.append(("function", _method(op.op.__name__), op.op, False))  # a Tensor method written in Python
    elif isinstance(op.op, types.FunctionType) and op.op.__module__.startswith("torch.testing"):
        out.append(("function", _rebound(op.op), op.op, False))  # a lambda over torch calls, run over the engine
    if op.method_variant is not None:
        name = getattr(op.method_variant, "__name__", None)
        if name:
            out.append(("method", _method(name), op.method_variant, False))
    if op.inplace_variant is not None:
        name = getattr(op.inplace_variant, "__name__", None)
        if name:
            out.append(("inplace", _method(name), op.inplace_variant, True))
    return out


def _rebound(fn):
    """fn with `torch` in its globals meaning the engine."""
    import torch
    names = {k: v for k, v in fn.__globals__.items()}
    names["torch"] = engine
    for k, v in fn.__globals__.items():
        if v is torch.nn.functional:
            names[k] = engine.nn.functional
    return types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__, fn.__closure__)


def _torch_path(path):
    import torch
    return engine_callable(path, torch)


def _method(name):
    fn = getattr(engine.Tensor, name, None)
    if fn is None:
        return None
    return lambda self, *args, **kwargs: getattr(self, name)(*args, **kwargs)


def pytorch_gradient_known_wrong(op):
    """PyTorch's OpInfo marks its own gradcheck of this op as an expected failure (as_strided_scatter,
    whose formula for the input is wrong): where its gradient differs, central differences decide."""
    import unittest
    return any(getattr(d, "cls_name", None) == "TestBwdGradients" and getattr(d, "test_name", None) == "test_fn_grad"
               and unittest.expectedFailure in getattr(d, "decorators", ()) for d in op.decorators)


def _tolerances(dtype):
    import torch
    return (1e-5, 1e-7) if dtype == torch.float64 else (1e-3, 1e-4)


def check_op(op, samples_per_op=SAMPLES_PER_OP, device="cpu"):
    """('pass' | 'missing' | 'fail' | 'skip', detail, samples run) for one OpInfo."""
    import torch
    reason = exclusion_reason(op.name)
    if reason is None and type(op.op).__name__ in ("OpOverload", "OpOverloadPacket"):
        reason = INTERNAL   # reachable only as torch.ops.aten.<name> (slice, native_dropout_backward)
    if reason is not None:
        return "excluded", reason, 0
    dtype = pick_dtype(op)
    if dtype is None:
        return "excluded", SPARSE_COMPLEX, 0
    forms = [v for v in variants(op) if v[1] is not None]
    if not forms:
        return "missing", "not in the engine", 0
    rtol, atol = _tolerances(dtype)
    check_grad = op.supports_autograd and dtype.is_floating_point
    grad_wrong = pytorch_gradient_known_wrong(op)
    torch.manual_seed(0)
    ran = 0
    try:
        samples = op.sample_inputs("cpu", dtype, requires_grad=check_grad)
        for sample in samples:
            if ran >= samples_per_op:
                break
            if sum(t.numel() for t in _leaves((sample.input,) + tuple(sample.args)) if isinstance(t, torch.Tensor)) \
                    > ELEMENT_LIMIT:
                continue
            counted = False
            for form, ours, theirs, inplace in forms:
                try:
                    problem = run_sample(ours, theirs, sample, check_grad and form == "function", rtol, atol, inplace,
                                         device, grad_wrong)
                except _Unsupported:
                    continue
                counted = True
                if problem is not None:
                    return "fail", f"{form}: {problem}", ran + 1
            ran += counted
    except Exception as exc:  # noqa: BLE001  (a sample generator that fails here says nothing about the engine)
        return "skip", f"samples: {type(exc).__name__}", ran
    if ran == 0:
        return "skip", "no sample PyTorch runs here", 0
    return "pass", "", ran


def run_opinfo(ops=None, samples_per_op=SAMPLES_PER_OP, device="cpu"):
    """{op key: (status, detail, samples)} over op_db (or the given ops)."""
    results = {}
    for op in ops if ops is not None else load_op_db():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results[op_key(op)] = check_op(op, samples_per_op, device)
    return results


def every_nth(ops, n):
    """A fixed, spread-out subset of ops (for the slower emulated device)."""
    return [op for i, op in enumerate(ops) if i % n == 0]


def opinfo_summary(results):
    counts = {}
    for status, _, _ in results.values():
        counts[status] = counts.get(status, 0) + 1
    samples = sum(n for s, _, n in results.values() if s == "pass")
    considered = len(results) - counts.get("excluded", 0)
    return (f"OpInfo: {counts.get('pass', 0)} of {considered} ops pass ({samples} samples; "
            f"{counts.get('fail', 0)} fail, {counts.get('missing', 0)} missing, {counts.get('skip', 0)} without a "
            f"usable sample; {counts.get('excluded', 0)} of {len(results)} excluded)")


def read_baseline(path):
    if not path.exists():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}


def write_baseline(path, names, header):
    path.write_text(f"# {header}\n# refresh: python -m tests.engine.pytorch_oracles --update\n" +
                    "".join(f"{n}\n" for n in sorted(names)))


def main(argv):
    sig = run_signatures()
    print(signature_summary(sig))
    ops = run_opinfo()
    print(opinfo_summary(ops))
    if "--details" in argv:
        for key, (status, detail, _) in sorted(ops.items()):
            if status in ("fail", "missing"):
                print(f"  {status:8} {key}: {detail}")
        for name, problem in sig.items():
            if problem is not None and not problem.startswith("excluded"):
                print(f"  signature {name}: {problem}")
    if "--update" in argv:
        write_baseline(OPINFO_BASELINE, [k for k, v in ops.items() if v[0] == "pass"],
                       "OpInfo ops whose sampled values and gradients match PyTorch")
        write_baseline(SIGNATURE_BASELINE, [k for k, v in sig.items() if v is None],
                       "public torch names the engine has, accepting PyTorch's parameter names")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
