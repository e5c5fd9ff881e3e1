# A character-level RNN/LSTM/GRU trained for a few steps on a short text.
import torch
import torch.nn as nn

torch.manual_seed(8)
text = "hello world, hello torch"
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
itos = {i: c for c, i in stoi.items()}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
print(len(chars), data[:10])


class CharModel(nn.Module):
    def __init__(self, vocab, hidden, cell):
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.rnn = cell(8, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, x, h=None):
        out, h = self.rnn(self.embed(x), h)
        return self.fc(out), h


inputs = data[:-1].unsqueeze(0)
targets = data[1:].unsqueeze(0)
for cell in (nn.RNN, nn.LSTM, nn.GRU):
    model = CharModel(len(chars), 16, cell)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(30):
        logits, _ = model(inputs)
        loss = loss_fn(logits.view(-1, len(chars)), targets.view(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    print(cell.__name__, round(loss.item(), 4))
    # greedy sampling
    x = torch.tensor([[stoi['h']]])
    h = None
    out = 'h'
    with torch.no_grad():
        for _ in range(10):
            logits, h = model(x, h)
            nxt = logits[0, -1].argmax().item()
            out += itos[nxt]
            x = torch.tensor([[nxt]])
    print(repr(out))
    if isinstance(h, tuple):
        print([t.shape for t in h])
    else:
        print(h.shape)

# an RNN cell unrolled by hand
cell = nn.RNNCell(3, 4)
hx = torch.zeros(2, 4)
seq = torch.randn(5, 2, 3)
outs = []
for t in range(5):
    hx = cell(seq[t], hx)
    outs.append(hx)
print(torch.stack(outs).shape, hx)
lstm = nn.LSTMCell(3, 4)
h, c = lstm(seq[0])
print(h.sum().item(), c.sum().item())
