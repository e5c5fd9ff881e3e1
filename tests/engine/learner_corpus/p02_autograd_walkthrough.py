# Autograd walkthrough: requires_grad, grad_fn, backward, accumulation and zeroing.
import torch

x = torch.ones(2, 2, requires_grad=True)
print(x)
y = x + 2
print(y)
print(y.grad_fn)
print(x.grad_fn, x.is_leaf, y.is_leaf)
z = y * y * 3
out = z.mean()
print(z, out)
out.backward()
print(x.grad)

a = torch.randn(2, 2)
a = ((a * 3) / (a - 1))
print(a.requires_grad)
a.requires_grad_(True)
print(a.requires_grad)
b = (a * a).sum()
print(b.grad_fn)

torch.manual_seed(1)
x = torch.randn(3, requires_grad=True)
y = x * 2
while y.data.norm() < 1000:
    y = y * 2
print(y)
v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
y.backward(v)
print(x.grad)

print(x.requires_grad)
print((x ** 2).requires_grad)
with torch.no_grad():
    print((x ** 2).requires_grad)

# gradients accumulate
w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
for i in range(3):
    loss = (w * w).sum()
    loss.backward()
    print(i, w.grad)
w.grad.zero_()
print(w.grad)

# the chain rule by hand
x = torch.tensor(2.0, requires_grad=True)
y = x ** 3 + 2 * x
y.backward()
print(x.grad, 3 * 2.0 ** 2 + 2)

# retain_graph
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = (x * x).sum()
y.backward(retain_graph=True)
print(x.grad)
y.backward()
print(x.grad)

# torch.autograd.grad and higher order
x = torch.tensor(3.0, requires_grad=True)
y = x ** 4
g, = torch.autograd.grad(y, x, create_graph=True)
print(g)
g2, = torch.autograd.grad(g, x)
print(g2)
print(y.grad_fn.next_functions)
