"""WGSL sources of the kernels, generated per variant and compiled once (runtime.Runtime.pipeline).

Every kernel reads its parameters from a uniform block of 128 words (binding 0) through
`pu(i)` / `pi(i)` / `pf(i)` (as u32, i32, f32), so one pipeline serves every shape; what changes
the code (the op, the storage types, which operands are strided) is part of the pipeline key.

Storage types: float32 is `f32`; the integer dtypes are held as `i32` (an int64 tensor's values
must fit in 32 bits); bool is `u32` (0 or 1). Arrays are strided: an element's place is
offset + sum(index[d] * stride[d]), in elements.

Parameter layouts (word indices) are documented by each kernel family below.
"""
from __future__ import annotations

WG = 256
MAX_DIMS = 8

HEADER = """
@group(0) @binding(0) var<uniform> P: array<vec4<u32>, 32>;
fn pu(i: u32) -> u32 { return P[i >> 2u][i & 3u]; }
fn pi(i: u32) -> i32 { return bitcast<i32>(P[i >> 2u][i & 3u]); }
fn pf(i: u32) -> f32 { return bitcast<f32>(P[i >> 2u][i & 3u]); }
// NaN and infinity from a runtime value (word 127 is always 0): WGSL rejects them as constants
fn nan_f() -> f32 { return bitcast<f32>(0x7fc00000u | P[31].w); }
fn inf_f() -> f32 { return bitcast<f32>(0x7f800000u | P[31].w); }
"""

# Helpers written once for a scalar or a 4-vector: T is f32 or vec4<f32> (I, U, B the matching
# i32, u32, bool types). They are branch-free (select) so that a kernel can run them on 4 elements
# at once; NaN and infinity tests go by the bits, as a float compare may assume neither exists.
TYPED = {
    "isnan_": "fn isnan_(x: T) -> B { return (bitcast<U>(x) & U(0x7fffffffu)) > U(0x7f800000u); }",
    "isinf_": "fn isinf_(x: T) -> B { return (bitcast<U>(x) & U(0x7fffffffu)) == U(0x7f800000u); }",
    "isfinite_": "fn isfinite_(x: T) -> B { return (bitcast<U>(x) & U(0x7f800000u)) != U(0x7f800000u); }",
    "nonzero_": "fn nonzero_(x: T) -> B { return (bitcast<U>(x) & U(0x7fffffffu)) != U(0u); }",
    "fmax_": "fn fmax_(a: T, b: T) -> T { return select(max(a, b), T(nan_f()), isnan_(a) | isnan_(b)); }",
    "fmin_": "fn fmin_(a: T, b: T) -> T { return select(min(a, b), T(nan_f()), isnan_(a) | isnan_(b)); }",
    "sign_": "fn sign_(a: T) -> T { return select(sign(a), a, isnan_(a)); }",
    "exp_": """
// e^r on |r| <= ln(2)/2 (Cephes' expf polynomial), scaled by 2^n in two steps (no overflow on the way)
fn exp_poly(r: T) -> T {
  let p = ((((1.9875691500e-4 * r + 1.3981999507e-3) * r + 8.3334519073e-3) * r + 4.1665795894e-2) * r
           + 1.6666665459e-1) * r + 5.0000001201e-1;
  return p * (r * r) + r + 1.0;
}
fn scale2_(v: T, n: I) -> T {
  let h = n / I(2);
  return ldexp(ldexp(v, h), n - h);
}
fn exp_(a: T) -> T {
  let x = clamp(a, T(-104.0), T(89.0));
  let n = round(x * 1.44269504088896341);
  let r = (x - n * 0.693359375) - n * -2.12194440e-4;
  var y = scale2_(exp_poly(r), I(n));
  y = select(y, T(inf_f()), a > T(88.72284));
  y = select(y, T(0.0), a < T(-103.97208));
  return select(y, a, isnan_(a));
}
// e^a / 2 for a > 0, finite where e^a alone overflows
fn exph_(a: T) -> T {
  let x = clamp(a, T(-104.0), T(90.0));
  let n = round(x * 1.44269504088896341);
  let r = (x - n * 0.693359375) - n * -2.12194440e-4;
  let y = select(scale2_(exp_poly(r), I(n) - I(1)), T(inf_f()), a > T(89.41599));
  return select(y, a, isnan_(a));
}""",
    "exp2_": """
fn exp2_(a: T) -> T {
  let x = clamp(a, T(-151.0), T(129.0));
  let n = round(x);
  var y = scale2_(exp_poly((x - n) * 0.693147180559945309), I(n));
  y = select(y, T(inf_f()), a >= T(128.0));
  y = select(y, T(0.0), a < T(-150.0));
  return select(y, a, isnan_(a));
}""",
    "expm1_": """
fn expm1_(a: T) -> T {
  // Taylor series to a^9/9! below 1/2 (relative error below float32's), e^a - 1 above
  let s = a * (1.0 + a * (0.5 + a * (1.6666667e-1 + a * (4.1666668e-2 + a * (8.3333338e-3 + a * (1.3888889e-3
          + a * (1.9841270e-4 + a * (2.4801587e-5 + a * 2.7557319e-6))))))));
  return select(exp_(a) - 1.0, s, abs(a) < T(0.5));
}""",
    "log_": """
fn log_(a: T) -> T {
  var y = select(log(a), a, isinf_(a));
  y = select(y, T(-inf_f()), a == T(0.0));
  return select(y, T(nan_f()), isnan_(a) | (a < T(0.0)));
}""",
    "log2_": """
fn log2_(a: T) -> T {
  var y = select(log2(a), a, isinf_(a));
  y = select(y, T(-inf_f()), a == T(0.0));
  return select(y, T(nan_f()), isnan_(a) | (a < T(0.0)));
}""",
    "sqrt_": """
fn sqrt_(a: T) -> T {
  let y = select(sqrt(a), a, isinf_(a));
  return select(y, T(nan_f()), isnan_(a) | (a < T(0.0)));
}""",
    "log1p_": """
fn log1p_(a: T) -> T {
  let u = 1.0 + a;
  var y = select(log(u) * a / (u - 1.0), a, u == T(1.0));
  y = select(y, a, isinf_(a));
  y = select(y, T(-inf_f()), a == T(-1.0));
  return select(y, T(nan_f()), isnan_(a) | (a < T(-1.0)));
}""",
    "tanh_": """
fn tanh_(a: T) -> T {
  let small = a * (1.0 - a * a / 3.0);
  let e1 = expm1_(2.0 * a);
  let mid = e1 / (e1 + 2.0);
  let x = clamp(a, T(-20.0), T(20.0));
  let e2 = exp_(-2.0 * abs(x));
  let big = sign(x) * (1.0 - e2) / (1.0 + e2);
  var y = select(big, mid, abs(a) < T(0.55));
  y = select(y, small, abs(a) < T(0.0004));
  return select(y, a, isnan_(a));
}""",
    "erf_": """
fn erf_(a: T) -> T {
  let x = abs(a);
  // Taylor series below 0.5; above, erfc(x) = t exp(-x^2 + P(t)) (Numerical Recipes' erfcc, relative error < 1.2e-7)
  let x2 = x * x;
  let small = x * (1.1283791671 + x2 * (-0.3761263890 + x2 * (0.1128379167 + x2 * (-0.0268661706 + x2 * (0.0052239776
              + x2 * -0.0008548327)))));
  let t = 1.0 / (1.0 + 0.5 * x);
  let c = t * exp_(-x2 - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  var y = select(1.0 - c, small, x < T(0.5));
  y = select(y, T(1.0), x > T(4.0));
  return select(sign(a) * y, a, isnan_(a));
}""",
}
TYPED_DEPS = {"fmax_": ("isnan_",), "fmin_": ("isnan_",), "sign_": ("isnan_",), "exp_": ("isnan_",),
              "exp2_": ("exp_",), "expm1_": ("exp_",), "log_": ("isinf_", "isnan_"), "log2_": ("isinf_", "isnan_"),
              "sqrt_": ("isinf_", "isnan_"), "log1p_": ("isinf_", "isnan_"), "tanh_": ("expm1_", "exp_"),
              "erf_": ("exp_",)}

