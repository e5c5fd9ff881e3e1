"""`torch.fft` on real tensors: the transforms whose result is real (irfft, irfft2, irfftn and the
Hermitian hfft family, which read a real input as a half spectrum with zero imaginary parts), the
sample frequencies (fftfreq, rfftfreq) and the shifts (fftshift, ifftshift).

The engine has no complex dtype, so the transforms whose result is complex (fft, ifft, rfft, ihfft,
their 2-d and n-d forms) are not here. The real-result transforms are linear in their input; their
gradient is the adjoint map, Re(rfftn(grad)) with the interior half-spectrum entries counted twice,
itself an op whose gradient is the transform again (so create_graph works)."""
import numpy as np

from .._dims import normalize_dim
from .._dtype import get_default_dtype
from ._core import OpDef, ArrayMath, apply
from .shape import roll

_NORMS = ("backward", "forward", "ortho")
_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _norm(norm):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f"Invalid normalization mode: {norm}")
    return norm


def _fft_module(xp):
    return getattr(xp, "fft", np.fft)


def _fit(xp, a, axes, sizes):
    """`a` cropped or zero-padded to `sizes` along `axes`."""
    for axis, n in zip(axes, sizes):
        have = a.shape[axis]
        if have > n:
            a = a[(slice(None),) * axis + (slice(0, n),)]
        elif have < n:
            pad = [(0, 0)] * a.ndim
            pad[axis] = (0, n - have)
            a = xp.pad(a, pad)
    return a


def _c2r_forward(xp, x, axes, s, norm, in_shape, dt):
    x = x.astype(dt, copy=False)
    out = _fft_module(xp).irfftn(x, s=s, axes=axes, norm=norm)
    return out.astype(dt, copy=False)


def _c2r_adjoint(xp, g, axes, s, norm, in_shape, dt):
    half = _fft_module(xp).rfftn(g, axes=axes, norm=_DUAL[norm]).real
    n = s[-1]
    last = axes[-1]
    twice = (slice(None),) * last + (slice(1, (n + 1) // 2),)
    half[twice] *= 2
    half = _fit(xp, half, axes, [in_shape[a] for a in axes])
    return half.astype(g.dtype, copy=False)


def _c2r_vjp(m, g, node):
    if isinstance(m, ArrayMath):
        return _c2r_adjoint(m.xp, g, *node.params)
    return apply(_c2r_adjoint_op, (g,), node.params)


def _c2r_adjoint_vjp(m, g, node):
    if isinstance(m, ArrayMath):
        axes, s, norm, in_shape, dt = node.params
        return _c2r_forward(m.xp, g, axes, s, norm, in_shape, g.dtype)
    return apply(_c2r_op, (g,), node.params[:-1] + (g.dtype.np,))


_c2r_op = OpDef("FftC2RBackward0", _c2r_forward, _c2r_vjp, kind="fft_c2r")
_c2r_adjoint_op = OpDef("FftR2CBackward0", _c2r_adjoint, _c2r_adjoint_vjp, kind="fft_r2c")


def _result_dtype(x):
    return x.dtype if x.dtype.is_floating_point else get_default_dtype()


def _c2r(x, s, dim, norm, name):
    if getattr(x.dtype, "is_complex", False):
        raise TypeError("complex tensors are not supported")
    ndim = x._data.ndim
    if dim is None:
        axes = tuple(range(ndim - len(s), ndim)) if s is not None else tuple(range(ndim))
    else:
        axes = tuple(normalize_dim(d, ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,)))
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{name} dims must be unique")
    if not axes:
        raise RuntimeError(f"{name} must transform at least one axis")
    if s is not None:
        s = tuple(int(v) for v in s)
        if len(s) != len(axes):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
    else:
        s = (-1,) * len(axes)
    sizes = []
    for axis, n in zip(axes, s):
        if n == -1:
            n = 2 * (x._data.shape[axis] - 1) if axis == axes[-1] else x._data.shape[axis]
        if n < 1:
            raise RuntimeError(f"Invalid number of data points ({n}) specified")
        sizes.append(n)
    dt = _result_dtype(x)
    return apply(_c2r_op, (x,), (axes, tuple(sizes), norm, tuple(x._data.shape), dt.np))


def _out(result, out):
    if out is not None:
        from .elementwise import write_out
        return write_out(out, result)
    return result


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_c2r(input, None if n is None else (n,), (dim,), _norm(norm), "irfft"), out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_c2r(input, s, dim, _norm(norm), "irfftn"), out)


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_c2r(input, s, dim, _norm(norm), "irfftn"), out)


# the Hermitian transforms of a real input: hfft(x) = irfft(conj(x)) under the dual normalisation
def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    return _out(_c2r(input, None if n is None else (n,), (dim,), _DUAL[_norm(norm)], "hfft"), out)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return _out(_c2r(input, s, dim, _DUAL[_norm(norm)], "hfftn"), out)


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    return _out(_c2r(input, s, dim, _DUAL[_norm(norm)], "hfftn"), out)


# ---------------------------------------------------------------------------------------------
# frequencies and shifts
def _frequencies(values, dtype, device, requires_grad):
    from ..creation import tensor
    dt = dtype or get_default_dtype()
    t = tensor(values.astype(dt.np), dtype=dt, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _out(_frequencies(np.fft.fftfreq(int(n), d), dtype, device, requires_grad), out)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _out(_frequencies(np.fft.rfftfreq(int(n), d), dtype, device, requires_grad), out)


def _shift(input, dim, sign):
    ndim = input._data.ndim
    if dim is None:
        axes = tuple(range(ndim))
    else:
        axes = tuple(normalize_dim(d, ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,)))
    if not axes:
        return roll(input, (0,), (0,)) if ndim else input.clone()
    shifts = tuple(sign * (input._data.shape[a] // 2) for a in axes)
    return roll(input, shifts, axes)


def fftshift(input, dim=None):
    return _shift(input, dim, 1)


def ifftshift(input, dim=None):
    return _shift(input, dim, -1)


FFT = {"irfft": irfft, "irfft2": irfft2, "irfftn": irfftn, "hfft": hfft, "hfft2": hfft2, "hfftn": hfftn,
       "fftfreq": fftfreq, "rfftfreq": rfftfreq, "fftshift": fftshift, "ifftshift": ifftshift}
