# torch.no_grad, detach, requires_grad_, set_grad_enabled, inference-style evaluation.
import torch

torch.manual_seed(14)
x = torch.randn(3, requires_grad=True)
with torch.no_grad():
    y = x * 2
print(y.requires_grad, y.grad_fn)
z = x.detach()
print(z.requires_grad, z is x)
z[0] = 100.0
print(x[0].item() == 100.0)
w = x.detach().clone().requires_grad_()
print(w.is_leaf, w.requires_grad)

torch.set_grad_enabled(False)
q = x * 3
print(q.requires_grad)
torch.set_grad_enabled(True)
with torch.set_grad_enabled(False):
    print((x * 3).requires_grad)
print(torch.is_grad_enabled())


@torch.no_grad()
def evaluate(t):
    return (t ** 2).sum()


print(evaluate(x).requires_grad)
with torch.enable_grad():
    print((x * 1).requires_grad)
with torch.inference_mode():
    r = x + 1
print(r.requires_grad)

# a stop-gradient trick: straight-through estimator
a = torch.tensor([0.2, 0.7, -1.3], requires_grad=True)
hard = (a > 0).float()
ste = hard + a - a.detach()
ste.sum().backward()
print(ste, a.grad)

b = torch.ones(2, 2)
print(b.requires_grad)
b.requires_grad = True
(b * b).sum().backward()
print(b.grad)
c = b.data
c.mul_(2)
print(b)
print(x.numpy() if not x.requires_grad else x.detach().numpy().round(4))
try:
    x.numpy()
except RuntimeError as e:
    print('RuntimeError', 'requires grad' in str(e))