# scalar-only helpers (branches): ops that use them run one element per invocation
SCALAR = {
    "sincos_": """
// sin and cos after Cephes' sinf/cosf: the argument reduced by pi/4 in three parts (exact for
// |x| <= 8192), then a polynomial on [-pi/4, pi/4]
fn sin_poly(x: f32, z: f32) -> f32 {
  return ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * x + x;
}
fn cos_poly(z: f32) -> f32 {
  return ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
}
fn trig_(a: f32, want_cos: bool) -> f32 {
  if (!isfinite_(a)) { return nan_f(); }
  var x = abs(a);
  var j = u32(x * 1.27323954473516);
  var y = f32(j);
  if ((j & 1u) == 1u) { j = j + 1u; y = y + 1.0; }
  j = j & 7u;
  var sgn = 1.0;
  if (!want_cos && a < 0.0) { sgn = -1.0; }
  if (j > 3u) { sgn = -sgn; j = j - 4u; }
  if (want_cos && j > 1u) { sgn = -sgn; }
  let r = ((x - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8;
  let z = r * r;
  let use_cos = (j == 1u || j == 2u) != want_cos;
  if (use_cos) { return sgn * cos_poly(z); }
  return sgn * sin_poly(r, z);
}
fn sin_(a: f32) -> f32 { return trig_(a, false); }
fn cos_(a: f32) -> f32 { return trig_(a, true); }
fn tan_(a: f32) -> f32 { return trig_(a, false) / trig_(a, true); }""",
    "atan2_": """
fn signbit_(v: f32) -> bool { return (bitcast<u32>(v) >> 31u) == 1u; }
fn copysign_(m: f32, s: f32) -> f32 {
  return bitcast<f32>((bitcast<u32>(m) & 0x7fffffffu) | (bitcast<u32>(s) & 0x80000000u));
}
// atan2 with IEEE's signed zeros and infinities
fn atan2_(y: f32, x: f32) -> f32 {
  if (isnan_(y) || isnan_(x)) { return nan_f(); }
  let pi = 3.14159265358979;
  if (y == 0.0) {
    if (signbit_(x)) { return copysign_(pi, y); }
    return y;
  }
  if (isinf_(y)) {
    if (isinf_(x)) {
      if (x > 0.0) { return copysign_(0.785398163397448, y); }
      return copysign_(2.35619449019234, y);
    }
    return copysign_(1.5707963267949, y);
  }
  if (isinf_(x)) {
    if (x > 0.0) { return copysign_(0.0, y); }
    return copysign_(pi, y);
  }
  if (x == 0.0) { return copysign_(1.5707963267949, y); }
  let t = atan(y / x);
  if (x > 0.0) { return t; }
  return t + copysign_(pi, y);
}""",
    "asin_": """
fn asin_(a: f32) -> f32 { if (!(abs(a) <= 1.0)) { return nan_f(); } return atan2_(a, sqrt((1.0 - a) * (1.0 + a))); }""",
    "acos_": """
fn acos_(a: f32) -> f32 { if (!(abs(a) <= 1.0)) { return nan_f(); } return atan2_(sqrt((1.0 - a) * (1.0 + a)), a); }""",
    "sinh_": """
fn sinh_(a: f32) -> f32 {
  if (abs(a) < 0.5) { let e = expm1_(a); return 0.5 * (e + e / (e + 1.0)); }
  if (abs(a) > 9.0) { return sign(a) * exph_(abs(a)); }
  let e = exp_(abs(a));
  return sign(a) * (0.5 * e - 0.5 / e);
}""",
    "cosh_": """
fn cosh_(a: f32) -> f32 {
  if (abs(a) > 9.0) { return exph_(abs(a)); }
  let e = exp_(abs(a));
  return 0.5 * e + 0.5 / e;
}""",
    "pow_": """
fn ipow_(a: f32, n: i32) -> f32 {
  var e = abs(n);
  var base = a;
  var r = 1.0;
  loop {
    if ((e & 1) == 1) { r = r * base; }
    e = e >> 1u;
    if (e == 0) { break; }
    base = base * base;
  }
  if (n < 0) { return 1.0 / r; }
  return r;
}
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a == 1.0) { return 1.0; }
  if (isnan_(a) || isnan_(b)) { return nan_f(); }
  let bi = trunc(b);
  if (bi == b && abs(b) <= 64.0) { return ipow_(a, i32(b)); }
  if (b == 0.5) { return sqrt_(a); }
  if (isinf_(b)) {
    let m = abs(a);
    if (m == 1.0) { return 1.0; }
    if ((m < 1.0) == (b > 0.0)) { return 0.0; }
    return inf_f();
  }
  let odd = bi == b && trunc(b * 0.5) != b * 0.5;
  if (isinf_(a)) {
    if (b > 0.0) { if (a < 0.0 && odd) { return -inf_f(); } return inf_f(); }
    if (a < 0.0 && odd) { return -0.0; }
    return 0.0;
  }
  if (a < 0.0) {
    if (bi != b) { return nan_f(); }
    let r = exp2_(b * log2_(-a));
    if (odd) { return -r; }
    return r;
  }
  if (a == 0.0) { if (b > 0.0) { return 0.0; } return inf_f(); }
  return exp2_(b * log2_(a));
}""",
}
SCALAR_DEPS = {"sincos_": ("isfinite_",), "atan2_": ("isnan_", "isinf_"), "asin_": ("atan2_",),
               "acos_": ("atan2_",), "sinh_": ("expm1_", "exp_"), "cosh_": ("exp_",),
               "pow_": ("sqrt_", "exp2_", "log2_", "isnan_", "isinf_")}
ALIASES = {"sin_": "sincos_", "cos_": "sincos_", "tan_": "sincos_", "exph_": "exp_", "exp_poly": "exp_"}


def _types(width):
    if width == 1:
        return {"T": "f32", "I": "i32", "U": "u32", "B": "bool"}
    return {"T": f"vec{width}<f32>", "I": f"vec{width}<i32>", "U": f"vec{width}<u32>", "B": f"vec{width}<bool>"}


