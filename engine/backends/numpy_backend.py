"""The NumPy backend: runs everywhere, CPython and Pyodide alike."""
import numpy as np

from .base import Backend


class NumpyRandom:
    def __init__(self):
        self.generator = np.random.default_rng()

    def seed(self, seed):
        self.generator = np.random.default_rng(seed)

    def get_state(self):
        return self.generator.bit_generator.state

    def set_state(self, state):
        self.generator.bit_generator.state = state


class NumpyBackend(Backend):
    name = "cpu"
    xp = np
    ndarray = np.ndarray
    host = True
    random = None  # cpu draws come from engine.creation's generators, which manual_seed seeds itself

    def from_numpy(self, array, index=None):
        return array

    def to_numpy(self, array):
        return array


BACKEND = NumpyBackend


def load():
    return NumpyBackend()
