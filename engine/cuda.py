"""`torch.cuda`: the CUDA device through the CuPy backend, unavailable (not an error) without it."""
from . import backends


def is_available():
    return backends.is_available("cuda")


def device_count():
    return backends.get("cuda").device_count() if is_available() else 0


def current_device():
    backends.get("cuda")
    return 0


def get_device_name(device=None):
    return backends.get("cuda").device_name(0 if device is None else int(str(device).split(":")[-1]))


def synchronize(device=None):
    if is_available():
        backends.get("cuda").synchronize(device)


def manual_seed(seed):
    if is_available():
        backends.get("cuda").random.seed(int(seed))


manual_seed_all = manual_seed


def is_initialized():
    return is_available()