def _typed(text, width):
    t = _types(width)
    out = []
    for tok in _TOKEN.split(text):
        out.append(t.get(tok, tok))
    return "".join(out)


import re  # noqa: E402

_TOKEN = re.compile(r"(\b[TIUB]\b)")


def vectorizable(expr):
    """Whether an elementwise expression can run on 4-vectors (it calls no scalar-only helper)."""
    return not any(name + "(" in expr for name in list(SCALAR) + ["sin_", "cos_", "tan_"])


def helpers_for(*texts, width=1):
    """The helper functions the WGSL texts call (with what those need), for scalars or vectors."""
    text = " ".join(texts)
    need = set()
    for name in list(TYPED) + list(SCALAR) + list(ALIASES):
        if name + "(" in text:
            need.add(ALIASES.get(name, name))
    changed = True
    while changed:
        changed = False
        for name in list(need):
            for dep in TYPED_DEPS.get(name, ()) + SCALAR_DEPS.get(name, ()):
                if dep not in need:
                    need.add(dep)
                    changed = True
    typed = "\n".join(_typed(TYPED[name], width) for name in TYPED if name in need)
    if width != 1 and any(name in need for name in SCALAR):
        raise ValueError("scalar-only helpers in a vector kernel")
    scalar = "\n".join(SCALAR[name] for name in SCALAR if name in need)
    return "\n" + typed + "\n" + scalar + "\n"


def vtype(t, width=1):
    """A WGSL type name for `width` lanes ('bool' for the logical type)."""
    return t if width == 1 else f"vec{width}<{t}>"


def convert(expr, src, dst, width=1):
    """WGSL converting `expr` of type src to dst (f32, i32, u32 for a stored bool, or 'bool')."""
    if src == dst:
        return expr
    z = {"f32": "0.0", "i32": "0", "u32": "0u"}
    o = {"f32": "1.0", "i32": "1", "u32": "1u"}
    if src == "f32" and dst in ("bool", "u32"):
        # nonzero, nan included, by the bits (a float compare may treat nan as equal to anything)
        u = vtype("u32", width)
        test = f"((bitcast<{u}>({expr}) & {u}(0x7fffffffu)) != {u}(0u))"
        return test if dst == "bool" else f"select({u}(0u), {u}(1u), {test})"
    if dst == "bool":
        return f"({expr} != {vtype(src, width)}({z[src]}))"
    if src == "bool":
        return f"select({vtype(dst, width)}({z[dst]}), {vtype(dst, width)}({o[dst]}), {expr})"
    if dst == "u32":  # to a bool stored as u32
        return f"select({vtype('u32', width)}(0u), {vtype('u32', width)}(1u), {expr} != {vtype(src, width)}({z[src]}))"
    return f"{vtype(dst, width)}({expr})"


def narrow(expr, wrap, width=1):
    """Wrap an i32 to a narrower integer dtype as NumPy's casts do."""
    i, u = vtype("i32", width), vtype("u32", width)
    if wrap == "u8":
        return f"({expr} & {i}(255))"
    if wrap == "i8":
        return f"(({expr} << {u}(24u)) >> {u}(24u))"
    if wrap == "i16":
        return f"(({expr} << {u}(16u)) >> {u}(16u))"
    return expr


# ---------------------------------------------------------------------------------------------
# elementwise: out[i] = f(a, b, c) over an output shape, operands broadcast through strides.
# Params: 0 n, 1 ndim, 2 out offset, 3..5 operand offsets, 6..8 constant operands (bits),
#         9..10 float constants of the op, 16..23 shape, 24..31 out strides, 32.. operand strides (8 each)
def _unrolled_walk(nd, first, out_strided, strided, extra=()):
    """WGSL stepping `rem` (a linear index over dims first..nd-1, C order) through the dims from
    the last to `first`, adding each dim's index times its strides to oo (the output, when
    strided), o<k> (strided operands) and the (variable, stride word base) pairs of `extra`.
    nd is known when the kernel is made, so every parameter word is a constant."""
    lines = []
    for d in range(nd - 1, first - 1, -1):
        last = d == first
        lines.append(f"    {{ let s = pu({16 + d}u);")
        if last:
            lines.append("      let r = i32(rem);")
        else:
            lines.append("      let qq = rem / s;")
            lines.append("      let r = i32(rem - qq * s);")
            lines.append("      rem = qq;")
        if out_strided:
            lines.append(f"      oo = oo + r * pi({24 + d}u);")
        for k in strided:
            lines.append(f"      o{k} = o{k} + r * pi({32 + 8 * k + d}u);")
        for var, base in extra:
            lines.append(f"      {var} = {var} + r * pi({base + d}u);")
        lines.append("    }")
    return lines


def elementwise(expr, operands, out_store, out_mode, rtype, wrap=None, nd=None):
    """operands: [(mode, store, ctype)]: how operand k is read ('c' contiguous like the output,
    'g' strided, 'z' one element, 'o' the output's own element, 'k' a constant), its storage type
    and the type it is converted to; rtype: the expression's type; out_store: the output's storage
    type; out_mode 'c' or 'g'; wrap: a narrow integer dtype to wrap the result to."""
    names = "abc"
    decl = []
    binding = 1
    for k, (mode, store, _) in enumerate(operands):
        if mode not in ("k", "o"):
            decl.append(f"@group(0) @binding({binding}) var<storage, read> in{k}: array<{store}>;")
            binding += 1
    decl.append(f"@group(0) @binding({binding}) var<storage, read_write> out: array<{out_store}>;")
    general = out_mode == "g" or any(mode == "g" for mode, _, _ in operands)
    target = "u32(oo)" if out_mode == "g" else "u32(pi(2u)) + i"
    body = []
    if general:
        body.append("    var rem = i;")
        if out_mode == "g":
            body.append("    var oo = pi(2u);")
        strided = [k for k, (mode, _, _) in enumerate(operands) if mode == "g"]
        for k in strided:
            body.append(f"    var o{k} = pi({3 + k}u);")
        body += _unrolled_walk(nd, 0, out_mode == "g", strided)
    for k, (mode, store, ctype) in enumerate(operands):
        if mode == "k":
            raw = {"f32": f"pf({6 + k}u)", "i32": f"pi({6 + k}u)", "u32": f"pu({6 + k}u)",
                   "bool": f"pu({6 + k}u)"}[store]
            if store == "bool":
                store = "u32"
        elif mode == "c":
            raw = f"in{k}[u32(pi({3 + k}u)) + i]"
        elif mode == "z":
            raw = f"in{k}[u32(pi({3 + k}u))]"
        elif mode == "o":
            raw = f"out[{target}]"
        else:
            raw = f"in{k}[u32(o{k})]"
        body.append(f"    let {names[k]} = {convert(raw, store, ctype)};")
    value = convert(f"({expr})", rtype, "i32" if wrap else out_store)
    if wrap:
        value = convert(narrow(value, wrap), "i32", out_store)
    body.append(f"    out[{target}] = {value};")
    return (HEADER + helpers_for(expr) + "\n".join(decl) + f"""
@compute @workgroup_size({WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {{
  let n = pu(0u);
  let step = nw.x * {WG}u;
  for (var i = gid.x; i < n; i = i + step) {{
{chr(10).join(body)}
  }}
}}
""")


