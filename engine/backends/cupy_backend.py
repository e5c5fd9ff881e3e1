"""The CUDA backend through CuPy: `cuda` / `cuda:N` devices on an NVIDIA GPU.

CuPy is an optional extra (`pip install "gradview[cuda]"`). Without it, or without a GPU,
`load()` raises and the backends registry marks cuda as unavailable; nothing else changes.
"""
from .base import Backend


class CupyRandom:
    """One CuPy generator per process, seeded by engine.manual_seed as PyTorch seeds CUDA too."""

    def __init__(self, cupy):
        self._cupy = cupy
        self.generator = cupy.random.default_rng()

    def seed(self, seed):
        self.generator = self._cupy.random.default_rng(seed)


class CupyBackend(Backend):
    name = "cuda"

    def __init__(self, cupy):
        self.xp = cupy
        self.ndarray = cupy.ndarray
        self._count = cupy.cuda.runtime.getDeviceCount()
        self.random = CupyRandom(cupy)

    def is_available(self):
        return self._count > 0

    def device_count(self):
        return self._count

    def device_name(self, index=0):
        name = self.device_properties(index)["name"]
        return name.decode() if isinstance(name, bytes) else name

    def device_properties(self, index=0):
        return self.xp.cuda.runtime.getDeviceProperties(index)

    def memory_pool(self):
        return self.xp.get_default_memory_pool()

    def device_of(self, array):
        return f"cuda:{array.device.id}"

    def from_numpy(self, array, index=None):
        with self.xp.cuda.Device(0 if index is None else index):
            return self.xp.asarray(array)

    def to_numpy(self, array):
        return self.xp.asnumpy(array)

    def synchronize(self, index=None):
        if index is None:
            self.xp.cuda.Device().synchronize()
        else:
            self.xp.cuda.Device(int(str(index).split(":")[-1])).synchronize()

    def special(self, name, x, host, n=None):
        """cupyx.scipy.special where it is installed, else through the host."""
        try:
            from cupyx.scipy import special
        except ImportError:
            return super().special(name, x, host, n)
        if n is not None:  # cupyx wants the order as an array
            return getattr(special, name)(self.xp.full_like(x, n), x)
        return getattr(special, name)(x)


BACKEND = CupyBackend


def load():
    import cupy  # noqa: F401  (ImportError here means: no cuda device)
    backend = CupyBackend(cupy)
    if not backend.is_available():
        raise RuntimeError("CuPy found no CUDA device")
    return backend
