"""PyTorch's keyword names for the engine's public functions where the engine's own differ.

PyTorch names a function's first operand `input` (`torch.sum(input=t)`), and its argument parser
also takes NumPy's `axis=` for `dim` and `keepdims=` for `keepdim`. The engine's ops name their
first operand as suits their maths (`x`, `A`, `t`): the wrapper made here, only around the
functions that need it (a call through it costs a Python frame), takes PyTorch's spellings and
lists them in `keyword_aliases` for the signature checks.
"""
import functools
import inspect

# the engine's names for a function's first tensor operand (a first parameter named otherwise
# is not a tensor operand: `cat(tensors)`, `zeros(*size)`, `where(condition)`)
_OPERAND_NAMES = frozenset(("x", "a", "A", "t", "tensor", "self"))
_NAMED = {"axis": "dim", "keepdims": "keepdim"}


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
        aliases["input"] = first.name
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
