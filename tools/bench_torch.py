#!/usr/bin/env python3
"""PyTorch reference for `daemon bench model`: frames/s of one seed member's CNN (backbone +
three heads) in eval mode, random weights (speed does not depend on the values), fp32, on the
CPU with a fixed thread count. Prints one JSON object on stdout.

    /usr/bin/python3 tools/bench_torch.py --arch resnet50 --batch 8 --seconds 10 --threads 2
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_reference import TASKS, Head, Model  # noqa: E402


class CompactModel(nn.Module):
    """The `compact` backbone: torchvision ResNet-18 layout, global pool, the seed's heads."""

    def __init__(self, hidden=128):
        super().__init__()
        import torchvision
        self.backbone = torchvision.models.resnet18()
        self.backbone.fc = nn.Identity()
        self.classifier = nn.ModuleList([Head(512, hidden, n) for _, n in TASKS])

    def forward(self, x):
        f = self.backbone(x)
        outs = [h(f) for h in self.classifier]
        return [o[0] for o in outs], [o[1] for o in outs]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--arch', choices=['resnet50', 'compact'], default='resnet50')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--seconds', type=float, default=10)
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(a.threads)
    model = (Model(1, 128) if a.arch == 'resnet50' else CompactModel(128)).eval()
    x = torch.randn(a.batch, 3, 112, 112) * 40
    with torch.inference_mode():
        for _ in range(2):
            model(x)
        passes = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < a.seconds or passes < 2:
            model(x)
            passes += 1
        elapsed = time.perf_counter() - t0
    print(json.dumps({
        'engine': 'pytorch', 'torch': torch.__version__, 'arch': a.arch, 'batch': a.batch, 'threads': a.threads,
        'passes': passes, 'framesPerSecond': passes * a.batch / elapsed,
    }))


if __name__ == '__main__':
    main()
