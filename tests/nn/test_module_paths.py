"""Layers and optimizers live where PyTorch has them: for every public class that engine.nn,
engine.optim and engine.optim.lr_scheduler share with torch, `gradview.engine.X.__module__` is torch's with
the package renamed (engine.nn.modules.linear.Linear, engine.optim.adam.Adam, ...), and every
public file of engine/nn/modules and engine/optim has a namesake in PyTorch."""
import importlib
import importlib.util
import pkgutil

import pytest

from nn_helpers import reference_torch

PACKAGES = ["nn", "optim", "optim.lr_scheduler"]


def _shared_classes(name):
    reference_torch()
    ours = importlib.import_module("gradview.engine." + name)
    theirs = importlib.import_module("torch." + name)
    return [(n, getattr(ours, n), getattr(theirs, n)) for n in sorted(dir(ours))
            if not n.startswith("_") and isinstance(getattr(ours, n), type) and isinstance(getattr(theirs, n, None), type)]


@pytest.mark.parametrize("package", PACKAGES)
def test_classes_live_in_pytorchs_modules(package):
    shared = _shared_classes(package)
    assert len(shared) > {"nn": 140, "optim": 13, "optim.lr_scheduler": 15}[package]
    wrong = [(n, ours.__module__, theirs.__module__) for n, ours, theirs in shared
             if ours.__module__.replace("gradview.engine.", "torch.", 1) != theirs.__module__]
    assert wrong == []


@pytest.mark.parametrize("package", ["nn.modules", "optim"])
def test_every_public_file_has_a_pytorch_namesake(package):
    reference_torch()
    ours = importlib.import_module("gradview.engine." + package)
    names = [m.name for m in pkgutil.iter_modules(ours.__path__) if not m.name.startswith("_")]
    assert names
    missing = [n for n in names if importlib.util.find_spec(f"torch.{package}.{n}") is None]
    assert missing == []
