"""The layer modules of engine.nn."""
from .module import Module, register_module_forward_hook, register_module_forward_pre_hook  # noqa: F401
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict  # noqa: F401
from .linear import Identity, Linear, Bilinear, Flatten, Unflatten  # noqa: F401
from .conv import Conv1d, Conv2d  # noqa: F401
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool2d,  # noqa: F401
                      AdaptiveMaxPool2d)
from .activation import (ReLU, ReLU6, LeakyReLU, GELU, ELU, SELU, SiLU, Mish, Softplus, Hardtanh,  # noqa: F401
                         Sigmoid, Tanh, LogSigmoid, Softsign, Hardswish, Hardsigmoid, Threshold, Softmax,
                         Softmin, LogSoftmax)
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout  # noqa: F401
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm, GroupNorm  # noqa: F401
from .sparse import Embedding  # noqa: F401
from .loss import (L1Loss, MSELoss, SmoothL1Loss, HuberLoss, NLLLoss, CrossEntropyLoss, BCELoss,  # noqa: F401
                   BCEWithLogitsLoss, KLDivLoss)
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell  # noqa: F401
from .attention_layers import *  # noqa: F401,F403
from .more_layers import *  # noqa: F401,F403
from .spatial_layers import *  # noqa: F401,F403
