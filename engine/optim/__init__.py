"""`torch.optim`: SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD,
SparseAdam, LBFGS, and learning-rate schedulers (`lr_scheduler`)."""
from .optimizer import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .rmsprop import RMSprop, Adagrad  # noqa: F401
from .more_optimizers import Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD, SparseAdam  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from . import lr_scheduler  # noqa: F401