EW4_WG = 64


def elementwise4(expr, operands, out_store, rtype, wrap=None):
    """The contiguous case of `elementwise` (operand modes 'c', 'z', 'o', 'k'; the output
    contiguous) four elements per invocation, on 4-vectors; lanes past n are not stored."""
    names = "abc"
    decl = []
    binding = 1
    for k, (mode, store, _) in enumerate(operands):
        if mode not in ("k", "o"):
            decl.append(f"@group(0) @binding({binding}) var<storage, read> in{k}: array<{store}>;")
            binding += 1
    decl.append(f"@group(0) @binding({binding}) var<storage, read_write> out: array<{out_store}>;")
    body = ["    let ob = pu(2u) + i;"]
    for k, (mode, store, ctype) in enumerate(operands):
        if mode == "k":
            store = "u32" if store == "bool" else store
            raw = {"f32": f"pf({6 + k}u)", "i32": f"pi({6 + k}u)", "u32": f"pu({6 + k}u)"}[store]
            raw = f"{vtype(store, 4)}({raw})"
        elif mode == "z":
            raw = f"{vtype(store, 4)}(in{k}[u32(pi({3 + k}u))])"
        elif mode == "o":
            raw = f"{vtype(store, 4)}(out[ob], out[ob + 1u], out[ob + 2u], out[ob + 3u])"
        else:
            body.append(f"    let p{k} = u32(pi({3 + k}u)) + i;")
            raw = f"{vtype(store, 4)}(in{k}[p{k}], in{k}[p{k} + 1u], in{k}[p{k} + 2u], in{k}[p{k} + 3u])"
        body.append(f"    let {names[k]} = {convert(raw, store, ctype, 4)};")
    value = convert(f"({expr})", rtype, "i32" if wrap else out_store, 4)
    if wrap:
        value = convert(narrow(value, wrap, 4), "i32", out_store, 4)
    body.append(f"    let v = {value};")
    body.append("    out[ob] = v.x;")
    body.append("    if (i + 1u < n) { out[ob + 1u] = v.y; }")
    body.append("    if (i + 2u < n) { out[ob + 2u] = v.z; }")
    body.append("    if (i + 3u < n) { out[ob + 3u] = v.w; }")
    return (HEADER + helpers_for(expr, width=4) + "\n".join(decl) + f"""
@compute @workgroup_size({EW4_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {{
  let n = pu(0u);
  let step = nw.x * {EW4_WG * 4}u;
  for (var i = gid.x * 4u; i < n; i = i + step) {{
{chr(10).join(body)}
  }}
}}
""")


def elementwise4g(expr, operands, out_store, out_mode, rtype, wrap=None, nd=2):
    """The strided case of `elementwise` on 4-vectors: an invocation takes four consecutive
    elements along the innermost dim (its place found once: one division per outer dim for four
    elements), reads them through the strides, computes on 4-vectors and stores the lanes that
    exist. Same parameters as `elementwise`."""
    names = "abc"
    decl = []
    binding = 1
    for k, (mode, store, _) in enumerate(operands):
        if mode not in ("k", "o"):
            decl.append(f"@group(0) @binding({binding}) var<storage, read> in{k}: array<{store}>;")
            binding += 1
    decl.append(f"@group(0) @binding({binding}) var<storage, read_write> out: array<{out_store}>;")
    strided = [k for k, (mode, _, _) in enumerate(operands) if mode == "g"]
    head = ["    let row = q / qrow;", "    let col = (q - row * qrow) * 4u;", "    var rem = row;",
            "    var oo = pi(2u);"]
    for k in strided:
        head.append(f"    var o{k} = pi({3 + k}u);")
    # the outer dims 0..nd-2 (the innermost is walked four at a time)
    head += _unrolled_walk(nd - 1, 0, out_mode == "g", strided)
    if out_mode == "g":
        head.append(f"    let os = pi({23 + nd}u);")
        head.append("    let ob = oo + i32(col) * os;")
        out_at = ["u32(ob)", "u32(ob + os)", "u32(ob + 2 * os)", "u32(ob + 3 * os)"]
    else:
        head.append("    let ob = u32(pi(2u)) + row * inner + col;")
        out_at = ["ob", "ob + 1u", "ob + 2u", "ob + 3u"]
    for k, (mode, store, ctype) in enumerate(operands):
        if mode == "k":
            store = "u32" if store == "bool" else store
            raw = {"f32": f"pf({6 + k}u)", "i32": f"pi({6 + k}u)", "u32": f"pu({6 + k}u)"}[store]
            raw = f"{vtype(store, 4)}({raw})"
        elif mode == "z":
            raw = f"{vtype(store, 4)}(in{k}[u32(pi({3 + k}u))])"
        elif mode == "o":
            raw = f"{vtype(store, 4)}(out[{out_at[0]}], out[{out_at[1]}], out[{out_at[2]}], out[{out_at[3]}])"
        elif mode == "c":
            head.append(f"    let p{k} = u32(pi({3 + k}u)) + row * inner + col;")
            raw = f"{vtype(store, 4)}(in{k}[p{k}], in{k}[p{k} + 1u], in{k}[p{k} + 2u], in{k}[p{k} + 3u])"
        else:
            head.append(f"    let s{k} = pi({31 + 8 * k + nd}u);")
            head.append(f"    let p{k} = o{k} + i32(col) * s{k};")
            raw = (f"{vtype(store, 4)}(in{k}[u32(p{k})], in{k}[u32(p{k} + s{k})], in{k}[u32(p{k} + 2 * s{k})], "
                   f"in{k}[u32(p{k} + 3 * s{k})])")
        head.append(f"    let {names[k]} = {convert(raw, store, ctype, 4)};")
    value = convert(f"({expr})", rtype, "i32" if wrap else out_store, 4)
    if wrap:
        value = convert(narrow(value, wrap, 4), "i32", out_store, 4)
    head.append(f"    let v = {value};")
    head.append(f"    out[{out_at[0]}] = v.x;")
    head.append(f"    if (col + 1u < inner) {{ out[{out_at[1]}] = v.y; }}")
    head.append(f"    if (col + 2u < inner) {{ out[{out_at[2]}] = v.z; }}")
    head.append(f"    if (col + 3u < inner) {{ out[{out_at[3]}] = v.w; }}")
    return (HEADER + helpers_for(expr, width=4) + "\n".join(decl) + f"""
@compute @workgroup_size({EW4_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {{
  let inner = pu({15 + nd}u);
  let qrow = (inner + 3u) / 4u;
  let total = (pu(0u) / inner) * qrow;
  let step = nw.x * {EW4_WG}u;
  for (var q = gid.x; q < total; q = q + step) {{
{chr(10).join(head)}
  }}
}}
""")


