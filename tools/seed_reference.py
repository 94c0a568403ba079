#!/usr/bin/python3
"""Reference fixtures for the seed (Deng, Chen & Shi, FG 2020) port.

Builds the seed's Multitask-CNN (`Model`) and Multitask-CNN-RNN (`Seq_Model`) in PyTorch with the
released checkpoints' exact state_dict key names and layer structure, but with channel widths
divided by WIDTH_DIVISOR (and smaller head / GRU hidden sizes) so the committed checkpoints stay
small. Weights are random but well-conditioned (BN statistics calibrated on face crops,
`*_1x1_increase_bn` gamma ~ 0.1, see docs/environment.md), so the fixtures can tell a correct port
from a wrong one.

CI never runs this. Regenerate (from the repo root, Debian's python3-torch 1.13 / torchvision 0.14):

    /usr/bin/python3 tools/seed_reference.py

Writes test/fixtures/seed/{faces/*.png, *.pth, expected.json, checkpoints.json, gru.json,
keys_full_cnn.json, keys_full_cnn_rnn.json}. See test/fixtures/seed/README.md.
"""
import collections
import io
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'seed')
SAMPLES = os.path.join(ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo')

WIDTH_DIVISOR = 64   # backbone channels: 64 -> 1, ..., 2048 -> 32
HEAD_HIDDEN = 16     # released: 128 (CNN head hidden = bn1 feature size = GRU input size)
GRU_HIDDEN = 8       # released: 64 (= HEAD_HIDDEN / 2, bidirectional)
N_MEMBERS = 2        # released: 5 students (+ teacher for CNN-RNN test.py)
SEQ_LEN = 6

MEAN = [131.0912, 103.8827, 91.4953]
TASKS = [('EXPR', 7), ('AU', 8), ('VA', 40)]
VA_CENTRES = np.linspace(-1.0, 1.0, 20)

# (id, sample file, face centre x, centre y, square side) in the 1920-px-wide face-api demo photos.
FACES = [
    ('face0', 'sample1.jpg', 510, 470, 290),
    ('face1', 'sample1.jpg', 920, 540, 280),
    ('face2', 'sample1.jpg', 1590, 330, 290),
    ('face3', 'sample3.jpg', 690, 460, 300),
    ('face4', 'sample3.jpg', 1176, 370, 300),
    ('face5', 'sample3.jpg', 1600, 430, 300),
]
# CNN-RNN sequences: (id, input size of the PNGs used, face indices in frame order)
SEQUENCES = [
    ('seq0', 134, [0, 1, 2, 3, 4, 5]),
    ('seq1', 112, [3, 3, 1, 5, 0, 2]),
]


# --------------------------------------------------------------------------- architecture

class Resnet50FerplusDag(nn.Module):
    """Caffe-style ResNet-50 of `resnet50_ferplus_dag`, registration order of spec Appendix A."""

    STAGES = [(2, 3, 64, 256, 1), (3, 4, 128, 512, 2), (4, 6, 256, 1024, 2), (5, 3, 512, 2048, 2)]

    def __init__(self, width_divisor=1):
        super().__init__()
        c = lambda n: n // width_divisor  # noqa: E731
        self.conv1_7x7_s2 = nn.Conv2d(3, c(64), 7, 2, 3, bias=False)
        self.conv1_7x7_s2_bn = nn.BatchNorm2d(c(64), eps=1e-5, momentum=0.1)
        self.conv1_relu_7x7_s2 = nn.ReLU()
        self.pool1_3x3_s2 = nn.MaxPool2d(3, 2, 0, ceil_mode=True)
        self.blocks = []
        cin = c(64)
        for s, n, mid, out, stride in self.STAGES:
            for b in range(1, n + 1):
                p = 'conv%d_%d' % (s, b)
                st = stride if b == 1 else 1
                last = (s, b) == (5, 3)
                self._add(p + '_1x1_reduce', nn.Conv2d(cin, c(mid), 1, st, 0, bias=False))
                self._add(p + '_1x1_reduce_bn', nn.BatchNorm2d(c(mid)))
                self._add(p + '_3x3', nn.Conv2d(c(mid), c(mid), 3, 1, 1, bias=False))
                if last:
                    self._add(p + '_3x3_drop', nn.Dropout(0.5))
                self._add(p + '_3x3_bn', nn.BatchNorm2d(c(mid)))
                self._add(p + '_1x1_increase', nn.Conv2d(c(mid), c(out), 1, 1, 0, bias=False))
                if b == 1:
                    self._add(p + '_1x1_proj', nn.Conv2d(cin, c(out), 1, st, 0, bias=False))
                if last:
                    self._add(p + '_1x1_increase_drop', nn.Dropout(0.5))
                self._add(p + '_1x1_increase_bn', nn.BatchNorm2d(c(out)))
                if b == 1:
                    self._add(p + '_1x1_proj_bn', nn.BatchNorm2d(c(out)))
                self._add(p + '_relu', nn.ReLU())
                self.blocks.append((p, b == 1, last))
                cin = c(out)
        # BackBone: image_size 112 != 224 -> global average pool; classifier -> identity.
        self.pool5_7x7_s1 = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Identity()
        self.output_dim = cin

    def _add(self, name, m):
        setattr(self, name, m)

    def forward(self, x):
        x = self.pool1_3x3_s2(self.conv1_relu_7x7_s2(self.conv1_7x7_s2_bn(self.conv1_7x7_s2(x))))
        for p, first, last in self.blocks:
            g = lambda n: getattr(self, p + n)  # noqa: E731
            y = F.relu(g('_1x1_reduce_bn')(g('_1x1_reduce')(x)))
            y = g('_3x3')(y)
            if last:
                y = g('_3x3_drop')(y)
            y = F.relu(g('_3x3_bn')(y))
            y = g('_1x1_increase')(y)
            if last:
                y = g('_1x1_increase_drop')(y)
            y = g('_1x1_increase_bn')(y)
            sc = g('_1x1_proj_bn')(g('_1x1_proj')(x)) if first else x
            x = g('_relu')(sc + y)
        x = self.classifier(self.pool5_7x7_s1(x))
        return x.view(x.size(0), -1)


class BackBone(nn.Module):
    def __init__(self, width_divisor):
        super().__init__()
        self.model = Resnet50FerplusDag(width_divisor)
        self.output_feature_dim = self.model.output_dim

    def forward(self, x):
        return self.model(x)


class Head(nn.Module):
    def __init__(self, in_dim, hidden, n):
        super().__init__()
        self.bn0 = nn.BatchNorm1d(in_dim)
        self.fc_0 = nn.Linear(in_dim, hidden)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc_1 = nn.Linear(hidden, n)

    def forward(self, f):
        feat = self.bn1(F.relu(self.fc_0(self.bn0(f))))
        return self.fc_1(feat), feat


class Model(nn.Module):
    def __init__(self, width_divisor=1, hidden=128):
        super().__init__()
        self.backbone = BackBone(width_divisor)
        d = self.backbone.output_feature_dim
        self.classifier = nn.ModuleList([Head(d, hidden, n) for _, n in TASKS])

    def forward(self, x):
        f = self.backbone(x)
        outs = [h(f) for h in self.classifier]
        return [o[0] for o in outs], [o[1] for o in outs]


class GRU_Head(nn.Module):
    def __init__(self, in_dim, hidden, n):
        super().__init__()
        self.GRU_layer = nn.GRU(in_dim, hidden, num_layers=1, batch_first=True, bidirectional=True)
        self.fc_1 = nn.Linear(2 * hidden, n)

    def forward(self, x):
        y, _ = self.GRU_layer(x)
        return self.fc_1(F.relu(y))


class Seq_Model(nn.Module):
    def __init__(self, width_divisor=1, hidden=128, gru_hidden=64):
        super().__init__()
        self.backbone = Model(width_divisor, hidden)
        self.classifier = nn.ModuleList([GRU_Head(hidden, gru_hidden, n) for _, n in TASKS])

    def forward(self, x):
        b, n = x.shape[:2]
        _, feats = self.backbone(x.reshape((b * n,) + x.shape[2:]))
        return [h(f.reshape(b, n, -1)) for h, f in zip(self.classifier, feats)]


# --------------------------------------------------------------------------- faces and transforms

def crop_faces():
    os.makedirs(os.path.join(OUT, 'faces'), exist_ok=True)
    meta = []
    for fid, src, cx, cy, side in FACES:
        im = Image.open(os.path.join(SAMPLES, src)).convert('RGB')
        box = (cx - side // 2, cy - side // 2, cx - side // 2 + side, cy - side // 2 + side)
        crop = im.crop(box)
        for size in (134, 112):
            crop.resize((size, size), Image.BILINEAR).save(
                os.path.join(OUT, 'faces', '%s_%d.png' % (fid, size)), optimize=True)
        meta.append({'id': fid, 'source': src, 'box': list(box),
                     'png134': 'faces/%s_134.png' % fid, 'png112': 'faces/%s_112.png' % fid})
    return meta


# The seed's eval transform (compose_transforms): Resize(134) -> CenterCrop(112) -> ToTensor*255 - mean.
EVAL_TF = transforms.Compose([
    transforms.Resize(134),  # PIL bilinear on PIL images (uint8 result), identity for 134x134 input
    transforms.CenterCrop(112),
    transforms.ToTensor(),
    transforms.Lambda(lambda x: x * 255.0),
    transforms.Normalize(MEAN, [1.0, 1.0, 1.0]),
])


def load_input(fid, size):
    return EVAL_TF(Image.open(os.path.join(OUT, 'faces', '%s_%d.png' % (fid, size))).convert('RGB'))


def calibration_batch():
    """Face crops at several offsets and flips, on the 0-255 mean-subtracted scale."""
    xs = []
    for fid, *_ in FACES:
        im = Image.open(os.path.join(OUT, 'faces', '%s_134.png' % fid)).convert('RGB')
        t = transforms.ToTensor()(im) * 255.0 - torch.tensor(MEAN).view(3, 1, 1)
        for oy in (0, 11, 22):
            for ox in (0, 11, 22):
                c = t[:, oy:oy + 112, ox:ox + 112]
                xs += [c, torch.flip(c, [2])]
    return torch.stack(xs)


# --------------------------------------------------------------------------- initialisation

def init_model(m, gen):
    """Random, well-conditioned weights: non-trivial BN affine, small gamma on residual branches."""
    for name, mod in m.named_modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                mod.weight.copy_(1.0 + 0.2 * (torch.rand(mod.weight.shape, generator=gen) - 0.5))
                mod.bias.copy_(0.2 * (torch.rand(mod.bias.shape, generator=gen) - 0.5))
                if name.endswith('_1x1_increase_bn'):
                    mod.weight.mul_(0.1)
        elif isinstance(mod, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():
                fan_in = mod.weight[0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if mod.bias is not None:
                    mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=gen))
        elif isinstance(mod, nn.GRU):
            k = 1.0 / mod.hidden_size ** 0.5
            with torch.no_grad():
                for p in mod.parameters():
                    p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * k)


def calibrate(model, xb):
    """One forward in train mode with cumulative BN averaging = running stats of this batch."""
    bns = [mm for mm in model.modules() if isinstance(mm, (nn.BatchNorm1d, nn.BatchNorm2d))]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    for mm in model.modules():
        if isinstance(mm, nn.Dropout):
            mm.eval()  # dropout would skew the statistics of the BNs behind it
    with torch.no_grad():
        model(xb)
    for i, bn in enumerate(bns):
        bn.momentum = 0.1
        bn.num_batches_tracked.fill_(1000 + i)  # distinctive int64 values for the reader tests
    model.eval()


def make_cnn(seed, xb):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    m = Model(WIDTH_DIVISOR, HEAD_HIDDEN)
    init_model(m, gen)
    calibrate(m, xb)
    return m


def make_cnn_rnn(seed, xb):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    m = Seq_Model(WIDTH_DIVISOR, HEAD_HIDDEN, GRU_HIDDEN)
    init_model(m, gen)
    calibrate(m.backbone, xb)
    m.eval()
    return m


# --------------------------------------------------------------------------- decoding (test.py way)

def r(v):
    """Compact JSON floats: 9 significant digits round-trip float32 exactly."""
    if isinstance(v, (list, tuple)):
        return [r(x) for x in v]
    return float('%.9g' % float(v))


def decode(expr, au, va):
    """expr [..,7], au [..,8], va [..,40] logits (float64 numpy) -> probabilities and VA values."""
    au_p = 1.0 / (1.0 + np.exp(-au))
    e = np.exp(expr - expr.max(-1, keepdims=True))
    ex_p = e / e.sum(-1, keepdims=True)

    def expect(z):
        q = np.exp(z - z.max(-1, keepdims=True))
        return (q / q.sum(-1, keepdims=True) * VA_CENTRES).sum(-1)
    return au_p, ex_p, expect(va[..., :20]), expect(va[..., 20:])


def run_cnn(m, x):
    with torch.no_grad():
        logits, feats = m(x)
    ex, au, va = [t.double().numpy() for t in logits]
    au_p, ex_p, v, a = decode(ex, au, va)
    out = []
    for i in range(x.shape[0]):
        out.append({
            'expr_logits': r(ex[i].tolist()), 'au_logits': r(au[i].tolist()), 'va_logits': r(va[i].tolist()),
            'features': {t: r(f[i].tolist()) for (t, _), f in zip(TASKS, feats)},
            'au_prob': r(au_p[i].tolist()), 'expr_prob': r(ex_p[i].tolist()),
            'valence': r(v[i]), 'arousal': r(a[i]),
        })
    return out, (au_p, ex_p, v, a)


def run_seq(m, x):
    with torch.no_grad():
        ex, au, va = [t.double().numpy() for t in m(x)]
    au_p, ex_p, v, a = decode(ex, au, va)
    out = []
    for b in range(x.shape[0]):
        out.append({
            'expr_logits': r(ex[b].tolist()), 'au_logits': r(au[b].tolist()), 'va_logits': r(va[b].tolist()),
            'au_prob': r(au_p[b].tolist()), 'expr_prob': r(ex_p[b].tolist()),
            'valence': r(v[b].tolist()), 'arousal': r(a[b].tolist()),
        })
    return out, (au_p, ex_p, v, a)


def ensemble(decoded):
    """Mean AU sigmoid, mean EXPR softmax, mean of per-member VA expectations."""
    return tuple(np.mean([d[k] for d in decoded], axis=0) for k in range(4))


def ensemble_json(ens, per_item):
    au_p, ex_p, v, a = ens
    return [{'au_prob': r(au_p[i].tolist()), 'expr_prob': r(ex_p[i].tolist()),
             'valence': r(v[i].tolist() if per_item else v[i]), 'arousal': r(a[i].tolist() if per_item else a[i])}
            for i in range(au_p.shape[0])]


# --------------------------------------------------------------------------- checkpoints

def save_both(sd, stem):
    torch.save(sd, os.path.join(OUT, stem + '.pth'))
    torch.save(sd, os.path.join(OUT, stem + '_legacy.pth'), _use_new_zipfile_serialization=False)
    return {'zip': stem + '.pth', 'legacy': stem + '_legacy.pth'}


def tensor_summary(t, full=False):
    """Checksums for the reader tests. Integers are exact (int64 as decimal strings, since JSON
    numbers lose precision past 2^53); floats keep 9 significant digits (exact for float32)."""
    d = t.detach().contiguous()
    flat = d.reshape(-1)
    is_float = d.dtype.is_floating_point
    vals = (lambda xs: r(xs)) if is_float else (lambda xs: [str(x) if d.dtype == torch.int64 else int(x) for x in xs])
    s = {'dtype': str(d.dtype).replace('torch.', ''), 'shape': list(d.shape),
         'sum': r(flat.double().sum().item()) if flat.numel() else 0.0,
         'first': vals(flat[:2].tolist())}
    if full:
        s['values'] = vals(flat.tolist())
    return s


def odd_state_dict():
    """Views with offsets/strides, shared storages and every dtype the reader supports."""
    g = torch.Generator().manual_seed(7)
    base = torch.randn(4, 6, generator=g)
    flat = torch.arange(40, dtype=torch.float32) * 0.5 - 3.0
    sd = collections.OrderedDict()
    sd['base'] = base
    sd['transposed'] = base.t()                     # stride (1, 6), shares base's storage
    sd['block'] = base[1:3, 2:5]                    # offset 8, stride (6, 1)
    sd['strided'] = flat[5:29:3]                    # offset 5, stride 3
    sd['flat_tail'] = flat[30:]                     # offset 30, contiguous
    sd['permuted'] = torch.randn(2, 3, 4, generator=g).permute(2, 0, 1)
    sd['expanded'] = torch.tensor([1.5, -2.0, 3.25]).view(3, 1).expand(3, 4)  # stride 0
    sd['f64'] = torch.randn(3, 2, generator=g).double()
    sd['f16'] = torch.tensor([0.0, 1.0, -2.5, 65504.0, 6.1035e-05, 5.96e-08, -65504.0], dtype=torch.float16)
    sd['i64'] = torch.tensor([0, 1, -1, 2 ** 40, -(2 ** 53) - 1], dtype=torch.int64)
    sd['i32'] = torch.tensor([[1, -2], [3, 2 ** 31 - 1]], dtype=torch.int32)
    sd['i16'] = torch.tensor([-32768, 7], dtype=torch.int16)
    sd['i8'] = torch.tensor([-128, 127, 3], dtype=torch.int8)
    sd['u8'] = torch.tensor([0, 255, 17], dtype=torch.uint8)
    sd['bool'] = torch.tensor([True, False, True])
    sd['scalar'] = torch.tensor(3.5)
    sd['empty'] = torch.zeros(0, 3)
    sd['num_batches_tracked'] = torch.tensor(12345, dtype=torch.int64)
    return sd


# --------------------------------------------------------------------------- GRU fixture

def gru_fixture():
    """Standalone bidirectional GRUs. Weights are integers * weight_scale and inputs integers *
    input_scale (powers of two, so exact in float32 and compact in JSON)."""
    g = torch.Generator().manual_seed(11)
    cases = []
    for name, i_sz, h_sz, w_scale, runs in [('full', 128, 64, 2.0 ** -6, [(2, 4), (1, 9)]),
                                            ('fixture', HEAD_HIDDEN, GRU_HIDDEN, 2.0 ** -8, [(3, 1), (2, 6), (2, 32)])]:
        x_scale = 2.0 ** -10
        gru = nn.GRU(i_sz, h_sz, num_layers=1, batch_first=True, bidirectional=True)
        weights = collections.OrderedDict()
        k = int(round(1.0 / h_sz ** 0.5 / w_scale))  # PyTorch's default range U(+-1/sqrt(H))
        with torch.no_grad():
            for pn, p in gru.named_parameters():
                q = torch.randint(-k, k + 1, p.shape, generator=g)
                p.copy_(q.float() * w_scale)
                weights[pn] = q.tolist()
        out_runs = []
        for b, t in runs:
            q = torch.randint(-2048, 2049, (b, t, i_sz), generator=g)  # inputs in [-2, 2]
            with torch.no_grad():
                y, h = gru(q.float() * x_scale)
            out_runs.append({'batch': b, 'steps': t, 'x': q.tolist(),
                             'output': r(y.tolist()), 'h_n': r(h.tolist())})
        cases.append({'name': name, 'input_size': i_sz, 'hidden_size': h_sz,
                      'weight_scale': w_scale, 'input_scale': x_scale, 'weights': weights, 'runs': out_runs})
    return {'generator': 'tools/seed_reference.py', 'torch': torch.__version__,
            'note': 'nn.GRU(input_size, hidden_size, batch_first=True, bidirectional=True). '
                    'weights[name] value = integer * weight_scale; runs[].x [B][T][I] value = integer * input_scale. '
                    'output [B][T][2H] = [forward | backward]; h_n [2][B][H] = (forward final, backward final).',
            'cases': cases}


def numpy_gru_check(fx):
    """Re-derives every GRU output from the JSON alone with the spec's equations (spec 2.4)."""
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    worst = 0.0
    for case in fx['cases']:
        h_sz, ws = case['hidden_size'], case['weight_scale']
        w = {k: np.array(v, dtype=np.float64) * ws for k, v in case['weights'].items()}
        for run in case['runs']:
            x = np.array(run['x'], dtype=np.float64) * case['input_scale']
            outs = []
            for sfx, order in (('', range(run['steps'])), ('_reverse', reversed(range(run['steps'])))):
                wi, wh = w['weight_ih_l0' + sfx], w['weight_hh_l0' + sfx]
                bi, bh = w['bias_ih_l0' + sfx], w['bias_hh_l0' + sfx]
                h = np.zeros((run['batch'], h_sz))
                ys = [None] * run['steps']
                for t in order:
                    gi = x[:, t] @ wi.T + bi
                    gh = h @ wh.T + bh
                    rr = sig(gi[:, :h_sz] + gh[:, :h_sz])
                    z = sig(gi[:, h_sz:2 * h_sz] + gh[:, h_sz:2 * h_sz])
                    n = np.tanh(gi[:, 2 * h_sz:] + rr * gh[:, 2 * h_sz:])
                    h = (1 - z) * n + z * h
                    ys[t] = h
                outs.append(np.stack(ys, 1))
            y = np.concatenate(outs, -1)
            worst = max(worst, float(np.abs(y - np.array(run['output'])).max()))
    assert worst < 1e-5, 'GRU fixture disagrees with the spec equations: %g' % worst
    print('gru.json: max |torch - numpy spec GRU| = %.2e' % worst)


# --------------------------------------------------------------------------- main

def check_conditioning(label, m, xs134, xs112, seq=False):
    """Spread across faces vs sensitivity to 1e-3 input noise (AU probabilities)."""
    def au(x):
        with torch.no_grad():
            if seq:
                return torch.sigmoid(m(x.unsqueeze(0))[1][0])
            return torch.sigmoid(m(x)[0][1])
    p = au(xs134)
    noise = torch.randn(xs134.shape, generator=torch.Generator().manual_seed(5)) * 1e-3
    dn = (au(xs134 + noise) - p).abs().max().item()
    # One intensity level on a random half of the pixels: what a rounding difference in a resize costs.
    g = torch.Generator().manual_seed(6)
    level = (torch.rand(xs134.shape, generator=g) < 0.5).float() * torch.sign(torch.randn(xs134.shape, generator=g))
    d1 = (au(xs134 + level) - p).abs().max().item()
    d112 = (au(xs112) - p).abs().max().item()
    spread = p.std(0).mean().item()
    print('%-12s AU spread across faces %.4f | max change: 1e-3 noise %.2e, one level %.4f, 134 vs 112 PNG %.4f'
          % (label, spread, dn, d1, d112))
    return {'au_spread_across_faces': r(spread), 'au_max_change_noise_1e-3': r(dn),
            'au_max_change_one_level': r(d1), 'au_max_change_134_vs_112': r(d112)}


def dump_json(name, obj):
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')


def key_shapes(sd):
    return [{'key': k, 'shape': list(v.shape), 'dtype': str(v.dtype).replace('torch.', '')} for k, v in sd.items()]


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    faces = crop_faces()
    xb = calibration_batch()
    ids = [f['id'] for f in faces]
    xs = {s: torch.stack([load_input(i, s) for i in ids]) for s in (134, 112)}

    ckpt_summary = collections.OrderedDict()
    expected = {
        'generator': 'tools/seed_reference.py', 'torch': torch.__version__,
        'config': {'width_divisor': WIDTH_DIVISOR, 'head_hidden': HEAD_HIDDEN, 'gru_hidden': GRU_HIDDEN,
                   'image_size': 112, 'resize': 134, 'mean_rgb': MEAN, 'va_centres': r(VA_CENTRES.tolist()),
                   'tasks': [{'name': t, 'size': n} for t, n in TASKS]},
        'faces': faces,
        'inputs': {},
        'cnn': {'members': [], 'ensemble': {}},
        'cnn_rnn': {'seq_len': SEQ_LEN,
                    'sequences': [{'id': s, 'size': sz, 'faces': fs} for s, sz, fs in SEQUENCES],
                    'members': [], 'ensemble': []},
        'conditioning': {},
    }
    for s in (134, 112):
        x = xs[s]
        expected['inputs'][str(s)] = [{
            'channel_mean': r(x[i].mean((1, 2)).tolist()),
            'pixels': [{'y': y, 'x': xx, 'rgb': r(x[i, :, y, xx].tolist())}
                       for y, xx in ((0, 0), (0, 111), (55, 56), (111, 0), (111, 111), (37, 90))],
        } for i in range(len(ids))]

    # Multitask-CNN ensemble
    dec = {134: [], 112: []}
    for k in range(N_MEMBERS):
        m = make_cnn(100 + k, xb)
        files = save_both(m.state_dict(), 'cnn_member%d' % k)
        if k == 0:  # member 1 goes through the same code paths
            ckpt_summary[files['zip']] = collections.OrderedDict((kk, tensor_summary(v)) for kk, v in m.state_dict().items())
        entry = {'files': files, 'outputs': {}}
        for s in (134, 112):
            out, d = run_cnn(m, xs[s])
            entry['outputs'][str(s)] = out
            dec[s].append(d)
        expected['cnn']['members'].append(entry)
        expected['conditioning']['cnn_member%d' % k] = check_conditioning('cnn%d' % k, m, xs[134], xs[112])
    for s in (134, 112):
        expected['cnn']['ensemble'][str(s)] = ensemble_json(ensemble(dec[s]), False)

    # Multitask-CNN-RNN ensemble
    seq_x = torch.stack([torch.stack([xs[sz][i] for i in fs]) for _, sz, fs in SEQUENCES])
    dec_seq = []
    for k in range(N_MEMBERS):
        m = make_cnn_rnn(200 + k, xb)
        files = save_both(m.state_dict(), 'cnn_rnn_member%d' % k)
        if k == 0:
            ckpt_summary[files['zip']] = collections.OrderedDict((kk, tensor_summary(v)) for kk, v in m.state_dict().items())
        out, d = run_seq(m, seq_x)
        cnn_out = {str(s): run_cnn(m.backbone, xs[s])[0] for s in (134, 112)}
        expected['cnn_rnn']['members'].append({'files': files, 'cnn_outputs': cnn_out, 'sequences': out})
        dec_seq.append(d)
        expected['conditioning']['cnn_rnn_member%d' % k] = check_conditioning('cnn_rnn%d' % k, m, xs[134], xs[112], True)
    expected['cnn_rnn']['ensemble'] = ensemble_json(ensemble(dec_seq), True)

    # Reader edge cases
    odd = odd_state_dict()
    files = save_both(odd, 'odd_tensors')
    ckpt_summary[files['zip']] = collections.OrderedDict((kk, tensor_summary(v, True)) for kk, v in odd.items())
    wrapped = {'epoch': 3, 'state_dict': collections.OrderedDict(('module.' + kk, v) for kk, v in list(odd.items())[:4]),
               'note': 'DataParallel-style checkpoint'}
    torch.save(wrapped, os.path.join(OUT, 'wrapped_module_legacy.pth'), _use_new_zipfile_serialization=False)
    torch.save(wrapped, os.path.join(OUT, 'wrapped_module.pth'))

    dump_json('checkpoints.json', {'generator': 'tools/seed_reference.py', 'torch': torch.__version__,
                                   'note': 'per zip file (the _legacy twin holds the same tensors): key -> summary; '
                                           'sum in float64 over the row-major contiguous values',
                                   'files': ckpt_summary})
    dump_json('expected.json', expected)
    gru = gru_fixture()
    numpy_gru_check(gru)
    dump_json('gru.json', gru)
    full_cnn, full_rnn = Model(1, 128).state_dict(), Seq_Model(1, 128, 64).state_dict()
    assert list(full_cnn) == list(make_cnn(0, xb).state_dict()), 'reduced CNN keys differ from the full model'
    assert list(full_rnn) == list(make_cnn_rnn(0, xb).state_dict()), 'reduced CNN-RNN keys differ from the full model'
    dump_json('keys_full_cnn.json', key_shapes(full_cnn))
    dump_json('keys_full_cnn_rnn.json', key_shapes(full_rnn))

    total = 0
    for dp, _, fs in os.walk(OUT):
        for f in fs:
            total += os.path.getsize(os.path.join(dp, f))
    print('fixtures: %.0f kB in %s' % (total / 1024, OUT))


if __name__ == '__main__':
    sys.exit(main())
