"""JSON-ready summaries of values and gradients (see docs/graph-schema.md, "Value summaries")."""
import math

import numpy as np


def _host(array, device=None):
    if isinstance(array, np.ndarray):
        return array
    get = getattr(array, "get", None)  # CuPy
    if get is not None:
        return get()
    if device is not None and getattr(device, "type", "cpu") != "cpu":
        try:
            return device.backend.to_numpy(array)
        except Exception:  # noqa: BLE001  a summary never fails the program
            pass
    return np.asarray(array)


_DTYPE_NAMES: dict = {}


def dtype_name(dtype) -> str:
    """`dtype.name`, remembered: NumPy builds the name anew at each call (~5 µs, as much as the rest
    of a small tensor's summary)."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = dtype.name
    return name


def _num(x):
    """A float for JSON: non-finite values become the strings "nan", "inf", "-inf"."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if x != x else ("inf" if x > 0 else "-inf")


def _clean_list(values):
    """Nested lists from tolist() with non-finite floats replaced by strings."""
    out = []
    for v in values:
        if type(v) is list:
            out.append(_clean_list(v))
        elif type(v) is float and not math.isfinite(v):
            out.append(_num(v))
        else:
            out.append(v)
    return out


def _round_sig(a, digits=6):
    """Round to `digits` significant digits (keeps previews and histograms small in JSON)."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(all="ignore"):
        mag = np.floor(np.log10(np.abs(a)))
        mag[~np.isfinite(mag)] = 0
        scale = 10.0 ** (digits - 1 - mag)
        out = np.round(a * scale) / scale
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = a[bad]
    return out


def _summarize_small(a, s):
    """Exact values and statistics of a small array, in plain Python (faster than NumPy calls)."""
    data = a.tolist()
    flat = a.ravel().tolist() if a.ndim != 1 else data
    if type(flat) is not list:
        flat = [flat]
    if a.dtype.kind == "f":
        fin = [v for v in flat if math.isfinite(v)]
        s["nan"] = sum(1 for v in flat if v != v)
        s["inf"] = len(flat) - len(fin) - s["nan"]
        if len(fin) != len(flat):
            data = _clean_list(data) if type(data) is list else _num(data)
    else:
        fin = [float(v) for v in flat]
        s["nan"] = s["inf"] = 0
    s["data"] = data
    if fin:
        n = len(fin)
        mean = math.fsum(fin) / n
        s["min"] = float(min(fin))
        s["max"] = float(max(fin))
        s["mean"] = mean
        s["std"] = math.sqrt(math.fsum((v - mean) ** 2 for v in fin) / n)
        s["norm"] = math.sqrt(math.fsum(v * v for v in fin))
        s["abs_mean"] = math.fsum(abs(v) for v in fin) / n
    else:
        s["min"] = s["max"] = s["mean"] = s["std"] = s["norm"] = s["abs_mean"] = None
    return s


def summarize(array, full_values=64, bins=20, preview=64, device=None, stats_only=False):
    """A JSON-ready summary of an array (see docs/graph-schema.md, "Value summaries").

    Always: numel, shape, dtype, full, and for non-empty numeric arrays min, max, mean, std,
    norm (L2), abs_mean (mean |x| per element), nan and inf counts over the finite/non-finite
    elements. With numel <= full_values
    the exact values ("data", nested lists as tolist() gives them); otherwise a histogram of the
    finite values ("hist": {"counts", "edges"}) and a strided "preview" (at most `preview`
    values for 1-D, at most 32 x 32 for 2-D and more, the leading dimensions flattened), with
    "preview_step" the stride used per dimension. stats_only: no histogram and no preview (a
    gradient along an edge: its statistics are what is drawn).
    """
    a = _host(array, device)
    n = int(a.size)
    s = {"numel": n, "shape": [int(d) for d in a.shape], "dtype": dtype_name(a.dtype), "full": n <= full_values}
    if n == 0:
        return s
    kind = a.dtype.kind
    if kind not in "fbiuc":
        if s["full"]:
            s["data"] = a.tolist()
        return s
    if s["full"] and kind != "c":
        return _summarize_small(a, s)
    if kind == "f":
        f = a if a.dtype == np.float64 else a.astype(np.float64)
    elif kind == "c":
        f = np.abs(a).astype(np.float64)
    else:
        f = a.astype(np.float64)
    fin = np.isfinite(f)
    all_finite = bool(fin.all())
    fv = f.ravel() if all_finite else f[fin]
    s["nan"] = 0 if all_finite else int(np.isnan(f).sum())
    s["inf"] = 0 if all_finite else int(np.isinf(f).sum())
    if fv.size:
        mean = float(fv.sum()) / fv.size
        d = fv - mean
        s["min"] = float(fv.min())
        s["max"] = float(fv.max())
        s["mean"] = mean
        # (elementwise products, not np.dot: BLAS may wake its threads for a dot product, which on a
        # busy machine can cost milliseconds)
        s["std"] = math.sqrt(float(np.multiply(d, d, out=d).sum()) / fv.size)
        s["norm"] = math.sqrt(float((fv * fv).sum()))
        s["abs_mean"] = float(np.abs(fv).sum()) / fv.size
    else:
        s["min"] = s["max"] = s["mean"] = s["std"] = s["norm"] = s["abs_mean"] = None
    if s["full"]:
        data = a.tolist()
        if all_finite or type(data) is not list:
            s["data"] = _num(data) if type(data) is float else data
        else:
            s["data"] = _clean_list(data)
        return s
    if stats_only:
        return s
    if fv.size:
        lo, hi = s["min"], s["max"]
        if hi > lo:
            idx = ((fv - lo) * (bins / (hi - lo))).astype(np.intp)
            np.minimum(idx, bins - 1, out=idx)
            counts = np.bincount(idx, minlength=bins)
            edges = lo + (hi - lo) / bins * np.arange(bins + 1)
        else:
            counts = np.zeros(bins, dtype=np.intp)
            counts[0] = fv.size
            edges = np.linspace(lo - 0.5, lo + 0.5, bins + 1)
        s["hist"] = {"counts": counts.tolist(), "edges": _round_sig(edges).tolist()}
    if a.ndim <= 1:
        step = max(1, -(-n // preview))
        p = f.ravel()[::step]
        s["preview_step"] = [step]
    else:
        a2 = f.reshape(-1, a.shape[-1])
        rs = max(1, -(-a2.shape[0] // 32))
        cs = max(1, -(-a2.shape[1] // 32))
        p = a2[::rs, ::cs]
        s["preview_step"] = [rs, cs]
    p = _round_sig(p).tolist()
    s["preview"] = p if all_finite else _clean_list(p)
    return s