# ---------------------------------------------------------------------------------------------
# reductions: out[out_offset + row] = reduce over r of in[offset(row, r)], rows = M * chunks
# Params: 0 rows, 1 R, 2 kept ndim, 3 reduced ndim, 4 chunks, 5 chunk length, 6 in offset,
#         7 scale (f32, mean), 8 out offset, 16..23 kept shape, 24..31 kept strides,
#         32..39 reduced shape, 40..47 reduced strides
def _red_parts(op, ctype):
    """identity, update statement (acc, v, idx r), merge statement (acc <- other), result expression."""
    if op == "sum":
        if ctype == "f32":  # Kahan summation per thread
            return ("0.0", "let y = v - comp; let t = acc + y; comp = (t - acc) - y; acc = t;",
                    "acc = acc + other;", "acc")
        return ("0", "acc = acc + v;", "acc = acc + other;", "acc")
    if op == "prod":
        return ({"f32": "1.0", "i32": "1", "u32": "1u"}[ctype], "acc = acc * v;", "acc = acc * other;", "acc")
    if op in ("max", "min"):
        if ctype == "f32":
            f = "fmax_" if op == "max" else "fmin_"
            ident = "-inf_f()" if op == "max" else "inf_f()"
            return (ident, f"acc = {f}(acc, v);", f"acc = {f}(acc, other);", "acc")
        ident = "-2147483647 - 1" if op == "max" else "2147483647"
        return (ident, f"acc = {op}(acc, v);", f"acc = {op}(acc, other);", "acc")
    if op == "any":
        return ("0u", "acc = acc | v;", "acc = acc | other;", "acc")
    if op == "all":
        return ("1u", "acc = acc & v;", "acc = acc & other;", "acc")
    raise ValueError(op)


def reduction(op, in_store, ctype, out_store, per_thread, simple_red):
    """per_thread: one thread per row (short rows); else a workgroup per row. simple_red: the
    reduced dims are one (a stride)."""
    arg = op in ("argmax", "argmin")
    if arg:
        cmp = ">" if op == "argmax" else "<"
        if ctype == "f32":
            better = f"""
fn better(va: f32, ia: u32, vb: f32, ib: u32) -> bool {{
  if (isnan_(va)) {{ return isnan_(vb) && ib < ia; }}
  if (isnan_(vb)) {{ return true; }}
  return vb {cmp} va || (vb == va && ib < ia);
}}"""
        else:
            better = f"""
fn better(va: {ctype}, ia: u32, vb: {ctype}, ib: u32) -> bool {{ return vb {cmp} va || (vb == va && ib < ia); }}"""
        ident = ("-inf_f()" if op == "argmax" else "inf_f()") if ctype == "f32" else \
            ("-2147483647 - 1" if op == "argmax" else "2147483647")
        init = f"var acc: {ctype} = {ident}; var ai = 0xffffffffu;"
        update = "if (better(acc, ai, v, r)) { acc = v; ai = r; }"
        result = "i32(ai)"
        extra = better
    else:
        ident, update, merge, result = _red_parts(op, ctype)
        init = f"var acc: {ctype} = {ident};" + (" var comp = 0.0;" if op == "sum" and ctype == "f32" else "")
        extra = ""
    if simple_red:
        offset = "let off = base + i32(r) * pi(40u);"
    else:
        offset = """var off = base;
      var rr = r;
      for (var d = nr; d > 0u; d = d - 1u) {
        let s = pu(31u + d);
        let q = rr / s;
        off = off + i32(rr - q * s) * pi(39u + d);
        rr = q;
      }"""
    load = convert("inp[u32(off)]", in_store, ctype)
    if op in ("any", "all"):
        load = convert("inp[u32(off)]", in_store, "u32")
    finish = "acc * pf(7u)" if (op == "sum" and ctype == "f32") else ("ai" if arg else "acc")
    store = convert(f"({finish})", "i32" if arg else ctype, out_store) if not arg else "i32(ai)"
    row_base = """let m = row / chunks;
    let p = row - m * chunks;
    var base = pi(6u);
    var rem = m;
    for (var d = nk; d > 0u; d = d - 1u) {
      let s = pu(15u + d);
      let q = rem / s;
      base = base + i32(rem - q * s) * pi(23u + d);
      rem = q;
    }
    let r0 = p * pu(5u);
    let r1 = min(R, r0 + pu(5u));"""
    decl = f"""
@group(0) @binding(1) var<storage, read> inp: array<{in_store}>;
@group(0) @binding(2) var<storage, read_write> out: array<{out_store}>;"""
    head = """
  let rows = pu(0u);
  let R = pu(1u);
  let nk = pu(2u);
  let nr = pu(3u);
  let chunks = pu(4u);
  let o_out = pu(8u);"""
    if per_thread:
        return HEADER + helpers_for(update, extra) + extra + decl + f"""
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {{{head}
  for (var row = gid.x + gid.y * nw.x * 64u; row < rows; row = row + nw.x * nw.y * 64u) {{
    {row_base}
    {init}
    for (var r = r0; r < r1; r = r + 1u) {{
      {offset}
      let v = {load};
      {update}
    }}
    out[o_out + row] = {store};
  }}
}}
"""
    # a workgroup per row: each thread reduces a strided part, then a tree in workgroup memory
    if arg:
        shared = f"var<workgroup> sv: array<{ctype}, {WG}>;\nvar<workgroup> si: array<u32, {WG}>;"
        publish = "sv[lid.x] = acc; si[lid.x] = ai;"
        tree = ("if (better(sv[lid.x], si[lid.x], sv[lid.x + s], si[lid.x + s])) "
                "{ sv[lid.x] = sv[lid.x + s]; si[lid.x] = si[lid.x + s]; }")
        final = "let ai = si[0];"
    else:
        shared = f"var<workgroup> sv: array<{ctype}, {WG}>;"
        publish = "sv[lid.x] = acc;"
        tree = "var acc = sv[lid.x]; let other = sv[lid.x + s]; " + merge + " sv[lid.x] = acc;"
        final = "let acc = sv[0];"
    return HEADER + helpers_for(update, extra, tree) + extra + decl + f"""
{shared}
@compute @workgroup_size({WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nw: vec3<u32>) {{{head}
  for (var row = wid.x + wid.y * nw.x; row < rows; row = row + nw.x * nw.y) {{
    {row_base}
    {init}
    for (var r = r0 + lid.x; r < r1; r = r + {WG}u) {{
      {offset}
      let v = {load};
      {update}
    }}
    {publish}
    workgroupBarrier();
    for (var s = {WG // 2}u; s > 0u; s = s >> 1u) {{
      if (lid.x < s) {{ {tree} }}
      workgroupBarrier();
    }}
    if (lid.x == 0u) {{
      {final}
      out[o_out + row] = {store};
    }}
    workgroupBarrier();
  }}
}}
"""


