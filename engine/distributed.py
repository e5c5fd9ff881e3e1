"""`torch.distributed`: importable, and not available, as in a PyTorch build without it; scripts
that check `is_available()` or `is_initialized()` take their single-process path."""


def is_available():
    return False


def is_initialized():
    return False


def get_rank(group=None):
    return 0


def get_world_size(group=None):
    return 1


def init_process_group(*args, **kwargs):
    raise RuntimeError("torch.distributed is not available in this build")
