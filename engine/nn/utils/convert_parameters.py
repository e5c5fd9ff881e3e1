"""parameters_to_vector / vector_to_parameters."""


def parameters_to_vector(parameters):
    from ...ops.shape import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    from ...autograd import no_grad
    pointer = 0
    for param in parameters:
        n = param.numel()
        with no_grad():
            param.copy_(vec[pointer:pointer + n].view_as(param))
        pointer += n
