"""Recurrent layers: RNN, LSTM, GRU (num_layers, bidirectional, batch_first, dropout between
layers, unbatched input, PackedSequence input) and the RNNCell, LSTMCell, GRUCell cells, returning
what PyTorch returns.

An LSTM layer is one fused graph node (as PyTorch's CPU LSTM is); RNN and GRU layers are built
from primitive ops, one input projection for the whole sequence and a few ops per time step. A
PackedSequence runs every layer (LSTM included) step by step on the packed rows, the batch
shrinking as sequences end.
"""
import math
import numbers
import warnings

from ... import creation
from ...ops import nn as _nn
from ...ops.shape import stack, cat
from .. import functional as F, init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNBase(Module):
    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                     "bidirectional", "proj_size"]

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size:
            raise NotImplementedError("LSTM projections (proj_size > 0) are not supported")
        if mode == "LSTM":
            gate_size = 4 * hidden_size
        elif mode == "GRU":
            gate_size = 3 * hidden_size
        elif mode in ("RNN_TANH", "RNN_RELU"):
            gate_size = hidden_size
        else:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else hidden_size * num_directions
                w_ih = Parameter(creation.empty((gate_size, layer_input_size), device=device, dtype=dtype))
                w_hh = Parameter(creation.empty((gate_size, hidden_size), device=device, dtype=dtype))
                b_ih = Parameter(creation.empty(gate_size, device=device, dtype=dtype))
                b_hh = Parameter(creation.empty(gate_size, device=device, dtype=dtype))
                layer_params = (w_ih, w_hh, b_ih, b_hh) if bias else (w_ih, w_hh)
                suffix = "_reverse" if direction == 1 else ""
                param_names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    param_names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                param_names = [x.format(layer, suffix) for x in param_names]
                for name, param in zip(param_names, layer_params):
                    setattr(self, name, param)
                self._flat_weights_names.extend(param_names)
                self._all_weights.append(param_names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        pass

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, weight) for weight in weights] for weights in self._all_weights]

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # -----------------------------------------------------------------------------------------
    def _name(self):
        return "RNN" if self.mode.startswith("RNN") else self.mode

    def _prepare(self, input):
        """Checks, and the input as a time-major (T, B, I) tensor; is_batched."""
        if input.dim() not in (2, 3):
            if self.mode.startswith("RNN"):
                raise ValueError(f"RNN: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
            raise ValueError(f"{self._name()}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        self._check_input(input)
        is_batched = input.dim() == 3
        if not is_batched:
            input = input.unsqueeze(1 if not self.batch_first else 0)
        if self.batch_first:
            input = input.transpose(0, 1)
        return input, is_batched

    def _check_input(self, input):
        weight = self._flat_weights[0]
        if input.dtype is not weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). Convert "
                             f"input: input.to({weight.dtype}), or convert model: model.to({input.dtype})")
        if input.size(-1) != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{input.size(-1)}")

    def _expected_hidden(self, x):
        return (self.num_layers * (2 if self.bidirectional else 1), x.shape[1], self.hidden_size)

    def _check_hidden(self, hx, expected, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(expected, list(hx.shape)))

    def _layer_weights(self, layer, direction):
        names = self._all_weights[layer * (2 if self.bidirectional else 1) + direction]
        params = [getattr(self, n) for n in names]
        if not self.bias:
            params += [None, None]
        return params

    def _run_layers(self, x, states, run_direction):
        """Shared stacking of layers and directions; run_direction returns (output, final states)."""
        num_directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                idx = layer * num_directions + direction
                out, final = run_direction(x, [s[idx] for s in states], self._layer_weights(layer, direction),
                                           direction == 1)
                outs.append(out)
                finals.append(final)
            x = outs[0] if num_directions == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, finals

    def _forward_packed(self, input, hx, cell):
        """A PackedSequence through every layer; hx and the final states are in the caller's batch
        order, permuted through sorted_indices as PyTorch does."""
        data, batch_sizes, sorted_indices, unsorted_indices = input
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        self._check_input(data)
        sizes = batch_sizes.tolist()
        expected = (self.num_layers * (2 if self.bidirectional else 1), sizes[0], self.hidden_size)
        lstm = self.mode == "LSTM"
        if hx is None:
            states = [creation.zeros(expected, dtype=data.dtype, device=data.device)] * (2 if lstm else 1)
        else:
            states = list(hx) if lstm else [hx]
            if sorted_indices is not None:
                states = [s.index_select(1, sorted_indices) for s in states]
            for i, s in enumerate(states):
                self._check_hidden(s, expected, f"Expected hidden[{i}] size {{}}, got {{}}" if lstm else
                                   "Expected hidden size {}, got {}")

        def run(x, states, weights, reverse):
            return _packed_layer(x, sizes, states, weights, reverse, cell)

        output, finals = self._run_layers(data, states, run)
        finals = [stack([f[i] for f in finals], 0) for i in range(len(states))]
        if unsorted_indices is not None:
            finals = [f.index_select(1, unsorted_indices) for f in finals]
        return PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices), \
            (tuple(finals) if lstm else finals[0])

    def _forward_simple(self, input, hx, step):
        """RNN's and GRU's forward: one hidden state, `step` the cell's update."""
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, _simple_cell(step))
        x, is_batched = self._prepare(input)
        expected = self._expected_hidden(x)
        if hx is None:
            hx = creation.zeros(expected, dtype=x.dtype, device=x.device)
        else:
            if is_batched and hx.dim() != 3:
                raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
            if not is_batched:
                if hx.dim() != 2:
                    raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor")
                hx = hx.unsqueeze(1)
            self._check_hidden(hx, expected)

        def run(x, states, weights, reverse):
            return _recurrent_layer(x, states[0], weights, reverse, step)

        output, finals = self._run_layers(x, [hx], run)
        h_n = stack(finals, 0)
        if not is_batched:
            h_n = h_n.squeeze(1)
        return self._finish(output, is_batched), h_n

    def _finish(self, output, is_batched):
        if self.batch_first:
            output = output.transpose(0, 1)
        if not is_batched:
            output = output.squeeze(0 if self.batch_first else 1)
        return output


