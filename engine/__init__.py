"""gradview's engine: a PyTorch-compatible tensor library with define-by-run autograd on NumPy.

`import gradview.engine as torch` gives the familiar API; code cells in the app get it as `torch`.
"""
if __name__ == "engine":   # the folder's own name, imported from a checkout: be gradview.engine
    import gradview as _gradview
    _gradview.alias_checkout_folder(__name__)

import numpy as _np

# PyTorch returns inf/nan silently for 1/0 and log(0); NumPy would warn on every such op
_np.seterr(divide="ignore", invalid="ignore", over="ignore", under="ignore")

from ._dtype import (dtype, bool_ as bool, uint8, int8, int16, int32, int64, float16, float32, float64,  # noqa: E402
                     get_default_dtype, set_default_dtype)
from ._device import device, set_default_device, get_default_device  # noqa: E402
from .tensor import Tensor, Size  # noqa: E402
from . import functions as _functions  # noqa: E402  (binds the Tensor methods)
from .creation import (tensor, as_tensor, from_numpy, empty, zeros, ones, full, arange, linspace, logspace,  # noqa
                       eye, rand, randn, randint, randperm, zeros_like, ones_like, empty_like, full_like, rand_like,
                       randn_like, randint_like, normal, bernoulli, multinomial, scalar_tensor, manual_seed, seed,
                       initial_seed, get_rng_state, set_rng_state, Generator, default_generator)
from .autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode  # noqa: E402
from ._tensor_str import set_printoptions, get_printoptions  # noqa: E402
from . import autograd, cuda, backends, amp, accelerator, _compat, _tensortype  # noqa: E402
from .amp import autocast  # noqa: E402
from . import testing  # noqa: E402
autograd.gradcheck, autograd.gradgradcheck = testing.gradcheck, testing.gradgradcheck  # torch.autograd's names
from .serialization import save, load  # noqa: E402
from ._compat import (finfo, iinfo, promote_types, result_type, can_cast, is_complex, is_nonzero, typename,  # noqa
                      get_num_threads, set_num_threads, get_num_interop_threads, set_num_interop_threads,
                      use_deterministic_algorithms, are_deterministic_algorithms_enabled,
                      is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision,
                      get_float32_matmul_precision)

globals().update(_functions.FUNCTIONS)

float = float32
double = float64
half = float16
long = int64
int = int32
short = int16
uint8 = uint8
globals().update(_tensortype.cpu_types())  # FloatTensor, LongTensor, ...: the legacy typed constructors
set_default_tensor_type = _tensortype.set_default_tensor_type
strided = "torch.strided"
contiguous_format = preserve_format = channels_last = None
pi = 3.141592653589793
e = 2.718281828459045
inf = _np.inf
nan = _np.nan
from gradview import __version__ as _gradview_version  # noqa: E402
__version__ = f"2.13.0+gradview.{_gradview_version}"   # the PyTorch API it follows, then gradview's own version


def is_inference_mode_enabled():
    return False


def compile(model=None, **kwargs):
    """No compiler here: returns the model unchanged, so `torch.compile(model)` code still runs."""
    return model if model is not None else (lambda fn: fn)


def __getattr__(name):
    # submodules that import the rest of the engine load on first use
    import importlib
    if name in ("nn", "optim", "utils", "graph", "viz", "linalg", "special", "distributions",
                "distributed", "storage", "fft", "signal", "masked"):
        return importlib.import_module(f"{__name__}.{name}")
    fn = _compat.torch_level(name)
    if fn is not None:
        return fn
    raise AttributeError(f"module 'gradview.engine' has no attribute '{name}'")
