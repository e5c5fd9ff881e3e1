# Legacy API spellings from older tutorials: Variable, typed tensors, .data, .type(), volatile-era code.
import torch
from torch.autograd import Variable
import torch.nn.functional as F

torch.manual_seed(19)
x = Variable(torch.ones(2, 2), requires_grad=True)
print(x)
y = x + 2
print(y.grad_fn is not None)
z = y * y * 3
out = z.mean()
out.backward()
print(x.grad)
print(x.data)

a = torch.FloatTensor(2, 3).zero_()
print(a, a.type())
b = torch.LongTensor([1, 2, 3])
print(b, b.dtype, b.type())
c = torch.DoubleTensor([1.5])
print(c.dtype)
d = torch.IntTensor([4, 5])
print(d, d.dtype)
e = torch.ByteTensor([0, 1])
print(e.dtype, torch.BoolTensor([True, False]))
print(b.type(torch.FloatTensor))
print(b.type('torch.DoubleTensor'))
print(a.float().type(), b.long().type(), b.double().type())
print(isinstance(b, torch.LongTensor), isinstance(a, torch.FloatTensor))
t = torch.Tensor(2, 3)
print(t.shape)
print(torch.Tensor(torch.Size([2, 3])).shape, torch.Tensor())
print(torch.Tensor([[1, 2], [3, 4]]))

w = Variable(torch.randn(3, 1), requires_grad=True)
inp = Variable(torch.randn(4, 3))
target = Variable(torch.FloatTensor([[1], [0], [1], [0]]))
for i in range(3):
    pred = F.sigmoid(inp.mm(w))
    loss = F.binary_cross_entropy(pred, target)
    loss.backward()
    w.data = w.data - 0.5 * w.grad.data
    w.grad.data.zero_()
    print(i, loss.data.item())
print(w.data.numpy().round(4))
print(F.tanh(torch.tensor([0.5])), torch.tensor([1.0, 2.0]).numpy().tolist())
labels = torch.LongTensor([0, 2])
logits = Variable(torch.randn(2, 3))
print(F.nll_loss(F.log_softmax(logits, dim=1), labels))
print(x.grad.data.sum(), x.size(0), x.data.shape)
print(torch.randn(2).type(torch.DoubleTensor).dtype)
v = Variable(torch.Tensor([2.0]), volatile=False)
print(v.requires_grad)
print(torch.cuda.is_available())
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
print(torch.zeros(2).to(device).device)
