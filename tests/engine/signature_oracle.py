"""PyTorch's public API as an oracle for the engine's names and signatures.

The names are those of `torch.overrides.get_testing_overrides()` in `torch`, `torch.Tensor`,
`torch.nn.functional`, `torch.linalg`, `torch.special` and `torch.fft`. The parameters each name
accepts are read from PyTorch itself, not from the overrides' stand-in lambdas (which misname many:
`torch.where(condition, x, y)`, `topk(..., descending)`):
- a function written in Python: its own signature;
- a builtin: PyTorch's argument parser signatures, generated from `native_functions.yaml` by
  torchgen exactly as PyTorch's bindings are (every overload: `torch.max(input, other=...)` and
  `torch.max(input, dim=...)` are both accepted, so the engine must accept `other` and `dim`);
  overloads taking dimension names are left out (named tensors, a prototype the engine does not
  have);
- a builtin bound by hand in PyTorch's C++ (`Tensor.to`, `Tensor.new_zeros`): the override's
  lambda, the only description there is.

A name passes when the engine has it and its callable accepts every one of those parameter names
(the tensor a method is called on aside) with the same scalar defaults. Names that cannot apply to
the engine sit in EXCLUDED with the reason; unless the engine has them anyway, they are counted apart.
"""
import ast
import functools
import inspect
import keyword
import os

from gradview import engine

NAMESPACES = {  # torch object -> engine path
    "torch": "", "torch.Tensor": "Tensor", "torch.nn.functional": "nn.functional", "torch.linalg": "linalg",
    "torch.special": "special", "torch.fft": "fft",
}

# parameters not asked for: where results go and how memory is laid out (`out=` is checked by the
# creation-function tests), the named-tensor argument, and the first operand as `self`
IGNORED_PARAMETERS = frozenset({"out", "layout", "pin_memory", "memory_format", "non_blocking", "names", "self"})

# names that cannot apply to the engine, each with why (names are given without "torch.")
SPARSE = "sparse layouts (COO, CSR, CSC): the engine's tensors are dense"
QUANTIZED = "quantized tensors and their kernels: the engine computes in floating point"
COMPLEX = ("a complex or bfloat16 result or argument: the engine has no complex dtype and no bfloat16 "
           "(the real-result transforms of torch.fft are present)")
