"""gradview.engine.distributions against torch.distributions: values and parameter gradients (float64) of
log_prob/cdf/icdf/entropy/moments/KL, shapes and expand, seeded samples where the draws match, gradients
through rsample, and argument/sample validation."""
import math

import numpy as np
import pytest

from gradview import engine
from tests.engine.helpers import assert_same_value, reference_torch

torch = reference_torch()
ED, TD = engine.distributions, torch.distributions


def _arrays(specs, seed=0):
    """Float64 parameter arrays: (domain, shape) with domain real / positive / unit (0.1..0.9)."""
    rng = np.random.default_rng(seed)
    out = []
    for domain, shape in specs:
        if domain == "positive":
            out.append(rng.uniform(0.5, 2.0, size=shape))
        elif domain == "unit":
            out.append(rng.uniform(0.1, 0.9, size=shape))
        else:
            out.append(rng.standard_normal(size=shape))
    return out


def _spd(lib, A):
    return A @ A.mT + 0.5 * lib.eye(A.shape[-1], dtype=A.dtype)


# name: (parameter specs, make(D, lib, *params), value(params arrays) or None)
CASES = {
    "Normal": ([("real", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Normal(a, b),
               lambda p: np.random.default_rng(1).standard_normal((2, 3))),
    "Normal_scalar": ([("real", ()), ("positive", ())], lambda D, lib, a, b: D.Normal(a, b), lambda p: np.array(0.3)),
    "Uniform": ([("real", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Uniform(a, a + b),
                lambda p: p[0] + np.array([0.2, 0.5, 0.9]) * p[1]),
    "Bernoulli_probs": ([("unit", (4,))], lambda D, lib, p: D.Bernoulli(probs=p), lambda p: np.array([0., 1., 1., 0.])),
    "Bernoulli_logits": ([("real", (4,))], lambda D, lib, p: D.Bernoulli(logits=p), lambda p: np.array([0., 1., 1., 0.])),
    "Categorical_probs": ([("positive", (2, 4))], lambda D, lib, p: D.Categorical(probs=p), lambda p: np.array([3, 1])),
    "Categorical_logits": ([("real", (2, 4))], lambda D, lib, p: D.Categorical(logits=p), lambda p: np.array([0, 2])),
    "OneHotCategorical": ([("positive", (2, 4))], lambda D, lib, p: D.OneHotCategorical(probs=p),
                          lambda p: np.eye(4)[[1, 3]]),
    "Exponential": ([("positive", (3,))], lambda D, lib, r: D.Exponential(r), lambda p: np.array([0.1, 1.0, 2.5])),
    "Laplace": ([("real", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Laplace(a, b),
                lambda p: np.array([-1.0, 0.3, 2.0])),
    "Cauchy": ([("real", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Cauchy(a, b),
               lambda p: np.array([-1.0, 0.3, 2.0])),
    "Gamma": ([("positive", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Gamma(a, b),
              lambda p: np.array([0.2, 1.0, 3.0])),
    "Beta": ([("positive", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Beta(a, b),
             lambda p: np.array([0.2, 0.5, 0.7])),
    "Dirichlet": ([("positive", (2, 3))], lambda D, lib, c: D.Dirichlet(c),
                  lambda p: np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])),
    "Poisson": ([("positive", (3,))], lambda D, lib, r: D.Poisson(r), lambda p: np.array([0., 2., 5.])),
    "Binomial_probs": ([("unit", (3,))], lambda D, lib, p: D.Binomial(lib.tensor([5., 5., 5.], dtype=lib.float64), p),
                       lambda p: np.array([0., 2., 5.])),
    "Binomial_logits": ([("real", (3,))], lambda D, lib, p: D.Binomial(4, logits=p), lambda p: np.array([1., 2., 4.])),
    "MVN_cov": ([("real", (2, 3)), ("real", (3, 3))],
                lambda D, lib, m, A: D.MultivariateNormal(m, covariance_matrix=_spd(lib, A)),
                lambda p: np.random.default_rng(2).standard_normal((4, 2, 3))),
    "MVN_tril": ([("real", (3,)), ("real", (2, 3, 3))],
                 lambda D, lib, m, A: D.MultivariateNormal(m, scale_tril=lib.linalg.cholesky(_spd(lib, A))),
                 lambda p: np.random.default_rng(2).standard_normal((2, 3))),
    "MVN_precision": ([("real", (3,)), ("real", (3, 3))],
                      lambda D, lib, m, A: D.MultivariateNormal(m, precision_matrix=_spd(lib, A)),
                      lambda p: np.random.default_rng(2).standard_normal((3,))),
    "LogNormal": ([("real", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.LogNormal(a, b),
                  lambda p: np.array([0.2, 1.0, 3.0])),
    "Independent": ([("real", (2, 3)), ("positive", (2, 3))], lambda D, lib, a, b: D.Independent(D.Normal(a, b), 1),
                    lambda p: np.random.default_rng(1).standard_normal((2, 3))),
    "Transformed_sigmoid": ([("real", (3,)), ("positive", (3,)), ("real", (3,)), ("positive", (3,))],
                            lambda D, lib, a, b, c, d: D.TransformedDistribution(
                                D.Normal(a, b), [D.AffineTransform(c, d), D.SigmoidTransform()]),
                            lambda p: np.array([0.2, 0.5, 0.7])),
    "Transformed_tanh": ([("real", (3,)), ("positive", (3,))],
                         lambda D, lib, a, b: D.TransformedDistribution(
                             D.Normal(a, b), [D.TanhTransform(), D.AffineTransform(1.0, 2.0)]),
                         lambda p: np.array([-0.5, 1.0, 2.5])),
}
METHODS = ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev", "perplexity"]
ICDF_VALUE = np.array([0.1, 0.4, 0.8])


def _build(lib, name, grad=True):
    specs, make, value = CASES[name]
    arrays = _arrays(specs)
    params = [lib.tensor(a.copy(), dtype=lib.float64, requires_grad=grad) for a in arrays]
    D = ED if lib is engine else TD
    return make(D, lib, *params), params, value(arrays) if value else None


def _evaluate(lib, dist, method, value):
    attr = getattr(type(dist), method, None)
    if isinstance(attr, property):
        return getattr(dist, method)
    if method in ("log_prob", "cdf"):
        v = value if value.dtype.kind == "f" else value.astype(np.int64)
        return getattr(dist, method)(lib.tensor(v))
    if method == "icdf":
        return dist.icdf(lib.tensor(ICDF_VALUE))
    return getattr(dist, method)()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(CASES))
def test_values_and_parameter_grads(name, method):
    """Each method's value and, for float outputs, the gradient of its sum with respect to every parameter."""
    ref_dist, ref_params, value = _build(torch, name)
    try:
        expected = _evaluate(torch, ref_dist, method, value)
    except NotImplementedError:
        pytest.skip(f"PyTorch's {name} has no {method}")
    dist, params, _ = _build(engine, name)
    got = _evaluate(engine, dist, method, value)
    assert_same_value(got, expected, atol=1e-9, rtol=1e-7, what=f"{name}.{method}")
    if expected.requires_grad and expected.dtype.is_floating_point:
        mask = torch.isfinite(expected)
        try:
            (expected * mask).sum().backward()
        except RuntimeError:  # PyTorch has no gradient here (Gamma.cdf in concentration)
            return
        (got * engine.tensor(mask.numpy())).sum().backward()
        for i, (ours, theirs) in enumerate(zip(params, ref_params)):
            if theirs.grad is None:
                assert ours.grad is None or not ours.grad.detach().numpy().any()
            else:
                assert_same_value(ours.grad, theirs.grad, atol=1e-8, rtol=1e-6, what=f"{name}.{method} grad {i}")


KL_CASES = {
    "Normal": ([("real", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Normal(a, b)),
    "Bernoulli": ([("unit", (3,))], lambda D, lib, p: D.Bernoulli(p)),
    "Categorical": ([("real", (2, 4))], lambda D, lib, p: D.Categorical(logits=p)),
    "OneHotCategorical": ([("positive", (2, 4))], lambda D, lib, p: D.OneHotCategorical(p)),
    "Uniform": ([("real", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Uniform(a - 3, a + b + 3)),
    "Exponential": ([("positive", (3,))], lambda D, lib, r: D.Exponential(r)),
    "Laplace": ([("real", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Laplace(a, b)),
    "Poisson": ([("positive", (3,))], lambda D, lib, r: D.Poisson(r)),
    "Gamma": ([("positive", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Gamma(a, b)),
    "Beta": ([("positive", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.Beta(a, b)),
    "Dirichlet": ([("positive", (2, 3))], lambda D, lib, c: D.Dirichlet(c)),
    "MultivariateNormal": ([("real", (2, 3)), ("real", (3, 3))],
                           lambda D, lib, m, A: D.MultivariateNormal(m, covariance_matrix=_spd(lib, A))),
    "Independent": ([("real", (2, 3)), ("positive", (2, 3))], lambda D, lib, a, b: D.Independent(D.Normal(a, b), 1)),
    "LogNormal": ([("real", (3,)), ("positive", (3,))], lambda D, lib, a, b: D.LogNormal(a, b)),
}


@pytest.mark.parametrize("name", list(KL_CASES))
def test_kl_divergence_and_grads(name):
    specs, make = KL_CASES[name]
    results = []
    for lib, D in ((torch, TD), (engine, ED)):
        ps = [lib.tensor(a, requires_grad=True) for a in _arrays(specs, seed=0)]
        qs = [lib.tensor(a, requires_grad=True) for a in _arrays(specs, seed=1)]
        kl = D.kl_divergence(make(D, lib, *ps), make(D, lib, *qs))
        kl.sum().backward()
        results.append((kl, ps + qs))
    (theirs, ref), (ours, mine) = results
    assert_same_value(ours, theirs, atol=1e-9, rtol=1e-7, what=f"KL {name}")
    for i, (a, b) in enumerate(zip(mine, ref)):
        assert_same_value(a.grad, b.grad, atol=1e-8, rtol=1e-6, what=f"KL {name} grad {i}")


def test_kl_infinite_and_dispatch():
    kl = ED.kl_divergence(ED.Uniform(engine.tensor([0.0, 0.0]), engine.tensor([1.0, 1.0])),
                          ED.Uniform(engine.tensor([0.5, -1.0]), engine.tensor([2.0, 2.0])))
    assert math.isinf(kl[0].item()) and kl[1].item() == pytest.approx(math.log(3.0))
    kl = ED.kl_divergence(ED.Bernoulli(engine.tensor([0.0, 0.5])), ED.Bernoulli(engine.tensor([0.5, 0.0])))
    expected = TD.kl_divergence(TD.Bernoulli(torch.tensor([0.0, 0.5])), TD.Bernoulli(torch.tensor([0.5, 0.0])))
    np.testing.assert_allclose(kl.numpy(), expected.numpy())
    with pytest.raises(NotImplementedError):
        ED.kl_divergence(ED.Normal(0.0, 1.0), ED.Exponential(1.0))

    class MyNormal(ED.Normal):
        pass

    @ED.register_kl(MyNormal, ED.Normal)
    def _kl(p, q):
        return engine.tensor(42.0)
    assert ED.kl_divergence(MyNormal(0.0, 1.0), ED.Normal(0.0, 1.0)).item() == 42.0
    assert ED.kl_divergence(ED.Normal(0.0, 1.0), MyNormal(0.0, 2.0)).item() == pytest.approx(
        TD.kl_divergence(TD.Normal(0.0, 1.0), TD.Normal(0.0, 2.0)).item())


# --- shapes
SHAPE_CASES = list(CASES)


@pytest.mark.parametrize("name", SHAPE_CASES)
def test_shapes_and_expand(name):
    ref, _, _ = _build(torch, name, grad=False)
    dist, _, _ = _build(engine, name, grad=False)
    assert dist.batch_shape == tuple(ref.batch_shape) and dist.event_shape == tuple(ref.event_shape)
    assert dist.has_rsample == ref.has_rsample and dist.has_enumerate_support == ref.has_enumerate_support
    assert repr(dist) == repr(ref)
    new_batch = (5,) + tuple(ref.batch_shape)
    big, ref_big = dist.expand(new_batch), ref.expand(new_batch)
    assert big.batch_shape == new_batch and big.event_shape == tuple(ref_big.event_shape)
    assert type(big) is type(dist)
    try:
        ref_mean = ref_big.mean
    except NotImplementedError:
        ref_mean = None
    if ref_mean is not None:
        assert_same_value(big.mean.detach(), ref_mean.detach(), what="expanded mean")
    engine.manual_seed(0)
    sample = big.sample((2,))
    assert tuple(sample.shape) == (2,) + tuple(ref_big.batch_shape + ref_big.event_shape)
    assert bool(big.support.check(sample).all()) if not isinstance(big, ED.TransformedDistribution) else True
    if ref.has_enumerate_support:
        assert_same_value(dist.enumerate_support(), ref.enumerate_support(), what="enumerate_support")
        assert_same_value(dist.enumerate_support(False), ref.enumerate_support(False), what="enumerate_support")
    lp = dist.log_prob(sample[0, 0])
    assert tuple(lp.shape) == tuple(ref.batch_shape)


# --- seeded samples
SAMPLE_CASES = {
    "Normal": lambda D, lib: D.Normal(lib.tensor([0.0, 1.0, -2.0], dtype=lib.float64),
                                      lib.tensor([1.0, 0.5, 2.0], dtype=lib.float64)),
    "Uniform": lambda D, lib: D.Uniform(lib.tensor([0.0, -1.0], dtype=lib.float64),
                                        lib.tensor([1.0, 3.0], dtype=lib.float64)),
    "Bernoulli": lambda D, lib: D.Bernoulli(lib.tensor([0.1, 0.5, 0.9], dtype=lib.float64)),
    "Bernoulli32": lambda D, lib: D.Bernoulli(logits=lib.tensor([-1.0, 0.5, 2.0])),
    "LogNormal": lambda D, lib: D.LogNormal(lib.tensor([0.0, 1.0], dtype=lib.float64),
                                            lib.tensor([0.5, 0.2], dtype=lib.float64)),
    "Laplace": lambda D, lib: D.Laplace(lib.tensor([0.0, 1.0], dtype=lib.float64),
                                        lib.tensor([0.5, 2.0], dtype=lib.float64)),
    "Cauchy": lambda D, lib: D.Cauchy(lib.tensor([0.0, 1.0], dtype=lib.float64),
                                      lib.tensor([0.5, 2.0], dtype=lib.float64)),
    "Exponential": lambda D, lib: D.Exponential(lib.tensor([0.5, 2.0], dtype=lib.float64)),
    "MultivariateNormal": lambda D, lib: D.MultivariateNormal(
        lib.tensor([1.0, -1.0, 0.0], dtype=lib.float64),
        scale_tril=lib.tensor([[1.0, 0, 0], [0.5, 2.0, 0], [-0.3, 0.1, 0.7]], dtype=lib.float64)),
    "Independent": lambda D, lib: D.Independent(D.Normal(lib.zeros(2, 3, dtype=lib.float64),
                                                         lib.ones(2, 3, dtype=lib.float64)), 2),
}


@pytest.mark.parametrize("sample_shape", [(), (2,), (4, 5)])
@pytest.mark.parametrize("name", list(SAMPLE_CASES))
def test_seeded_samples_match_pytorch(name, sample_shape):
    for method in ("sample", "rsample"):
        out = []
        for lib, D in ((torch, TD), (engine, ED)):
            dist = SAMPLE_CASES[name](D, lib)
            if method == "rsample" and not dist.has_rsample:
                return
            lib.manual_seed(7)
            out.append(getattr(dist, method)(sample_shape))
        assert_same_value(out[1], out[0], atol=1e-12, rtol=1e-12, what=f"{name}.{method}{sample_shape}")


@pytest.mark.parametrize("name", ["Normal", "Uniform", "Laplace", "Cauchy", "Exponential", "LogNormal", "MVN"])
def test_rsample_gradients_match_pytorch(name):
    makers = {
        "Normal": lambda D, a, b: D.Normal(a, b), "Uniform": lambda D, a, b: D.Uniform(a, a + b),
        "Laplace": lambda D, a, b: D.Laplace(a, b), "Cauchy": lambda D, a, b: D.Cauchy(a, b),
        "Exponential": lambda D, a, b: D.Exponential(b), "LogNormal": lambda D, a, b: D.LogNormal(a, b),
        "MVN": lambda D, a, b: D.MultivariateNormal(a, scale_tril=(b * 0.3 + 1).diag_embed()),
    }
    grads = []
    for lib, D in ((torch, TD), (engine, ED)):
        a, b = (lib.tensor(x, requires_grad=True) for x in _arrays([("real", (3,)), ("positive", (3,))]))
        lib.manual_seed(3)
        sample = makers[name](D, a, b).rsample((2,))
        assert sample.requires_grad
        (sample ** 2).sum().backward()
        grads.append((sample, a.grad, b.grad))
    for ours, theirs in zip(grads[1], grads[0]):
        if theirs is not None:
            assert_same_value(ours, theirs, atol=1e-10, rtol=1e-9, what=f"{name} rsample grads")


def test_normal_rsample_grad_is_reparameterised():
    loc = engine.tensor([0.5, -1.0], requires_grad=True)
    scale = engine.tensor([1.0, 2.0], requires_grad=True)
    engine.manual_seed(0)
    x = ED.Normal(loc, scale).rsample((3,))
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(scale.grad.numpy(), ((x.detach() - loc.detach()) / scale.detach()).sum(0).numpy(),
                               rtol=1e-6)
    assert not ED.Normal(loc, scale).sample().requires_grad


def test_gamma_family_samples_and_reparameterised_grads():
    engine.manual_seed(0)
    alpha = engine.tensor([0.3, 1.0, 4.0, 30.0], dtype=engine.float64, requires_grad=True)
    rate = engine.tensor([1.0, 2.0, 0.5, 3.0], dtype=engine.float64, requires_grad=True)
    x = ED.Gamma(alpha, rate).rsample((4000,))
    np.testing.assert_allclose(x.detach().mean(0).numpy(), (alpha / rate).detach().numpy(), rtol=0.08)
    x[:5].sum().backward()
    # d x / d alpha: the implicit (CDF) gradient; PyTorch's _standard_gamma_grad approximates it to ~1e-4
    raw = (x[:5] * rate).detach()
    expected = torch._standard_gamma_grad(torch.tensor(alpha.detach().numpy()).expand(5, 4), torch.tensor(raw.numpy()))
    np.testing.assert_allclose(alpha.grad.numpy(), (expected / torch.tensor(rate.detach().numpy())).sum(0).numpy(),
                               rtol=5e-4)
    np.testing.assert_allclose(rate.grad.numpy(), (-(x[:5] / rate).detach()).sum(0).numpy(), rtol=1e-9)
    # Beta and Dirichlet rsample are normalised gammas, on the simplex and differentiable
    c = engine.tensor([0.5, 2.0, 5.0], dtype=engine.float64, requires_grad=True)
    d = ED.Dirichlet(c).rsample((3000,))
    np.testing.assert_allclose(d.detach().sum(-1).numpy(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(d.detach().mean(0).numpy(), (c / c.sum()).detach().numpy(), atol=0.02)
    d[:, 0].sum().backward()
    assert c.grad is not None and np.isfinite(c.grad.numpy()).all()
    b = ED.Beta(engine.tensor(2.0), engine.tensor(3.0)).sample((2000,))
    assert 0.35 < b.mean().item() < 0.45 and bool(((b > 0) & (b < 1)).all())


def test_discrete_samples():
    engine.manual_seed(1)
    rate = engine.tensor([0.5, 4.0, 25.0, 200.0], dtype=engine.float64)
    p = ED.Poisson(rate).sample((3000,))
    assert p.dtype == engine.float64 and bool((p == p.round()).all())
    np.testing.assert_allclose(p.mean(0).numpy(), rate.numpy(), rtol=0.05)
    np.testing.assert_allclose(p.var(0).numpy(), rate.numpy(), rtol=0.15)
    b = ED.Binomial(engine.tensor([3.0, 10.0]), engine.tensor([0.2, 0.7])).sample((3000,))
    assert b.shape == (3000, 2) and bool((b <= engine.tensor([3.0, 10.0])).all())
    np.testing.assert_allclose(b.mean(0).numpy(), [0.6, 7.0], rtol=0.05)
    c = ED.Categorical(engine.tensor([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])).sample((2000,))
    assert c.shape == (2000, 2) and c.dtype == engine.int64
    np.testing.assert_allclose(np.bincount(c[:, 0].numpy(), minlength=3) / 2000, [0.1, 0.2, 0.7], atol=0.04)
    assert not bool((c[:, 1] == 2).any())
    oh = ED.OneHotCategorical(engine.tensor([0.2, 0.8])).sample((5,))
    assert oh.shape == (5, 2) and bool((oh.sum(-1) == 1).all())


# --- validation
def _raises_like(make_ours, make_theirs):
    with pytest.raises(ValueError) as theirs:
        make_theirs()
    with pytest.raises(ValueError) as ours:
        make_ours()
    assert str(ours.value).splitlines()[0] == str(theirs.value).splitlines()[0]


@pytest.mark.parametrize("case", [
    lambda D, lib: D.Normal(0.0, -1.0),
    lambda D, lib: D.Normal(lib.tensor([0.0, 1.0]), lib.tensor([1.0, 0.0])),
    lambda D, lib: D.Bernoulli(probs=1.5),
    lambda D, lib: D.Bernoulli(probs=0.5, logits=0.0),
    lambda D, lib: D.Bernoulli(),
    lambda D, lib: D.Categorical(probs=lib.tensor([0.5, -0.1])),
    lambda D, lib: D.Uniform(1.0, 0.0),
    lambda D, lib: D.Exponential(lib.tensor([-1.0])),
    lambda D, lib: D.Gamma(1.0, 0.0),
    lambda D, lib: D.Dirichlet(lib.tensor(1.0)),
    lambda D, lib: D.MultivariateNormal(lib.zeros(2)),
    lambda D, lib: D.MultivariateNormal(lib.zeros(2), covariance_matrix=lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda D, lib: D.MultivariateNormal(lib.zeros(2), scale_tril=lib.tensor([[1.0, 1.0], [0.0, 1.0]])),
    lambda D, lib: D.Normal(0.0, 1.0).log_prob(0.5),
    lambda D, lib: D.Normal(lib.zeros(3), 1.0).log_prob(lib.zeros(2)),
    lambda D, lib: D.MultivariateNormal(lib.zeros(3), lib.eye(3)).log_prob(lib.zeros(2)),
    lambda D, lib: D.Exponential(1.0).log_prob(lib.tensor(-1.0)),
    lambda D, lib: D.Bernoulli(0.3).log_prob(lib.tensor(0.5)),
    lambda D, lib: D.Categorical(logits=lib.zeros(3)).log_prob(lib.tensor(3)),
    lambda D, lib: D.Beta(2.0, 2.0).log_prob(lib.tensor(1.5)),
    lambda D, lib: D.Poisson(2.0).log_prob(lib.tensor(1.5)),
    lambda D, lib: D.Binomial(3, lib.tensor(0.5)).log_prob(lib.tensor(4.0)),
])
def test_validation_errors_match_pytorch(case):
    _raises_like(lambda: case(ED, engine), lambda: case(TD, torch))


def test_validate_args_switches():
    assert math.isnan(ED.Normal(0.0, -1.0, validate_args=False).scale.item() * float("nan"))
    assert ED.Exponential(1.0, validate_args=False).log_prob(engine.tensor(-1.0)).item() == pytest.approx(1.0)
    try:
        ED.Distribution.set_default_validate_args(False)
        ED.Normal(0.0, -1.0)  # no error
        with pytest.raises(ValueError):
            ED.Normal(0.0, -1.0, validate_args=True)
    finally:
        ED.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        ED.Normal(0.0, -1.0)
    with pytest.raises(ValueError):
        ED.Distribution.set_default_validate_args(3)


def test_constraints_and_support():
    C = ED.constraints
    assert repr(C.positive) == "GreaterThan(lower_bound=0.0)" and repr(C.real_vector) == "IndependentConstraint(Real(), 1)"
    assert repr(ED.Uniform(0.0, 2.0).support) == repr(TD.Uniform(0.0, 2.0).support)
    assert C.simplex.check(engine.tensor([[0.2, 0.8], [0.5, 0.6]])).tolist() == [True, False]
    assert C.lower_cholesky.check(engine.tensor([[1.0, 0.0], [2.0, 3.0]])).item()
    assert not C.positive_definite.check(engine.tensor([[1.0, 2.0], [2.0, 1.0]])).item()
    assert ED.Categorical(logits=engine.zeros(4)).support.upper_bound == 3
    assert repr(ED.Uniform(0.0, 2.0).arg_constraints["low"]) == "LessThan(upper_bound=2.0)"
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)


def test_incomplete_gamma_without_scipy_matches_scipy():
    """Gamma's cdf and rsample gradient use SciPy when it is there, these NumPy versions otherwise."""
    special = pytest.importorskip("scipy.special")
    from gradview.engine.distributions.gamma import _gammainc_pair_np, _gammaln_np
    rng = np.random.default_rng(0)
    a, x = rng.uniform(0.05, 30, 500), np.concatenate([[0.0], rng.uniform(0, 60, 499)])
    p, q = _gammainc_pair_np(a, x)
    np.testing.assert_allclose(p, special.gammainc(a, x), atol=1e-13)
    np.testing.assert_allclose(q, special.gammaincc(a, x), atol=1e-13)
    np.testing.assert_allclose(_gammaln_np(a), special.gammaln(a), rtol=1e-13, atol=1e-14)
