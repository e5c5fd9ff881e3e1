# %%
# The graph is dynamic: it records what Python actually ran,
# branches and loops included.
import torch

torch.manual_seed(0)
x = torch.randn(3, requires_grad=True)

# %%
# A data-dependent loop: the number of doublings
# depends on x's values.
x.grad = None
y = x * 2
doublings = 0
while y.norm() < 50:
    y = y * 2
    doublings += 1
# ...and a branch: only the side taken becomes nodes.
if y.sum() > 0:
    z = y.sum()
else:
    z = (-y).sum()
z.backward()
print("doublings:", doublings, " x.grad =", x.grad)

# %%
# Recursion: each call adds a multiplication.
def power(t, n):
    return t if n == 1 else t * power(t, n - 1)

p = power(x, 4).sum()
print("p =", p.item())
