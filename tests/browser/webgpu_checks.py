"""Checks of the WebGPU backend, run inside a Web Worker of headless Chromium by test_webgpu.py
(this file's text is sent to the worker; it is not a pytest module).

Every kernel is compared with NumPy on random shapes (sizes 0, 1, primes, non-multiples of the
workgroup size), broadcast and non-contiguous operands (transposed, stepped, flipped, broadcast
views), special values (nan, inf, -0.0), then the engine's ops forward and backward on webgpu
against cpu, a small MLP trained on both, the graph capture's device field and the fallback.

`run_checks(groups)` returns a JSON list of {"name", "ok", "detail"}.
"""
import json
import math
import time
import traceback
import warnings

import numpy as np

from gradview import engine
from gradview.engine.backends.webgpu import core, xp
from gradview.engine.backends.webgpu.fallback import WebGPUFallbackWarning

RESULTS = []
GROUP = [""]
RNG = np.random.default_rng(1234)
SIZES = (0, 1, 2, 3, 7, 13, 64, 255, 256, 257, 1031)


def record(name, fn):
    t0 = time.perf_counter()
    try:
        res = fn()
        ok, detail = res if isinstance(res, tuple) else (bool(res), "")
    except Exception:  # noqa: BLE001
        ok, detail = False, traceback.format_exc(limit=4)[-1500:]
    RESULTS.append({"name": name, "ok": bool(ok), "detail": str(detail)[:1500], "group": GROUP[0],
                    "ms": round((time.perf_counter() - t0) * 1000, 1)})


def close(got, want, rtol=2e-6, atol=1e-6, scale=None):
    """got (a WebGPU array or host values) equals want (NumPy) in shape, dtype and values:
    nan where want has nan, infinities equal, finite values within rtol/atol (or atol * scale)."""
    if got.__class__ is core.WebGPUArray:
        got = got.get()
    got = np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape:
        return False, f"shape {got.shape} != {want.shape}"
    if got.dtype != want.dtype:
        return False, f"dtype {got.dtype} != {want.dtype}"
    if want.dtype.kind != "f":
        bad = np.argwhere(got != want)
        return (len(bad) == 0), (f"{len(bad)} differ, first at {tuple(bad[0])}: {got[tuple(bad[0])]} vs "
                                 f"{want[tuple(bad[0])]}" if len(bad) else "")
    nan_w, nan_g = np.isnan(want), np.isnan(got)
    if not np.array_equal(nan_w, nan_g):
        where = np.argwhere(nan_w != nan_g)[0]
        return False, f"nan mismatch at {tuple(where)}: got {got[tuple(where)]} want {want[tuple(where)]}"
    fin = ~nan_w
    g, w = got[fin].astype(np.float64), want[fin].astype(np.float64)
    inf = np.isinf(w)
    if not np.array_equal(g[inf], w[inf]):
        return False, "infinities differ"
    g, w = g[~inf], w[~inf]
    tol = atol + rtol * np.abs(w) if scale is None else atol + rtol * np.asarray(scale, np.float64)[fin][~inf]
    err = np.abs(g - w)
    if err.size and (err > tol).any():
        i = int(np.argmax(err - tol))
        return False, f"max excess error {float(err[i]):.3g} (tol {float(np.broadcast_to(tol, err.shape)[i]):.3g}) " \
                      f"got {g[i]} want {w[i]}"
    return True, f"max err {float(err.max()) if err.size else 0:.3g}"


def rand(shape, dtype=np.float32, lo=-3.0, hi=3.0):
    if np.dtype(dtype).kind == "f":
        return RNG.uniform(lo, hi, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return RNG.random(shape) < 0.5
    return RNG.integers(int(lo), int(hi) + 1, size=shape).astype(dtype)


def shapes(ndim_max=3, limit=40000):
    """Random shapes with awkward sizes, a few per rank."""
    out = [()]
    for nd in range(1, ndim_max + 1):
        for _ in range(3):
            s = tuple(int(RNG.choice(SIZES)) for _ in range(nd))
            while math.prod(s) > limit:
                s = tuple(int(RNG.choice(SIZES[:7])) for _ in range(nd))
            out.append(s)
    out += [(1031,), (257, 3), (0, 5), (4, 1, 7)]
    return out


def views(host):
    """(label, NumPy view, GPU view) of the same values: contiguous, transposed, stepped, flipped, broadcast."""
    g = core.upload(host)
    out = [("contiguous", host, g)]
    if host.ndim >= 2:
        out.append(("transposed", host.T, g.T))
    if host.ndim >= 1 and host.shape[0] > 2:
        out.append(("stepped", host[1::2], g[1::2]))
        out.append(("flipped", np.flip(host, 0), xp.flip(g, 0)))
    if host.ndim >= 1 and host.size:
        big = (2,) + host.shape
        out.append(("broadcast", np.broadcast_to(host, big), xp.broadcast_to(g, big)))
    return out


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1e-30, 1e30, 88.0, 89.0, -104.0], np.float32)


