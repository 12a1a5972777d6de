#!/usr/bin/python3
"""PyTorch's inference rate for the default (or wide) net on a CSV (default: Dig-MNIST.csv), as
kconv's benchmark measures its own: whole file, fastest of 3 timed passes after a warm-up, 2 threads.
Weights are PyTorch's default initialisation: the speed of a forward pass does not depend on them.

usage: torch_infer.py <file.csv> [--threads 2] [--arch default|wide]"""
import json, sys, time, numpy as np, torch, torch.nn as nn

path = sys.argv[1]
threads = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else 2
arch = sys.argv[sys.argv.index('--arch') + 1] if '--arch' in sys.argv else 'default'
torch.set_num_threads(threads)
m = np.loadtxt(path, delimiter=',', skiprows=1, dtype=np.int32)
x = torch.from_numpy(m[:, 1:].astype(np.float32).reshape(-1, 1, 28, 28) / 255.0)
if arch == 'wide':  # kconv's wide preset (dropout is off in eval mode)
    net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(64 * 49, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(dim=1)).eval()
else:
    net = nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10), nn.Softmax(dim=1)).eval()
best = float('inf')
with torch.no_grad():
    net(x)
    for _ in range(3):
        t = time.perf_counter(); net(x).argmax(1); best = min(best, time.perf_counter() - t)
print(json.dumps({'images': len(x), 'infer_images_per_s': len(x) / best, 'threads': threads, 'arch': arch}))
