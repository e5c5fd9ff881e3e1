"""torch.fft on real tensors and the window functions, against PyTorch: values, dtypes, the
gradients of the real-result transforms (and their second derivative), and what is refused."""
import numpy as np
import pytest

from gradview import engine

torch = pytest.importorskip("torch")

C2R = [("irfft", {}), ("irfft", {"n": 7, "norm": "ortho"}), ("irfft", {"n": 3, "dim": 0}),
       ("irfft2", {"s": (2, 9)}), ("irfftn", {"s": (4, 6), "norm": "forward"}), ("irfftn", {}),
       ("hfft", {"n": 3, "norm": "forward"}), ("hfft2", {}), ("hfftn", {"dim": (0,), "norm": "ortho"})]


@pytest.mark.parametrize("name,kwargs", C2R)
def test_real_result_transforms_match_pytorch_with_gradients(name, kwargs):
    x = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1), requires_grad=True)
    e = engine.tensor(x.detach().numpy(), requires_grad=True)
    theirs, ours = getattr(torch.fft, name)(x, **kwargs), getattr(engine.fft, name)(e, **kwargs)
    assert ours.dtype == engine.float64 and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-12)
    c = torch.rand(theirs.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    (g_t,) = torch.autograd.grad((theirs * c).sum() ** 2, x, create_graph=True)
    (g_o,) = engine.autograd.grad((ours * engine.tensor(c.numpy())).sum() ** 2, e, create_graph=True)
    np.testing.assert_allclose(g_o.detach().numpy(), g_t.detach().numpy(), atol=1e-10)
    (gg_t,) = torch.autograd.grad(g_t.sum(), x)
    (gg_o,) = engine.autograd.grad(g_o.sum(), e)
    np.testing.assert_allclose(gg_o.numpy(), gg_t.numpy(), atol=1e-10)


def test_integer_input_gives_the_default_float_and_bad_norm_raises():
    assert engine.fft.irfft(engine.tensor([1, 2, 3])).dtype == engine.float32
    np.testing.assert_allclose(engine.fft.irfft(engine.tensor([1, 2, 3])).numpy(),
                               torch.fft.irfft(torch.tensor([1, 2, 3])).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="Invalid normalization mode"):
        engine.fft.irfft(engine.ones(4), norm="bogus")


def test_frequencies_and_shifts():
    np.testing.assert_allclose(engine.fft.fftfreq(5, 0.1).numpy(), torch.fft.fftfreq(5, 0.1).numpy())
    np.testing.assert_allclose(engine.fft.rfftfreq(6).numpy(), torch.fft.rfftfreq(6).numpy())
    assert engine.fft.fftfreq(4, dtype=engine.float64).dtype == engine.float64
    x = torch.arange(15.).reshape(3, 5)
    for fn, kw in (("fftshift", {}), ("ifftshift", {}), ("fftshift", {"dim": 1}), ("ifftshift", {"dim": (0,)})):
        np.testing.assert_array_equal(getattr(engine.fft, fn)(engine.tensor(x.numpy()), **kw).numpy(),
                                      getattr(torch.fft, fn)(x, **kw).numpy())


def test_complex_result_transforms_are_absent():
    for name in ("fft", "rfft", "ihfft", "fftn"):
        assert not hasattr(engine.fft, name)


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "bartlett_window", "blackman_window",
                                  "kaiser_window"])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("periodic", [True, False])
def test_torch_level_windows_match_pytorch(name, n, periodic):
    theirs = getattr(torch, name)(n, periodic, dtype=torch.float64)
    ours = getattr(engine, name)(n, periodic, dtype=engine.float64)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)


def test_signal_windows_match_pytorch():
    for name, kw in (("hann", {}), ("kaiser", {"beta": 3.0, "sym": False}), ("exponential", {"tau": 2.0}),
                     ("gaussian", {"std": 0.7, "sym": False}), ("general_cosine", {"a": [0.5, 0.3, 0.2]}),
                     ("cosine", {"sym": False}), ("nuttall", {}), ("bartlett", {"sym": False})):
        theirs = getattr(torch.signal.windows, name)(7, **kw)
        ours = getattr(engine.signal.windows, name)(7, **kw)
        assert ours.dtype == engine.float32
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="float32 or float64"):
        engine.signal.windows.hann(4, dtype=engine.int64)
