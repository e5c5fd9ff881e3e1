"""Learner-style PyTorch programs (tests/engine/learner_corpus/*.py), each run as a script under
PyTorch and under the engine (`python -m gradview.engine.run`): both must print the same text, numbers to
a tolerance. Where PyTorch is not installed the engine's output is compared with PyTorch's output
recorded beside the programs (`expected/NAME.out`), which

    python -m tests.engine.test_learner_corpus --update

writes from the installed PyTorch."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "learner_corpus"
EXPECTED = CORPUS / "expected"
ROOT = HERE.parent.parent
PROGRAMS = sorted(p.name for p in CORPUS.glob("p*.py"))

# a number as Python and PyTorch print them: 1, -2.5, 3.0000e-05, 1.e+10, inf, nan
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan")
_TOKEN = re.compile(_NUMBER.pattern + r"|[A-Za-z_][A-Za-z_0-9]*|\S")


_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+")


def _tokens(text):
    # object addresses (`<AddBackward0 object at 0x7f...>`) differ from run to run
    return _TOKEN.findall(_ADDRESS.sub("ADDRESS", text))


def _is_number(token):
    return _NUMBER.fullmatch(token) is not None


def compare(ours, theirs, rtol=1e-4, atol=1e-5):
    """None when the two outputs agree (same non-numeric tokens, numbers within tolerance);
    otherwise a message naming the first difference and its line."""
    a, b = _tokens(ours), _tokens(theirs)
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            continue
        if _is_number(x) and _is_number(y):
            fx, fy = float(x), float(y)
            if fx == fy or abs(fx - fy) <= atol + rtol * abs(fy):
                continue
        context = " ".join(b[max(0, i - 8):i + 4])
        return f"token {i}: engine {x!r}, PyTorch {y!r} (PyTorch around it: {context})"
    if len(a) != len(b):
        return f"engine printed {len(a)} tokens, PyTorch {len(b)} (tail: {' '.join((a if len(a) > len(b) else b)[min(len(a), len(b)):][:12])})"
    return None


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONHASHSEED"] = "0"
    return env


def run_program(name, engine=True, timeout=120):
    """The program's stdout, run under the engine (`python -m gradview.engine.run`) or under PyTorch."""
    path = str(CORPUS / name)
    cmd = [sys.executable, "-m", "gradview.engine.run", path] if engine else [sys.executable, path]
    done = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{name} failed under {'the engine' if engine else 'PyTorch'}:\n{done.stderr[-3000:]}")
    return done.stdout


def _torch_installed():
    try:
        import importlib.util
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def test_corpus_size_and_recordings():
    assert len(PROGRAMS) >= 20
    for name in PROGRAMS:
        assert (EXPECTED / (name[:-3] + ".out")).is_file(), f"no recorded PyTorch output for {name}"


@pytest.mark.parametrize("name", PROGRAMS)
def test_engine_matches_recorded_pytorch_output(name):
    recorded = (EXPECTED / (name[:-3] + ".out")).read_text()
    problem = compare(run_program(name), recorded)
    assert problem is None, f"{name}: {problem}"


@pytest.mark.parametrize("name", PROGRAMS)
def test_recording_is_pytorch_output(name):
    if not _torch_installed():
        pytest.skip("PyTorch is not installed: the recorded output stands in for it")
    recorded = (EXPECTED / (name[:-3] + ".out")).read_text()
    problem = compare(run_program(name, engine=False), recorded)
    assert problem is None, f"{name}: recorded output is stale ({problem}); rerun with --update"


def test_compare_tolerates_last_digits_only():
    assert compare("tensor([0.1235, 2.0000])", "tensor([0.1234, 2.0000])", rtol=1e-3) is None
    assert compare("tensor([0.2, 2.0])", "tensor([0.1, 2.0])") is not None
    assert compare("loss 1", "loss 1 2") is not None
    assert compare("grad_fn=<AddBackward0>", "grad_fn=<MulBackward0>") is not None
    assert compare("1e-05 inf nan", "1.0000e-05 inf nan") is None
    assert compare("<MulBackward0 object at 0x7f0a>", "<MulBackward0 object at 0x7f2b>") is None


def test_softmax_without_dim_warns_at_the_callers_line():
    # learner code often calls F.softmax(x) without dim: PyTorch's warning names the caller's line
    import warnings
    from gradview import engine
    for fn in (engine.nn.functional.softmax, engine.nn.functional.log_softmax, engine.nn.functional.softmin):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn(engine.ones(2))
        assert [w.filename for w in caught] == [__file__], fn.__name__


def main(argv):
    if "--update" not in argv:
        print(__doc__)
        return 2
    EXPECTED.mkdir(exist_ok=True)
    names = [a for a in argv if a != "--update"] or PROGRAMS
    for name in names:
        out = run_program(name, engine=False)
        (EXPECTED / (name[:-3] + ".out")).write_text(out)
        print("recorded", name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