EXCLUDED = {
    SPARSE: """Tensor.ccol_indices Tensor.col_indices Tensor.crow_indices Tensor.row_indices Tensor.coalesce
        Tensor.is_coalesced Tensor.dense_dim Tensor.sparse_dim Tensor.indices Tensor.values Tensor.sparse_mask
        Tensor.sparse_resize_ Tensor.sparse_resize_and_clear_ Tensor.resize_as_sparse_ Tensor.smm Tensor.sspaddmm
        Tensor.to_sparse ccol_indices_copy col_indices_copy crow_indices_copy row_indices_copy indices_copy
        values_copy dsmm hsmm saddmm smm native_norm""".split(),  # (native_norm: PyTorch has only a sparse kernel)
    QUANTIZED: """Tensor.dequantize Tensor.int_repr Tensor.q_per_channel_axis Tensor.q_per_channel_scales
        Tensor.q_per_channel_zero_points Tensor.q_scale Tensor.q_zero_point Tensor.qscheme choose_qparams_optimized
        dequantize fake_quantize_per_channel_affine fake_quantize_per_tensor_affine fbgemm_linear_fp16_weight
        fbgemm_linear_fp16_weight_fp32_activation fbgemm_linear_int8_weight
        fbgemm_linear_int8_weight_fp32_activation fbgemm_linear_quantize_weight fbgemm_pack_gemm_matrix_fp16
        fbgemm_pack_quantized_matrix fused_moving_avg_obs_fake_quant int_repr q_per_channel_axis
        q_per_channel_scales q_per_channel_zero_points q_scale q_zero_point quantize_per_channel
        quantize_per_tensor quantize_per_tensor_dynamic quantized_batch_norm quantized_gru_cell
        quantized_lstm_cell quantized_max_pool1d quantized_max_pool2d quantized_max_pool3d
        quantized_rnn_relu_cell quantized_rnn_tanh_cell""".split(),
    COMPLEX: """Tensor.bfloat16 Tensor.cdouble Tensor.cfloat Tensor.chalf complex polar view_as_complex
        view_as_complex_copy view_as_real view_as_real_copy fft.fft fft.ifft fft.fft2 fft.ifft2 fft.fftn fft.ifftn
        fft.rfft fft.rfft2 fft.rfftn fft.ihfft fft.ihfft2 fft.ihfftn linalg.eig linalg.eigvals stft Tensor.stft
        istft Tensor.istft""".split(),
    "a uint64 result: a dtype the engine does not have": ["hash_tensor", "Tensor.hash_tensor"],
    "devices and memory layouts the engine does not have (XPU, IPU, MTIA, MKL-DNN, CUDA streams and the "
    "CUDA array interface)": """Tensor.xpu Tensor.ipu Tensor.mtia Tensor.to_mkldnn Tensor.record_stream
        Tensor.__cuda_array_interface__""".split(),
    "vendor kernels and distributed SyncBatchNorm internals, reached only through nn modules": """miopen_batch_norm
        miopen_convolution miopen_convolution_add_relu miopen_convolution_relu miopen_convolution_transpose
        miopen_depthwise_convolution miopen_rnn batch_norm_backward_elemt batch_norm_backward_reduce
        batch_norm_elemt batch_norm_gather_stats batch_norm_gather_stats_with_counts batch_norm_stats
        batch_norm_update_stats""".split(),
    "torch.compile internals (symbolic shapes, functionalization) and first-class dimensions (functorch.dim)":
        """sym_float sym_int sym_ite sym_max sym_min sym_not sym_sum slice_inverse Tensor.slice_inverse
        Tensor.index""".split(),
}
EXCLUDED_PREFIXES = {"_": "private names (a leading underscore: PyTorch's internals)"}


def exclusion_reason(full_name):
    short = full_name.split(".", 1)[1]
    for reason, names in EXCLUDED.items():
        if short in names:
            return reason
    last = short.rpartition(".")[2]
    for prefix, reason in EXCLUDED_PREFIXES.items():
        if last.startswith(prefix) and not last.startswith("__"):
            return reason
    return None


# ---------------------------------------------------------------------------------------------
# PyTorch's side
def public_names():
    """{"torch.abs": (torch callable, override lambda), ...} for the namespaces above."""
    import torch
    import torch.overrides
    owners = {}
    for label in NAMESPACES:
        obj = torch
        for part in label.split(".")[1:]:
            obj = getattr(obj, part)
        owners[label] = obj
    out = {}
    for fn, sig in torch.overrides.get_testing_overrides().items():
        name = getattr(fn, "__name__", None)
        if name == "__get__":  # a Tensor attribute (grad, shape, ...): its descriptor's getter
            desc = fn.__self__
            attr = getattr(desc, "__name__", None) or getattr(getattr(desc, "fget", None), "__name__", None)
            if attr:
                out[f"torch.Tensor.{attr}"] = (fn, None)
            continue
        if name is None:
            continue
        for label, owner in owners.items():
            prefix = label.rpartition(".")[2] + "_"  # torch.linalg.norm is named linalg_norm
            if label in ("torch.linalg", "torch.special", "torch.fft") and name.startswith(prefix) and \
                    getattr(owner, name[len(prefix):], None) is fn:
                out[f"{label}.{name[len(prefix):]}"] = (fn, sig)
                break
            attr = getattr(owner, name, None)
            if attr is not None and attr is fn:
                out[f"{label}.{name}"] = (fn, sig)
                break
    return out


_EMPTY = inspect.Parameter.empty
_UNKNOWN = object()  # a default PyTorch has that is not a plain Python value (an enum, a C++ expression)