def _recurrent_layer(x, h, weights, reverse, step):
    """A simple recurrent layer from primitives: one projection for all steps, then the cell."""
    w_ih, w_hh, b_ih, b_hh = weights
    steps = x.shape[0]
    xw = F.linear(x, w_ih, b_ih)
    outs = [None] * steps
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        h = step(xw[t], F.linear(h, w_hh, b_hh), h)
        outs[t] = h
    return stack(outs, 0), h


def _packed_layer(x, sizes, init, weights, reverse, cell):
    """One direction over packed rows x (N, I), step t holding the first sizes[t] sequences (longest
    first): forward, a sequence's state is set aside at its last step; reversed, it joins (from
    its initial state) at its own last element. Returns the packed output and the final states."""
    w_ih, w_hh, b_ih, b_hh = weights
    xw = F.linear(x, w_ih, b_ih)
    offsets = [0]
    for n in sizes:
        offsets.append(offsets[-1] + n)
    order = range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes))
    state = [s[:sizes[order[0]]] for s in init]
    outs, ended = [None] * len(sizes), []
    for t in order:
        n, m = sizes[t], state[0].shape[0]
        if n < m:
            ended.append([s[n:] for s in state])
            state = [s[:n] for s in state]
        elif n > m:
            state = [cat([s, s0[m:n]], 0) for s, s0 in zip(state, init)]
        state = cell(xw[offsets[t]:offsets[t + 1]], state, w_hh, b_hh)
        outs[t] = state[0]
    ended.append(state)
    finals = [cat([e[i] for e in reversed(ended)], 0) if len(ended) > 1 else state[i] for i in range(len(state))]
    return cat(outs, 0), finals


def _simple_cell(step):
    """An RNN/GRU step as a packed-layer cell over the state list [h]."""
    def cell(xw, state, w_hh, b_hh):
        h = state[0]
        return [step(xw, F.linear(h, w_hh, b_hh), h)]
    return cell


def _lstm_cell(xw, state, w_hh, b_hh):
    h, c = state
    i, f, g, o = (xw + F.linear(h, w_hh, b_hh)).chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return [o.sigmoid() * c.tanh(), c]


