"""The engine against PyTorch's own oracles (see tests/engine/pytorch_oracles.py): OpInfo sample
inputs for values and gradients, and the public API's signatures. Each test fails when something
listed as passing in its baseline file regresses, and reports the coverage figures."""
import warnings

import pytest

from tests.engine import pytorch_oracles as oracles

pytest.importorskip("torch", reason="PyTorch is the reference implementation")
pytest.importorskip("expecttest", reason="PyTorch's OpInfo database needs expecttest")


class Coverage(UserWarning):
    """How much of PyTorch's API the engine matches (shown in pytest's warnings summary)."""


def _regressions(results, baseline):
    """{op: (status, detail)} for the baseline ops that no longer pass."""
    return {name: results.get(name, ("gone", "", 0))[:2] for name in sorted(baseline)
            if results.get(name, ("gone",))[0] != "pass"}


def test_opinfo_ops_match_pytorch(device):
    op_db = oracles.load_op_db()
    baseline = oracles.read_baseline(oracles.OPINFO_BASELINE)
    if device == "cpu":
        results = oracles.run_opinfo(op_db)
        warnings.warn(oracles.opinfo_summary(results), Coverage)
    else:  # the cuda code paths: a spread-out quarter of the passing ops, on their first usable sample
        ops = oracles.every_nth([op for op in op_db if oracles.op_key(op) in baseline], 4)
        results = oracles.run_opinfo(ops, 1, device)
        baseline = {oracles.op_key(op) for op in ops}
    regressed = _regressions(results, baseline)
    assert not regressed, f"{len(regressed)} ops no longer match PyTorch: {regressed}"


def test_public_names_accept_pytorch_signatures():
    results = oracles.run_signatures()
    warnings.warn(oracles.signature_summary(results), Coverage)
    baseline = oracles.read_baseline(oracles.SIGNATURE_BASELINE)
    regressed = {name: results.get(name, "gone") for name in sorted(baseline) if results.get(name, "gone") is not None}
    assert not regressed, f"{len(regressed)} names lost PyTorch's signature: {regressed}"
