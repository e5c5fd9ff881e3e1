"""The op registry: how each public op is reached, said once, where the op is declared.

An op's declaration carries its bindings as arguments (`UnaryOp(..., torch="exp", inplace=True)`,
`@binds("sort")` over a function): the `torch.*` names, the Tensor method names, the in-place
twins (`exp_`), and the `torch.special` / `torch.linalg` names. `install(Tensor)` then makes the
torch-level table, the methods and the in-place methods from these records, once, at import time;
nothing here runs per call.

Binding arguments:
- `torch`: a name or a tuple of names for `torch.<name>` (the first is the op's own name);
- `method`: True (the torch names), a name, a tuple of names, or a dict {name: function} for a
  method whose argument order differs from the function's; False: no method;
- `inplace`: True (`<method>_` for every method name), a tuple of method names ending in `_`, or a
  dict {name_: function}; the function's result is written back into the tensor;
- `special`, `linalg`: names in `torch.special` and `torch.linalg`;
- `prop`: names of read-only Tensor properties computed by the function.
A name may be bound once; binding it again to another function is an error unless `replace=True`
says the later declaration deliberately takes over (PyTorch's overloads written as one function).
"""
import sys

FUNCTIONS = {}   # torch.<name> -> function
METHODS = {}     # Tensor.<name> -> function taking the tensor first
INPLACE = {}     # Tensor.<name>_ -> out-of-place function whose result is written back
PROPERTIES = {}  # Tensor.<name> (read-only property) -> function of the tensor
SPECIAL = {}     # torch.special.<name> -> function
LINALG = {}      # torch.linalg.<name> -> function

ORIGIN = {}      # (kind, name) -> the module whose declaration made the binding

_TABLES = {"torch": FUNCTIONS, "method": METHODS, "inplace": INPLACE, "prop": PROPERTIES,
           "special": SPECIAL, "linalg": LINALG}


def _names(value):
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _put(kind, name, fn, replace, origin):
    table = _TABLES[kind]
    old = table.get(name)
    if old is not None and old is not fn and not replace:
        raise ValueError(f"{kind} name '{name}' is bound twice ({old!r} and {fn!r})")
    table[name] = fn
    ORIGIN[kind, name] = origin


def _declaring_module():
    """The module whose top-level code is running the declaration (declarations are made at import)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name != "<module>":
        frame = frame.f_back
    return frame.f_globals.get("__name__") if frame is not None else None


def bound_in(module):
    """{kind: [names]} of the bindings declared in `module` ("gradview.engine.ops.sorting"), in declaration order."""
    out = {kind: [] for kind in _TABLES}
    for (kind, name), origin in ORIGIN.items():
        if origin == module:
            out[kind].append(name)
    return out


def register(fn, torch=(), method=True, inplace=False, special=(), linalg=(), prop=(), replace=False):
    """Record the bindings of the public function (or callable op) `fn`; returns `fn`."""
    origin = _declaring_module()
    torch_names = _names(torch)
    for name in torch_names:
        _put("torch", name, fn, replace, origin)
    if method is True:
        methods = {name: fn for name in torch_names}
    elif isinstance(method, dict):
        methods = method
    else:
        methods = {name: fn for name in _names(method)}
    for name, target in methods.items():
        _put("method", name, target, replace, origin)
    if inplace is True:
        twins = {name + "_": target for name, target in methods.items()}
    elif isinstance(inplace, dict):
        twins = inplace
    else:
        twins = {name: fn for name in _names(inplace)}
    for name, target in twins.items():
        _put("inplace", name, target, replace, origin)
    for kind, value in (("special", special), ("linalg", linalg), ("prop", prop)):
        for name in _names(value):
            _put(kind, name, fn, replace, origin)
    return fn


def binds(*torch, method=True, inplace=False, special=(), linalg=(), prop=(), replace=False):
    """Decorator form of `register`: `@binds("sort", "msort")` over the function."""
    def decorate(fn):
        return register(fn, torch, method, inplace, special, linalg, prop, replace)
    return decorate
