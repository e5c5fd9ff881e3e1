# Linear regression with nn.Linear, MSELoss and optim.SGD; then logistic regression.
import torch
import torch.nn as nn
import torch.optim as optim

torch.manual_seed(4)
x_train = torch.tensor([[3.3], [4.4], [5.5], [6.71], [6.93], [4.168], [9.779], [6.182], [7.59], [2.167]])
y_train = torch.tensor([[1.7], [2.76], [2.09], [3.19], [1.694], [1.573], [3.366], [2.596], [2.53], [1.221]])

model = nn.Linear(1, 1)
print(model.weight, model.bias)
criterion = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=0.01)
for epoch in range(60):
    outputs = model(x_train)
    loss = criterion(outputs, y_train)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if (epoch + 1) % 20 == 0:
        print('Epoch [{}/{}], Loss: {:.4f}'.format(epoch + 1, 60, loss.item()))
predicted = model(x_train).detach().numpy()
print(predicted[:3].round(4))

class LogisticRegression(nn.Module):
    def __init__(self, n):
        super(LogisticRegression, self).__init__()
        self.linear = nn.Linear(n, 1)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))

n0 = torch.randn(30, 2) + torch.tensor([2.0, 2.0])
n1 = torch.randn(30, 2) - torch.tensor([2.0, 2.0])
X = torch.cat((n0, n1), 0)
Y = torch.cat((torch.zeros(30), torch.ones(30))).unsqueeze(1)
clf = LogisticRegression(2)
opt = optim.SGD(clf.parameters(), lr=0.1, momentum=0.9)
bce = nn.BCELoss()
for epoch in range(50):
    p = clf(X)
    loss = bce(p, Y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 10 == 9:
        acc = ((p > 0.5).float() == Y).float().mean()
        print(f'epoch {epoch + 1} loss {loss.item():.5f} acc {acc.item():.3f}')
print(list(clf.parameters()))
print(nn.BCEWithLogitsLoss()(clf.linear(X), Y))
