# %%
# One neuron, as in micrograd: o = tanh(x1*w1 + x2*w2 + b).
import torch

x1, x2 = torch.tensor(2.0), torch.tensor(0.0)
w1 = torch.tensor(-3.0, requires_grad=True)
w2 = torch.tensor(1.0, requires_grad=True)
b = torch.tensor(6.8813735870195432, requires_grad=True)

n = x1 * w1 + x2 * w2 + b
o = torch.tanh(n)
o.backward()
print("o =", round(o.item(), 4))
print("do/dw1 =", round(w1.grad.item(), 4), " do/dw2 =", round(w2.grad.item(), 4))

# %%
# Teach it: four points, squared error, gradient descent.
# Each backward() closes a step: move the step slider
# and watch the loss curve.
xs = torch.tensor([[2.0, 3.0], [3.0, -1.0],
                   [0.5, 1.0], [1.0, 1.0]])
ys = torch.tensor([1.0, -1.0, -1.0, 1.0])
w = torch.tensor([0.1, -0.2], requires_grad=True)
bias = torch.tensor(0.0, requires_grad=True)

for step in range(25):
    pred = torch.tanh(xs @ w + bias)
    loss = ((pred - ys) ** 2).sum()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        bias -= 0.1 * bias.grad
    w.grad = None
    bias.grad = None

print("final loss:", round(loss.item(), 4))
print("predictions:", [round(p, 2) for p in pred.tolist()])
