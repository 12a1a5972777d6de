#!/usr/bin/python3
"""kconv's training recipes in PyTorch, for the README's recipe table: the same net, optimizer,
one-cycle schedule, batch, epochs and augmentation (kconv's random affine: ±11°, scale ±10%,
shift ±2 px; Simard's elastic distortion: a uniform(−1, 1) displacement field smoothed by a
Gaussian of σ = 4 px, times α), trained on train.csv alone, judged on val.csv and Dig-MNIST.csv.
Prints one JSON line: train seconds (augmentation included), val and Dig-MNIST accuracy.

usage: torch_recipe.py [--arch wide|bn|default] [--epochs 12] [--elastic 34] [--lr 0.003]
                       [--label-smoothing 0] [--seed 1] [--threads 2]
Data: the folder in KCONV_DATA (default ../shared/data/kannada beside the repository)."""
import argparse, json, os, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
D = os.environ.get('KCONV_DATA', os.path.join(here, '../../shared/data/kannada'))
p = argparse.ArgumentParser()
p.add_argument('--arch', default='wide'); p.add_argument('--epochs', type=int, default=12)
p.add_argument('--elastic', type=float, default=34); p.add_argument('--lr', type=float, default=0.003)
p.add_argument('--label-smoothing', type=float, default=0); p.add_argument('--seed', type=int, default=1)
p.add_argument('--threads', type=int, default=2); p.add_argument('--batch', type=int, default=64)
a = p.parse_args()
torch.set_num_threads(a.threads); torch.manual_seed(a.seed)

def load(f):
    m = np.loadtxt(f, delimiter=',', skiprows=1, dtype=np.int32)
    return torch.from_numpy(m[:, 0]).long(), torch.from_numpy(m[:, 1:].astype(np.float32).reshape(-1, 1, 28, 28) / 255)

def net(arch):
    if arch in ('wide', 'bn'):
        bn = arch == 'bn'
        def conv(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=not bn)] + ([nn.BatchNorm2d(o)] if bn else []) + [nn.ReLU()]
        return nn.Sequential(*conv(1, 32), *conv(32, 32), nn.MaxPool2d(2), *conv(32, 64), *conv(64, 64), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 49, 128, bias=not bn),
                             *([nn.BatchNorm1d(128)] if bn else []), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(256, 10))

SIDE, C = 28, 13.5
r = torch.arange(-12, 13, dtype=torch.float32)
GAUSS = torch.exp(-r * r / (2 * 4.0 ** 2)); GAUSS /= GAUSS.sum()
ys, xs = torch.meshgrid(torch.arange(SIDE, dtype=torch.float32), torch.arange(SIDE, dtype=torch.float32), indexing='ij')

def smooth(u):
    """Gaussian blur of n×2×28×28 fields, normalised by the weight inside the image as kconv's box passes are."""
    def blur(t):
        t = F.conv2d(t.reshape(-1, 1, SIDE, SIDE), GAUSS.view(1, 1, 1, -1), padding=(0, 12))
        return F.conv2d(t, GAUSS.view(1, 1, -1, 1), padding=(12, 0)).reshape(u.shape)
    return blur(u) / blur(torch.ones_like(u))

def augment(x):
    """source(p) = R(−θ)(p − c − shift)/scale + c + α·(G ∗ U)(p), read bilinearly, 0 outside."""
    n = len(x)
    ang = (torch.rand(n) * 2 - 1) * 11 * np.pi / 180; sc = 1 + (torch.rand(n) * 2 - 1) * 0.1
    dx = (torch.rand(n) * 2 - 1) * 2; dy = (torch.rand(n) * 2 - 1) * 2
    rx = xs - C - dx.view(-1, 1, 1); ry = ys - C - dy.view(-1, 1, 1)
    cos = (torch.cos(ang) / sc).view(-1, 1, 1); sin = (torch.sin(ang) / sc).view(-1, 1, 1)
    sx = cos * rx + sin * ry + C; sy = -sin * rx + cos * ry + C
    if a.elastic > 0:
        field = smooth(torch.rand(n, 2, SIDE, SIDE) * 2 - 1) * a.elastic
        sx = sx + field[:, 0]; sy = sy + field[:, 1]
    grid = torch.stack([sx / (SIDE - 1) * 2 - 1, sy / (SIDE - 1) * 2 - 1], dim=-1)
    return F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=True)

ytr, Xtr = load(f'{D}/train.csv')
model = net(a.arch); opt = torch.optim.Adam(model.parameters(), lr=a.lr)
steps = a.epochs * ((len(ytr) + a.batch - 1) // a.batch)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps)
t = time.perf_counter()
for e in range(a.epochs):
    model.train(); perm = torch.randperm(len(ytr))
    for i in range(0, len(ytr), a.batch):
        idx = perm[i:i + a.batch]
        opt.zero_grad()
        F.cross_entropy(model(augment(Xtr[idx])), ytr[idx], label_smoothing=a.label_smoothing).backward()
        opt.step(); sched.step()
secs = time.perf_counter() - t

def acc(X, y):
    model.eval()
    with torch.no_grad(): return float((model(X).argmax(1) == y).float().mean())

yv, Xv = load(f'{D}/val.csv'); yd, Xd = load(f'{D}/Dig-MNIST.csv')
print(json.dumps({'arch': a.arch, 'epochs': a.epochs, 'elastic': a.elastic, 'seed': a.seed, 'threads': a.threads,
                  'train_s': round(secs, 1), 'val': acc(Xv, yv), 'dig': acc(Xd, yd)}))
