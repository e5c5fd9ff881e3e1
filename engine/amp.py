"""`torch.autocast` and `torch.amp.GradScaler`, so mixed-precision training scripts run unchanged.

The engine has no reduced-precision kernels to switch to: inside autocast every op runs in its
tensors' own dtype (float32 stays float32), so results are what the script would give with
autocast disabled. With nothing in float16, there is no gradient underflow to guard against and the
scaler behaves as PyTorch's does when disabled: scale() returns the loss as it is, step() steps,
get_scale() is 1.0.
"""
import functools


class autocast:
    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device_type = device_type
        self.fast_dtype = dtype
        self._enabled = enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapped


class GradScaler:
    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._requested = enabled

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer):
        pass

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        pass

    def get_scale(self):
        return 1.0

    def is_enabled(self):
        return False  # nothing runs in reduced precision, so nothing is scaled

    def state_dict(self):
        return {}

    def load_state_dict(self, state_dict):
        pass
