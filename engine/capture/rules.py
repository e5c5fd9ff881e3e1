"""Each backward node's local rule, in symbols: what it sends to each input given `grad`, the
gradient it received (PyTorch's derivatives.yaml, written for reading). An op may carry its own
rule (`OpDef.rule`, one text per input); otherwise the table below gives it by node name, and an
op it does not list gets the general rule (the vector-Jacobian product of its function)."""

# node name -> one formula per input slot, in the op's input order
RULES = {
    "AddBackward0": ("grad", "grad · alpha"),
    "SubBackward0": ("grad", "-grad · alpha"),
    "MulBackward0": ("grad · other", "grad · self"),
    "DivBackward0": ("grad / other", "-grad · self / other²"),
    "NegBackward0": ("-grad",),
    "PowBackward0": ("grad · exponent · self^(exponent - 1)",),
    "PowBackward1": ("grad · exponent · self^(exponent - 1)", "grad · result · ln(self)"),
    "ExpBackward0": ("grad · result",),
    "Exp2Backward0": ("grad · result · ln 2",),
    "Expm1Backward0": ("grad · (result + 1)",),
    "LogBackward0": ("grad / self",),
    "Log2Backward0": ("grad / (self · ln 2)",),
    "Log10Backward0": ("grad / (self · ln 10)",),
    "Log1PBackward0": ("grad / (1 + self)",),
    "SqrtBackward0": ("grad / (2 · result)",),
    "RsqrtBackward0": ("-grad · result³ / 2",),
    "ReciprocalBackward0": ("-grad · result²",),
    "SinBackward0": ("grad · cos(self)",),
    "CosBackward0": ("-grad · sin(self)",),
    "TanBackward0": ("grad · (1 + result²)",),
    "TanhBackward0": ("grad · (1 - result²)",),
    "SinhBackward0": ("grad · cosh(self)",),
    "CoshBackward0": ("grad · sinh(self)",),
    "AsinBackward0": ("grad / √(1 - self²)",),
    "AcosBackward0": ("-grad / √(1 - self²)",),
    "AtanBackward0": ("grad / (1 + self²)",),
    "SigmoidBackward0": ("grad · result · (1 - result)",),
    "ReluBackward0": ("grad · (result > 0)",),
    "LeakyReluBackward0": ("grad · (1 if self > 0 else negative_slope)",),
    "EluBackward0": ("grad · (1 if self > 0 else result + alpha)",),
    "GeluBackward0": ("grad · (Φ(self) + self · φ(self))",),
    "SiluBackward0": ("grad · σ(self) · (1 + self · (1 - σ(self)))",),
    "SoftplusBackward0": ("grad · σ(beta · self)",),
    "HardtanhBackward0": ("grad · (min_val < self < max_val)",),
    "AbsBackward0": ("grad · sign(self)",),
    "SgnBackward0": ("0",),
    "SignBackward0": ("0",),
    "ClampBackward1": ("grad · (min ≤ self ≤ max)",),
    "ClampMinBackward0": ("grad · (self ≥ min)",),
    "ClampMaxBackward0": ("grad · (self ≤ max)",),
    "MaximumBackward0": ("grad · (self ≥ other)", "grad · (other > self)"),
    "MinimumBackward0": ("grad · (self ≤ other)", "grad · (other < self)"),
    "WhereBackward0": ("grad where condition", "grad where not condition"),
    "SumBackward0": ("grad, the same for every element of self",),
    "SumBackward1": ("grad, repeated along the summed dims",),
    "NansumBackward0": ("grad where self is not nan, else 0",),
    "MeanBackward0": ("grad / numel(self), the same for every element",),
    "MeanBackward1": ("grad / n, repeated along the n averaged elements",),
    "ProdBackward0": ("grad · result / self",),
    "ProdBackward1": ("grad · result / self, along dim",),
    "VarBackward0": ("grad · 2 · (self - mean) / (n - correction)",),
    "StdBackward0": ("grad · (self - mean) / ((n - correction) · result)",),
    "MaxBackward0": ("grad at the position of the maximum",),
    "MaxBackward1": ("grad at the position of each maximum along dim",),
    "MinBackward0": ("grad at the position of the minimum",),
    "MinBackward1": ("grad at the position of each minimum along dim",),
    "AmaxBackward0": ("grad shared among the maxima",),
    "AminBackward0": ("grad shared among the minima",),
    "LogsumexpBackward0": ("grad · exp(self - result)",),
    "SoftmaxBackward0": ("result · (grad - Σ grad · result)",),
    "LogSoftmaxBackward0": ("grad - exp(result) · Σ grad",),
    "CumsumBackward0": ("reversed cumulative sum of grad",),
    "MmBackward0": ("grad @ mat2ᵀ", "selfᵀ @ grad"),
    "BmmBackward0": ("grad @ mat2ᵀ (per batch)", "selfᵀ @ grad (per batch)"),
    "MvBackward0": ("grad ⊗ vec", "selfᵀ @ grad"),
    "DotBackward0": ("grad · tensor", "grad · self"),
    "VdotBackward0": ("grad · other", "grad · conj(self)"),
    "AddmmBackward0": ("grad, summed to self's shape", "grad @ mat2ᵀ", "mat1ᵀ @ grad"),
    "TBackward0": ("gradᵀ",),
    "TransposeBackward0": ("grad with dim0 and dim1 swapped back",),
    "PermuteBackward0": ("grad permuted back",),
    "ViewBackward0": ("grad reshaped to self's shape",),
    "UnsafeViewBackward0": ("grad reshaped to self's shape",),
    "AliasBackward0": ("grad",),
    "CloneBackward0": ("grad",),
    "ToCopyBackward0": ("grad, converted back to self's dtype and device",),
    "UnsqueezeBackward0": ("grad with the inserted dim removed",),
    "SqueezeBackward0": ("grad reshaped to self's shape",),
    "SqueezeBackward1": ("grad with the squeezed dim restored",),
    "SqueezeBackward4": ("grad with the squeezed dims restored",),
    "ExpandBackward0": ("grad summed over the expanded dims",),
    "RepeatBackward0": ("grad summed over the repeats",),
    "FlipBackward0": ("grad flipped back",),
    "RollBackward0": ("grad rolled back",),
    "SelectBackward0": ("grad placed at the selected index, 0 elsewhere",),
    "SliceBackward0": ("grad placed in the slice, 0 elsewhere",),
    "IndexBackward0": ("grad added at the indexed positions, 0 elsewhere",),
    "IndexSelectBackward0": ("grad added at the selected indices",),
    "GatherBackward0": ("grad scattered (added) back to the gathered positions",),
    "CatBackward0": ("the part of grad this input filled",),
    "StackBackward0": ("grad[i] for the i-th input",),
    "UnbindBackward0": ("the grads of the pieces, stacked",),
    "SplitBackward0": ("the grads of the pieces, concatenated",),
    "SplitWithSizesBackward0": ("the grads of the pieces, concatenated",),
    "TrilBackward0": ("tril(grad)",),
    "TriuBackward0": ("triu(grad)",),
    "DiagonalBackward0": ("grad placed on the diagonal",),
    "TraceBackward0": ("grad · I",),
    "MaskedFillBackward0": ("grad where not mask, 0 where mask",),
    "MseLossBackward0": ("grad · 2 · (self - target) / n", "-grad · 2 · (self - target) / n"),
    "NllLossBackward0": ("-grad / n at each target class",),
    "BinaryCrossEntropyBackward0": ("grad · (self - target) / (self · (1 - self)) / n",),
    "BinaryCrossEntropyWithLogitsBackward0": ("grad · (σ(self) - target) / n",),
    "torch::autograd::AccumulateGrad": (".grad += grad",),
}

GENERAL = "Jᵀ · grad (the vector-Jacobian product of {fn} for {input})"


def input_name(slot, n):
    """PyTorch's name of an op's input: self, other for a binary op, else input<k>."""
    if slot == 0:
        return "self"
    if slot == 1 and n == 2:
        return "other"
    return f"input{slot}"


def rule(name, slot, op=None, n_inputs=1):
    """The formula a backward node `name` applies for its input `slot` (always some text)."""
    own = getattr(op, "rule", None) if op is not None else None
    table = own if own else RULES.get(name)
    if table:
        return table[slot] if slot < len(table) else table[-1]
    fn = getattr(op, "kind", None) or name.removesuffix("Backward0").lower()
    return GENERAL.format(fn=fn, input=input_name(slot, n_inputs))
