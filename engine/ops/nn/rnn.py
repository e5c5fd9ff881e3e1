"""A whole LSTM layer as one graph node (PyTorch's CPU LSTM is one MkldnnRnnLayer node per
layer too)."""

import numpy as np

from ... import fused
from .._core import OpDef, apply
from ._common import _composite_vjp, _engine, _tensor_mode, Stash


# Output: one packed (T + 1, B, H) array, rows 0..T-1 the hidden state at each time step, row T
# the final cell state; the caller slices output, h_n and c_n from it. Internally the gates are
# reordered to (o, i, f, g) so that one sigmoid covers the first 3H columns and i, f, g (the
# gates the cell-state gradient multiplies) are adjacent.
def _gate_order(h):
    return np.concatenate([np.arange(3 * h, 4 * h), np.arange(0, 2 * h), np.arange(2 * h, 3 * h)])


def _gate_slices(a, hidden):
    """The (o, i, f, g) column blocks of a (batch, 4 * hidden) array, as views."""
    return tuple(a[:, k * hidden:(k + 1) * hidden] for k in range(4))


def _lstm_cell_kernel(xp):
    """One step's gates and states in one launch (backends that compile kernels; else None):
    cell(pre_o, pre_i, pre_f, pre_g, xw_o, xw_i, xw_f, xw_g, c_prev, o, i, f, g, c, tanh_c, h), with
    the sigmoid gates' pre-activations halved as in the array code below. (No parameter may be
    called `i`: that is CuPy's loop index inside the kernel.)"""
    return fused.kernel(xp, "lstm_cell", (),
                        ("pre_o", "pre_i", "pre_f", "pre_g", "xw_o", "xw_i", "xw_f", "xw_g", "c_prev"),
                        ("gate_o", "gate_i", "gate_f", "gate_g", "c_next", "tanh_c", "h_next"),
                        ["gate_o = tanh(pre_o + xw_o) * 0.5 + 0.5", "gate_i = tanh(pre_i + xw_i) * 0.5 + 0.5",
                         "gate_f = tanh(pre_f + xw_f) * 0.5 + 0.5", "gate_g = tanh(pre_g + xw_g)",
                         "c_next = gate_f * c_prev + gate_i * gate_g", "tanh_c = tanh(c_next)",
                         "h_next = gate_o * tanh_c"])


def _lstm_cell_backward_kernel(xp):
    """One step of the backward recurrence but its matmul, in one launch (else None):
    cell(dh, grad_h, o, i, f, g, tanh_c, c_prev, dc, d_o, d_i, d_f, d_g); dc is carried in place."""
    return fused.kernel(xp, "lstm_cell_backward", (),
                        ("dh", "grad_h", "gate_o", "gate_i", "gate_f", "gate_g", "tanh_c", "c_prev"),
                        ("dc", "d_o", "d_i", "d_f", "d_g"),
                        ["T dh_total = dh + grad_h", "d_o = dh_total * tanh_c * ((1 - gate_o) * gate_o)",
                         "dc = dc + dh_total * ((1 - tanh_c * tanh_c) * gate_o)",
                         "d_i = dc * gate_g * ((1 - gate_i) * gate_i)",
                         "d_f = dc * c_prev * ((1 - gate_f) * gate_f)",
                         "d_g = dc * gate_i * (1 - gate_g * gate_g)", "dc = dc * gate_f"])


def _lstm_forward(xp, x, w_ih, w_hh, *rest):
    reverse, stash = rest[-2:]
    arrays = rest[:-2]
    if len(arrays) == 4:
        b_ih, b_hh, h0, c0 = arrays
    else:
        b_ih = b_hh = None
        h0, c0 = arrays
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    h3 = 3 * hidden
    order = xp.asarray(_gate_order(hidden))
    wih = w_ih[order]
    whh = w_hh[order]
    # sigmoid(z) = (1 + tanh(z / 2)) / 2: with the sigmoid gates' rows halved (exact in binary
    # floating point), one tanh covers all four gates
    half = xp.ones((4 * hidden, 1), dtype=wih.dtype)
    half[:h3] = 0.5
    whh_t = xp.ascontiguousarray((whh * half).T)
    xw = x.reshape(steps * batch, -1) @ (wih * half).T
    if b_ih is not None:
        xw += (b_ih + b_hh)[order] * half[:, 0]
    xw = xw.reshape(steps, batch, 4 * hidden)
    dtype = xw.dtype
    gates = xp.empty((steps, batch, 4 * hidden), dtype=dtype)
    hs = xp.empty((steps + 1, batch, hidden), dtype=dtype)
    cs = xp.empty((steps + 1, batch, hidden), dtype=dtype)
    tcs = xp.empty((steps, batch, hidden), dtype=dtype)
    hs[0] = h0
    cs[0] = c0
    cell = _lstm_cell_kernel(xp)
    if cell is not None:  # one matmul and one fused launch per step
        pre = xp.empty((batch, 4 * hidden), dtype=dtype)
        for s in range(steps):
            t = steps - 1 - s if reverse else s
            xp.matmul(hs[s], whh_t, out=pre)
            cell(*_gate_slices(pre, hidden), *_gate_slices(xw[t], hidden), cs[s],
                 *_gate_slices(gates[s], hidden), cs[s + 1], tcs[s], hs[s + 1])
    tmp = xp.empty((batch, hidden), dtype=dtype)
    for s in range(steps if cell is None else 0):
        t = steps - 1 - s if reverse else s
        a = gates[s]
        xp.matmul(hs[s], whh_t, out=a)
        a += xw[t]
        xp.tanh(a, out=a)
        sig = a[:, :h3]
        sig *= 0.5
        sig += 0.5
        c = cs[s + 1]
        xp.multiply(a[:, 2 * hidden:h3], cs[s], out=c)            # f * c_prev
        xp.multiply(a[:, hidden:2 * hidden], a[:, h3:], out=tmp)  # i * g
        c += tmp
        tc = tcs[s]
        xp.tanh(c, out=tc)
        xp.multiply(a[:, :hidden], tc, out=hs[s + 1])             # o * tanh(c)
    packed = xp.empty((steps + 1, batch, hidden), dtype=dtype)
    packed[:steps] = hs[:0:-1] if reverse else hs[1:]
    packed[steps] = cs[steps]
    stash.value = (gates, hs, cs, tcs, wih, whh, order)
    return packed


