"""Elementwise kernels for backends that compile them (CuPy): several array ops in one launch.

On the cuda device every array op is a kernel launch costing ~10-20 µs of Python and driver time,
which dominates small per-step work (an optimizer's update, an LSTM cell). A kernel body is a list
of statements in the part of CUDA C that is also Python: assignments to an output or to a
temporary declared `T name = ...`, + - * /, parentheses, sqrt, tanh, exp, log, max and min.
`xp.ElementwiseKernel` compiles it on CuPy; the CuPy look-alike the tests use runs the same
statements on NumPy arrays, so the fused paths are tested everywhere. Backends without
`ElementwiseKernel` (NumPy, WebGPU) get None and keep their array code.
"""

_kernels = {}


def kernel(xp, name, scalars, inputs, outputs, statements):
    """The compiled update `name` for backend namespace `xp`, or None where xp compiles no kernels.

    It is called as kernel(*inputs, *scalars, *outputs): `inputs` are read-only arrays, `scalars`
    read-only numbers, `outputs` arrays updated in place; all share one element type T."""
    make = getattr(xp, "ElementwiseKernel", None)
    if make is None:
        return None
    body = ";\n".join(statements) + ";"
    key = (id(xp), name, body)
    k = _kernels.get(key)
    if k is None:
        in_params = ", ".join(f"T {n}" for n in (*inputs, *scalars))
        out_params = ", ".join(f"T {n}" for n in outputs)
        k = _kernels[key] = make(in_params, out_params, body, f"gradview_{name}")
    return k