# ---------------------------------------------------------------------------------------------
# softmax, log_softmax and logsumexp along one (strided) dim, a row at a time.
# Params: 0 rows, 1 R, 2 kept ndim, 3 row stride, 4 in offset, 6 out offset,
#         16..23 kept shape, 24..31 kept strides
def rowwise(kind, per_thread):
    decl = """
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;"""
    row_base = """var base = pi(4u);
    var rem = row;
    for (var d = nk; d > 0u; d = d - 1u) {
      let s = pu(15u + d);
      let q = rem / s;
      base = base + i32(rem - q * s) * pi(23u + d);
      rem = q;
    }
    let rs = pi(3u);
    let ob = pu(6u) + row * R;"""
    if kind == "logsumexp":
        write = """
      out[pu(6u) + row] = log_(total) + shift;"""
        second = "exp_(inp[u32(base + i32(r) * rs)] - shift)"
        pre2 = "var shift = mx; if (!isfinite_(mx)) { shift = 0.0; }"
    else:
        second = "exp_(inp[u32(base + i32(r) * rs)] - mx)"
        pre2 = ""
        if kind == "softmax":
            each = "out[ob + r] = exp_(inp[u32(base + i32(r) * rs)] - mx) / total;"
        else:
            each = "out[ob + r] = (inp[u32(base + i32(r) * rs)] - mx) - log_(total);"
    if per_thread:
        if kind == "logsumexp":
            tail = write
        else:
            tail = f"""
      for (var r = 0u; r < R; r = r + 1u) {{ {each} }}"""
        return HEADER + helpers_for(second, "log_(", "exp_(", "fmax_(", "isfinite_(") + decl + f"""
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {{
  let rows = pu(0u);
  let R = pu(1u);
  let nk = pu(2u);
  for (var row = gid.x + gid.y * nw.x * 64u; row < rows; row = row + nw.x * nw.y * 64u) {{
    {row_base}
    var mx = -inf_f();
    for (var r = 0u; r < R; r = r + 1u) {{ mx = fmax_(mx, inp[u32(base + i32(r) * rs)]); }}
    {pre2}
    var total = 0.0;
    for (var r = 0u; r < R; r = r + 1u) {{ total = total + {second}; }}
    {tail}
  }}
}}
"""
    if kind == "logsumexp":
        tail = """
    if (lid.x == 0u) {""" + write + """
    }"""
    else:
        tail = f"""
    for (var r = lid.x; r < R; r = r + {WG}u) {{ {each} }}"""
    return HEADER + helpers_for(second, "log_(", "exp_(", "fmax_(", "isfinite_(") + decl + f"""
var<workgroup> sv: array<f32, {WG}>;
@compute @workgroup_size({WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nw: vec3<u32>) {{
  let rows = pu(0u);
  let R = pu(1u);
  let nk = pu(2u);
  for (var row = wid.x + wid.y * nw.x; row < rows; row = row + nw.x * nw.y) {{
    {row_base}
    var m = -inf_f();
    for (var r = lid.x; r < R; r = r + {WG}u) {{ m = fmax_(m, inp[u32(base + i32(r) * rs)]); }}
    sv[lid.x] = m;
    workgroupBarrier();
    for (var s = {WG // 2}u; s > 0u; s = s >> 1u) {{
      if (lid.x < s) {{ sv[lid.x] = fmax_(sv[lid.x], sv[lid.x + s]); }}
      workgroupBarrier();
    }}
    let mx = sv[0];
    workgroupBarrier();
    {pre2}
    var t = 0.0;
    for (var r = lid.x; r < R; r = r + {WG}u) {{ t = t + {second}; }}
    sv[lid.x] = t;
    workgroupBarrier();
    for (var s = {WG // 2}u; s > 0u; s = s >> 1u) {{
      if (lid.x < s) {{ sv[lid.x] = sv[lid.x] + sv[lid.x + s]; }}
      workgroupBarrier();
    }}
    let total = sv[0];
    workgroupBarrier();
    {tail}
  }}
}}
"""


def scan(op, in_store, ctype, out_store):
    """Cumulative sum / product along one (strided) dim, a thread per row, in order (as NumPy).
    Params as `rowwise`: 0 rows, 1 R, 2 kept ndim, 3 row stride, 4 in offset, 6 out offset,
    16..23 kept shape, 24..31 kept strides; the output is contiguous with the scanned dim last."""
    combine = "acc + v" if op == "sum" else "acc * v"
    ident = {"f32": ("0.0", "1.0"), "i32": ("0", "1")}[ctype][0 if op == "sum" else 1]
    load = convert("inp[u32(base + i32(r) * rs)]", in_store, ctype)
    return HEADER + f"""
@group(0) @binding(1) var<storage, read> inp: array<{in_store}>;
@group(0) @binding(2) var<storage, read_write> out: array<{out_store}>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {{
  let rows = pu(0u);
  let R = pu(1u);
  let nk = pu(2u);
  let rs = pi(3u);
  for (var row = gid.x + gid.y * nw.x * 64u; row < rows; row = row + nw.x * nw.y * 64u) {{
    var base = pi(4u);
    var rem = row;
    for (var d = nk; d > 0u; d = d - 1u) {{
      let s = pu(15u + d);
      let q = rem / s;
      base = base + i32(rem - q * s) * pi(23u + d);
      rem = q;
    }}
    let ob = pu(6u) + row * R;
    var acc: {ctype} = {ident};
    for (var r = 0u; r < R; r = r + 1u) {{
      let v = {load};
      acc = {combine};
      out[ob + r] = {convert("acc", ctype, out_store)};
    }}
  }}
}}
"""


# ---------------------------------------------------------------------------------------------
# matmul: out[b, i, j] = sum_k A[b, i, k] B[b, k, j], A and B strided, out contiguous.
# Params: 0 M, 1 N, 2 K, 3 batches, 4 A offset, 5 B offset, 6 A row stride, 7 A k stride,
#         8 B k stride, 9 B col stride, 10 out offset, 11 batch ndim,
#         16..19 batch shape, 20..23 A batch strides, 24..27 B batch strides
_BATCH = """
    var ao = pi(4u);
    var bo = pi(5u);
    var rem = bz;
    for (var d = pu(11u); d > 0u; d = d - 1u) {
      let s = pu(15u + d);
      let q = rem / s;
      let r = i32(rem - q * s);
      ao = ao + r * pi(19u + d);
      bo = bo + r * pi(23u + d);
      rem = q;
    }"""

MM_TILE = 64
MM_KT = 16


