# Linear regression by hand: manual gradients, then autograd, both with plain tensors.
import torch

torch.manual_seed(3)
N = 50
x = torch.rand(N, 1) * 5
y = 3 * x + 2 + torch.randn(N, 1) * 0.3

w = torch.rand(1, 1)
b = torch.zeros(1, 1)
lr = 0.02
for i in range(200):
    y_pred = x.mm(w) + b.expand_as(y)
    loss = 0.5 * (y_pred - y) ** 2
    loss = loss.sum() / N
    dloss = (y_pred - y) / N
    dw = x.t().mm(dloss)
    db = dloss.sum()
    w.sub_(lr * dw)
    b.sub_(lr * db)
    if i % 50 == 0:
        print(i, loss.item())
print('manual', w.squeeze().item(), b.squeeze().item())

w = torch.rand(1, 1, requires_grad=True)
b = torch.zeros(1, 1, requires_grad=True)
for i in range(200):
    y_pred = x.mm(w) + b.expand_as(y)
    loss = 0.5 * (y_pred - y) ** 2
    loss = loss.sum() / N
    loss.backward()
    w.data.sub_(lr * w.grad.data)
    b.data.sub_(lr * b.grad.data)
    w.grad.data.zero_()
    b.grad.data.zero_()
    if i % 50 == 0:
        print(i, round(loss.item(), 5))
print('autograd', w.item(), b.item())

# closed form with the normal equations
X = torch.cat([x, torch.ones(N, 1)], dim=1)
theta = torch.linalg.solve(X.T @ X, X.T @ y)
print(theta.view(-1))
print(torch.linalg.lstsq(X, y).solution.flatten())
