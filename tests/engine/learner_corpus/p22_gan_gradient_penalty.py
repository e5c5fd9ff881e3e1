# A tiny GAN on 1-D data with a WGAN gradient penalty (autograd.grad with create_graph).
import torch
import torch.nn as nn

torch.manual_seed(22)
G = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
D = nn.Sequential(nn.Linear(1, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.9))
opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))


def gradient_penalty(D, real, fake):
    alpha = torch.rand(real.size(0), 1)
    interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    d_interp = D(interp)
    grads = torch.autograd.grad(outputs=d_interp, inputs=interp,
                                grad_outputs=torch.ones_like(d_interp),
                                create_graph=True, retain_graph=True, only_inputs=True)[0]
    return ((grads.norm(2, dim=1) - 1) ** 2).mean()


for step in range(15):
    real = torch.randn(16, 1) * 0.5 + 2.0
    z = torch.randn(16, 2)
    fake = G(z)
    d_loss = D(fake.detach()).mean() - D(real).mean() + 10 * gradient_penalty(D, real, fake.detach())
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = -D(G(torch.randn(16, 2))).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    if step % 5 == 0:
        print(step, round(d_loss.item(), 4), round(g_loss.item(), 4))
with torch.no_grad():
    samples = G(torch.randn(100, 2))
print(samples.mean().item(), samples.std().item())

# a classic BCE GAN step with labels and detach
bce = nn.BCEWithLogitsLoss()
real_labels = torch.ones(16, 1)
fake_labels = torch.zeros(16, 1)
real = torch.randn(16, 1) + 2
fake = G(torch.randn(16, 2))
d_loss = bce(D(real), real_labels) + bce(D(fake.detach()), fake_labels)
print(d_loss)
g_loss = bce(D(fake), real_labels)
g_loss.backward()
print(G[0].weight.grad.abs().sum() > 0, D[0].weight.grad is None)
