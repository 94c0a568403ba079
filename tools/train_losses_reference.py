#!/usr/bin/python3
"""PyTorch reference values of the seed's losses (spec 3.2-3.3) for src/train/losses.test.ts.

Writes test/fixtures/train/losses-core.json. Run with Debian's /usr/bin/python3 (torch 1.13).
The formulas follow the seed's code: CE / BCEWithLogits (mean), CE over 20 VA bins with
edges linspace(-1, 1, 21), CCC loss with torch.std (unbiased), KLDivLoss(batchmean) at T = 1.5,
BCE to the teacher's sigmoid, L_S = lambda_T * D + (1 - lambda_T) * G on the batch's own heads.
"""
import json
import os
import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(7)
B = 6
centres = torch.linspace(-1, 1, 20)
edges = np.linspace(-1, 1, 21)


def vbin(y):
    idx = np.digitize(y, edges) - 1
    return np.clip(idx, 0, 19)


def ccc_loss(pred, target):
    vx = pred - pred.mean()
    vy = target - target.mean()
    rho = (vx * vy).sum() / (torch.sqrt((vx ** 2).sum()) * torch.sqrt((vy ** 2).sum()))
    sx, sy = pred.std(), target.std()
    ccc = 2 * rho * sx * sy / (sx ** 2 + sy ** 2 + (pred.mean() - target.mean()) ** 2)
    return 1 - ccc


def va_dim(z20, y):
    ce = F.cross_entropy(z20, torch.tensor(vbin(y.numpy()), dtype=torch.long))
    pred = (F.softmax(z20, 1) * centres).sum(1)
    return ce + ccc_loss(pred, y)


def kl(s, t, T=1.5):
    return F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction='batchmean')


def logits():
    return {'EXPR': torch.randn(B, 7) * 2, 'AU': torch.randn(B, 8) * 2, 'VA': torch.randn(B, 40) * 2}


labels = {
    'EXPR': torch.tensor([0, 3, 4, 6, 1, 4]),
    'AU': (torch.rand(B, 8) > 0.6).float(),
    'VA': torch.tensor([[-1.0, 1.0], [-0.7, 0.35], [0.1, -0.05], [0.999, -0.3], [0.45, 0.0], [-0.2, 0.8]]),
}
student = {t: logits() for t in ['EXPR', 'AU', 'VA']}
teacher = {t: logits() for t in ['EXPR', 'AU', 'VA']}
lw = {'EXPR': 1.0, 'AU': 8.0, 'V': 1.0, 'A': 1.0}
lt = 0.4

out = {'labels': {k: v.tolist() for k, v in labels.items()}, 'student': {}, 'teacher': {}, 'expected': {}}
for task in ['EXPR', 'AU', 'VA']:
    s, t, y = student[task], teacher[task], labels[task]
    out['student'][task] = {k: v.tolist() for k, v in s.items()}
    out['teacher'][task] = {k: v.tolist() for k, v in t.items()}
    g = {
        'EXPR': lambda: F.cross_entropy(s['EXPR'], labels['EXPR']),
        'AU': lambda: F.binary_cross_entropy_with_logits(s['AU'], labels['AU']),
        'V': lambda: va_dim(s['VA'][:, :20], labels['VA'][:, 0]),
        'A': lambda: va_dim(s['VA'][:, 20:], labels['VA'][:, 1]),
    }
    d = {
        'EXPR': kl(s['EXPR'], t['EXPR']),
        'AU': F.binary_cross_entropy_with_logits(s['AU'], torch.sigmoid(t['AU'])),
        'V': kl(s['VA'][:, :20], t['VA'][:, :20]),
        'A': kl(s['VA'][:, 20:], t['VA'][:, 20:]),
    }
    own = {'EXPR': ['EXPR'], 'AU': ['AU'], 'VA': ['V', 'A']}[task]
    total = sum((lt * d[k] + (1 - lt) * g[k]()) if k in own else d[k] for k in ['EXPR', 'AU', 'V', 'A'])
    teacher_loss = {'EXPR': lambda: lw['EXPR'] * g['EXPR'](), 'AU': lambda: lw['AU'] * g['AU'](), 'VA': lambda: lw['V'] * g['V']() + lw['A'] * g['A']()}[task]()
    out['expected'][task] = {
        'teacher': teacher_loss.item(),
        'student': total.item(),
        'gt': {k: g[k]().item() for k in own},
        'distill': {k: v.item() for k, v in d.items()},
    }

path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'train', 'losses-core.json')
with open(path, 'w') as f:
    json.dump(out, f, indent=1)
print('wrote', path)
