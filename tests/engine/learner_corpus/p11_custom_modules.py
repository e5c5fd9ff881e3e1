# Custom nn.Module with ModuleList, Sequential, ParameterList, ModuleDict and buffers.
import torch
import torch.nn as nn
from collections import OrderedDict

torch.manual_seed(11)


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_features, out_features))
        self.bias = nn.Parameter(torch.randn(out_features))

    def forward(self, input):
        return (input @ self.weight) + self.bias


class DynamicNet(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.scales = nn.ParameterList([nn.Parameter(torch.ones(s)) for s in sizes[1:]])
        self.acts = nn.ModuleDict({'relu': nn.ReLU(), 'tanh': nn.Tanh()})
        self.register_buffer('calls', torch.zeros(1))

    def forward(self, x, act='relu'):
        self.calls += 1
        for i, (layer, s) in enumerate(zip(self.layers, self.scales)):
            x = layer(x) * s
            if i < len(self.layers) - 1:
                x = self.acts[act](x)
        return x


m = MyLinear(4, 3)
print(m(torch.ones(2, 4)))
print([n for n, _ in m.named_parameters()])
net = DynamicNet([4, 8, 8, 2])
print(net)
x = torch.randn(3, 4)
print(net(x))
print(net(x, act='tanh'))
print(net.calls)
print(len(list(net.parameters())), len(net.state_dict()))
print(list(net.state_dict().keys()))

seq = nn.Sequential(OrderedDict([
    ('conv1', nn.Conv2d(1, 4, 3)),
    ('relu1', nn.ReLU()),
    ('pool', nn.AdaptiveAvgPool2d(1)),
    ('flat', nn.Flatten()),
    ('fc', nn.Linear(4, 2)),
]))
print(seq)
print(seq(torch.randn(2, 1, 6, 6)))
print(seq.fc, seq[0].weight.shape, len(seq))
seq.add_module('out', nn.Softmax(dim=1))
print(seq(torch.randn(1, 1, 6, 6)).sum().item())
for name, module in net.named_modules():
    print(repr(name), type(module).__name__)
print([type(c).__name__ for c in net.children()])
net.apply(lambda mod: nn.init.zeros_(mod.bias) if isinstance(mod, nn.Linear) else None)
print(net.layers[0].bias)
net.eval()
print(net.training, net.layers[0].training)
net.train()
print(net.training)
net.requires_grad_(False)
print(any(p.requires_grad for p in net.parameters()))
