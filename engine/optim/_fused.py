"""Optimizer updates as one elementwise kernel per parameter, on backends that compile kernels.

On the cuda device every array op is a kernel launch costing ~10-20 µs, and Adam's update is a dozen
of them per parameter. Here each update is one `ElementwiseKernel` launch that reads the gradient
and rewrites the parameter and its state in place. The other backends keep the optimizers' own
array code.

Scalars are computed in Python and passed in, in the same order of operations as the array code,
so both give the same numbers (engine/fused.py says how kernels are written and compiled).
"""

from ..fused import kernel


def adam(xp, maximize, l2_decay, decoupled_decay, amsgrad):
    """Adam/AdamW: kernel(grad, scalars..., param, exp_avg, exp_avg_sq[, max_exp_avg_sq])."""
    body = ["T g = -grad" if maximize else "T g = grad"]
    if l2_decay:
        body.append("g = g + weight_decay * param")
    if decoupled_decay:
        body.append("param = param * decay")
    body += ["exp_avg = exp_avg + (g - exp_avg) * one_minus_beta1",
             "exp_avg_sq = exp_avg_sq * beta2 + g * g * one_minus_beta2"]
    second = "exp_avg_sq"
    if amsgrad:
        body.append("max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)")
        second = "max_exp_avg_sq"
    body.append(f"param = param + exp_avg / (sqrt({second}) / bias_correction2_sqrt + eps) * neg_step_size")
    outputs = ("param", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
    return kernel(xp, "adam", ("weight_decay", "decay", "one_minus_beta1", "beta2", "one_minus_beta2",
                               "bias_correction2_sqrt", "eps", "neg_step_size"), ("grad",), outputs, body)


def sgd_momentum(xp, maximize, l2_decay, dampening, nesterov):
    """SGD with a momentum buffer already there: kernel(grad, scalars..., param, momentum_buffer)."""
    body = ["T g = -grad" if maximize else "T g = grad"]
    if l2_decay:
        body.append("g = g + weight_decay * param")
    body.append("momentum_buffer = momentum_buffer * momentum + " +
                ("g * one_minus_dampening" if dampening else "g"))
    body.append("g = g + momentum * momentum_buffer" if nesterov else "g = momentum_buffer")
    body.append("param = param + g * neg_lr")
    return kernel(xp, "sgd", ("weight_decay", "momentum", "one_minus_dampening", "neg_lr"), ("grad",),
                  ("param", "momentum_buffer"), body)
