"""linear and bilinear."""
from ...ops import linalg as _la


def linear(input, weight, bias=None):
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {input.dtype.title} and "
                           f"{weight.dtype.title}")
    nd = input.dim()
    if bias is None:
        return input.matmul(weight.t())
    if nd == 2:
        return _la.addmm(bias, input, weight.t())
    if nd == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are 0D and 2D")
    in_features = input.shape[-1]
    out = _la.addmm(bias, input.reshape(-1, in_features), weight.t())
    return out.view(*input.shape[:-1], out.shape[-1])


def bilinear(input1, input2, weight, bias=None):
    # y_k = x1^T W_k x2 + b_k
    out = (input1.unsqueeze(-2).unsqueeze(-2).matmul(weight).squeeze(-2) * input2.unsqueeze(-2)).sum(-1)
    return out + bias if bias is not None else out