def _lstm_vjp(m, g, node, *saved):
    reverse, stash = node.params
    if _tensor_mode(m):
        return _composite_vjp(_lstm_composite, saved, node, g)
    xp = m.xp
    x = saved[0]
    gates, hs, cs, tcs, wih, whh, order = stash.value
    steps, batch, _ = x.shape
    hidden = whh.shape[1]
    h3 = 3 * hidden
    dtype = gates.dtype
    gout = g[:steps][::-1] if reverse else g[:steps]          # by processing step
    dc = g[steps].copy()
    dh = xp.zeros((batch, hidden), dtype=dtype)
    # everything that does not depend on the recurrence, computed for all steps at once
    o = gates[:, :, :hidden]
    deriv = xp.empty_like(gates)
    sig = gates[:, :, :h3]
    xp.subtract(1, sig, out=deriv[:, :, :h3])
    deriv[:, :, :h3] *= sig
    gg = gates[:, :, h3:]
    xp.multiply(gg, gg, out=deriv[:, :, h3:])
    xp.subtract(1, deriv[:, :, h3:], out=deriv[:, :, h3:])
    ocoef = tcs * tcs
    xp.subtract(1, ocoef, out=ocoef)
    ocoef *= o
    # di = dc * g, df = dc * c_prev, dg = dc * i: one product with (g, c_prev, i) stacked
    q = xp.empty((steps, batch, 3, hidden), dtype=dtype)
    q[:, :, 0] = gg
    q[:, :, 1] = cs[:-1]
    q[:, :, 2] = gates[:, :, hidden:2 * hidden]
    f = gates[:, :, 2 * hidden:h3]
    da = xp.empty((steps, batch, 4 * hidden), dtype=dtype)
    da4 = da.reshape(steps, batch, 4, hidden)
    tmp = xp.empty((batch, hidden), dtype=dtype)
    dc3 = dc[:, None, :]
    cell = _lstm_cell_backward_kernel(xp)
    if cell is not None:  # one fused launch and one matmul per step
        for s in range(steps - 1, -1, -1):
            cell(dh, gout[s], *_gate_slices(gates[s], hidden), tcs[s], cs[s], dc, *_gate_slices(da[s], hidden))
            xp.matmul(da[s], whh, out=dh)
    for s in range(steps - 1, -1, -1) if cell is None else ():
        dh += gout[s]
        d = da[s]
        xp.multiply(dh, tcs[s], out=d[:, :hidden])
        xp.multiply(dh, ocoef[s], out=tmp)
        dc += tmp
        xp.multiply(dc3, q[s], out=da4[s, :, 1:, :])
        d *= deriv[s]
        dc *= f[s]
        xp.matmul(d, whh, out=dh)
    inverse = xp.argsort(order)
    flat = da.reshape(steps * batch, 4 * hidden)
    n_in = len(node.shapes)
    grads = [None] * n_in
    if node.needs[0]:
        dx = flat @ wih
        dx = dx.reshape(steps, batch, -1)
        grads[0] = dx[::-1] if reverse else dx
    if node.needs[1]:
        x_steps = x[::-1] if reverse else x
        grads[1] = (flat.T @ x_steps.reshape(steps * batch, -1))[inverse]
    if node.needs[2]:
        grads[2] = (flat.T @ hs[:-1].reshape(steps * batch, hidden))[inverse]
    if n_in == 7:
        if node.needs[3] or node.needs[4]:
            db = flat.sum(axis=0)[inverse]
            grads[3] = db if node.needs[3] else None
            grads[4] = db.copy() if node.needs[4] else None
    if node.needs[n_in - 2]:
        grads[n_in - 2] = dh
    if node.needs[n_in - 1]:
        grads[n_in - 1] = dc
    return tuple(grads)


_lstm_ops = {n: OpDef("MkldnnRnnLayerBackward0", _lstm_forward, _lstm_vjp, save_inputs=tuple(range(n)),
                      kind="lstm") for n in (5, 7)}


def lstm_layer(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse):
    """x: (T, B, I) time-major. Returns the packed (T + 1, B, H) tensor described above."""
    inputs = (x, w_ih, w_hh, b_ih, b_hh, h0, c0) if b_ih is not None else (x, w_ih, w_hh, h0, c0)
    return apply(_lstm_ops[len(inputs)], inputs, (bool(reverse), Stash()))


def _lstm_composite(*inputs, params):
    """The same layer step by step from elementwise ops, for differentiating a backward."""
    E = _engine()
    reverse = params[0]
    if len(inputs) == 7:
        x, w_ih, w_hh, b_ih, b_hh, h, c = inputs
    else:
        (x, w_ih, w_hh, h, c), b_ih, b_hh = inputs, None, None
    steps = x.shape[0]
    outs = [None] * steps
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        gates = x[t].matmul(w_ih.t()) + h.matmul(w_hh.t())
        if b_ih is not None:
            gates = gates + b_ih + b_hh
        i, f, gg, o = gates.chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * gg.tanh()
        h = o.sigmoid() * c.tanh()
        outs[t] = h
    return E.stack(outs + [c], 0)
