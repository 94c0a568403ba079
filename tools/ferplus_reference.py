#!/usr/bin/python3
"""A reduced-width stand-in for `resnet50_ferplus_dag.pth` (the FER+ ResNet-50 the seed
initialises from), in that file's key layout: the caffe ResNet-50's module names without a
prefix (`conv1_7x7_s2.weight`, …, `conv5_3_1x1_increase_bn.running_var`) plus its own FER+
classifier, a 1×1 conv `classifier.{weight,bias}` [8, C, 1, 1] / [8] (spec §1.1).

The backbone tensors are those of test/fixtures/seed/cnn_member0.pth (widths ÷ 64), so a test can
check that `daemon train` with `init: { from: ferplus }` starts from exactly these weights. Not a
trained model. CI never runs this; regenerate from the repo root with Debian's python3-torch:

    /usr/bin/python3 tools/ferplus_reference.py

Writes test/fixtures/seed/ferplus_tiny.pth (zip serialisation, as torch.save writes it).
"""
import collections
import os

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FX = os.path.join(ROOT, 'test', 'fixtures', 'seed')
PREFIX = 'backbone.model.'

member = torch.load(os.path.join(FX, 'cnn_member0.pth'))
sd = collections.OrderedDict((k[len(PREFIX):], v.clone()) for k, v in member.items() if k.startswith(PREFIX))
channels = sd['conv5_3_1x1_increase_bn.weight'].shape[0]
g = torch.Generator().manual_seed(2020)
sd['classifier.weight'] = torch.randn(8, channels, 1, 1, generator=g) * 0.1
sd['classifier.bias'] = torch.randn(8, generator=g) * 0.1
torch.save(sd, os.path.join(FX, 'ferplus_tiny.pth'))
print(f'wrote ferplus_tiny.pth: {len(sd)} tensors, {channels} backbone output channels')
