"""The WebGPU backend outside a browser: unavailable with a reason, never an import error; and the
pure-Python parts of its array layer (broadcasting, merged dims, view strides, size classes, the
kernel sources). The kernels themselves run in tests/browser/test_webgpu.py."""
import numpy as np
import pytest

from gradview import engine
from gradview.engine import backends
from gradview.engine.backends.webgpu import core, kernels
from gradview.engine.backends.webgpu.runtime import size_class


def test_unavailable_outside_a_browser():
    assert "webgpu" not in backends.available()
    assert backends.is_available("webgpu") is False
    with pytest.raises(RuntimeError, match="webgpu device is not available.*not Pyodide"):
        engine.zeros(2, device="webgpu")
    assert engine.device("webgpu").type == "webgpu"  # naming the device is fine; using it says why not


@pytest.mark.parametrize("shapes", [((3, 1), (1, 4)), ((5,), ()), ((2, 1, 3), (4, 1)), ((0, 3), (1, 3)),
                                    ((7,), (7,)), ((1,), (0,))])
def test_broadcast_shapes_as_numpy(shapes):
    assert core.broadcast_shapes(*shapes) == np.broadcast_shapes(*shapes)


@pytest.mark.parametrize("shapes", [((3,), (4,)), ((2, 3), (3, 2)), ((0,), (2,))])
def test_broadcast_shapes_errors_as_numpy(shapes):
    with pytest.raises(ValueError):
        np.broadcast_shapes(*shapes)
    with pytest.raises(ValueError):
        core.broadcast_shapes(*shapes)


def test_coalesce_merges_dims_walked_together():
    # a contiguous (2, 3, 4) is one dim of 24; a transposed operand keeps the dims apart
    assert core.coalesce([2, 3, 4], [[12, 4, 1]]) == ([24], [[1]])
    assert core.coalesce([2, 3, 4], [[12, 4, 1], [1, 2, 6]]) == ([2, 3, 4], [[12, 4, 1], [1, 2, 6]])
    # size-1 dims go; a broadcast dim (stride 0) merges with another broadcast dim
    assert core.coalesce([1, 5, 1, 6], [[30, 6, 6, 1], [0, 0, 0, 1]]) == ([5, 6], [[6, 1], [0, 1]])


@pytest.mark.parametrize("case", [((2, 3, 4), (24,)), ((2, 3, 4), (6, 4)), ((4, 6), (2, 2, 6)), ((6,), (1, 6, 1))])
def test_view_strides_match_numpy(case):
    old, new = case
    base = np.arange(int(np.prod(old)), dtype=np.float32).reshape(old)
    for arr in (base, base[..., ::1]):
        st = core.view_strides(arr.shape, tuple(s // 4 for s in arr.strides), new)
        assert st == tuple(s // 4 for s in arr.reshape(new).strides)


def test_view_strides_refuse_what_needs_a_copy():
    t = np.arange(12, dtype=np.float32).reshape(3, 4).T
    assert core.view_strides(t.shape, tuple(s // 4 for s in t.strides), (12,)) is None
    assert core.view_strides(t.shape, tuple(s // 4 for s in t.strides), (2, 2, 3)) is not None


def test_size_classes():
    sizes = [size_class(n) for n in (1, 16, 17, 33, 48, 49, 64, 65, 100, 1 << 20)]
    assert sizes == [16, 16, 32, 48, 48, 64, 64, 96, 128, 1 << 20]
    assert all(size_class(n) % 16 == 0 and size_class(n) >= n for n in range(1, 5000, 7))


def test_dtype_errors_name_the_dtype_and_suggest_float32():
    for dt in (np.float64, np.float16, np.complex64):
        with pytest.raises(TypeError, match="float32"):
            core.check_dtype(dt)
    assert "float64" in str(core.dtype_error(np.float64))
    for dt in (np.float32, np.int32, np.int64, np.bool_, np.uint8):
        assert core.check_dtype(dt) == np.dtype(dt)


def test_kernel_sources():
    ew = kernels.elementwise("a + b", [("g", "f32", "f32"), ("k", "f32", "f32")], "f32", "c", "f32", nd=2)
    assert "@compute" in ew and "pi(32u)" in ew and "fn main" in ew
    vec = kernels.elementwise4("tanh_(a)", [("c", "f32", "f32")], "f32", "f32")
    assert "fn tanh_(a: vec4<f32>) -> vec4<f32>" in vec and "fn expm1_(a: vec4<f32>)" in vec
    assert not kernels.vectorizable("sin_(a)") and kernels.vectorizable("exp_(a) + log_(b)")
    with pytest.raises(ValueError):
        kernels.helpers_for("pow_(a, b)", width=4)
    for source in (kernels.reduction("sum", "f32", "f32", "f32", True, True), kernels.rowwise("softmax", False),
                   kernels.matmul_tiled(), kernels.matmul_vec4(True), kernels.indexed("add", 2, "f32", val_store="f32"),
                   kernels.scan("sum", "u32", "i32", "i32")):
        assert source.count("{") == source.count("}") and "fn main" in source


# ---------------------------------------------------------------------------------------------
# the array modules: layered (each imports only those before it), the class completed on import
LAYERS = ["common", "gpuarray", "elementwise", "fallback", "views", "indexing", "joins", "reductions", "matmul",
          "methods", "core", "xp"]


def test_array_modules_import_in_layers_without_circles():
    import ast
    from pathlib import Path
    folder = Path(core.__file__).parent
    for position, name in enumerate(LAYERS):
        imported = set()
        for node in ast.walk(ast.parse((folder / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        later = imported & set(LAYERS[position:])
        assert not later, f"{name}.py imports {sorted(later)}, which come after it"


class _HostMemory:
    """A stand-in runtime keeping buffers in host memory: enough for uploads, reads and copies."""

    def __init__(self):
        self.buffers = {}

    def alloc(self, nbytes):
        buf = type("Buf", (), {})()
        buf.id = len(self.buffers) + 1
        self.buffers[buf.id] = bytearray(max(nbytes, 4))
        return buf

    def write(self, bid, offset, data):
        raw = memoryview(data).cast("B")
        self.buffers[bid][offset:offset + len(raw)] = raw

    def read(self, bid, offset, nbytes):
        return bytes(self.buffers[bid][offset:offset + nbytes])

    def copy(self, src, src_off, dst, dst_off, nbytes):
        self.buffers[dst][dst_off:dst_off + nbytes] = self.buffers[src][src_off:src_off + nbytes]


def test_operators_without_a_kernel_run_numpy_on_the_values(monkeypatch):
    from gradview.engine.backends.webgpu import common, xp
    from gradview.engine.backends.webgpu.fallback import WebGPUFallbackWarning
    monkeypatch.setattr(common, "RT", _HostMemory())
    assert core.RT is common.RT
    a = core.upload(np.array([7, -7, 9], dtype=np.int32))
    assert a.__class__ is xp.ndarray and a.__array_namespace__() is xp
    assert a.tolist() == [7, -7, 9] and a.item(1) == -7 and a.get().dtype == np.int32
    with pytest.warns(WebGPUFallbackWarning):
        floor = a // 2
        rem = 5 % a
    assert floor.__class__ is core.WebGPUArray and floor.tolist() == [3, -4, 4]
    assert rem.__class__ is core.WebGPUArray and rem.tolist() == [5, -2, 5]
