# In-place operations, retain_grad and hooks.
import torch

torch.manual_seed(2)
w = torch.ones(3, requires_grad=True)
b = torch.zeros(2, 3)
b[0] = w * 2
print(b)
(b.sum() + w.sum()).backward()
print(w.grad)

w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
loss = torch.Tensor([0])
for i in range(3):
    loss += (w * (i + 1)).sum()
print(loss)
loss.backward()
print(w.grad)

x = torch.randn(3, requires_grad=True)
y = x * 2
y.retain_grad()
z = y.relu()
z.retain_grad()
s = (z ** 2).sum()
s.backward()
print(y.grad)
print(z.grad)
print(x.grad)

grads = {}
def save_grad(name):
    def hook(grad):
        grads[name] = grad
    return hook

x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
h = x.exp()
h.register_hook(save_grad('h'))
x.register_hook(lambda g: g * 10)
out = (h * 3).sum()
out.backward()
print(grads['h'])
print(x.grad)

a = torch.tensor([2.0, 3.0], requires_grad=True)
c = a.clone()
c.mul_(a)
c.add_(1)
print(c, c.grad_fn)
c.sum().backward()
print(a.grad)

t = torch.zeros(4)
t.copy_(torch.arange(4.))
t.clamp_(1, 2)
print(t)
m = torch.tensor([1.0, 2.0], requires_grad=True)
buf = torch.zeros(2)
buf.copy_(m * m)
print(buf.grad_fn is not None)
buf.sum().backward()
print(m.grad)

# modifying a leaf's data directly
p = torch.tensor([1.0, 1.0], requires_grad=True)
(p * 5).sum().backward()
p.data -= 0.1 * p.grad
print(p)
with torch.no_grad():
    p -= 0.1 * p.grad
print(p, p.requires_grad, p.is_leaf)
