"""What every backend declares: the capabilities the engine asks of a device type.

A backend file defines a subclass of `Backend` (its class attributes and methods below are the
declaration), names it `BACKEND`, and gives a `load()` that returns an instance or raises when the
device cannot run here. engine/backends/__init__.py lists the files; everything that depends on
which backends exist (device types, which backend owns an array, seeding) is read from there.
"""


class Backend:
    name = None      # the device type ("cpu", "cuda", "webgpu")
    xp = None        # the array namespace (NumPy's names) the ops are written against
    ndarray = None   # the backend's array class
    host = False     # True when its arrays are NumPy arrays in host memory (nothing to transfer)
    random = None    # a generator with seed(seed) that manual_seed seeds, or None

    def is_available(self):
        return True

    def device_count(self):
        return 1

    def device_of(self, array):
        return f"{self.name}:0"

    # -- host transfer ------------------------------------------------------------------------
    def from_numpy(self, array, index=None):
        raise NotImplementedError

    def to_numpy(self, array):
        raise NotImplementedError

    def synchronize(self, index=None):
        pass

    # -- special functions --------------------------------------------------------------------
    def special(self, name, x, host, n=None):
        """`scipy.special.<name>(x)` (polygamma: `polygamma(n, x)`) on this backend's array `x`.
        `host(values)` computes it on NumPy values; this default runs it there, on values read
        back, and puts the result back on the device. Backends with their own kernels override."""
        return self.xp.asarray(host(self.to_numpy(x)))
