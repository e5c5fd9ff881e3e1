# Weight initialisation with nn.init and gradient clipping.
import torch
import torch.nn as nn

torch.manual_seed(16)
w = torch.empty(3, 5)
print(nn.init.uniform_(w, -0.1, 0.1))
print(nn.init.normal_(w, mean=0.0, std=0.02))
print(nn.init.constant_(w, 0.3))
print(nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain('relu')))
print(nn.init.xavier_normal_(w))
print(nn.init.kaiming_uniform_(w, mode='fan_in', nonlinearity='relu'))
print(nn.init.kaiming_normal_(w, mode='fan_out'))
print(nn.init.orthogonal_(torch.empty(3, 3)) @ nn.init.orthogonal_(torch.empty(3, 3)).t() is not None)
print(nn.init.eye_(torch.empty(2, 3)))
print(nn.init.trunc_normal_(torch.empty(4), std=0.5))
print(nn.init.calculate_gain('tanh'), nn.init.calculate_gain('leaky_relu', 0.2))


def init_weights(m):
    if type(m) == nn.Linear:
        torch.nn.init.xavier_uniform_(m.weight)
        m.bias.data.fill_(0.01)


net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
net.apply(init_weights)
print(net[0].weight, net[1].bias)

model = nn.Linear(4, 1)
x = torch.randn(10, 4) * 50
loss = (model(x) ** 2).mean()
loss.backward()
total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
print(total)
print(torch.cat([p.grad.view(-1) for p in model.parameters()]).norm())
model.zero_grad()
(model(x) ** 2).mean().backward()
nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
print(model.weight.grad, model.bias.grad)
for p in model.parameters():
    p.grad.data.clamp_(-0.1, 0.1)
print(model.weight.grad)
vec = nn.utils.parameters_to_vector(model.parameters())
print(vec.shape)
nn.utils.vector_to_parameters(torch.arange(5.), model.parameters())
print(model.weight, model.bias)