def matmul_tiled():
    """64 x 64 output tiles, a 16 x 16 workgroup, 4 x 4 outputs per thread, K in steps of 16."""
    return HEADER + f"""
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nw: vec3<u32>) {{
  let M = pu(0u);
  let N = pu(1u);
  let K = pu(2u);
  let batches = pu(3u);
  let ars = pi(6u);
  let aks = pi(7u);
  let bks = pi(8u);
  let bcs = pi(9u);
  let t = lid.y * 16u + lid.x;
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  for (var bz = wid.z; bz < batches; bz = bz + nw.z) {{{_BATCH}
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < K; k0 = k0 + 16u) {{
      for (var q = 0u; q < 4u; q = q + 1u) {{
        let e = t + q * 256u;
        // A tile: 64 rows x 16 k, read along k
        let am = e >> 4u;
        let ak = e & 15u;
        var av = 0.0;
        if (row0 + am < M && k0 + ak < K) {{ av = A[u32(ao + i32(row0 + am) * ars + i32(k0 + ak) * aks)]; }}
        As[ak * 16u + (am >> 2u)][am & 3u] = av;
        // B tile: 16 k x 64 cols, read along the columns
        let bk = e >> 6u;
        let bn = e & 63u;
        var bv = 0.0;
        if (k0 + bk < K && col0 + bn < N) {{ bv = B[u32(bo + i32(k0 + bk) * bks + i32(col0 + bn) * bcs)]; }}
        Bs[bk * 16u + (bn >> 2u)][bn & 3u] = bv;
      }}
      workgroupBarrier();
      for (var kk = 0u; kk < 16u; kk = kk + 1u) {{
        let a = As[kk * 16u + lid.y];
        let b = Bs[kk * 16u + lid.x];
        acc0 = acc0 + a.x * b;
        acc1 = acc1 + a.y * b;
        acc2 = acc2 + a.z * b;
        acc3 = acc3 + a.w * b;
      }}
      workgroupBarrier();
    }}
    let ob = pu(10u) + bz * M * N;
    let r = row0 + lid.y * 4u;
    let c = col0 + lid.x * 4u;
    for (var j = 0u; j < 4u; j = j + 1u) {{
      if (c + j < N) {{
        if (r < M) {{ C[ob + r * N + c + j] = acc0[j]; }}
        if (r + 1u < M) {{ C[ob + (r + 1u) * N + c + j] = acc1[j]; }}
        if (r + 2u < M) {{ C[ob + (r + 2u) * N + c + j] = acc2[j]; }}
        if (r + 3u < M) {{ C[ob + (r + 3u) * N + c + j] = acc3[j]; }}
      }}
    }}
  }}
}}
"""


def matmul_blocked():
    """4 x 4 outputs per invocation straight from memory (no workgroup memory, no barriers):
    the better kernel where a barrier is costly (CPU-emulated adapters such as SwiftShader).
    A workgroup of 8 x 8 invocations covers a 32 x 32 tile."""
    return HEADER + f"""
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nw: vec3<u32>) {{
  let M = pu(0u);
  let N = pu(1u);
  let K = pu(2u);
  let batches = pu(3u);
  let ars = pi(6u);
  let aks = pi(7u);
  let bks = pi(8u);
  let bcs = pi(9u);
  let r = gid.y * 4u;
  let c = gid.x * 4u;
  if (r >= M || c >= N) {{ return; }}
  // rows and columns past the matrix read row / column 0 and are not stored
  let r1 = select(0u, r + 1u, r + 1u < M);
  let r2 = select(0u, r + 2u, r + 2u < M);
  let r3 = select(0u, r + 3u, r + 3u < M);
  let c1 = select(0u, c + 1u, c + 1u < N);
  let c2 = select(0u, c + 2u, c + 2u < N);
  let c3 = select(0u, c + 3u, c + 3u < N);
  for (var bz = wid.z; bz < batches; bz = bz + nw.z) {{{_BATCH}
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var pa0 = ao + i32(r) * ars;
    var pa1 = ao + i32(r1) * ars;
    var pa2 = ao + i32(r2) * ars;
    var pa3 = ao + i32(r3) * ars;
    var pb0 = bo + i32(c) * bcs;
    let d1 = i32(c1 - c) * bcs;
    let d2 = i32(c2 - c) * bcs;
    let d3 = i32(c3 - c) * bcs;
    for (var k = 0u; k < K; k = k + 1u) {{
      let b = vec4<f32>(B[u32(pb0)], B[u32(pb0 + d1)], B[u32(pb0 + d2)], B[u32(pb0 + d3)]);
      acc0 = acc0 + A[u32(pa0)] * b;
      acc1 = acc1 + A[u32(pa1)] * b;
      acc2 = acc2 + A[u32(pa2)] * b;
      acc3 = acc3 + A[u32(pa3)] * b;
      pa0 = pa0 + aks;
      pa1 = pa1 + aks;
      pa2 = pa2 + aks;
      pa3 = pa3 + aks;
      pb0 = pb0 + bks;
    }}
    let ob = pu(10u) + bz * M * N;
    for (var j = 0u; j < 4u; j = j + 1u) {{
      if (c + j < N) {{
        C[ob + r * N + c + j] = acc0[j];
        if (r + 1u < M) {{ C[ob + (r + 1u) * N + c + j] = acc1[j]; }}
        if (r + 2u < M) {{ C[ob + (r + 2u) * N + c + j] = acc2[j]; }}
        if (r + 3u < M) {{ C[ob + (r + 3u) * N + c + j] = acc3[j]; }}
      }}
    }}
  }}
}}
"""


def matmul_vec4(b_transposed):
    """4 x 4 outputs per invocation with 4-vector loads: A's rows along K, and B's rows along N
    (or, b_transposed, B's columns along K: x @ W.t()). Needs K (and N) multiples of 4 and the
    operands' offsets and strides multiples of 4 (in vec4 units below); no barriers."""
    if b_transposed:
        loads_b = """
      let w0 = B[pb0 + k4];
      let w1 = B[pb1 + k4];
      let w2 = B[pb2 + k4];
      let w3 = B[pb3 + k4];
      acc0 = acc0 + vec4<f32>(dot(a0, w0), dot(a0, w1), dot(a0, w2), dot(a0, w3));
      acc1 = acc1 + vec4<f32>(dot(a1, w0), dot(a1, w1), dot(a1, w2), dot(a1, w3));
      acc2 = acc2 + vec4<f32>(dot(a2, w0), dot(a2, w1), dot(a2, w2), dot(a2, w3));
      acc3 = acc3 + vec4<f32>(dot(a3, w0), dot(a3, w1), dot(a3, w2), dot(a3, w3));"""
        setup_b = """
    let pb0 = (bo + i32(c) * bcs) / 4;
    let pb1 = (bo + i32(c1) * bcs) / 4;
    let pb2 = (bo + i32(c2) * bcs) / 4;
    let pb3 = (bo + i32(c3) * bcs) / 4;"""
    else:
        loads_b = """
      let kb = pb + k4 * 4 * bk4;
      let b0 = B[kb];
      let b1 = B[kb + bk4];
      let b2 = B[kb + 2 * bk4];
      let b3 = B[kb + 3 * bk4];
      acc0 = acc0 + a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
      acc1 = acc1 + a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
      acc2 = acc2 + a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
      acc3 = acc3 + a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;"""
        setup_b = """
    let bk4 = bks / 4;
    let pb = (bo + i32(c) * bcs) / 4;"""
    return HEADER + f"""
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nw: vec3<u32>) {{
  let M = pu(0u);
  let N = pu(1u);
  let K = pu(2u);
  let batches = pu(3u);
  let ars = pi(6u);
  let bks = pi(8u);
  let bcs = pi(9u);
  let r = gid.y * 4u;
  let c = gid.x * 4u;
  if (r >= M || c >= N) {{ return; }}
  let r1 = select(r, r + 1u, r + 1u < M);
  let r2 = select(r, r + 2u, r + 2u < M);
  let r3 = select(r, r + 3u, r + 3u < M);
  let c1 = select(c, c + 1u, c + 1u < N);
  let c2 = select(c, c + 2u, c + 2u < N);
  let c3 = select(c, c + 3u, c + 3u < N);
  let K4 = i32(K / 4u);
  for (var bz = wid.z; bz < batches; bz = bz + nw.z) {{{_BATCH}
    let pa0 = (ao + i32(r) * ars) / 4;
    let pa1 = (ao + i32(r1) * ars) / 4;
    let pa2 = (ao + i32(r2) * ars) / 4;
    let pa3 = (ao + i32(r3) * ars) / 4;{setup_b}
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k4 = 0; k4 < K4; k4 = k4 + 1) {{
      let a0 = A[pa0 + k4];
      let a1 = A[pa1 + k4];
      let a2 = A[pa2 + k4];
      let a3 = A[pa3 + k4];{loads_b}
    }}
    let ob = pu(10u) + bz * M * N;
    for (var j = 0u; j < 4u; j = j + 1u) {{
      if (c + j < N) {{
        C[ob + r * N + c + j] = acc0[j];
        if (r + 1u < M) {{ C[ob + (r + 1u) * N + c + j] = acc1[j]; }}
        if (r + 2u < M) {{ C[ob + (r + 2u) * N + c + j] = acc2[j]; }}
        if (r + 3u < M) {{ C[ob + (r + 3u) * N + c + j] = acc3[j]; }}
      }}
    }}
  }}
}}
"""


