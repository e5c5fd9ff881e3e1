"""Argument normalisers shared by the layer modules: an int or a sequence to an n-tuple."""


def _ntuple(n):
    def parse(x):
        if isinstance(x, (tuple, list)):
            return tuple(x)
        return (x,) * n
    return parse


_single = _ntuple(1)


_pair = _ntuple(2)


_triple = _ntuple(3)
