# %%
# Welcome to gradview. Cells run as you type
# (Shift+Enter runs at once). The graph on the right is
# what the cell with the cursor computed. Click a node to
# inspect it; a line with the cursor lights up its nodes.
import torch

# %%
# Forward: every operation becomes a node. Backward:
# gradients flow back along the edges and colour the nodes.
x = torch.tensor(2.0, requires_grad=True)
w = torch.tensor(-3.0, requires_grad=True)
b = torch.tensor(1.0, requires_grad=True)
y = w * x + b
out = torch.tanh(y)
out.backward()
print("out =", out)
print("d out/dx =", x.grad, "  d out/dw =", w.grad)

# %%
# The graph is built by running Python: change range(3)
# to range(5) and watch two more sin → mul pairs appear.
h = torch.ones(3, requires_grad=True)
z = h
for step in range(3):
    z = torch.sin(z) * 2
total = z.sum()
total.backward()
print("h.grad =", h.grad)

# %%
# Tensors: a layer by hand. Nodes show the shapes made.
torch.manual_seed(0)
W = torch.randn(4, 3, requires_grad=True)
bias = torch.zeros(4, requires_grad=True)
inputs = torch.randn(3)
hidden = torch.relu(W @ inputs + bias)
loss = (hidden ** 2).mean()
loss.backward()
print("loss =", loss.item(), " |dW| =", W.grad.norm().item())