def _python_default(text):
    if text is None:
        return _EMPTY
    if text in ("{}", "::std::nullopt", "c10::nullopt", "None"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return _UNKNOWN


@functools.lru_cache(maxsize=1)
def native_signatures():
    """{("function" | "method", name): [[(parameter, default), ...] per overload]} from torchgen."""
    import torchgen
    from torchgen.api.python import signature
    from torchgen.gen import parse_native_yaml
    from torchgen.model import Variant
    folder = os.path.join(os.path.dirname(torchgen.__file__), "packaged", "ATen", "native")
    parsed = parse_native_yaml(os.path.join(folder, "native_functions.yaml"), os.path.join(folder, "tags.yaml"))
    out = {}
    for f in parsed.native_functions:
        name = str(f.func.name.name)
        for kind, variant in (("function", Variant.function), ("method", Variant.method)):
            if variant not in f.variants and not (kind == "function" and f.python_module):
                continue
            try:
                args = signature(f, method=kind == "method").arguments()
            except ValueError:  # an internal schema PyTorch binds by hand (requires_grad spelled out)
                continue
            if any("Dimname" in str(a.type) for a in args):
                continue
            params = [("input" if a.name == "self" and str(a.type) == "Tensor" else a.name, _python_default(a.default),
                       str(a.type)) for a in args]
            out.setdefault((kind, name), []).append(params)
    return {key: [[p[:2] for p in o] for o in overloads if not _scalar_twin(o, overloads)]
            for key, overloads in out.items()}


def _scalar_twin(overload, overloads):
    """True for an overload that takes a number where another takes a tensor at the same place
    (`where(condition, Scalar self, other)`, `isin(Scalar element, ...)`): its names are that
    overload's, spelled for one value, and a call by keyword uses the tensor overload's names."""
    if not any(t == "Scalar" for _, _, t in overload):
        return False
    shape = [("Tensor" if t == "Scalar" else t) for _, _, t in overload]
    return any(other is not overload and [t for _, _, t in other] == shape for other in overloads)


def _is_builtin(fn):
    return not isinstance(fn, type) and not inspect.isfunction(inspect.unwrap(fn)) and \
        type(fn).__name__ in ("builtin_function_or_method", "method_descriptor", "wrapper_descriptor",
                              "getset_descriptor", "classmethod_descriptor")


def _lambda_overload(sig, method):
    params = list(inspect.signature(sig).parameters.values())
    if method and params and params[0].name in ("self", "input", "tensor"):
        params = params[1:]  # the tensor the method is called on
    return [(p.name, p.default) for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


# builtins bound by hand whose override lambda misdescribes them: what they really take
HAND_BOUND = {
    "torch.Tensor.__nonzero__": [[]],  # bool(tensor): the lambda is nonzero(input, as_tuple)'s
    "torch.Tensor.to": [[("device", None), ("dtype", None), ("non_blocking", False), ("copy", False)],
                        [("tensor", _EMPTY), ("non_blocking", False), ("copy", False)]],  # not `other`
}


def torch_overloads(full_name, fn, sig):
    """[[(parameter, default), ...] per overload] that PyTorch's callable accepts, or None (attributes)."""
    if sig is None:
        return None
    if full_name in HAND_BOUND:
        return HAND_BOUND[full_name]
    method = full_name.startswith("torch.Tensor.")
    if type(fn).__name__ == "wrapper_descriptor":
        return []  # a slot (`__getitem__`): Python passes its arguments by position
    if not _is_builtin(fn):
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            return [_lambda_overload(sig, method)]
        if method and params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
            params = params[1:]
        return [[(p.name, p.default) for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]]
    native = native_signatures().get(("method" if method else "function", fn.__name__))
    if native is None:
        return [_lambda_overload(sig, method)]
    return native


# ---------------------------------------------------------------------------------------------
# the engine's side
def _engine_attr(path):
    obj = engine
    for part in path.split(".") if path else ():
        try:
            obj = getattr(obj, part)
        except (AttributeError, ImportError):
            return None
    return obj


def engine_object(full_name):
    """(the engine's object for a public torch name, whether it exists)."""
    label, _, name = full_name.rpartition(".")
    owner = _engine_attr(NAMESPACES[label])
    if owner is None:
        return None, False
    if label == "torch.Tensor":
        attr = inspect.getattr_static(owner, name, None)
        return attr, attr is not None
    try:
        value = getattr(owner, name)
    except (AttributeError, ImportError):
        return None, False
    return value, True


def engine_parameters(full_name, ours):
    """{name: inspect.Parameter} the engine's callable takes by keyword, or None when it takes any."""
    method = full_name.startswith("torch.Tensor.")
    bound = False
    if isinstance(ours, staticmethod):
        ours = ours.__func__
    elif isinstance(ours, classmethod):
        ours, bound = ours.__func__, True
    sig = inspect.signature(ours)
    params = list(sig.parameters.values())
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    if (method or bound) and params and params[0].kind in (params[0].POSITIONAL_ONLY,
                                                           params[0].POSITIONAL_OR_KEYWORD):
        params = params[1:]
    return {p.name: p for p in params if p.kind not in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY)}


def _scalar(value):
    return isinstance(value, (bool, int, float, str)) and value is not _UNKNOWN


def signature_problem(full_name, torch_fn, torch_sig):
    """None when the engine's name accepts PyTorch's parameters, "missing", "excluded: ..." or what differs."""
    ours, found = engine_object(full_name)
    if not found:
        reason = exclusion_reason(full_name)  # (a name the engine has anyway is checked like the others)
        return "missing" if reason is None else "excluded: " + reason
    overloads = torch_overloads(full_name, torch_fn, torch_sig)
    if overloads is None or isinstance(ours, property) or not callable(ours) and \
            not isinstance(ours, (staticmethod, classmethod)):
        return None  # attributes and properties: existing is all a signature can ask
    try:
        params = engine_parameters(full_name, ours)
    except (TypeError, ValueError):
        return None  # a builtin or a class without a signature to read
    if params is None:
        return None
    aliases = getattr(ours, "keyword_aliases", {})
    lacking, defaults, seen = [], [], {}
    for overload in overloads:
        for name, default in overload:
            if name in IGNORED_PARAMETERS or keyword.iskeyword(name) or \
                    name == "input" and full_name.startswith("torch.Tensor."):
                continue  # (`random_(from, to)`: a Python keyword cannot be passed by name)
            seen.setdefault(name, set()).add(default if _scalar(default) else _UNKNOWN)
            if name not in params and name not in aliases and name not in lacking:
                lacking.append(name)
    for name, torch_defaults in seen.items():
        ours_default = params[name].default if name in params else _EMPTY
        (default,) = torch_defaults if len(torch_defaults) == 1 else (_UNKNOWN,)  # overloads may disagree
        if _scalar(default) and _scalar(ours_default) and ours_default != default:
            defaults.append(f"{name}={ours_default!r} (PyTorch {default!r})")
    problems = []
    if lacking:
        problems.append("lacks " + ", ".join(lacking))
    if defaults:
        problems.append("default " + ", ".join(defaults))
    return "; ".join(problems) or None


def run_signatures():
    return {name: signature_problem(name, fn, sig) for name, (fn, sig) in sorted(public_names().items())}


def signature_summary(results):
    by_space = {}
    for name, problem in results.items():
        label = name.rpartition(".")[0]
        counts = by_space.setdefault(label, {"present": 0, "ok": 0, "total": 0, "excluded": 0})
        counts["total"] += 1
        if problem is not None and problem.startswith("excluded: "):
            counts["excluded"] += 1
            continue
        counts["present"] += problem != "missing"
        counts["ok"] += problem is None
    total = {k: sum(c[k] for c in by_space.values()) for k in ("present", "ok", "total", "excluded")}

    def line(c):
        considered = c["total"] - c["excluded"]
        return (f"{c['ok']} of {considered} compatible ({100 * c['ok'] / max(considered, 1):.1f} %), "
                f"{c['present']} present, {c['excluded']} excluded of {c['total']}")
    parts = [f"{label}: {line(c)}" for label, c in by_space.items()]
    return f"Signatures: {line(total)} ({'; '.join(parts)})"