def _tanh_step(xw, hw, h):
    return (xw + hw).tanh()


def _relu_step(xw, hw, h):
    return (xw + hw).relu()


def _gru_step(xw, hw, h):
    xr, xz, xn = xw.chunk(3, 1)
    hr, hz, hn = hw.chunk(3, 1)
    r = (hr + xr).sigmoid()
    z = (hz + xz).sigmoid()
    n = (xn + hn * r).tanh()
    return (h - n) * z + n


class RNN(RNNBase):
    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_simple(input, hx, _tanh_step if self.mode == "RNN_TANH" else _relu_step)


class GRU(RNNBase):
    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_simple(input, hx, _gru_step)


class LSTM(RNNBase):
    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, _lstm_cell)
        x, is_batched = self._prepare(input)
        expected = self._expected_hidden(x)
        if hx is None:
            h0 = creation.zeros(expected, dtype=x.dtype, device=x.device)
            hx = (h0, creation.zeros(expected, dtype=x.dtype, device=x.device))
        else:
            h0, c0 = hx
            if is_batched:
                if h0.dim() != 3 or c0.dim() != 3:
                    raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but got "
                                       f"({h0.dim()}-D, {c0.dim()}-D) tensors")
            else:
                if h0.dim() != 2 or c0.dim() != 2:
                    raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D but got "
                                       f"({h0.dim()}-D, {c0.dim()}-D) tensors")
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            self._check_hidden(h0, expected, "Expected hidden[0] size {}, got {}")
            self._check_hidden(c0, expected, "Expected hidden[1] size {}, got {}")
            hx = (h0, c0)
        steps = x.shape[0]

        def run(x, states, weights, reverse):
            w_ih, w_hh, b_ih, b_hh = weights
            packed = _nn.lstm_layer(x, w_ih, w_hh, b_ih, b_hh, states[0], states[1], reverse)
            h_last = packed[0] if reverse else packed[steps - 1]
            return packed[:steps], (h_last, packed[steps])

        output, finals = self._run_layers(x, list(hx), run)
        h_n = stack([f[0] for f in finals], 0)
        c_n = stack([f[1] for f in finals], 0)
        if not is_batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(output, is_batched), (h_n, c_n)


# ---------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(creation.empty((num_chunks * hidden_size, input_size), device=device,
                                                  dtype=dtype))
        self.weight_hh = Parameter(creation.empty((num_chunks * hidden_size, hidden_size), device=device,
                                                  dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.empty(num_chunks * hidden_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(creation.empty(num_chunks * hidden_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batch(self, input, hx, name, zeros=1):
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        return input, is_batched

    def _zeros(self, input):
        return creation.zeros((input.shape[0], self.hidden_size), dtype=input.dtype, device=input.device)


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        input, is_batched = self._batch(input, hx, "RNNCell")
        hx = self._zeros(input) if hx is None else (hx.unsqueeze(0) if not is_batched else hx)
        pre = F.linear(input, self.weight_ih, self.bias_ih) + F.linear(hx, self.weight_hh, self.bias_hh)
        if self.nonlinearity == "tanh":
            ret = pre.tanh()
        elif self.nonlinearity == "relu":
            ret = pre.relu()
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return ret if is_batched else ret.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"LSTMCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got {value.dim()}D instead")
        input, is_batched = self._batch(input, hx, "LSTMCell")
        if hx is None:
            zeros = self._zeros(input)
            hx = (zeros, zeros)
        elif not is_batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        hy, cy = _lstm_cell(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh)
        if not is_batched:
            hy, cy = hy.squeeze(0), cy.squeeze(0)
        return hy, cy


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"GRUCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        input, is_batched = self._batch(input, hx, "GRUCell")
        hx = self._zeros(input) if hx is None else (hx.unsqueeze(0) if not is_batched else hx)
        ret = _gru_step(F.linear(input, self.weight_ih, self.bias_ih), F.linear(hx, self.weight_hh, self.bias_hh),
                        hx)
        return ret if is_batched else ret.squeeze(0)
