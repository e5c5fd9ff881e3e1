"""PyTorch's CPU random stream, so a seeded program draws the same numbers as it does under PyTorch.

PyTorch's CPU generator is a 32-bit Mersenne Twister seeded with the low 32 bits of the seed (NumPy's
legacy MT19937 seeding is the same), and each distribution turns its words into numbers in a fixed
way, reproduced here:
- uniform: one word per float16/float32 value (its low 11/24 bits scaled to [0, 1)), two words per
  float64 value (53 bits), then `u * (to - from) + from` in double precision;
- normal: for 16 or more values, all uniforms first, then Box-Muller on blocks of 16 (j with j + 8),
  the last partial block redrawn; below 16, one double Box-Muller pair per two values, the second
  value kept for the next call (as PyTorch caches it);
- integers in [low, high): `word % (high - low) + low`, a 64-bit word where the range needs it;
- permutations: Fisher-Yates from the front, `word % (n - i)`;
- Bernoulli with a scalar p (dropout): `uniform64 < p`; with a tensor of p: `uniform32 < p`;
- log-normal, Cauchy and geometric values are drawn one at a time in double precision whatever the
  dtype: `exp(normal)` from the double Box-Muller pairs, `median + sigma * tan(pi * (u - 0.5))`,
  `ceil(log(u) / log1p(-p))`, u a double uniform.
float32 normals from 16 values up may differ from PyTorch's vectorised kernel in the last bit.
"""
import math

import numpy as np

_MASK53 = np.uint64((1 << 53) - 1)


def _fma(a, b, c):
    """a * b + c rounded once, as PyTorch's compiled kernels contract it: the exact product as a
    sum of two doubles (Dekker), added to c with its rounding error kept."""
    def split(x):
        t = x * 134217729.0  # 2**27 + 1
        high = t - (t - x)
        return high, x - high
    p = a * b
    (ah, al), (bh, bl) = split(a), split(b)
    error = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    back = s - p
    return s + (((p - (s - back)) + (c - back)) + error)


