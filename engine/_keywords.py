"""The keyword aliases PyTorch's argument parser accepts, given to the engine's public functions.

PyTorch takes `input=` for a function's first operand, and also NumPy's spellings `x=`, `a=`,
`x1=` for it, `x2=` for `other`, `axis=` for `dim` and `keepdims=` for `keepdim`
(`torch.sum(a=t, axis=1, keepdims=True)`). The engine's ops name their first operand as suits
their maths (`x`, `A`, `t`): the wrapper made here takes every spelling PyTorch takes, and lists
them in `keyword_aliases` for the signature checks.
"""
import functools
import inspect

_OPERAND = ("input", "x", "a", "x1")  # one operand, four names in PyTorch's parser
# the engine's names for a function's first tensor operand (a first parameter named otherwise
# is not a tensor operand: `cat(tensors)`, `zeros(*size)`, `where(condition)`)
_OPERAND_NAMES = frozenset(_OPERAND + ("A", "t", "tensor", "self"))
_NAMED = {"x2": "other", "axis": "dim", "keepdims": "keepdim"}


def keyword_aliases(fn, method=False):
    """{alias: parameter} of the PyTorch spellings `fn` does not take by name itself."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return {}
    aliases = {alias: name for alias, name in _NAMED.items() if name in params and alias not in params}
    first = next(iter(params.values()), None)
    if not method and first is not None and first.kind is first.POSITIONAL_OR_KEYWORD and \
            first.name in _OPERAND_NAMES:
        aliases.update({alias: first.name for alias in _OPERAND if alias not in params})
    return aliases


def accepting_torch_keywords(fn, method=False):
    """fn, also taking PyTorch's keyword aliases for its parameters (fn itself when it needs none)."""
    aliases = keyword_aliases(fn, method)
    if not aliases:
        return fn

    @functools.wraps(fn)
    def accepting(*args, **kwargs):
        if kwargs:
            for alias in aliases.keys() & kwargs.keys():
                kwargs[aliases[alias]] = kwargs.pop(alias)
        return fn(*args, **kwargs)
    accepting.keyword_aliases = aliases
    return accepting


def accepting_in(table):
    """{name: function} with each function taking PyTorch's keyword aliases."""
    return {name: accepting_torch_keywords(fn) for name, fn in table.items()}
