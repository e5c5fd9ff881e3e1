# A two-layer MLP on synthetic blobs, with CrossEntropyLoss and Adam.
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)
centers = torch.tensor([[0., 0.], [3., 3.], [0., 3.]])
X = torch.cat([torch.randn(40, 2) * 0.7 + c for c in centers])
y = torch.arange(3).repeat_interleave(40)
perm = torch.randperm(len(X))
X, y = X[perm], y[perm]

net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
print(net)
opt = torch.optim.Adam(net.parameters(), lr=0.05)
for step in range(60):
    logits = net(X)
    loss = F.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 15 == 0:
        pred = logits.argmax(dim=1)
        print(step, '%.4f' % loss.item(), (pred == y).sum().item())
with torch.no_grad():
    probs = F.softmax(net(X[:4]), dim=1)
print(probs)
print(probs.sum(1))
_, predicted = torch.max(net(X), 1)
print('accuracy', (predicted == y).float().mean().item())
print(sum(p.numel() for p in net.parameters()))
for name, p in net.named_parameters():
    print(name, tuple(p.shape), p.grad.abs().sum().item() > 0)
