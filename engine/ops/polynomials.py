"""Orthogonal polynomials of `torch.special`: chebyshev_polynomial_t/u/v/w and their shifted forms,
hermite_polynomial_h/he, laguerre_polynomial_l, legendre_polynomial_p. p(input, n) for an integer
degree n (a tensor's values are truncated, as PyTorch reads them; a negative degree gives 0), by the
three-term recurrences, on any backend's arrays. No gradient, as in PyTorch."""
from ._registry import register
from .binary import _binary


def _recurrence(first, step, shift=False):
    """p_0 = 1, p_1 = first(x), p_{k+1} = step(k, x, p_k, p_{k-1}); broadcast over x and n."""
    def forward(xp, x, n):
        if shift:
            x = 2 * x - 1
        x, n = xp.broadcast_arrays(x, n)
        n = xp.trunc(n) if n.dtype.kind == "f" else n
        top = int(n.max()) if n.size else 0
        prev, cur = xp.ones_like(x), first(x)
        out = xp.where(n == 0, prev, xp.zeros_like(x))
        out = xp.where(n == 1, cur, out)
        for k in range(1, top):
            prev, cur = cur, step(k, x, cur, prev)
            out = xp.where(n == k + 1, cur, out)
        return out
    return forward


_CHEBYSHEV_STEP = lambda k, x, p, q: 2 * x * p - q  # noqa: E731
_FORMS = {
    "chebyshev_polynomial_t": (lambda x: x, _CHEBYSHEV_STEP),
    "chebyshev_polynomial_u": (lambda x: 2 * x, _CHEBYSHEV_STEP),
    "chebyshev_polynomial_v": (lambda x: 2 * x - 1, _CHEBYSHEV_STEP),
    "chebyshev_polynomial_w": (lambda x: 2 * x + 1, _CHEBYSHEV_STEP),
    "hermite_polynomial_h": (lambda x: 2 * x, lambda k, x, p, q: 2 * x * p - 2 * k * q),
    "hermite_polynomial_he": (lambda x: x, lambda k, x, p, q: x * p - k * q),
    "laguerre_polynomial_l": (lambda x: 1 - x, lambda k, x, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1)),
    "legendre_polynomial_p": (lambda x: x, lambda k, x, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1)),
}


def _declare(name, first, step, shift=False):
    title = "".join(part.capitalize() for part in name.split("_"))
    op = _binary(f"Special{title}Backward0", _recurrence(first, step, shift), None, None, save="",
                 differentiable=False, kind=name)

    def polynomial(x, n, *, out=None):  # PyTorch's parameter names
        return op(x, n, out=out)
    polynomial.__name__ = polynomial.__qualname__ = name
    return register(polynomial, method=False, special=name)


for _name, (_first, _step) in list(_FORMS.items()):
    globals()[_name] = _declare(_name, _first, _step)
    if _name.startswith("chebyshev"):
        _shifted = "shifted_" + _name
        globals()[_shifted] = _declare(_shifted, _first, _step, shift=True)
