# Learning-rate schedulers: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LambdaLR, ReduceLROnPlateau.
import torch
import torch.nn as nn
from torch.optim import lr_scheduler

torch.manual_seed(13)
model = nn.Linear(2, 1)


def run(make, steps=8, metric=None):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = make(opt)
    lrs = []
    for epoch in range(steps):
        opt.zero_grad()
        model(torch.ones(1, 2)).sum().backward()
        opt.step()
        if metric is None:
            sched.step()
        else:
            sched.step(metric[epoch])
        lrs.append(round(opt.param_groups[0]['lr'], 6))
    return lrs


print(run(lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5)))
print(run(lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 5], gamma=0.1)))
print(run(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9)))
print(run(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.01)))
print(run(lambda o: lr_scheduler.LambdaLR(o, lr_lambda=lambda e: 1.0 / (e + 1))))
print(run(lambda o: lr_scheduler.ReduceLROnPlateau(o, mode='min', factor=0.5, patience=1),
          metric=[1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8]))
print(run(lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=8)))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
s = lr_scheduler.StepLR(opt, 2)
for _ in range(3):
    opt.step()
    s.step()
print(s.get_last_lr(), s.state_dict()['last_epoch'])
print(model.weight, model.bias)
print(opt.state_dict()['param_groups'][0]['lr'])
