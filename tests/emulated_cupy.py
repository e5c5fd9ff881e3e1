"""A CuPy look-alike over NumPy, so the cuda device runs on machines without a GPU.

`emulated_cuda_backend()` is the engine's real CuPy backend (engine/backends/cupy_backend.py) handed
this module instead of `cupy`. The arrays compute with NumPy but keep CuPy's rules, so code that
would break on a GPU breaks here too:
- device arrays are their own class: `isinstance(a, numpy.ndarray)` is False;
- no implicit copy to the host: `numpy.asarray(a)` raises TypeError, as CuPy's `__array__` does
  (`float(a)`, `a.item()`, `a.tolist()`, `a.get()` and `cupy.asnumpy(a)` are the explicit ways);
- no host arrays inside device computations: a ufunc, function or assignment that mixes a device
  array with a `numpy.ndarray` raises TypeError, as CuPy's kernels do;
- results are always device arrays, 0-d ones included (NumPy would hand back scalars);
- the namespace has only what CuPy 14 exports (NUMPY_NAMES_MISSING_IN_CUPY is the difference), and
  `cupy.lib.stride_tricks.as_strided` takes no `writeable`;
- what a real H200 run showed that NumPy hides: an integer index gives a 0-d *view* (`a[k]` moves
  when `a[k]` is written), ufuncs take only device arrays and scalars (not lists or other objects
  with `__array__`), `accumulate`/`reduce`/`at` exist only for a few ufuncs
  (and maximum.at/minimum.at round float64 through float32), `i` is reserved in kernels, `indices` has no `sparse=`, and
  functions built on array methods (`all`, `where`'s condition, `isin`, reductions...) refuse
  Python scalars.
What it cannot catch: speed, asynchrony, and numerical differences of GPU kernels.
"""
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

# dir(numpy) minus what CuPy 14.2's top-level __init__ exports (read from its wheel)
NUMPY_NAMES_MISSING_IN_CUPY = frozenset("""
False_ ScalarType True_ asmatrix block bmat busday_count busday_offset busdaycalendar bytes_ char character
clongdouble complex256 core ctypeslib datetime64 datetime_as_string datetime_data dtypes einsum_path emath
errstate f2py flexible float128 frompyfunc fromregex geomspace get_include getbufsize geterr geterrcall
histogram_bin_edges info insert is_busday isnat little_endian longdouble ma matrix matvec memmap
nanpercentile nanquantile ndenumerate nditer nested_iters object_ polyder polydiv polyint rec recarray record
sctypeDict setbufsize seterr seterrcall show_runtime spacing str_ strings test timedelta64 typecodes typing
unstack vecdot vecmat void""".split())

CUPY_LINALG_NAMES = frozenset("""cholesky cond cross det eig eigh eigvals eigvalsh inv lstsq matmul
matrix_power matrix_rank matrix_transpose norm pinv qr slogdet solve svd tensorinv tensorsolve""".split())

# CuPy functions that call a method of their first argument (so a Python scalar there fails)
FIRST_ARGUMENT_IS_ARRAY = frozenset("""all any where isin in1d sum prod mean amax amin max min argmax argmin
cumsum cumprod nonzero sort argsort clip around round ravel transpose moveaxis reshape squeeze take
take_along_axis var std nansum nanmax nanmin""".split())

# keyword arguments NumPy has and CuPy does not
UNSUPPORTED_KEYWORDS = {"indices": {"sparse"}}

# ufunc methods CuPy 14.2 has only for some ufuncs (probed on an H200: the others raise
# NotImplementedError, or TypeError for integer-only ufuncs)
UFUNC_METHODS = {"accumulate": frozenset({"add", "multiply"}), "reduce": frozenset({"add", "multiply"}),
                 "reduceat": frozenset({"add"}), "at": frozenset({"add", "maximum", "minimum"})}

# CuPy takes host arrays only where it copies them to the device
_HOST_INPUT_ALLOWED = frozenset({"array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray"})


class _Device:
    def __init__(self, index=0):
        self.id = index

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        pass


