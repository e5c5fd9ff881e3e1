"""`torch.fft`: the discrete Fourier transforms the engine can represent (engine/ops/spectral.py).
The engine has no complex dtype: the transforms with a complex result are absent."""
from .ops.spectral import FFT as _FFT

globals().update(_FFT)
