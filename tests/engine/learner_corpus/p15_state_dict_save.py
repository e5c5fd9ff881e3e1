# state_dict save/load round trips through torch.save/torch.load, with an optimizer checkpoint.
import io
import os
import tempfile
import torch
import torch.nn as nn


class TheModelClass(nn.Module):
    def __init__(self):
        super(TheModelClass, self).__init__()
        self.fc1 = nn.Linear(4, 6)
        self.bn = nn.BatchNorm1d(6)
        self.fc2 = nn.Linear(6, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x))))


torch.manual_seed(15)
model = TheModelClass()
optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
print("Model's state_dict:")
for param_tensor in model.state_dict():
    print(param_tensor, "\t", model.state_dict()[param_tensor].size())
x = torch.randn(8, 4)
loss = model(x).pow(2).mean()
loss.backward()
optimizer.step()
print("Optimizer's state_dict:")
for var_name in optimizer.state_dict():
    print(var_name, "\t", optimizer.state_dict()[var_name])

with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, 'model.pt')
    torch.save(model.state_dict(), path)
    model2 = TheModelClass()
    print(model2.load_state_dict(torch.load(path)))
    model2.eval()
    model.eval()
    print(torch.equal(model(x), model2(x)))
    ck = os.path.join(d, 'ck.tar')
    torch.save({'epoch': 3, 'model_state_dict': model.state_dict(),
                'optimizer_state_dict': optimizer.state_dict(), 'loss': loss}, ck)
    checkpoint = torch.load(ck)
    opt2 = torch.optim.SGD(model2.parameters(), lr=0.5)
    opt2.load_state_dict(checkpoint['optimizer_state_dict'])
    print(checkpoint['epoch'], checkpoint['loss'], opt2.param_groups[0]['lr'])
    print(opt2.state_dict()['state'][0]['momentum_buffer'])

buf = io.BytesIO()
torch.save({'t': torch.arange(4), 'l': [torch.ones(2)]}, buf)
buf.seek(0)
print(torch.load(buf))
print(model.bn.running_mean, model.bn.num_batches_tracked)
sd = model.state_dict()
sd['fc2.bias'] = torch.zeros(2)
res = model.load_state_dict({k: v for k, v in sd.items() if k != 'fc1.bias'}, strict=False)
print(res.missing_keys, res.unexpected_keys, model.fc2.bias)
