"""The NumPy backend: runs everywhere, CPython and Pyodide alike."""
import numpy as np


class NumpyRandom:
    def __init__(self):
        self.generator = np.random.default_rng()

    def seed(self, seed):
        self.generator = np.random.default_rng(seed)

    def get_state(self):
        return self.generator.bit_generator.state

    def set_state(self, state):
        self.generator.bit_generator.state = state


class NumpyBackend:
    name = "cpu"
    xp = np
    ndarray = np.ndarray

    def __init__(self):
        self.random = NumpyRandom()

    def is_available(self):
        return True

    def device_count(self):
        return 1

    def from_numpy(self, array, index=None):
        return array

    def to_numpy(self, array):
        return array

    def synchronize(self, index=None):
        pass


def load():
    return NumpyBackend()