def _host_array_error(value):
    return TypeError(f"Unsupported type {type(value)}")


def _to_numpy_args(value, allow_host=False):
    """Device arrays to their NumPy data, through lists/tuples/dicts; host arrays are refused."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, np.ndarray):
        if allow_host:
            return value
        raise _host_array_error(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_numpy_args(v, allow_host) for v in value)
    if isinstance(value, dict):
        return {k: _to_numpy_args(v, allow_host) for k, v in value.items()}
    return value


def _device_arrays(value):
    """The device arrays among a call's arguments."""
    if isinstance(value, ndarray):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _device_arrays(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _device_arrays(v)


def _to_device(value, sources=()):
    """Results as device arrays. A result that is a view of one of the `sources` (the call's device
    arrays) records it as its base, as a CuPy view refers to the array it views."""
    if isinstance(value, np.ndarray):
        for s in sources:
            if value is s._a:
                return s  # the same array back (cupy.asarray(a) is a)
        out = ndarray(value)
        if value.base is not None:
            viewed = next((s for s in sources if np.may_share_memory(value, s._a)), None)
            out._base = viewed if viewed is None or viewed._base is None else viewed._base  # the owner
        return out
    if isinstance(value, np.generic):
        return ndarray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_to_device(v, sources) for v in value)
    if isinstance(value, list):
        return [_to_device(v, sources) for v in value]
    return value


def _index_to_numpy(key):
    # CuPy indexes with device arrays, Python ints/slices/lists; host arrays it copies over, so they
    # are allowed here, but nothing in the engine should rely on that.
    if isinstance(key, tuple):
        return tuple(_index_to_numpy(k) for k in key)
    if isinstance(key, ndarray):
        return key._a
    return key


