# BatchNorm and a hand-written MLP with manual backprop checked against autograd.
import torch
import torch.nn.functional as F

g = torch.Generator().manual_seed(2147483647)
n_in, n_hidden, n_out, B = 6, 10, 4, 8
X = torch.randn(B, n_in, generator=g)
Y = torch.randint(0, n_out, (B,), generator=g)
W1 = torch.randn(n_in, n_hidden, generator=g) * (5 / 3) / n_in ** 0.5
b1 = torch.randn(n_hidden, generator=g) * 0.1
W2 = torch.randn(n_hidden, n_out, generator=g) * 0.1
b2 = torch.randn(n_out, generator=g) * 0.1
bngain = torch.randn(1, n_hidden, generator=g) * 0.1 + 1.0
bnbias = torch.randn(1, n_hidden, generator=g) * 0.1
parameters = [W1, b1, W2, b2, bngain, bnbias]
for p in parameters:
    p.requires_grad = True

hprebn = X @ W1 + b1
bnmeani = 1 / B * hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff ** 2
bnvar = 1 / (B - 1) * bndiff2.sum(0, keepdim=True)
bnvar_inv = (bnvar + 1e-5) ** -0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = torch.tanh(hpreact)
logits = h @ W2 + b2
loss = F.cross_entropy(logits, Y)
for t in [hpreact, h, logits]:
    t.retain_grad()
loss.backward()
print('loss', loss.item())

# manual backward
dlogits = F.softmax(logits, 1)
dlogits[range(B), Y] -= 1
dlogits /= B
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
dhpreact = (1.0 - h ** 2) * dh
dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
dbnbias = dhpreact.sum(0, keepdim=True)
dhprebn = bngain * bnvar_inv / B * (B * dhpreact - dhpreact.sum(0) - B / (B - 1) * bnraw * (dhpreact * bnraw).sum(0))
dW1 = X.T @ dhprebn
db1 = dhprebn.sum(0)


def cmp(s, dt, t):
    ex = torch.all(dt == t.grad).item()
    app = torch.allclose(dt, t.grad, atol=1e-6)
    maxdiff = (dt - t.grad).abs().max().item()
    print(f'{s:10s} | approximate: {str(app):5s} | maxdiff small: {maxdiff < 1e-5}')


cmp('logits', dlogits, logits)
cmp('h', dh, h)
cmp('W2', dW2, W2)
cmp('b2', db2, b2)
cmp('hpreact', dhpreact, hpreact)
cmp('bngain', dbngain, bngain)
cmp('bnbias', dbnbias, bnbias)
cmp('W1', dW1, W1)
cmp('b1', db1, b1)
print(dW1[0])

bn = torch.nn.BatchNorm1d(n_hidden)
out = bn(hprebn.detach())
print(out.mean(0).abs().max().item() < 1e-5, bn.running_mean[:3], bn.running_var[:3])
bn.eval()
print(bn(hprebn.detach())[0, :4])
print(F.batch_norm(hprebn.detach(), torch.zeros(n_hidden), torch.ones(n_hidden), training=True)[0, :4])
