"""Window functions: `torch.signal.windows` (bartlett, blackman, cosine, exponential, gaussian,
general_cosine, general_hamming, hamming, hann, kaiser, nuttall) and the torch-level
`*_window` functions. Computed in float64 on NumPy by PyTorch's formulas, then cast."""
import math

import numpy as np

from .._dtype import get_default_dtype
from ._registry import binds


def _make(values, dtype, device, requires_grad):
    from ..creation import tensor
    t = tensor(np.asarray(values, dtype=np.float64).astype(dtype.np), dtype=dtype, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _checks(name, M, dtype):
    dtype = dtype or get_default_dtype()
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if str(dtype) not in ("torch.float32", "torch.float64"):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dtype}")
    return dtype


def _window(name, M, sym, dtype, device, requires_grad, values):
    """values(M, sym) -> array, for M >= 2; M == 0 and 1 are PyTorch's empty and ones."""
    dtype = _checks(name, M, dtype)
    M = int(M)
    if M <= 1:
        return _make(np.ones(M), dtype, device, requires_grad)
    return _make(values(M, sym), dtype, device, requires_grad)


def _linspace(start, constant, M):
    return np.linspace(start, start + (M - 1) * constant, M)


# ---------------------------------------------------------------------------------------------
# torch.signal.windows
def _general_cosine(a):
    def values(M, sym):
        k = _linspace(0, 2 * math.pi / (M if not sym else M - 1), M)
        return sum((-1) ** i * w * np.cos(i * k) for i, w in enumerate(a))
    return values


def general_cosine(M, *, a, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    if M > 1:
        if not isinstance(a, (list, tuple)):
            raise TypeError("Coefficients must be a list/tuple")
        if not a:
            raise ValueError("Coefficients cannot be empty")
    return _window("general_cosine", M, sym, dtype, device, requires_grad, _general_cosine(a))


def general_hamming(M, *, alpha=0.54, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, device=device,
                          requires_grad=requires_grad)


def hamming(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_hamming(M, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def hann(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad)


def blackman(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    _checks("blackman", M, dtype)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, device=device,
                          requires_grad=requires_grad)


def nuttall(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype, device=device,
                          requires_grad=requires_grad)


def bartlett(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    return _window("bartlett", M, sym, dtype, device, requires_grad,
                   lambda M, sym: 1 - np.abs(_linspace(-1, 2 / (M if not sym else M - 1), M)))


def cosine(M, *, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    dtype = _checks("cosine", M, dtype)
    if M == 0:
        return _make(np.ones(0), dtype, device, requires_grad)
    constant = math.pi / (M + 1 if not sym and M > 1 else M)
    return _make(np.sin(_linspace(0.5 * constant, constant, M)), dtype, device, requires_grad)


def exponential(M, *, center=None, tau=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    dtype = _checks("exponential", M, dtype)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return _make(np.ones(0), dtype, device, requires_grad)
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    return _make(np.exp(-np.abs(_linspace(-center / tau, 1 / tau, M))), dtype, device, requires_grad)


def gaussian(M, *, std=1.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    dtype = _checks("gaussian", M, dtype)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _make(np.ones(0), dtype, device, requires_grad)
    start = -(M if not sym and M > 1 else M - 1) / 2.0
    constant = 1 / (std * math.sqrt(2))
    return _make(np.exp(-_linspace(start * constant, constant, M) ** 2), dtype, device, requires_grad)


def _kaiser(beta):
    def values(M, sym):
        constant = 2.0 * beta / (M if not sym else M - 1)
        k = np.linspace(-beta, min(beta, -beta + (M - 1) * constant), M)
        return np.i0(np.sqrt(np.maximum(beta * beta - k * k, 0))) / np.i0(beta)
    return values


def kaiser(M, *, beta=12.0, sym=True, dtype=None, layout=None, device=None, requires_grad=False):
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    return _window("kaiser", M, sym, dtype, device, requires_grad, _kaiser(beta))


WINDOWS = {f.__name__: f for f in (bartlett, blackman, cosine, exponential, gaussian, general_cosine,
                                   general_hamming, hamming, hann, kaiser, nuttall)}


# ---------------------------------------------------------------------------------------------
# torch.*_window: periodic windows are the symmetric window of length N + 1 without its last point
def _torch_window(name, window_length, periodic, dtype, device, requires_grad, values):
    dtype = dtype or get_default_dtype()
    if not dtype.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dtype}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    n = int(window_length)
    if n <= 1:
        return _make(np.ones(n), dtype, device, requires_grad)
    full = n + 1 if periodic else n
    return _make(values(np.arange(full, dtype=np.float64), full)[:n], dtype, device, requires_grad)


@binds("hann_window", method=False)
def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                pin_memory=False):
    return _torch_window("hann_window", window_length, periodic, dtype, device, requires_grad,
                         lambda k, N: 0.5 - 0.5 * np.cos(2 * math.pi * k / (N - 1)))


@binds("hamming_window", method=False)
def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    return _torch_window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                         lambda k, N: alpha - beta * np.cos(2 * math.pi * k / (N - 1)))


@binds("bartlett_window", method=False)
def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                    pin_memory=False):
    return _torch_window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                         lambda k, N: 1 - np.abs(2 * k / (N - 1) - 1))


@binds("blackman_window", method=False)
def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                    pin_memory=False):
    return _torch_window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                         lambda k, N: 0.42 - 0.5 * np.cos(2 * math.pi * k / (N - 1))
                         + 0.08 * np.cos(4 * math.pi * k / (N - 1)))


@binds("kaiser_window", method=False)
def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False, pin_memory=False):
    def values(k, N):
        r = (k - (N - 1) / 2) / ((N - 1) / 2)
        return np.i0(beta * np.sqrt(np.maximum(1 - r * r, 0))) / np.i0(beta)
    return _torch_window("kaiser_window", window_length, periodic, dtype, device, requires_grad, values)