# ---------------------------------------------------------------------------------------------
# kernels against NumPy
UNARY = {
    # name: (low, high, rtol)
    "negative": (-5, 5, 0), "absolute": (-5, 5, 0), "sign": (-5, 5, 0), "exp": (-90, 90, 3e-6),
    "exp2": (-130, 130, 3e-6), "expm1": (-3, 3, 5e-6), "log": (-1, 50, 3e-6), "log2": (-1, 50, 3e-6),
    "log10": (-1, 50, 5e-6), "log1p": (-1.5, 5, 5e-6), "sqrt": (-1, 50, 2e-6), "square": (-5, 5, 1e-7),
    "reciprocal": (-5, 5, 2e-6), "sin": (-6, 6, 3e-6), "cos": (-6, 6, 3e-6), "tan": (-1.5, 1.5, 1e-5),
    "arcsin": (-1.2, 1.2, 3e-6), "arccos": (-1.2, 1.2, 3e-6), "arctan": (-9, 9, 3e-6), "sinh": (-9, 9, 5e-6),
    "cosh": (-9, 9, 5e-6), "tanh": (-12, 12, 5e-6), "floor": (-9, 9, 0), "ceil": (-9, 9, 0), "trunc": (-9, 9, 0),
    "rint": (-9, 9, 0),
}


def check_unary():
    for name, (lo, hi, rtol) in UNARY.items():
        np_fn, gpu_fn = getattr(np, name), getattr(xp, name)
        for shape in ((1031,), (7, 13), (0,), (257, 3)):
            host = rand(shape, lo=lo, hi=hi)
            if name in ("tanh", "expm1", "log1p", "sinh") and host.size:
                host.flat[: min(8, host.size)] = [1e-3, -1e-4, 3e-5, -2e-7, 0.3, -0.5, 0.6, 1e-8][: min(8, host.size)]
            for label, h, g in views(host):
                with np.errstate(all="ignore"):
                    want = np_fn(h)
                record(f"unary {name} {shape} {label}", lambda: close(gpu_fn(g), want, rtol=rtol, atol=1e-7))
        # trig functions reduce their argument exactly only up to |x| = 8192 (as Cephes' sinf)
        special = SPECIAL[np.abs(SPECIAL) < 1e4] if name in ("sin", "cos", "tan") else SPECIAL
        with np.errstate(all="ignore"):
            want = np_fn(special)
        record(f"unary {name} special values", lambda: close(gpu_fn(core.upload(special)), want, rtol=max(rtol, 3e-6),
                                                             atol=1e-7))
    erf_in = rand((1031,), lo=-5, hi=5)
    erf_want = np.array([math.erf(float(v)) for v in erf_in], np.float32)
    record("unary erf", lambda: close(xp.erf(core.upload(erf_in)), erf_want, rtol=2e-6, atol=3e-7))
    for name in ("isnan", "isinf", "isfinite", "logical_not"):
        record(f"predicate {name}", lambda: close(getattr(xp, name)(core.upload(SPECIAL)), getattr(np, name)(SPECIAL)))
    ints = rand((257,), np.int32, -50, 50)
    for name in ("negative", "absolute", "sign", "square", "invert"):
        record(f"int32 {name}", lambda: close(getattr(xp, name)(core.upload(ints)), getattr(np, name)(ints)))
    bools = rand((13, 7), bool)
    record("bool invert", lambda: close(~core.upload(bools), ~bools))


BINARY = {"add": 1e-7, "subtract": 1e-7, "multiply": 1e-7, "true_divide": 1e-6, "maximum": 0, "minimum": 0,
          "power": 5e-6, "arctan2": 3e-6}
COMPARE = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")


