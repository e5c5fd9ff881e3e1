"""Errors: the same exception types as PyTorch and messages with the same substance (here, mostly
the very same text), for shape mismatches, bad indexing, autograd misuse and conversions."""
import pytest

from gradview import engine
from tests.engine.helpers import assert_same_error, reference_torch

SAME_MESSAGE = {
    "broadcast_add": lambda t: t.ones(2, 3) + t.ones(2, 4),
    "broadcast_leading": lambda t: t.ones(5, 2, 3) + t.ones(4, 3),
    "broadcast_mul_inplace": lambda t: t.ones(3).mul_(t.ones(2, 3)),
    "broadcast_where": lambda t: t.where(t.ones(2, 3) > 0, t.ones(2, 3), t.ones(4, 3)),
    "broadcast_maximum": lambda t: t.maximum(t.ones(2, 3), t.ones(2)),
    "broadcast_compare": lambda t: t.ones(2, 3) > t.ones(3, 2),
    "matmul_inner": lambda t: t.ones(2, 3) @ t.ones(4, 5),
    "matmul_vec_inner": lambda t: t.ones(3) @ t.ones(4),
    "matmul_mat_vec": lambda t: t.ones(2, 3) @ t.ones(4),
    "matmul_vec_mat": lambda t: t.ones(4) @ t.ones(2, 3),
    "matmul_batch": lambda t: t.ones(2, 2, 3) @ t.ones(3, 3, 2),
    "matmul_0d": lambda t: t.matmul(t.ones(()), t.ones(3)),
    "mm_inner": lambda t: t.mm(t.ones(2, 3), t.ones(2, 3)),
    "bmm_batch": lambda t: t.bmm(t.ones(2, 3, 4), t.ones(2, 3, 4)),
    "dot_2d": lambda t: t.dot(t.ones(2, 3), t.ones(2)),
    "matmul_dtypes": lambda t: t.ones(2, 2) @ t.ones(2, 2, dtype=t.float64),
    "view_size": lambda t: t.ones(2, 3).view(4),
    "view_two_inferred": lambda t: t.ones(2, 3).view(-1, -1),
    "view_noncontiguous": lambda t: t.ones(2, 3).t().view(6),
    "reshape_size": lambda t: t.ones(2, 3).reshape(5),
    "expand_size": lambda t: t.ones(2, 3).expand(3, 3),
    "cat_sizes": lambda t: t.cat([t.ones(2, 3), t.ones(2, 4)]),
    "cat_dims": lambda t: t.cat([t.ones(2, 3), t.ones(3)]),
    "cat_empty": lambda t: t.cat([]),
    "stack_sizes": lambda t: t.stack([t.ones(2, 3), t.ones(2, 4)]),
    "permute_dims": lambda t: t.ones(2, 3).permute(0),
    "t_3d": lambda t: t.ones(2, 3, 4).t(),
    "split_sizes": lambda t: t.ones(5).split([2, 2]),
    "dim_out_of_range": lambda t: t.ones(2, 3).sum(2),
    "dim_out_of_range_neg": lambda t: t.ones(2, 3).transpose(0, -3),
    "softmax_like_dim": lambda t: t.ones(2, 3).max(dim=5),
    "index_out_of_range": lambda t: t.ones(3)[5],
    "index_out_of_range_2d": lambda t: t.ones(2, 3)[0, 3],
    "index_negative_out_of_range": lambda t: t.ones(2, 3)[-3],
    "index_list_out_of_range": lambda t: t.ones(2, 3)[[0, 7]],
    "index_tensor_out_of_range": lambda t: t.ones(2, 3)[t.tensor([5])],
    "index_select_out_of_range": lambda t: t.ones(2, 3).index_select(0, t.tensor([5])),
    "gather_out_of_range": lambda t: t.ones(2, 3).gather(1, t.tensor([[5]])),
    "index_float_tensor": lambda t: t.ones(3)[t.tensor([0.0])],
    "setitem_out_of_range": lambda t: t.ones(3).__setitem__(4, 1.0),
    "item_many": lambda t: t.ones(3).item(),
    "bool_many": lambda t: bool(t.ones(3)),
    "numpy_requires_grad": lambda t: t.ones(2, requires_grad=True).numpy(),
    "backward_non_scalar": lambda t: (t.ones(2, requires_grad=True) * 2).backward(),
    "backward_no_grad": lambda t: t.ones(2).sum().backward(),
    "backward_int": lambda t: t.ones(2, requires_grad=True).sum().long().backward(),
    "grad_unused": lambda t: t.autograd.grad((t.ones(2, requires_grad=True) * 2).sum(),
                                             [t.ones(2, requires_grad=True)]),
    "requires_grad_int": lambda t: t.ones(2, dtype=t.int64).requires_grad_(),
    "requires_grad_nonleaf": lambda t: setattr(t.ones(2, requires_grad=True) * 2, "requires_grad", False),
    "leaf_inplace": lambda t: t.ones(2, requires_grad=True).add_(1),
    "leaf_view_inplace": lambda t: t.ones(2, requires_grad=True)[0].add_(1),
    "out_with_grad": lambda t: t.add(t.ones(2, requires_grad=True), 1, out=t.empty(2)),
    "inplace_type": lambda t: t.ones(2, dtype=t.int64).add_(1.5),
    "sub_bool": lambda t: t.tensor([True]) - t.tensor([False]),
    "sub_bool_int": lambda t: t.tensor([True]) - 1,
    "rsub_bool": lambda t: 1 - t.tensor([True]),
    "stack_empty": lambda t: t.stack([]),
    "neg_bool": lambda t: -t.tensor([True]),
    "mean_int": lambda t: t.tensor([1, 2]).mean(),
    "arange_step": lambda t: t.arange(0, 5, 0),
    "arange_sign": lambda t: t.arange(0, 5, -1),
    "ones_negative": lambda t: t.ones(-1),
    "where_cond_dtype": lambda t: t.where(t.ones(2), t.ones(2), t.ones(2)),
    "hook_no_grad": lambda t: t.ones(2).register_hook(lambda g: g),
    "retain_grad_no_grad": lambda t: t.ones(2).retain_grad(),
    "int_negative_power": lambda t: t.tensor([2]) ** -1,
    "alpha_float_int": lambda t: t.add(t.tensor([1]), t.tensor([1]), alpha=0.5),
    "int_floordiv_zero": lambda t: t.tensor([3, 4]) // t.tensor([1, 0]),
    "int_remainder_zero": lambda t: t.tensor([3]) % 0,
    "int_div_trunc_zero": lambda t: t.tensor([3]).div(0, rounding_mode="trunc"),
    "bool_floordiv": lambda t: t.tensor([True]) // t.tensor([True]),
    "bool_pow": lambda t: t.tensor([True]) ** t.tensor([True]),
    "float_bitwise": lambda t: t.tensor([1.0]) & t.tensor([1.0]),
    "float_invert": lambda t: ~t.tensor([1.0]),
    "sub_python_bool": lambda t: t.tensor([1.0]) - True,
    "floordiv_backward": lambda t: (t.tensor([7.0], requires_grad=True) // 2).sum().backward(),
}


@pytest.mark.parametrize("name", list(SAME_MESSAGE))
def test_same_error_as_pytorch(name):
    assert_same_error(lambda t: SAME_MESSAGE[name](t))


def test_unknown_device():
    ours, theirs = assert_same_error(lambda t: t.device("tpu"), match_message=False)
    assert str(ours).startswith("Expected one of cpu, cuda") and str(ours).endswith(
        "device type at start of device string: tpu")


def test_error_names_both_sizes_and_dimension():
    with pytest.raises(RuntimeError) as info:
        engine.ones(2, 3) + engine.ones(2, 4)
    assert str(info.value) == "The size of tensor a (3) must match the size of tensor b (4) at non-singleton " \
                              "dimension 1"
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        engine.ones(2, 3) @ engine.ones(4, 5)


def test_second_backward_error():
    def fn(t):
        x = t.ones(2, requires_grad=True)
        y = (x * x).sum()
        y.backward()
        y.backward()
    assert_same_error(fn)


def test_saved_tensor_modified_error():
    def fn(t):
        x = t.ones(2, 2, requires_grad=True)
        y = x * 2
        z = y * y
        y.add_(1)
        z.sum().backward()
    assert_same_error(fn)


def test_custom_function_wrong_number_of_gradients():
    for lib in (engine, reference_torch()):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                return a * b

            @staticmethod
            def backward(ctx, g):
                return (g,)

        with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
            Bad.apply(lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)).sum().backward()


def test_errors_leave_no_partial_state():
    x = engine.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        x + engine.ones(4)
    assert engine.is_grad_enabled()
    y = (x * 2).sum()
    y.backward()
    assert x.grad.tolist() == [[2.0] * 3] * 2


def test_exception_types_for_python_protocols():
    torch = reference_torch()
    for lib in (engine, torch):
        with pytest.raises(TypeError):
            len(lib.tensor(1.0))
        with pytest.raises(ValueError):
            float(lib.ones(2))
        with pytest.raises(IndexError):
            lib.ones(2, 2)[0, 0, 0]
        with pytest.raises(TypeError):
            lib.ones(2) @ 2
        with pytest.raises(TypeError):
            lib.tensor([1.0]) + "a"
        with pytest.raises(TypeError, match="only integer tensors of a single element can be converted to an index"):
            [1, 2][lib.tensor(1.0)]