class ndarray(NDArrayOperatorsMixin):
    """A device array: NumPy data behind CuPy's rules."""
    __slots__ = ("_a", "_base")
    __array_priority__ = 100

    def __init__(self, data):
        self._a = data
        self._base = None

    # --- no implicit host copies
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def get(self, stream=None, order="C", out=None):
        return self._a.copy()

    # --- NumPy dispatch, with CuPy's rules
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _check_ufunc_operands(inputs)
        _check_ufunc_method(ufunc.__name__, method)
        args = _to_numpy_args(inputs)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _to_numpy_args(out)
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _to_device(result, tuple(_device_arrays(inputs)))

    def __array_function__(self, func, types, args, kwargs):
        module = func.__module__ or "numpy"
        if module == "numpy" and func.__name__ in NUMPY_NAMES_MISSING_IN_CUPY:
            return NotImplemented
        if module == "numpy.linalg" and func.__name__ not in CUPY_LINALG_NAMES:
            return NotImplemented
        return _to_device(func(*_to_numpy_args(args), **_to_numpy_args(kwargs)),
                          tuple(_device_arrays((args, kwargs))))

    # --- array protocol
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray(self._a.T))
    mT = property(lambda self: ndarray(self._a.mT))
    device = property(lambda self: _Device(0))
    data = property(lambda self: types.SimpleNamespace(ptr=self._a.__array_interface__["data"][0]))  # MemoryPointer

    @property
    def base(self):
        return self._base

    def __getitem__(self, key):
        result = self._a[_index_to_numpy(key)]
        if isinstance(result, np.generic):  # CuPy: a 0-d view of that element, not a copy
            key = key if isinstance(key, tuple) else (key,)
            result = self._a[_index_to_numpy(key) + (Ellipsis,)]
        return _to_device(result, (self,))

    def __setitem__(self, key, value):
        self._a[_index_to_numpy(key)] = _to_numpy_args(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (ndarray(row) if isinstance(row, np.ndarray) else ndarray(np.asarray(row)) for row in self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __complex__(self):
        return complex(self._a)

    def item(self, *args):
        return self._a.item(*args)

    def tolist(self):
        return self._a.tolist()

    def __repr__(self):
        return repr(self._a)

    def __getattr__(self, name):
        # methods (sum, reshape, astype, copy, ...): NumPy's, on device data, with CuPy's rules;
        # never NumPy's protocols (__array_interface__ would hand the data to the host)
        if name.startswith("__"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return _to_device(attr, (self,))

        def method(*args, **kwargs):
            return _to_device(attr(*_to_numpy_args(args), **_to_numpy_args(kwargs)), (self,))
        return method

    def __reduce__(self):
        raise TypeError("device arrays are not pickled in the emulation")


def _check_ufunc_method(name, method):
    if name not in UFUNC_METHODS.get(method, (name,)):
        raise NotImplementedError(f"`cupy_{name}.{method}` is not supported yet")


def _check_ufunc_operands(operands):
    for a in operands:
        if not isinstance(a, (ndarray, np.ndarray, int, float, bool, complex, np.generic)):
            raise TypeError(f"Unsupported type {type(a)}")  # lists, tensors: a CuPy ufunc converts nothing


class _Ufunc:
    def __init__(self, ufunc):
        self._u = ufunc
        self.__name__ = ufunc.__name__
        self.nin, self.nout = ufunc.nin, ufunc.nout

    def __call__(self, *args, **kwargs):
        _check_ufunc_operands(args)
        if any(isinstance(a, ndarray) for a in args) or "out" in kwargs:
            return self._u(*args, **kwargs)  # NumPy hands this to ndarray.__array_ufunc__
        return _to_device(np.array(self._u(*_to_numpy_args(args), **kwargs)))

    def __getattr__(self, method):
        fn = getattr(self._u, method)
        _check_ufunc_method(self.__name__, method)

        def call(*args, **kwargs):
            result = fn(*_to_numpy_args(args), **_to_numpy_args(kwargs))
            if method == "at" and self.__name__ in ("maximum", "minimum") and args[0].dtype == np.float64:
                _round_through_float32(args[0]._a, _to_numpy_args(args[1]))
            return _to_device(result, tuple(_device_arrays(args)))
        return call


def _round_through_float32(out, index):
    """What CuPy's maximum.at/minimum.at leave in a float64 array's written places (seen on an H200)."""
    written = np.zeros(out.shape, dtype=bool)
    written[index] = True
    out[written] = out[written].astype(np.float32)


def _function(name, fn):
    if name in _HOST_INPUT_ALLOWED:
        def call(*args, **kwargs):
            sources = tuple(_device_arrays(args))
            result = fn(*_to_numpy_args(args, True), **_to_numpy_args(kwargs, True))
            if not sources:  # host data: always copied to the device
                return ndarray(np.array(result, copy=True))
            return _to_device(result, sources)
    else:
        def call(*args, **kwargs):
            if name in FIRST_ARGUMENT_IS_ARRAY and args and not isinstance(args[0], ndarray):
                raise TypeError(f"'a' must be a cupy.ndarray object, not {type(args[0])}.")
            refused = UNSUPPORTED_KEYWORDS.get(name, set()) & set(kwargs)
            if refused:
                raise TypeError(f"{name}() got an unexpected keyword argument '{sorted(refused)[0]}'")
            return _to_device(fn(*_to_numpy_args(args), **_to_numpy_args(kwargs)),
                              tuple(_device_arrays((args, kwargs))))
    call.__name__ = name
    return call


class _Namespace(types.SimpleNamespace):
    """cupy, cupy.linalg: NumPy's functions behind CuPy's names and rules."""

    def __init__(self, source, allowed=None, missing=frozenset(), **extra):
        super().__init__(**extra)
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_allowed", allowed)
        object.__setattr__(self, "_missing", missing)

    def __getattr__(self, name):
        if name.startswith("_") or name in self._missing or (self._allowed is not None and name not in self._allowed):
            raise AttributeError(f"module 'cupy' has no attribute '{name}'")
        value = getattr(self._source, name)
        if isinstance(value, np.ufunc):
            wrapped = _Ufunc(value)
        elif isinstance(value, type) or not callable(value):
            wrapped = value  # dtypes, constants
        else:
            wrapped = _function(name, value)
        object.__setattr__(self, name, wrapped)
        return wrapped


class _Generator:
    """cupy.random.Generator: draws with NumPy, hands back device arrays."""

    def __init__(self, seed=None):
        self._g = np.random.default_rng(seed)

    def __getattr__(self, name):
        fn = getattr(self._g, name)

        def draw(*args, **kwargs):
            return _to_device(fn(*_to_numpy_args(args), **_to_numpy_args(kwargs)))
        return draw


class ElementwiseKernel:
    """cupy.ElementwiseKernel for bodies in the part of CUDA C that is also Python (what
    engine/optim/_fused.py writes): each statement runs on NumPy arrays, outputs written in place."""

    def __init__(self, in_params, out_params, operation, name="kernel"):
        self.inputs = [p.split()[-1] for p in in_params.split(",")]
        self.outputs = [p.split()[-1] for p in out_params.split(",")]
        for param in self.inputs + self.outputs:
            if param == "i" or param.startswith("_"):  # CuPy's loop index and its own names
                raise ValueError(f"{param!r} is reserved in an ElementwiseKernel")
        self.statements = [s.strip() for s in operation.split(";") if s.strip()]
        self.name = name

    def __call__(self, *args):
        if len(args) != len(self.inputs) + len(self.outputs):
            raise TypeError(f"Wrong number of arguments for {self.name!r}")
        arrays = [a for a in args if isinstance(a, (ndarray, np.ndarray))]
        if any(isinstance(a, np.ndarray) for a in arrays):
            raise TypeError("Unsupported type <class 'numpy.ndarray'>")
        dtype = arrays[0].dtype  # T: every parameter shares the first array's type
        env = {"sqrt": np.sqrt, "tanh": np.tanh, "max": np.maximum, "min": np.minimum, "exp": np.exp, "log": np.log}
        for name, value in zip(self.inputs + self.outputs, args):
            env[name] = value._a if isinstance(value, ndarray) else dtype.type(value)
        for statement in self.statements:
            target, _, expr = statement.partition("=")
            words = target.split()
            if len(words) == 2:  # "T name = ...": a temporary
                env[words[1]] = np.asarray(eval(expr, env), dtype=dtype)
            elif words[0] in self.outputs:
                env[words[0]][...] = eval(expr, env)
            else:
                env[words[0]] = np.asarray(eval(expr, env), dtype=dtype)
        return tuple(a for a in args[len(self.inputs):])


def _as_strided(x, shape=None, strides=None):  # CuPy's signature: no subok, no writeable
    return _to_device(np.lib.stride_tricks.as_strided(x._a, shape=shape, strides=strides), (x,))


def _runtime(device_count):
    return types.SimpleNamespace(
        getDeviceCount=lambda: device_count,
        getDeviceProperties=lambda index: {"name": b"Emulated GPU (NumPy)", "totalGlobalMem": 0, "major": 9,
                                           "minor": 0, "multiProcessorCount": 1})


class _MemoryPool:
    """cupy.get_default_memory_pool(): NumPy owns the memory here, so the pool holds nothing."""

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


def make_module(device_count=1):
    """A fresh `cupy` stand-in."""
    return _Namespace(
        np, missing=NUMPY_NAMES_MISSING_IN_CUPY,
        ndarray=ndarray,
        asnumpy=lambda a: a.get() if isinstance(a, ndarray) else np.asarray(a),
        cuda=types.SimpleNamespace(Device=_Device, runtime=_runtime(device_count)),
        random=types.SimpleNamespace(default_rng=_Generator),
        linalg=_Namespace(np.linalg, allowed=CUPY_LINALG_NAMES),
        lib=types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided)),
        ElementwiseKernel=ElementwiseKernel,
        get_default_memory_pool=_MemoryPool,
    )


def emulated_cuda_backend():
    """The engine's CuPy backend running on this emulation."""
    from gradview.engine.backends.cupy_backend import CupyBackend
    return CupyBackend(make_module())