def check_binary():
    pairs = [((7, 13), (13,)), ((257, 3), (257, 1)), ((1031,), ()), ((2, 1, 5), (3, 1)), ((0, 4), (4,)),
             ((64, 64), (64, 64)), ((3, 4, 5, 6), (4, 1, 6))]
    for name, rtol in BINARY.items():
        np_fn, gpu_fn = getattr(np, name), getattr(xp, name)
        for sa, sb in pairs:
            a = rand(sa, lo=0.1 if name == "power" else -3, hi=3)
            b = rand(sb, lo=-3, hi=3)
            if name == "power":
                b = np.round(b * 2).astype(np.float32) / 2
            for label, ha, ga in views(a)[:3]:
                if ha.shape != sa:
                    continue
                with np.errstate(all="ignore"):
                    want = np_fn(ha, b)
                record(f"binary {name} {sa}x{sb} {label}", lambda: close(gpu_fn(ga, core.upload(b)), want, rtol=rtol))
            if len(sb) >= 1 and sb[-1] > 1:
                gb_t = core.upload(np.ascontiguousarray(b.T)).T  # a transposed right operand
                with np.errstate(all="ignore"):
                    want = np_fn(a, b)
                record(f"binary {name} {sa}x{sb} right transposed", lambda: close(gpu_fn(core.upload(a), gb_t), want,
                                                                                  rtol=rtol))
        a = rand((257,), lo=0.5, hi=3)
        for scalar in (2, 0.5, -1.5):
            with np.errstate(all="ignore"):
                want_r, want_l = np_fn(a, scalar), np_fn(scalar, a)
            ga = core.upload(a)
            record(f"binary {name} scalar right {scalar}", lambda: close(gpu_fn(ga, scalar), want_r, rtol=rtol))
            record(f"binary {name} scalar left {scalar}", lambda: close(gpu_fn(scalar, ga), want_l, rtol=rtol))
        sa, sb = np.meshgrid(SPECIAL, SPECIAL)
        sa, sb = sa.astype(np.float32), sb.astype(np.float32)
        with np.errstate(all="ignore"):
            want = np_fn(sa, sb)
        record(f"binary {name} special values", lambda: close(gpu_fn(core.upload(sa), core.upload(sb)), want,
                                                              rtol=max(rtol, 3e-6), atol=1e-30))
    # negative bases with integer exponents, zero and infinite bases
    base = np.array([-2.0, -2.0, -0.5, 0.0, 0.0, -3.0, 2.0, np.inf, -np.inf, 1.0, -1.0], np.float32)
    expo = np.array([3.0, 2.0, -3.0, -1.0, 2.5, 0.5, -0.5, -2.0, 3.0, np.nan, 1e10], np.float32)
    with np.errstate(all="ignore"):
        want = np.power(base, expo)
    record("power edge cases", lambda: close(xp.power(core.upload(base), core.upload(expo)), want, rtol=3e-6))
    for name in COMPARE:
        np_fn, gpu_fn = getattr(np, name), getattr(xp, name)
        a, b = rand((13, 7), lo=-2, hi=2).round(), rand((7,), lo=-2, hi=2).round()
        record(f"compare {name} float", lambda: close(gpu_fn(core.upload(a), core.upload(b)), np_fn(a, b)))
        record(f"compare {name} special", lambda: close(gpu_fn(core.upload(sa), core.upload(sb)), np_fn(sa, sb)))
        ia, ib = rand((257,), np.int64, -3, 3), rand((257,), np.int64, -3, 3)
        record(f"compare {name} int64", lambda: close(gpu_fn(core.upload(ia), core.upload(ib)), np_fn(ia, ib)))
        record(f"compare {name} int scalar", lambda: close(gpu_fn(core.upload(ia), 1), np_fn(ia, 1)))
    ia, ib = rand((7, 13), np.int32, -1000, 1000), rand((13,), np.int32, -1000, 1000)
    for name in ("add", "subtract", "multiply", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"):
        record(f"int32 {name}", lambda: close(getattr(xp, name)(core.upload(ia), core.upload(ib)),
                                              getattr(np, name)(ia, ib)))
    big = np.array([2 ** 30, -2 ** 31, 2 ** 31 - 1], np.int32)
    record("int32 wraps as NumPy", lambda: close(core.upload(big) * 3 + 7, big * 3 + 7))
    ba, bb = rand((13, 7), bool), rand((7,), bool)
    for name in ("logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "equal"):
        record(f"bool {name}", lambda: close(getattr(xp, name)(core.upload(ba), core.upload(bb)),
                                             getattr(np, name)(ba, bb)))
    fa = rand((13, 7))
    record("mixed float32 + bool", lambda: close(core.upload(fa) + core.upload(ba), fa + ba))
    i64 = ia.T.astype(np.int64)
    record("mixed float32 * int64 cast", lambda: close(core.upload(fa) * core.upload(i64).astype(np.float32),
                                                       fa * i64.astype(np.float32)))
    # in place, through a view of a bigger array
    base_h = rand((9, 8))
    base_g = core.upload(base_h)
    v_h, v_g = base_h[::2, 1::3], base_g[::2, 1::3]
    v_h += 1.5
    v_g += 1.5
    v_h *= v_h
    v_g *= v_g
    record("in-place ops through a strided view", lambda: close(base_g, base_h))
    # where, clip, astype
    c = rand((13, 7), bool)
    a, b = rand((13, 7)), rand((7,))
    record("where", lambda: close(xp.where(core.upload(c), core.upload(a), core.upload(b)), np.where(c, a, b)))
    record("where scalar", lambda: close(xp.where(core.upload(c), core.upload(a), 0.0), np.where(c, a, np.float32(0))))
    record("where transposed condition", lambda: close(xp.where(core.upload(np.ascontiguousarray(c.T)).T,
                                                                core.upload(a), 1.5), np.where(c, a, np.float32(1.5))))
    record("clip", lambda: close(xp.clip(core.upload(a), -1.0, 0.5), np.clip(a, -1.0, 0.5)))
    conversions = [(np.float32, np.int32), (np.float32, np.int64), (np.float32, bool), (np.int64, np.float32),
                   (bool, np.float32), (np.int32, np.int64), (np.int64, np.uint8), (np.int32, np.int8),
                   (bool, np.int64), (np.int64, bool)]
    for src, dst in conversions:
        h = (rand((257,), lo=-300, hi=300) if np.dtype(src).kind == "f" else rand((257,), src, -300, 300))
        h = h.astype(src)
        record(f"astype {np.dtype(src).name} -> {np.dtype(dst).name}", lambda: close(core.upload(h).astype(dst),
                                                                                      h.astype(dst)))


REDUCE_SHAPES = [((7, 13, 5), (None, 0, 1, 2, (0, 2), (1, 2))), ((257, 3), (None, 0, 1)), ((1031,), (None, 0)),
                 ((3, 300, 2), (1, (0, 1))), ((2, 70001), (None, 1)), ((1, 1), (None, 0)), ((40, 1, 9), (1, (0, 2)))]


def check_reductions():
    for shape, axes_list in REDUCE_SHAPES:
        host = rand(shape)
        all_views = views(host)
        for n_axis, axis in enumerate(axes_list):
            for keepdims in (False, True):
                # contiguous always; one other view per case, in turn
                others = all_views[1:]
                picked = [all_views[0]] + ([others[(n_axis * 2 + keepdims) % len(others)]] if others else [])
                for label, h, g in picked:
                    if label == "transposed":
                        ax = axis if axis is None else (tuple(h.ndim - 1 - a for a in axis) if isinstance(axis, tuple)
                                                        else h.ndim - 1 - axis)
                    else:
                        ax = axis
                    tag = f"{shape} axis={ax} keep={keepdims} {label}"
                    scale = np.abs(h).sum(axis=ax, keepdims=keepdims)
                    record(f"sum {tag}", lambda: close(g.sum(axis=ax, keepdims=keepdims), h.sum(axis=ax,
                           keepdims=keepdims, dtype=np.float64).astype(np.float32), rtol=2e-6, atol=1e-6, scale=scale))
                    n = h.size // max(1, scale.size) if h.size else 1
                    record(f"mean {tag}", lambda: close(g.mean(axis=ax, keepdims=keepdims), h.mean(axis=ax,
                           keepdims=keepdims, dtype=np.float64).astype(np.float32), rtol=2e-6, atol=1e-6,
                           scale=scale / n))
                    record(f"max {tag}", lambda: close(g.max(axis=ax, keepdims=keepdims), h.max(axis=ax,
                                                                                                keepdims=keepdims)))
                    record(f"min {tag}", lambda: close(g.min(axis=ax, keepdims=keepdims), h.min(axis=ax,
                                                                                                keepdims=keepdims)))
                    if not isinstance(ax, tuple):
                        record(f"argmax {tag}", lambda: close(g.argmax(axis=ax, keepdims=keepdims),
                                                              h.argmax(axis=ax, keepdims=keepdims)))
                        record(f"argmin {tag}", lambda: close(g.argmin(axis=ax, keepdims=keepdims),
                                                              h.argmin(axis=ax, keepdims=keepdims)))
                    b = h > 0.5
                    gb = g > 0.5
                    record(f"any {tag}", lambda: close(gb.any(axis=ax, keepdims=keepdims), b.any(axis=ax,
                                                                                                 keepdims=keepdims)))
                    record(f"all {tag}", lambda: close(gb.all(axis=ax, keepdims=keepdims), b.all(axis=ax,
                                                                                                 keepdims=keepdims)))
                    record(f"count {tag}", lambda: close(gb.sum(axis=ax, keepdims=keepdims), b.sum(axis=ax,
                                                                                                   keepdims=keepdims)))
    small = rand((5, 6), lo=0.5, hi=1.5)
    record("prod", lambda: close(core.upload(small).prod(axis=1), small.prod(axis=1), rtol=3e-6))
    record("var ddof=1", lambda: close(xp.var(core.upload(small), axis=0, ddof=1), small.var(axis=0, ddof=1),
                                       rtol=1e-5))
    record("std", lambda: close(xp.std(core.upload(small)), small.std(), rtol=1e-5))
    for shape, axis in (((7, 13, 5), 1), ((1031,), 0), ((257, 3), 0), ((4, 6), -1)):
        h = rand(shape, lo=0.5, hi=1.5)
        for label, hv, gv in views(h)[:3]:
            ax = axis if label != "transposed" else hv.ndim - 1 - (axis % hv.ndim)
            record(f"cumsum {shape} {label} axis={ax}", lambda: close(xp.cumsum(gv, axis=ax), np.cumsum(hv, axis=ax),
                                                                       rtol=3e-6, atol=1e-5))
            record(f"cumprod {shape} {label} axis={ax}", lambda: close(xp.cumprod(gv, axis=ax),
                                                                        np.cumprod(hv, axis=ax), rtol=2e-5))
    bools = rand((5, 9), bool)
    record("cumsum of bools (counts)", lambda: close(xp.cumsum(core.upload(bools), axis=1), np.cumsum(bools, axis=1)))
    sq = rand((3, 5, 6))
    for kk in (-2, 0, 1, 4):
        record(f"tril k={kk}", lambda: close(xp.tril(core.upload(sq), kk), np.tril(sq, kk)))
        record(f"triu k={kk}", lambda: close(xp.triu(core.upload(sq), kk), np.triu(sq, kk)))
    nan_rows = rand((4, 9))
    nan_rows[1, 3] = np.nan
    nan_rows[2, :] = -np.inf
    nan_rows[3, 5] = np.nan
    nan_rows[3, 7] = np.nan
    g = core.upload(nan_rows)
    record("max with nan and -inf", lambda: close(g.max(axis=1), nan_rows.max(axis=1)))
    record("argmax with nan (first nan)", lambda: close(g.argmax(axis=1), nan_rows.argmax(axis=1)))
    ties = np.array([[1, 3, 3, 0], [2, 2, 2, 2]], np.float32)
    record("argmax ties: first", lambda: close(core.upload(ties).argmax(axis=1), ties.argmax(axis=1)))
    ih = rand((13, 29), np.int64, -100, 100)
    record("int64 max", lambda: close(core.upload(ih).max(axis=0), ih.max(axis=0)))
    record("int64 argmin", lambda: close(core.upload(ih).argmin(axis=1), ih.argmin(axis=1)))
    # softmax, log_softmax, logsumexp along every axis, contiguous and not
    for shape in ((7, 13, 5), (257, 2), (3, 1031), (1, 1)):
        host = rand(shape, lo=-20, hi=20)
        for label, h, g in views(host)[:3]:
            for axis in range(h.ndim):
                m = h.max(axis=axis, keepdims=True)
                e = np.exp((h - m).astype(np.float64))
                s = e.sum(axis=axis, keepdims=True)
                want = (e / s).astype(np.float32)
                record(f"softmax {shape} {label} axis={axis}", lambda: close(xp.fused_softmax(g, axis), want,
                                                                           atol=1e-7, rtol=3e-6))
                record(f"log_softmax {shape} {label} axis={axis}", lambda: close(
                    xp.fused_log_softmax(g, axis), (h - m - np.log(s)).astype(np.float32), rtol=3e-6, atol=3e-6))
                record(f"logsumexp {shape} {label} axis={axis}", lambda: close(
                    xp.fused_logsumexp(g, (axis,), False), (np.log(s) + m).squeeze(axis).astype(np.float32), rtol=3e-6,
                    atol=3e-6))
    inf_rows = np.array([[-np.inf, -np.inf], [0.0, -np.inf], [np.nan, 1.0]], np.float32)
    with np.errstate(all="ignore"):
        m = inf_rows.max(axis=1, keepdims=True)
        want = inf_rows - m - np.log(np.exp(inf_rows - m).sum(axis=1, keepdims=True))
    record("log_softmax with -inf and nan rows", lambda: close(xp.fused_log_softmax(core.upload(inf_rows), 1), want))


MM_SIZES = (1, 2, 3, 17, 31, 32, 33, 64, 65, 100, 129)


def _mm_close(got, a, b):
    want = np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.float32)
    scale = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    return close(got, want, rtol=4e-6, atol=1e-6, scale=scale)


def check_matmul():
    for _ in range(10):
        m, k, n = (int(RNG.choice(MM_SIZES)) for _ in range(3))
        a, b = rand((m, k)), rand((k, n))
        record(f"matmul {m}x{k} @ {k}x{n}", lambda: _mm_close(core.upload(a) @ core.upload(b), a, b))
        at = core.upload(np.ascontiguousarray(a.T)).T
        bt = core.upload(np.ascontiguousarray(b.T)).T
        record(f"matmul {m}x{k} @ {k}x{n} transposed operands", lambda: _mm_close(at @ bt, a, b))
    # (blocked kernel below 320 x 320 outputs on a CPU-emulated adapter, the tiled one above)
    for m, k, n in ((128, 128, 128), (256, 64, 192), (0, 5, 3), (4, 0, 3), (300, 257, 1), (400, 70, 350)):
        a, b = rand((m, k)), rand((k, n))
        record(f"matmul {m}x{k} @ {k}x{n}", lambda: _mm_close(core.upload(a) @ core.upload(b), a, b))
    a, b = rand((3, 1, 33, 17)), rand((4, 17, 65))
    record("matmul batched with broadcasting", lambda: _mm_close(xp.matmul(core.upload(a), core.upload(b)), a, b))
    w = rand((36, 64))
    x = rand((40, 64))
    record("matmul x @ W.t() (4-aligned: vector loads along K)", lambda: _mm_close(core.upload(x) @ core.upload(w).T,
                                                                                  x, w.T))
    a, b = rand((2, 64, 40)), rand((40, 128))
    record("matmul batched 4-aligned", lambda: _mm_close(core.upload(a) @ core.upload(b), a, b))
    a, b = rand((2, 330, 40)), rand((40, 333))
    record("matmul batched, large tiles", lambda: _mm_close(core.upload(a) @ core.upload(b), a, b))
    a, b = rand((5, 70, 40)), rand((40, 66))
    record("matmul batched @ matrix", lambda: _mm_close(core.upload(a) @ core.upload(b), a, b))
    v, w = rand((17,)), rand((17, 5))
    record("matmul vector @ matrix", lambda: _mm_close(core.upload(v) @ core.upload(w), v, w))
    record("matmul matrix @ vector", lambda: _mm_close(core.upload(w.T.copy()) @ core.upload(v), w.T.copy(), v))
    record("matmul vector @ vector", lambda: _mm_close(core.upload(v) @ core.upload(v), v, v))
    long_a, long_b = rand((2, 20000)), rand((20000, 3))
    record("matmul long K, thin", lambda: _mm_close(core.upload(long_a) @ core.upload(long_b), long_a, long_b))
    a = rand((9, 20))
    record("matmul of a stepped view", lambda: _mm_close(core.upload(a)[::2, 1::2] @ core.upload(a)[:10:, ::2].T,
                                                         a[::2, 1::2], a[:10, ::2].T))


def check_indexing():
    x = rand((7, 13, 5))
    g = core.upload(x)
    i0 = RNG.integers(-7, 7, size=(4, 3))
    i1 = RNG.integers(0, 13, size=(3,))
    cases = [
        ("int array", (i0,)), ("two arrays broadcast", (i0, i1)),
        ("array, slice, array", (i1 % 7, slice(None), i1 % 5)),
        ("slice then array", (slice(1, 6), i1)), ("int and array", (2, i1)), ("three arrays", (i1 % 7, i1, i1 % 5)),
        ("arange pairs", (np.arange(7), np.arange(7) % 13)), ("ellipsis then array", (Ellipsis, i1 % 5)),
    ]
    for label, key in cases:
        gkey = tuple(core.upload(k) if isinstance(k, np.ndarray) else k for k in key)
        record(f"getitem {label}", lambda: close(g[gkey], x[key]))
        # values that depend only on the place written, so that repeated indices write equal values
        val = x[key] * 2 + 1
        xh = x.copy()
        xh[key] = val
        gx = core.upload(x)
        gx[gkey] = core.upload(val)
        record(f"setitem {label}", lambda: close(gx, xh))
    basic = [(1,), (slice(None, None, 2),), (Ellipsis, 1), (None, 2, slice(1, 4)), (slice(5, 1, -2),),
             (-1, slice(None), slice(0, 5, 3))]
    for key in basic:
        record(f"basic view {key}", lambda: close(g[key], x[key]))
    record("basic index out of range raises IndexError", lambda: _raises(IndexError, lambda: g[7]))
    # take, take_along_axis, put_along_axis, add.at with duplicates
    idx = RNG.integers(0, 13, size=(6,))
    record("take axis=1", lambda: close(xp.take(g, core.upload(idx), axis=1), np.take(x, idx.astype(np.intp), axis=1)))
    record("take flat", lambda: close(xp.take(g, core.upload(idx)), np.take(x, idx.astype(np.intp))))
    ta = RNG.integers(0, 13, size=(7, 4, 5))
    record("take_along_axis", lambda: close(xp.take_along_axis(g, core.upload(ta), 1), np.take_along_axis(x, ta, 1)))
    tb = RNG.integers(0, 13, size=(7, 1, 5))
    vals = rand((7, 1, 5))
    xh = x.copy()
    np.put_along_axis(xh, tb, vals, 1)
    gx = core.upload(x)
    xp.put_along_axis(gx, core.upload(tb), core.upload(vals), 1)
    record("put_along_axis", lambda: close(gx, xh))
    target = np.zeros((6, 4), np.float32)
    rows = np.array([0, 2, 2, 5, 0, 0])
    upd = rand((6, 4))
    np.add.at(target, rows, upd)
    gt = xp.zeros((6, 4), dtype=np.float32)
    xp.add.at(gt, core.upload(rows), core.upload(upd))
    record("add.at with duplicate rows (float atomics)", lambda: close(gt, target, rtol=1e-6))
    it = np.zeros(5, np.int32)
    np.add.at(it, [1, 1, 4, 1], np.array([3, 4, 5, 6], np.int32))
    git = xp.zeros((5,), dtype=np.int32)
    xp.add.at(git, core.upload(np.array([1, 1, 4, 1])), core.upload(np.array([3, 4, 5, 6], np.int32)))
    record("add.at int32", lambda: close(git, it))
    # an out-of-range gather reports at the next read
    record("gather out of range raises at the read", lambda: _raises(IndexError, lambda: g[core.upload(
        np.array([0, 9]))].get()))
    record("state clean after the error", lambda: close(g[core.upload(np.array([1]))], x[[1]]))
    # views and copies
    record("flip", lambda: close(xp.flip(g, (0, 2)), np.flip(x, (0, 2))))
    record("diagonal", lambda: close(xp.diagonal(g, 1, 0, 1), np.diagonal(x, 1, 0, 1)))
    record("reshape of a transposed view (copies)", lambda: close(g.T.reshape(5, -1), x.T.reshape(5, -1)))
    record("reshape of a contiguous slice (view)", lambda: close(g[2:4].reshape(-1), x[2:4].reshape(-1)))
    record("concatenate", lambda: close(xp.concatenate([g, g[:, ::2]], axis=1), np.concatenate([x, x[:, ::2]], axis=1)))
    record("stack", lambda: close(xp.stack([g[0], g[1].T.T], axis=1), np.stack([x[0], x[1]], axis=1)))
    record("tile", lambda: close(xp.tile(g[:2, :3, 0], (2, 3)), np.tile(x[:2, :3, 0], (2, 3))))
    record("roll", lambda: close(xp.roll(g, (2, -3), (0, 1)), np.roll(x, (2, -3), (0, 1))))
    record("broadcast_to copy", lambda: close(xp.ascontiguousarray(xp.broadcast_to(g[:, :1], (7, 4, 5))),
                                              np.broadcast_to(x[:, :1], (7, 4, 5))))
    record("setitem broadcast into a strided view", lambda: _setitem_view(x))
    record("overlapping self copy x[1:] = x[:-1]", lambda: _overlap(x))


def _setitem_view(x):
    h = x.copy()
    g = core.upload(x)
    h[1::2, ::3] = h[0, 0]
    g[1::2, ::3] = g[0, 0]
    h[:, 2] = 7
    g[:, 2] = 7
    return close(g, h)


def _overlap(x):
    h = x.copy()
    g = core.upload(x)
    h[1:] = h[:-1].copy()
    g[1:] = g[:-1]
    return close(g, h)


def _raises(kind, fn):
    try:
        fn()
    except kind as exc:
        return True, f"{kind.__name__}: {exc}"
    return False, "no error"


def check_dtypes_and_fallback():
    record("float64 upload: TypeError naming float64 and float32",
           lambda: _raises(TypeError, lambda: core.upload(np.zeros(3))) if "float32" in _msg(
               lambda: core.upload(np.zeros(3))) and "float64" in _msg(lambda: core.upload(np.zeros(3))) else False)
    record("astype float64: TypeError", lambda: _raises(TypeError, lambda: core.upload(np.ones(2, np.float32)).astype(
        np.float64)))
    record("int64 beyond 32 bits: clear error", lambda: _raises(RuntimeError, lambda: core.upload(np.array([2 ** 40]))))
    big = np.array([2 ** 31 - 10, 5], np.int64)
    record("int64 arithmetic runs exactly (through NumPy)", lambda: close(core.upload(big) + 3, big + 3))
    record("a kernel that does not compile is reported at the next read", _broken_kernel)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = rand((6, 5))
        g = core.upload(h)
        first = xp.sort(g, axis=1)
        second = xp.sort(g, axis=0)
        srt = g.copy()
        srt.sort(axis=1)
    notices = [str(w.message) for w in caught if issubclass(w.category, WebGPUFallbackWarning)]
    record("fallback gives NumPy's result", lambda: close(first, np.sort(h, axis=1)) and close(second, np.sort(h, 0)))
    record("fallback in place (sort)", lambda: close(srt, np.sort(h, axis=1)))
    record("fallback notice once per op", lambda: (sum("'sort'" in n for n in notices) == 1, notices))
    record("fallback result stays on the GPU", lambda: first.__class__ is core.WebGPUArray)


def _broken_kernel():
    """A kernel that does not compile is reported, with its name, at the next read."""
    rt = core.RT
    rt.flush()
    out = core.empty((4,), np.float32)
    pid = rt.pipeline(("broken kernel",), "w", lambda: core.K.HEADER + "fn main() { this is not WGSL }")
    rt.dispatch(pid, [out.buf.id], [4], (1, 1, 1))
    rt.flush()
    msg = _msg(lambda: out.get())
    fine = core.upload(np.arange(3, dtype=np.float32))
    return "broken kernel" in msg and "does not compile" in msg and (fine + 1).get().tolist() == [1.0, 2.0, 3.0], \
        msg[:300]


def _msg(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        return str(exc)
    return ""


# ---------------------------------------------------------------------------------------------
# the engine on webgpu against the engine on cpu
def _pair(shape, low=-2.0, high=2.0, grad=True):
    host = rand(shape, lo=low, hi=high)
    c = engine.tensor(host, requires_grad=grad)
    w = engine.tensor(host, device="webgpu", requires_grad=grad)
    return c, w


def _compare_op(name, fn, shapes_, low=-2.0, high=2.0, rtol=2e-5, atol=1e-5):
    def run():
        cs, ws = zip(*[_pair(s, low, high) for s in shapes_])
        yc, yw = fn(*cs), fn(*ws)
        if str(yw.device) != "webgpu:0":
            return False, f"result on {yw.device}"
        ok, detail = close(yw.detach().cpu().numpy(), yc.detach().numpy(), rtol=rtol, atol=atol)
        if not ok:
            return False, "forward: " + detail
        weights = rand(tuple(yc.shape), lo=-1, hi=1)
        (yc * engine.tensor(weights)).sum().backward()
        (yw * engine.tensor(weights, device="webgpu")).sum().backward()
        for k, (c, w) in enumerate(zip(cs, ws)):
            if c.grad is None:
                continue
            if w.grad is None or str(w.grad.device) != "webgpu:0":
                return False, f"input {k}: grad missing or off the GPU"
            # (the cpu engine may hand back a float64 gradient where NumPy promotes: values compared)
            ok, detail = close(w.grad.cpu().numpy(), c.grad.numpy().astype(np.float32), rtol=rtol, atol=atol)
            if not ok:
                return False, f"grad of input {k}: {detail}"
        return True, ""
    record(f"engine {name}", run)


def check_engine():
    F = engine.nn.functional
    ops = [
        ("add broadcast", lambda a, b: a + b, [(5, 7), (7,)]),
        ("mul div sub", lambda a, b: (a * b - a / (b.abs() + 1)) * 2 - 1, [(5, 7), (5, 1)]),
        ("matmul", lambda a, b: a @ b, [(6, 9), (9, 4)]),
        ("batched matmul", lambda a, b: a @ b, [(3, 6, 9), (9, 4)]),
        ("linear", lambda x, w, b: F.linear(x, w, b), [(8, 5), (3, 5), (3,)]),
        ("relu tanh sigmoid", lambda a: a.relu() + a.tanh() * a.sigmoid(), [(33, 7)]),
        ("exp log sqrt", lambda a: a.exp().log1p() + (a.abs() + 0.1).sqrt().log(), [(33, 7)]),
        ("pow", lambda a: (a.abs() + 0.5) ** 2.5 + a ** 2, [(33,)]),
        ("softmax", lambda a: F.softmax(a, dim=1), [(6, 11)]),
        ("log_softmax dim 0", lambda a: F.log_softmax(a, dim=0), [(6, 11)]),
        ("logsumexp", lambda a: a.logsumexp(dim=-1), [(4, 6, 11)]),
        ("sum mean over dims", lambda a: a.sum(dim=(0, 2)).sum() + a.mean(dim=1).sum(0), [(4, 6, 5)]),
        ("max over a dim", lambda a: a.max(dim=1).values, [(6, 11)]),
        ("amax and var", lambda a: a.amax(dim=0) + a.var(dim=0), [(6, 11)]),
        ("indexing", lambda a: a[engine.tensor([0, 2, 2], device=a.device), 1:4], [(5, 6)]),
        ("transpose cat", lambda a, b: engine.cat([a.t(), b.t()[1:]]), [(4, 3), (4, 5)]),
        ("where clamp", lambda a: engine.where(a > 0, a, a * 0.1).clamp(-0.5, 1.0), [(40,)]),
        ("gelu", lambda a: F.gelu(a), [(40,)]),
        ("layer_norm", lambda x, w, b: F.layer_norm(x, (7,), w, b), [(5, 7), (7,), (7,)]),
        ("mse_loss", lambda a, b: F.mse_loss(a, b), [(5, 7), (5, 7)]),
        ("stack unbind", lambda a: engine.stack(list(a.unbind(1)), dim=0) * 2, [(3, 4)]),
    ]
    for name, fn, shp in ops:
        _compare_op(name, fn, shp)

    def cross_entropy():
        logits_c, logits_w = _pair((8, 5))
        target = RNG.integers(0, 5, size=8)
        lc = F.cross_entropy(logits_c, engine.tensor(target))
        lw = F.cross_entropy(logits_w, engine.tensor(target, device="webgpu"))
        lc.backward()
        lw.backward()
        ok, d = close(np.float32(lw.item()), np.float32(lc.item()), rtol=1e-5)
        return (ok and close(logits_w.grad.cpu().numpy(), logits_c.grad.numpy(), rtol=1e-5, atol=1e-6)[0]), d
    record("engine cross_entropy with int64 targets", cross_entropy)

    def reshape_and_embedding():
        # checked against NumPy: the cpu engine's reshape and embedding need NumPy >= 2.1 / 64-bit
        x = rand((4, 3))
        t = engine.tensor(x, device="webgpu", requires_grad=True)
        flat = t.t().reshape(-1)
        ok, d = close(flat.detach().cpu().numpy(), x.T.reshape(-1))
        (flat * engine.arange(12, device="webgpu").float()).sum().backward()
        ok2, d2 = close(t.grad.cpu().numpy(), np.arange(12, dtype=np.float32).reshape(3, 4).T)
        w_h = rand((5, 4))
        w = engine.tensor(w_h, device="webgpu", requires_grad=True)
        idx = np.array([[1, 3], [3, 0]])
        e = F.embedding(engine.tensor(idx, device="webgpu"), w)
        ok3, d3 = close(e.detach().cpu().numpy(), w_h[idx])
        e.sum().backward()
        want = np.zeros((5, 4), np.float32)
        np.add.at(want, idx.reshape(-1), 1.0)
        ok4, d4 = close(w.grad.cpu().numpy(), want)
        return ok and ok2 and ok3 and ok4, "; ".join((d, d2, d3, d4))
    record("engine reshape of a transposed tensor and embedding (against NumPy)", reshape_and_embedding)

    def fused_kernels():
        stats = engine.backends.get("webgpu").runtime.stats
        x = engine.randn(64, 10, device="webgpu")
        counts = {}
        for name, fn in (("softmax", lambda: F.softmax(x, dim=1)), ("log_softmax", lambda: F.log_softmax(x, dim=0)),
                         ("logsumexp", lambda: x.logsumexp(dim=1)), ("erf (gelu)", lambda: engine.erf(x))):
            before = stats["dispatches"]
            fn()
            counts[name] = stats["dispatches"] - before
        return all(v == 1 for v in counts.values()), counts
    record("softmax, log_softmax, logsumexp and erf are one kernel each", fused_kernels)

    def device_api():
        dev = engine.device("webgpu")
        t = engine.ones(3, device=dev)
        return (str(t.device) == "webgpu:0" and "webgpu" in engine.backends.available()
                and repr(t) == "tensor([1., 1., 1.], device='webgpu:0')" and t.sum().item() == 3.0
                and t.tolist() == [1.0, 1.0, 1.0]), repr(t)
    record("engine device api, printing, item, tolist", device_api)

    def double_error():
        engine.set_default_dtype(engine.float64)
        try:
            engine.zeros(2, device="webgpu")
        except TypeError as exc:
            return "float32" in str(exc), str(exc)
        finally:
            engine.set_default_dtype(engine.float32)
        return False, "no error"
    record("engine float64 on webgpu: TypeError suggesting float32", double_error)

    def capture_device():
        from gradview.engine import graph
        x = engine.randn(4, 2, device="webgpu")
        lin = engine.nn.Linear(2, 3).to("webgpu")
        with graph.capture() as g:
            loss = lin(x).relu().sum()
            loss.backward()
        d = g.to_dict()
        devices = {n["device"] for s in d["steps"] for n in s["nodes"]}
        return devices == {"webgpu:0"}, sorted(devices)
    record("graph capture records device webgpu", capture_device)


def check_mlp(steps=20):
    """A 2-16-16-2 MLP with cross-entropy and SGD: the same 20 steps on cpu and webgpu."""
    nn = engine.nn
    engine.manual_seed(7)
    x_h = RNG.standard_normal((64, 2)).astype(np.float32)
    y_h = (x_h[:, 0] * x_h[:, 1] > 0).astype(np.int64)

    def make():
        engine.manual_seed(7)
        return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))

    runs = {}
    for dev in ("cpu", "webgpu"):
        model = make().to(dev)
        opt = engine.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x, y = engine.tensor(x_h, device=dev), engine.tensor(y_h, device=dev)
        losses = []
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        runs[dev] = (losses, [p.detach().cpu().numpy() for p in model.parameters()], time.perf_counter() - t0)

    def compare():
        lc, pc, tc = runs["cpu"]
        lw, pw, tw = runs["webgpu"]
        ok, d = close(np.array(lw, np.float32), np.array(lc, np.float32), rtol=1e-4, atol=1e-5)
        if not ok:
            return False, "losses: " + d
        for k, (a, b) in enumerate(zip(pw, pc)):
            ok, d = close(a, b, rtol=1e-4, atol=1e-5)
            if not ok:
                return False, f"parameter {k}: {d}"
        return lc[-1] < lc[0], f"loss {lc[0]:.4f} -> {lc[-1]:.4f}; cpu {tc:.2f} s, webgpu {tw:.2f} s"
    record(f"MLP 2-16-16-2 cross-entropy SGD, {steps} steps: webgpu equals cpu", compare)


GROUPS = {"unary": check_unary, "binary": check_binary, "reductions": check_reductions, "matmul": check_matmul,
          "indexing": check_indexing, "dtypes": check_dtypes_and_fallback, "engine": check_engine, "mlp": check_mlp}


def run_checks(groups=None):
    RESULTS.clear()
    engine.backends.get("webgpu")  # loads the backend (raises if there is no WebGPU)
    engine.set_default_dtype(engine.float32)
    times = {}
    for name in groups or GROUPS:
        GROUP[0] = name
        t0 = time.perf_counter()
        try:
            GROUPS[name]()
        except Exception:  # noqa: BLE001
            RESULTS.append({"name": f"{name} (the group stopped)", "ok": False, "group": name, "ms": 0,
                            "detail": traceback.format_exc()[-1500:]})
        times[name] = round(time.perf_counter() - t0, 2)
    backend = engine.backends.get("webgpu")
    return json.dumps({"results": RESULTS, "seconds": times, "adapter": backend.info,
                       "stats": backend.runtime.stats})
