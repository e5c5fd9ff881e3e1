"""Running NumPy where there is no kernel: read the operands back, call NumPy, upload the result.

A function or method without a WebGPU kernel (or a case a kernel does not cover) still gives
NumPy's answer: its array arguments are read back, NumPy runs on the host, array results go back
to the GPU, and arguments NumPy changed in place (`out=`, `np.add.at`'s target, `a.sort()`) are
written back. The first time each op falls back, a `WebGPUFallbackWarning` names it.
"""
from __future__ import annotations

import warnings

import numpy as np

from .elementwise import assign
from .gpuarray import WebGPUArray, upload


class WebGPUFallbackWarning(RuntimeWarning):
    """An op ran through NumPy on the CPU because the WebGPU backend has no kernel for it."""


_noticed = set()


def notice(name):
    if name not in _noticed:
        _noticed.add(name)
        warnings.warn(f"webgpu: no GPU kernel for '{name}' here; it runs through NumPy on the CPU (values are "
                      "copied back and forth). Results are the same, only slower.", WebGPUFallbackWarning,
                      stacklevel=4)


def noticed():
    """The op names that have fallen back so far."""
    return sorted(_noticed)


def to_host(obj):
    if obj.__class__ is WebGPUArray:
        return obj.get()
    if isinstance(obj, tuple):
        return tuple(to_host(o) for o in obj)
    if isinstance(obj, list):
        return [to_host(o) for o in obj]
    if isinstance(obj, dict):
        return {k: to_host(v) for k, v in obj.items()}
    return obj


def to_device(obj, name="result"):
    if isinstance(obj, np.ndarray):
        return upload(obj)
    if isinstance(obj, np.generic):
        return upload(np.asarray(obj))
    if isinstance(obj, tuple):
        converted = [to_device(o, name) for o in obj]
        return type(obj)(*converted) if hasattr(obj, "_fields") else tuple(converted)
    if isinstance(obj, list):
        return [to_device(o, name) for o in obj]
    if callable(obj) and not isinstance(obj, type):
        return Fallback(f"{name}()", obj)
    return obj


def _write_back(dst, host):
    assign(dst, upload(np.asarray(host)))


def call(name, fn, args, kwargs, mutates_first=False):
    notice(name)
    host_args = to_host(args)
    host_kwargs = to_host(kwargs)
    result = fn(*host_args, **host_kwargs)
    out = kwargs.get("out")
    if out is not None:
        outs = out if isinstance(out, tuple) else (out,)
        host_outs = host_kwargs["out"] if isinstance(out, tuple) else (host_kwargs["out"],)
        for dst, host in zip(outs, host_outs):
            if dst.__class__ is WebGPUArray:
                _write_back(dst, host)
        if result is host_kwargs["out"] or (isinstance(out, tuple) and result is host_outs[0]):
            return out if not isinstance(out, tuple) else out[0]
    if mutates_first and args and args[0].__class__ is WebGPUArray:
        _write_back(args[0], host_args[0])
    return to_device(result, name)


class Fallback:
    """A NumPy callable run on host values (and its attributes: `np.maximum.reduce`)."""

    def __init__(self, name, fn, mutates_first=False):
        self.__name__ = name
        self._fn = fn
        self._mutates_first = mutates_first

    def __call__(self, *args, **kwargs):
        return call(self.__name__, self._fn, args, kwargs, self._mutates_first)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        sub = getattr(self._fn, attr)
        if callable(sub) and not isinstance(sub, type):
            return Fallback(f"{self.__name__}.{attr}", sub, mutates_first=attr == "at")
        return sub

    def __repr__(self):
        return f"<webgpu fallback to numpy.{self.__name__}>"


class FallbackModule:
    """A NumPy submodule (np.linalg, np.random, ...) whose functions run on host values."""

    def __init__(self, name, module):
        self.__name__ = name
        self._module = module

    def __getattr__(self, attr):
        value = getattr(self._module, attr)
        if isinstance(value, type) or not callable(value):
            return value if not _is_module(value) else FallbackModule(f"{self.__name__}.{attr}", value)
        return Fallback(f"{self.__name__}.{attr}", value)


def _is_module(value):
    return type(value).__name__ == "module"


# array methods that change the array in place
_MUTATING_METHODS = {"sort", "partition", "put", "itemset", "resize", "setfield", "byteswap", "__setitem__", "fill"}


def method(arr, name, args, kwargs):
    notice(f"ndarray.{name}")
    host = arr.get()
    result = getattr(host, name)(*to_host(args), **to_host(kwargs))
    if name in _MUTATING_METHODS:
        _write_back(arr, host)
    return to_device(result, f"ndarray.{name}")


def attribute(arr, name):
    """A NumPy array attribute without a kernel: a method (run on host values) or a value."""
    value = getattr(np.ndarray, name)
    if callable(value):
        return lambda *args, **kwargs: method(arr, name, args, kwargs)
    notice(f"ndarray.{name}")
    return to_device(getattr(arr.get(), name), f"ndarray.{name}")


def binary_op(name, a, b, out=None):
    """An arithmetic operator without a kernel for these dtypes: NumPy's ufunc on host values."""
    fn = getattr(np, name)
    if out is not None:
        return call(name, fn, (a, b), {"out": out})
    return call(name, fn, (a, b), {})
