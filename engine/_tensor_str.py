"""Tensor printing that reproduces PyTorch's ``str``/``repr`` output character for character.

The layout rules (column widths, fixed vs. scientific notation, line wrapping, summarisation and
the suffixes after the values) follow ``torch/_tensor_str.py``. Numbers are formatted with
Python's own float formatting, as PyTorch does, so rounding is identical.
"""
import contextlib
import math

import numpy as np

from . import _dtype


class _PrintOptions:
    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self):
        self.precision = 4
        self.threshold = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set printing options, with the semantics of ``torch.set_printoptions``.

    A profile ("default", "short", "full") is applied first and explicit arguments override it.
    As in PyTorch, ``sci_mode`` is always assigned, so omitting it resets it to automatic.
    """
    if profile is not None and profile in _PROFILES:
        for key, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, key, value)
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    """The current options as a dict that can be passed back to ``set_printoptions``."""
    return {key: getattr(PRINT_OPTS, key) for key in _PrintOptions.__slots__}


@contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily change the print options."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


def _widest(strings):
    return max((len(s) for s in strings), default=0)


def _width_candidates(vals):
    """The values whose formatted strings can be the longest.

    For a fixed format the string length only grows with the magnitude of the rounded value
    (fixed-point) or with the magnitude of the rounded exponent (scientific), and both move
    monotonically with |x|; so per sign, the smallest and largest |x| cover every case.
    """
    out = []
    for part in (vals[vals > 0], vals[vals < 0]):
        if part.size:
            mag = np.abs(part)
            out.append(part[np.argmin(mag)])
            out.append(part[np.argmax(mag)])
    return [float(v) for v in out]


class _Formatter:
    """Decides one column width and number style for every element of a tensor."""

    def __init__(self, values, is_floating):
        self.floating = is_floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)

        if not is_floating:
            if flat.size:
                # The widest integer is either the largest or the most negative one.
                cands = flat[[np.argmin(flat), np.argmax(flat)]].tolist()
                self.max_width = max(1, _widest(f"{v}" for v in cands))
            return

        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            # Only zeros, infs and nans: nothing decides the style, keep the defaults.
            return

        mag = np.abs(vals).astype(np.float64)  # float16 would overflow in the ratio
        lo, hi = mag.min(), mag.max()
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        if PRINT_OPTS.sci_mode is None:
            with np.errstate(over="ignore"):  # an overflowing ratio is simply "large"
                ratio = hi / lo
            self.sci_mode = bool(ratio > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode

        cands = _width_candidates(vals)
        prec = PRINT_OPTS.precision
        if self.sci_mode:
            width = _widest(f"{v:.{prec}e}" for v in cands)
        elif self.int_mode:
            # Integer-valued floats get a trailing "." to mark the float type.
            width = _widest(f"{v:.0f}" for v in cands) + 1
        else:
            width = _widest(f"{v:.{prec}f}" for v in cands)
        self.max_width = max(self.max_width, width)

    def format(self, value):
        if self.floating:
            prec = PRINT_OPTS.precision
            if self.sci_mode:
                text = f"{value:{self.max_width}.{prec}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{prec}f}"
        else:
            text = f"{value}"
        return text.rjust(self.max_width)


def _summarized_values(values):
    """Just the elements that a summarised print shows, which alone set the column width."""
    edge = PRINT_OPTS.edgeitems
    if values.ndim == 0:
        return values
    if not edge:
        # PyTorch slices x[:0] and x[-0:] for a vector, i.e. keeps all of it, but drops
        # everything for higher dimensions; either way nothing but "..." is printed.
        return values if values.ndim == 1 else values[(slice(0, 0),) * values.ndim]
    index = []
    for n in values.shape:
        if n > 2 * edge:
            index.append(np.r_[0:edge, n - edge:n])
        else:
            index.append(np.arange(n))
    return values[np.ix_(*index)]


def _vector_str(values, indent, summarize, formatter):
    edge = PRINT_OPTS.edgeitems
    # Each element takes its width plus ", ".
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (formatter.max_width + 2)))
    if summarize and not edge:
        data = ["..."]
    elif summarize and values.shape[0] > 2 * edge:
        data = ([formatter.format(v) for v in values[:edge].tolist()] + [" ..."]
                + [formatter.format(v) for v in values[-edge:].tolist()])
    else:
        data = [formatter.format(v) for v in values.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(values, indent, summarize, formatter):
    ndim = values.ndim
    if ndim == 0:
        return formatter.format(values.item())
    if ndim == 1:
        return _vector_str(values, indent, summarize, formatter)
    edge = PRINT_OPTS.edgeitems
    n = values.shape[0]
    if summarize and n > 2 * edge:
        rows = ([_nested_str(values[i], indent + 1, summarize, formatter) for i in range(edge)]
                + ["..."]
                + [_nested_str(values[i], indent + 1, summarize, formatter)
                   for i in range(n - edge, n)])
    else:
        rows = [_nested_str(values[i], indent + 1, summarize, formatter) for i in range(n)]
    # Blocks of higher dimensions are separated by (ndim - 2) blank lines.
    return "[" + ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _values_str(values, dtype, indent):
    summarize = values.size > PRINT_OPTS.threshold
    shown = _summarized_values(values) if summarize else values
    formatter = _Formatter(shown, dtype.is_floating_point)
    return _nested_str(values, indent, summarize, formatter)


def _add_suffixes(text, suffixes, indent):
    # PyTorch's own measure of the last line (two more than its length); kept for identical
    # wrapping decisions.
    last_line_len = len(text) - text.rfind("\n") + 1
    parts = [text]
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def format_tensor(values, dtype, *, device=None, requires_grad=False, grad_fn_name=None):
    """Render a tensor as PyTorch's ``str``/``repr`` does.

    ``values`` is a NumPy array with the tensor's elements (already on the host), ``dtype`` an
    engine dtype, ``device`` ``None`` for the CPU or a device string such as ``"cuda:0"``.
    """
    values = np.asarray(values)
    if values.dtype != dtype.np:
        values = values.astype(dtype.np)
    prefix = "tensor("
    indent = len(prefix)
    default_float = _dtype.get_default_dtype()
    suffixes = []

    if device is not None and str(device) != "cpu":
        suffixes.append(f"device='{device}'")

    if values.size == 0:
        # NumPy-style: the shape is shown unless it is a plain (0,).
        if values.ndim != 1:
            suffixes.append("size=" + str(tuple(values.shape)))
        # Without elements the dtype cannot be inferred, so only the default float is implied.
        if dtype is not default_float:
            suffixes.append("dtype=" + repr(dtype))
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(values.shape)))
        if dtype not in (default_float, _dtype.int64, _dtype.bool_):
            suffixes.append("dtype=" + repr(dtype))
        body = _values_str(values, dtype, indent)

    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")

    return _add_suffixes(prefix + body, suffixes, indent)
