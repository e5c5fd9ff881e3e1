# Dataset, TensorDataset, DataLoader with shuffling, random_split and a training loop.
import torch
from torch.utils.data import Dataset, DataLoader, TensorDataset, random_split


class SquaresDataset(Dataset):
    def __init__(self, n):
        self.x = torch.arange(n, dtype=torch.float32).unsqueeze(1)
        self.y = self.x ** 2

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


torch.manual_seed(12)
ds = SquaresDataset(10)
print(len(ds), ds[3])
loader = DataLoader(ds, batch_size=4, shuffle=True)
for i, (xb, yb) in enumerate(loader):
    print(i, xb.view(-1), yb.view(-1))
loader = DataLoader(ds, batch_size=3, shuffle=False, drop_last=True)
print(len(loader), [b[0].shape for b in loader])

X = torch.randn(20, 3)
Y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1
tds = TensorDataset(X, Y)
train, val = random_split(tds, [15, 5])
print(len(train), len(val), val.indices if hasattr(val, 'indices') else None)
model = torch.nn.Linear(3, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for xb, yb in DataLoader(train, batch_size=5, shuffle=True):
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        vl = sum(torch.nn.functional.mse_loss(model(xb), yb, reduction='sum') for xb, yb in DataLoader(val, batch_size=2))
    print(epoch, round(vl.item() / len(val), 5))

dl = DataLoader(list(range(7)), batch_size=3)
print([b for b in dl])
dl = DataLoader([(torch.tensor([i, i]), i) for i in range(4)], batch_size=2)
for a, b in dl:
    print(a, b)
g = torch.Generator().manual_seed(0)
print(list(DataLoader(range(6), batch_size=2, shuffle=True, generator=g)))
def collate(batch):
    return torch.stack([torch.tensor(b) for b in batch]).float().mean()
print(list(DataLoader([1, 2, 3, 4], batch_size=2, collate_fn=collate)))
