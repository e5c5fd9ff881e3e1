# %%
# Welcome to gradview. Each cell runs as you type; the graph on the right is what it computed.
# Click a node to inspect its value and gradient; put the cursor on a line to light up its nodes.
import torch

x = torch.tensor(2.0, requires_grad=True)
w = torch.tensor(-3.0, requires_grad=True)
b = torch.tensor(1.0, requires_grad=True)

# %%
# Forward: every operation becomes a node. Backward: gradients flow back along the edges.
y = w * x + b
out = torch.tanh(y)
out.backward()
print("out =", out)
print("d out/dx =", x.grad, "  d out/dw =", w.grad)

# %%
# The graph is built by running Python: change the loop count and watch nodes appear.
h = torch.ones(3, requires_grad=True)
z = h
for step in range(3):
    z = torch.sin(z) * 2
total = z.sum()
total.backward()
print("h.grad =", h.grad)
