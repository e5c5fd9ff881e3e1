"""Linear regression with stochastic gradient descent: recover y = 3 x1 - 2 x2 + 0.5 from noisy data.

Shows: nn.Linear, MSELoss, SGD, mini-batches from a DataLoader and reading the learned
weights back out of the model.

    python -m gradview.engine.run app/examples/training/linear_regression.py   (or plain python, with PyTorch)

1000 samples with noise of standard deviation 0.1, batches of 50, SGD (lr 0.1) for 20 epochs: the
weights come out within 0.01 of (3, -2) and the bias within 0.01 of 0.5; the mean squared error
settles at about 0.01, the variance of the noise, in under a second.
"""
import numpy as np

import torch

TRUE_WEIGHT = (3.0, -2.0)
TRUE_BIAS = 0.5


def make_data(n=1000, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    y = x @ np.array(TRUE_WEIGHT, dtype=np.float32) + TRUE_BIAS + rng.normal(0, noise, size=n).astype(np.float32)
    return x, y[:, None].astype(np.float32)


def make_model(nn):
    """The model, built from any torch-compatible `nn` namespace."""
    return nn.Linear(2, 1)


def train(epochs=20, batch_size=50, lr=0.1, seed=0, verbose=True):
    torch.manual_seed(seed)
    x, y = (torch.tensor(a) for a in make_data(seed=seed))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    model = make_model(torch.nn)
    loss_fn = torch.nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for epoch in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            history.append(loss_fn(model(x), y).item())
        if verbose and (epoch % 5 == 0 or epoch == epochs - 1):
            print(f"epoch {epoch:2d}  mse {history[-1]:.5f}")
    return model, history


def main():
    model, history = train()
    w = model.weight.detach().numpy()[0]
    b = model.bias.item()
    print(f"learned y = {w[0]:.3f} x1 + {w[1]:.3f} x2 + {b:.3f}   (true: 3 x1 - 2 x2 + 0.5), mse {history[-1]:.4f}")


if __name__ == "__main__":
    main()
