"""Where a call came from: the first stack frame outside the engine, cached per code object."""
import os
import sys

ENGINE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
getframe = sys._getframe

# id(code object) -> True when it belongs to the engine package. Keyed by id because hashing a
# code object hashes its contents; the code objects are kept in _seen_codes so ids stay unique.
engine_codes = {}
_seen_codes = []
ENGINE_IDS = set()  # the same, as two sets for the hot path
USER_IDS = set()


def _is_engine_code(code):
    name = code.co_filename
    if not name or name[0] == "<":
        return False
    return os.path.abspath(name).startswith(ENGINE_DIR)


def user_frame(f):
    """The first frame at or above `f` whose code is not part of the engine (None if all are)."""
    eng = engine_codes
    while f is not None:
        code = f.f_code
        e = eng.get(id(code))
        if e is None:
            e = classify(code)
        if not e:
            return f
        f = f.f_back
    return None


def classify(code):
    e = engine_codes[id(code)] = _is_engine_code(code)
    _seen_codes.append(code)
    (ENGINE_IDS if e else USER_IDS).add(id(code))
    return e


