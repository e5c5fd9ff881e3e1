"""A character-level language model: an LSTM learns to continue a short text letter by letter.

Shows: Embedding, LSTM (batch_first) and Linear; a graph whose shape changes from step to step,
because every batch has its own sequence length (drawn at random), as define-by-run autograd
allows; gradient clipping with nn.utils.clip_grad_norm_; sampling from the trained model.

    python -m gradview.engine.run app/examples/training/char_rnn.py [--seed N]   (or plain python, with PyTorch)

250 Adam steps on batches of 32 sequences of 8 to 40 characters: the loss falls from about 3.4
(a uniform guess over the 30 characters) to about 0.3 nats per character in a few
seconds, and the samples reproduce phrases of the text.
"""
import argparse

import numpy as np

import torch

TEXT = (
    "the gradient of a sum is the sum of the gradients. the gradient flows backward through every "
    "operation that was recorded, from the loss to the leaves. a leaf that requires grad collects "
    "what arrives in its grad field, and the optimizer then takes a small step against it. "
    "step after step the loss goes down, the weights settle, and the network learns to guess the "
    "next letter of the text it reads. each batch may have its own length: the graph is built "
    "again on every run, so a loop of any length is just more nodes in the graph. "
) * 3
VOCAB = sorted(set(TEXT))
INDEX = {ch: i for i, ch in enumerate(VOCAB)}
ENCODED = np.array([INDEX[ch] for ch in TEXT], dtype=np.int64)


def make_batches(steps, batch_size=32, min_len=8, max_len=40, seed=0):
    """`steps` (input, target) batches; each has its own random sequence length."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(steps):
        length = int(rng.integers(min_len, max_len + 1))
        starts = rng.integers(0, len(ENCODED) - length - 1, size=batch_size)
        idx = starts[:, None] + np.arange(length + 1)
        chunk = ENCODED[idx]
        batches.append((chunk[:, :-1], chunk[:, 1:]))
    return batches


def make_model(nn, hidden=128, embed=32):
    """The network, built from any torch-compatible `nn` namespace."""

    class CharModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(len(VOCAB), embed)
            self.lstm = nn.LSTM(embed, hidden, batch_first=True)
            self.head = nn.Linear(hidden, len(VOCAB))

        def forward(self, x, state=None):
            out, state = self.lstm(self.embed(x), state)
            return self.head(out), state

    return CharModel()


def loss_of(model, x, y):
    logits, _ = model(x)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, len(VOCAB)), y.reshape(-1))


def sample(model, start="the ", length=120, temperature=0.5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    out = list(start)
    with torch.no_grad():
        logits, state = model(torch.tensor([[INDEX[c] for c in start]]))
        for _ in range(length):
            probs = torch.softmax(logits[0, -1] / temperature, dim=0)
            nxt = int(torch.multinomial(probs, 1, generator=generator).item())
            out.append(VOCAB[nxt])
            logits, state = model(torch.tensor([[nxt]]), state)
    model.train()
    return "".join(out)


def train(steps=250, lr=0.005, seed=0, verbose=True):
    torch.manual_seed(seed)
    model = make_model(torch.nn)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for step, (x, y) in enumerate(make_batches(steps, seed=seed)):
        x, y = torch.tensor(x), torch.tensor(y)
        optimizer.zero_grad()
        loss = loss_of(model, x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        history.append(loss.item())
        if verbose and (step % 50 == 0 or step == steps - 1):
            print(f"step {step:4d}  sequence length {x.shape[1]:2d}  loss {loss.item():.3f}")
    return model, history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model, history = train(seed=args.seed)
    print(f"mean loss over the last 50 steps {np.mean(history[-50:]):.3f}")
    print("sample:", sample(model, seed=args.seed))


if __name__ == "__main__":
    main()