def matmul_simple():
    """One output element per thread: small or thin products (matrix-vector)."""
    return HEADER + f"""
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {{
  let M = pu(0u);
  let N = pu(1u);
  let K = pu(2u);
  let total = M * N * pu(3u);
  let ars = pi(6u);
  let aks = pi(7u);
  let bks = pi(8u);
  let bcs = pi(9u);
  for (var e = gid.x + gid.y * nw.x * 64u; e < total; e = e + nw.x * nw.y * 64u) {{
    let col = e % N;
    let t = e / N;
    let row = t % M;
    let bz = t / M;{_BATCH}
    var acc = 0.0;
    var pa = ao + i32(row) * ars;
    var pb = bo + i32(col) * bcs;
    for (var k = 0u; k < K; k = k + 1u) {{
      acc = acc + A[u32(pa)] * B[u32(pb)];
      pa = pa + aks;
      pb = pb + bks;
    }}
    C[pu(10u) + e] = acc;
  }}
}}
"""


# ---------------------------------------------------------------------------------------------
# indexed gather / scatter with up to 4 index arrays.
# The place in the indexed array of element j (a multi-index over the result shape S) is
#   base + sum_d j[d] * sst[d] + sum_t wrap_t(idx_t[ioff_t + sum_d j[d] * ist_t[d]]) * dstride_t
# Params: 0 n, 1 ndim, 2 base, 3 other offset (gather: out, scatter: values), 4..7 index offsets,
#         8..11 indexed dim sizes, 12..15 indexed dim strides, 16..23 S, 24..31 sst,
#         32..39 value strides (scatter), 40.. index strides (8 per index array)
def indexed(mode, k, data_store, idx_store="i32", val_store=None, nd=1):
    """mode: 'gather' (out[j] = data[place]), 'put' (data[place] = values[j]) or 'add'
    (data[place] += values[j], atomically). An invocation takes four consecutive elements along
    the innermost result dim (the outer dims' part of their places found once)."""
    lines = [f"@group(0) @binding(1) var<storage, read> {'src' if mode == 'gather' else 'vals'}: "
             f"array<{data_store if mode == 'gather' else val_store}>;"]
    for t in range(k):
        lines.append(f"@group(0) @binding({2 + t}) var<storage, read> idx{t}: array<{idx_store}>;")
    if mode == "gather":
        lines.append(f"@group(0) @binding({2 + k}) var<storage, read_write> out: array<{data_store}>;")
    elif mode == "add":
        atom = "u32" if data_store == "f32" else data_store
        lines.append(f"@group(0) @binding({2 + k}) var<storage, read_write> dst: array<atomic<{atom}>>;")
    else:
        lines.append(f"@group(0) @binding({2 + k}) var<storage, read_write> dst: array<{data_store}>;")
    lines.append(f"@group(0) @binding({3 + k}) var<storage, read_write> status: atomic<u32>;")
    body = ["    let row = q / qrow;", "    let col = (q - row * qrow) * 4u;", "    var rem = row;",
            "    var place = pi(2u);", "    var vo = pi(3u);"]
    for t in range(k):
        body.append(f"    var io{t} = pi({4 + t}u);")
    extra = [("place", 24)] + ([("vo", 32)] if mode != "gather" else []) + [(f"io{t}", 40 + 8 * t) for t in range(k)]
    body += _unrolled_walk(nd - 1, 0, False, [], extra)
    body.append(f"    let sl = pi({23 + nd}u);")
    if mode != "gather":
        body.append(f"    let vs = pi({31 + nd}u);")
    for t in range(k):
        body.append(f"    let is{t} = pi({39 + 8 * t + nd}u);")
    body.append("    var bad = false;")
    for j in range(4):
        body.append(f"    if (col + {j}u < inner) {{")
        body.append(f"      let cj = col + {j}u;")
        body.append("      var pl = place + i32(cj) * sl;")
        for t in range(k):
            body.append(f"      var v{t} = i32(idx{t}[u32(io{t} + i32(cj) * is{t})]);")
            body.append(f"      let n{t} = pi({8 + t}u);")
            body.append(f"      v{t} = select(v{t}, v{t} + n{t}, v{t} < 0);")
            body.append(f"      let out{t} = v{t} < 0 || v{t} >= n{t};")
            body.append(f"      bad = bad || out{t};")
            body.append(f"      pl = pl + select(v{t}, 0, out{t}) * pi({12 + t}u);")
        if mode == "gather":
            body.append("      out[u32(vo) + row * inner + cj] = src[u32(pl)];")
        else:
            value = convert("vals[u32(vo + i32(cj) * vs)]", val_store, data_store)
            if mode == "put":
                body.append(f"      dst[u32(pl)] = {value};")
            elif data_store == "f32":
                body.append(f"""      let v = {value};
      var old = atomicLoad(&dst[u32(pl)]);
      loop {{
        let res = atomicCompareExchangeWeak(&dst[u32(pl)], old, bitcast<u32>(bitcast<f32>(old) + v));
        if (res.exchanged) {{ break; }}
        old = res.old_value;
      }}""")
            else:
                body.append(f"      atomicAdd(&dst[u32(pl)], {value});")
        body.append("    }")
    body.append("    if (bad) { atomicStore(&status, 1u); }")
    return HEADER + "\n".join(lines) + f"""
@compute @workgroup_size({EW4_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {{
  let inner = pu({15 + nd}u);
  let qrow = (inner + 3u) / 4u;
  let total = (pu(0u) / inner) * qrow;
  let step = nw.x * {EW4_WG}u;
  for (var q = gid.x; q < total; q = q + step) {{
{chr(10).join(body)}
  }}
}}
"""