class TorchStream:
    def __init__(self, seed=None):
        # unseeded, a fresh seed per process, as PyTorch's default generator has
        self.manual_seed(int(np.random.SeedSequence().entropy % (1 << 63)) if seed is None else seed)

    # --- state
    def manual_seed(self, seed):
        self.seed = int(seed)
        self._bits = np.random.RandomState(self.seed % (1 << 64) & 0xFFFFFFFF)._bit_generator
        self._normal_cache = None

    def get_state(self):
        return {"seed": self.seed, "bits": self._bits.state, "normal_cache": self._normal_cache}

    def set_state(self, state):
        self.seed = state["seed"]
        self._bits.state = state["bits"]
        self._normal_cache = state["normal_cache"]

    # --- words
    def words32(self, n):
        return self._bits.random_raw(n).astype(np.uint64) if n else np.zeros(0, np.uint64)

    def words64(self, n):
        w = self.words32(2 * n)
        return (w[0::2] << np.uint64(32)) | w[1::2]

    # --- distributions (shape: a tuple; dtype: a NumPy float type)
    def unit_uniform(self, n, dtype):
        """n values in [0, 1) as PyTorch draws them for `dtype` (float64 results)."""
        if np.dtype(dtype) == np.float64:
            return (self.words64(n) & _MASK53).astype(np.float64) * 2.0 ** -53
        digits = np.finfo(dtype).nmant + 1
        return (self.words32(n) & np.uint64((1 << digits) - 1)).astype(np.float64) * 2.0 ** -digits

    def uniform(self, shape, dtype, low=0.0, high=1.0):
        n = math.prod(shape)
        low, high = float(np.dtype(dtype).type(low)), float(np.dtype(dtype).type(high))  # bounds in dtype first
        return (self.unit_uniform(n, dtype) * (high - low) + low).astype(dtype).reshape(shape)

    def normal(self, shape, dtype, mean=0.0, std=1.0):
        n = math.prod(shape)
        if n >= 16:
            data = self.unit_uniform(n, dtype).astype(dtype)
            compute = np.float64 if np.dtype(dtype) == np.float64 else np.float32
            data = data.astype(compute)
            for start in range(0, n - 15, 16):
                self._box_muller_16(data, start, mean, std)
            if n % 16:
                data[n - 16:] = self.unit_uniform(16, dtype).astype(dtype)
                self._box_muller_16(data, n - 16, mean, std)
            return data.astype(dtype).reshape(shape)
        out = np.empty(n, dtype=np.float64)
        for i in range(n):
            out[i] = self._normal_double() * std + mean
        return out.astype(dtype).reshape(shape)

    @staticmethod
    def _box_muller_16(data, start, mean, std):
        t = data.dtype.type
        u1 = t(1) - data[start:start + 8]
        u2 = data[start + 8:start + 16]
        radius = np.sqrt(t(-2) * np.log(u1))
        theta = (2.0 * math.pi * u2.astype(np.float64)).astype(t)  # 2π in double, as PyTorch writes it
        data[start:start + 8] = radius * np.cos(theta) * t(std) + t(mean)
        data[start + 8:start + 16] = radius * np.sin(theta) * t(std) + t(mean)

    def _normal_double(self):
        if self._normal_cache is not None:
            value, self._normal_cache = self._normal_cache, None
            return value
        u1, u2 = self.unit_uniform(2, np.float64)
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._normal_cache = r * math.sin(theta)
        return r * math.cos(theta)

    def integers(self, low, high, shape):
        n = math.prod(shape)
        span = int(high) - int(low)
        words = self.words64(n) if span >= 1 << 32 else self.words32(n)
        return ((words % np.uint64(span)).astype(np.int64) + int(low)).reshape(shape)

    def permutation(self, n):
        perm = np.arange(n, dtype=np.int64)
        words = self.words32(max(n - 1, 0)) if n < (1 << 32) // 20 else self.words64(max(n - 1, 0))
        for i, w in enumerate(words.tolist()):
            j = i + w % (n - i)
            perm[i], perm[j] = perm[j], perm[i]
        return perm

    def bernoulli(self, shape, p, dtype=np.float32):
        """Bernoulli(p) for a scalar p (PyTorch's bernoulli_(p) and dropout)."""
        return (self.unit_uniform(math.prod(shape), np.float64) < p).astype(dtype).reshape(shape)

    def bernoulli_tensor(self, p):
        """Bernoulli with one probability per element (torch.bernoulli(p))."""
        draws = np.float64 if p.dtype == np.float64 else np.float32  # PyTorch draws in p's precision
        return (self.unit_uniform(p.size, draws).reshape(p.shape) < p).astype(p.dtype)

    def exponential(self, shape, dtype, lambd=1.0):
        u = self.unit_uniform(math.prod(shape), dtype)
        return (-np.log1p(-u) / lambd).astype(dtype).reshape(shape)

    def log_normal(self, shape, dtype, mean=1.0, std=2.0):
        values = [math.exp(self._normal_double() * std + mean) for _ in range(math.prod(shape))]
        return np.array(values, dtype=np.float64).astype(dtype).reshape(shape)

    def cauchy(self, shape, dtype, median=0.0, sigma=1.0):
        u = self.unit_uniform(math.prod(shape), np.float64).tolist()
        tan = np.array([math.tan(math.pi * (v - 0.5)) for v in u], dtype=np.float64)  # libm's, to the last bit
        return _fma(np.float64(sigma), tan, np.float64(median)).astype(dtype).reshape(shape)

    def geometric(self, shape, dtype, p):
        u = self.unit_uniform(math.prod(shape), np.float64)
        with np.errstate(divide="ignore"):
            return np.ceil(np.log(u) / math.log1p(-p)).astype(dtype).reshape(shape)

    def choice(self, weights, num_samples, replacement):
        """Indices drawn in proportion to `weights` (torch.multinomial on one row)."""
        p = np.asarray(weights, dtype=np.float64)
        if replacement and num_samples > 1:  # PyTorch draws a single sample by the race below
            cdf = np.cumsum(p / p.sum())
            return np.minimum(np.searchsorted(cdf, self.unit_uniform(num_samples, np.float64), side="right"),
                              len(p) - 1)
        # without replacement: exponential races (the smallest key p_i / E_i wins), as PyTorch does
        keys = self.exponential((len(p),), np.float64) / np.where(p > 0, p, np.nan)
        return np.argsort(np.where(np.isnan(keys), np.inf, keys), kind="stable")[:num_samples]
