#!/usr/bin/python3
"""PyTorch reference for `daemon bench train`: images/s of one teacher step (three task batches
through the whole model in train mode, CE + 8*BCE + VA losses, backward, Adam) with 2 threads.
compact = torchvision ResNet-18 layout at a width multiplier; resnet50 = torchvision ResNet-50
(v1.5: the stride of a stage's first block sits in its 3x3 conv; the seed's caffe variant puts
it in the 1x1 reduce conv, so that conv runs at the lower resolution: at 112 px torchvision does
1.076 G multiply-adds per image forward, the caffe layout 1.020 G, i.e. PyTorch's reference does
5.5 % more work per image than the daemon's resnet50-caffe).
Prints one JSON line: {"imagesPerSecond", "forwardImagesPerSecond", "backwardImagesPerSecond", "steps"}.
"""
import argparse
import json
import time
import torch
import torch.nn as nn
import torchvision

p = argparse.ArgumentParser()
p.add_argument('--arch', default='compact')
p.add_argument('--width', type=float, default=1.0)
p.add_argument('--batch', type=int, default=20)
p.add_argument('--seconds', type=float, default=10)
a = p.parse_args()
torch.set_num_threads(2)
torch.manual_seed(1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        if a.arch == 'resnet50':
            bb = torchvision.models.resnet50()
            feat = 2048
        else:
            bb = torchvision.models.resnet18()
            w = a.width
            if w != 1:
                bb = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [2, 2, 2, 2])
                # Rebuild at width w: torchvision has no width knob for ResNet-18, so scale by hand.
                c = [max(1, round(x * w)) for x in (64, 64, 128, 256, 512)]
                bb.inplanes = c[0]
                bb.conv1 = nn.Conv2d(3, c[0], 7, 2, 3, bias=False)
                bb.bn1 = nn.BatchNorm2d(c[0])
                bb.layer1 = bb._make_layer(torchvision.models.resnet.BasicBlock, c[1], 2)
                bb.layer2 = bb._make_layer(torchvision.models.resnet.BasicBlock, c[2], 2, stride=2)
                bb.layer3 = bb._make_layer(torchvision.models.resnet.BasicBlock, c[3], 2, stride=2)
                bb.layer4 = bb._make_layer(torchvision.models.resnet.BasicBlock, c[4], 2, stride=2)
            feat = max(1, round(512 * w))
        bb.fc = nn.Identity()
        self.bb = bb
        self.heads = nn.ModuleList([nn.Sequential(nn.BatchNorm1d(feat), nn.Linear(feat, 128), nn.ReLU(), nn.BatchNorm1d(128), nn.Linear(128, n)) for n in (7, 8, 40)])

    def forward(self, x):
        f = self.bb(x)
        return [h(f) for h in self.heads]


net = Net().train()
opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.5, 0.999))
B = a.batch
x = torch.randn(B, 3, 112, 112) * 50
ye = torch.arange(B) % 7
ya = (torch.rand(B, 8) > 0.6).float()
yv = torch.randint(0, 20, (B,))


def step():
    opt.zero_grad()
    loss = nn.functional.cross_entropy(net(x)[0], ye)
    loss = loss + 8 * nn.functional.binary_cross_entropy_with_logits(net(x)[1], ya)
    z = net(x)[2]
    loss = loss + nn.functional.cross_entropy(z[:, :20], yv) + nn.functional.cross_entropy(z[:, 20:], yv)
    loss.backward()
    opt.step()


def fwd():
    with torch.no_grad():
        for _ in range(3):
            net(x)


def timed(f):
    f()
    t0 = time.time()
    n = 0
    while time.time() - t0 < a.seconds / 2 or n < 2:
        f()
        n += 1
    return n, time.time() - t0


nf, sf = timed(fwd)
ns, ss = timed(step)
per = 3 * B
bwd = ss / ns - sf / nf
print(json.dumps({'imagesPerSecond': ns * per / ss, 'forwardImagesPerSecond': nf * per / sf, 'backwardImagesPerSecond': per / bwd if bwd > 0 else None, 'steps': ns}))
