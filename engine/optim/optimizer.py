"""`Optimizer`: parameter groups, per-parameter state, zero_grad and state_dict round trips.

Updates run on the raw arrays (`p._data`) with PyTorch's single-tensor ("for-loop") formulas, the
implementation PyTorch itself uses on the CPU. Each update bumps the parameter's version counter,
as PyTorch's in-place updates do.
"""
import collections
import copy
import functools
import warnings

import numpy as np

from .. import _state
from ..tensor import Tensor
from ..autograd import enable_grad
from ..nn.parameter import zero_grads

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj):
    if isinstance(obj, Tensor):
        return "torch." + {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor"}.get(
            obj.dtype.name, "Tensor")
    return type(obj).__module__ + "." + type(obj).__qualname__ if type(obj).__module__ != "builtins" \
        else type(obj).__qualname__


def _state_tensor(array):
    return Tensor._make(array)


def _recorded(step):
    """`step`, telling an active capture what it changed (the recorder's optimizer_step): one place
    for every optimizer's update to show in the graph."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        recorder = _state.recorder
        if recorder is None:
            return step(self, *args, **kwargs)
        return recorder.optimizer_step(self, lambda: step(self, *args, **kwargs))
    wrapper._records_updates = True
    return wrapper


class Optimizer:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_records_updates", False):
            cls.step = _recorded(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = collections.defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, but "
                            "got " + _typename(params))
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(dict(param_group))

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        format_string = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            format_string += "\n"
            format_string += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key not in ("params", "param_names"):
                    format_string += f"    {key}: {group[key]}\n"
        format_string += ")"
        return format_string

    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        extracted, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                extracted.append(param[1])
            else:
                extracted.append(param)
        if names:
            if len(names) != len(extracted):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        param_group["params"] = extracted
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + _typename(param))
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        param_set = set()
        for group in self.param_groups:
            param_set.update(id(p) for p in group["params"])
        if not param_set.isdisjoint(id(p) for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def _closure(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def step(self, closure=None):
        raise NotImplementedError

    # -----------------------------------------------------------------------------------------
    def state_dict(self):
        param_mappings = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            param_mappings.update({id(p): i for i, p in enumerate(group["params"], start_index)
                                   if id(p) not in param_mappings})
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict):
        state_dict = copy.deepcopy(_plain(state_dict))
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        param_lens = (len(g["params"]) for g in groups)
        saved_lens = (len(g["params"]) for g in saved_groups)
        if any(p_len != s_len for p_len, s_len in zip(param_lens, saved_lens)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = {}
        for old_group, new_group in zip(saved_groups, groups):
            for old_id, p in zip(old_group["params"], new_group["params"]):
                id_map[old_id] = p

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                if key == "step":
                    return value
                if param.dtype.is_floating_point and value.dtype.is_floating_point:
                    value = value.to(param.dtype)
                return value.to(param.device)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            return value

        state = collections.defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = v
        new_groups = []
        for group, new_group in zip(groups, saved_groups):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            new_groups.append(new_group)
        self.__setstate__({"state": state, "param_groups": new_groups})

    # helpers for the update rules
    def _scratch(self, p, slot=0):
        """A reusable work array shaped like p (not part of the state dict): large temporaries
        allocated afresh on every step would cost more than the arithmetic."""
        buffers = self.__dict__.setdefault("_scratch_buffers", {})
        key = (id(p), slot)
        buf = buffers.get(key)
        data = p._data
        if buf is None or buf.shape != data.shape or buf.dtype != data.dtype:
            buf = buffers[key] = np.empty_like(data)
        return buf

    def _lazy_state(self, p, key, fill=0.0):
        state = self.state[p]
        t = state.get(key)
        if t is None:
            t = state[key] = _state_tensor(p._xp.full(p._data.shape, fill, dtype=p._data.dtype))
        return t._data


def _plain(obj):
    """Arrays and other libraries' tensors in a state dict become engine tensors."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, np.ndarray) or (hasattr(obj, "detach") and hasattr(obj, "numpy")):
        from ..creation import tensor
        if hasattr(obj, "detach"):
            obj = obj.detach().cpu().numpy()
        return tensor(np.array(obj))
    return obj


def _step_tensor(state, dtype=np.float32):
    """The per-parameter step count, a float32 0-d tensor as in PyTorch."""
    t = state.get("step")
    if t is None:
        t = state["step"] = _state_tensor(np.zeros((), dtype=dtype))
    t._data += 1
    return float(t._data)
