#!/usr/bin/python3
"""Reference outputs from the seed authors' own code (issue 20).

Runs `run_pretrained_model.py` of wtomin/Multitask-Emotion-Recognition-with-Incomplete-Labels
(pinned commit, fetched at run time, never copied into this repository) on checkpoints built from
their own objects (`ResNet50`, `ResNet50_GRU`), saved as their `load()` reads them and named as
their `main()` globs them. The FER+ backbone their `load_model()` imports (albanie's pytorch-mcn
conversion, not in their repository) is written here as `resnet50_ferplus_dag.py` in the caffe
ResNet-50 layout of the seed spec, at the reduced width of tools/seed_reference.py (same key names
as the released checkpoints). Their text outputs carry 4 decimals, so `save_to_file` and
`test_one_video` are wrapped to keep the full-precision arrays.

CI never runs this. Regenerate (from the repo root, Debian's python3-torch 1.13 / torchvision 0.14,
python3-pandas, python3-scipy, python3-tqdm, python3-six):

    /usr/bin/python3 tools/authors_reference.py --authors-repo DIR   # a checkout of their repo
    /usr/bin/python3 tools/authors_reference.py                      # clones it at AUTHORS_COMMIT

Writes test/fixtures/authors/ (see its README.md).
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
OUT = os.path.join(ROOT, 'test', 'fixtures', 'authors')
sys.path.insert(0, TOOLS)
import seed_reference as sr  # noqa: E402

AUTHORS_URL = 'https://github.com/wtomin/Multitask-Emotion-Recognition-with-Incomplete-Labels.git'
AUTHORS_COMMIT = 'b8089ee916c0d679c33522d009915745b28c7ef1'
HIDDEN = 16          # --hidden_size (released 128); GRU hidden = HIDDEN // 2 as their ResNet50_GRU builds it
SEQ_LEN = 32         # the released CNN-RNN window
VA_CENTRES = np.linspace(-1.0, 1.0, 20)
TASKS = ['EXPR', 'AU', 'VA']

# Aligned-face crops: 112x112 like their MTCNN alignment writes them, JPEG by PIL at quality 95.
VIDEO = os.path.join(ROOT, 'test', 'fixtures', 'media', 'utterance_1.mp4')
VIDEO_BOX = (283, 50, 389, 156)          # [left, top, right, bottom] of the face in the 640x360 frames
VIDEO_FRAMES = list(range(60, 100, 2))   # 20 decoded frames (every second one from 2 s)
SEQ40_ORDER = list(range(20)) + list(range(0, 20, 2)) + list(range(1, 20, 2))  # 40 frames from the 20 crops
# CNN directory: (file name, seed fixture face, stored as)
CNN_IMAGES = [
    ('img_0.jpg', 'face0_112.png'), ('img_1.jpg', 'face1_134.png'), ('img_2.png', 'face2_112.png'),
    ('img_3.jpg', 'face3_112.png'), ('img_4.png', 'face4_134.png'), ('img_5.jpg', 'face5_112.png'),
]

MODEL_DEF = '''"""resnet50_ferplus_dag at reduced width: the caffe ResNet-50 of tools/seed_reference.py with
pytorch-mcn's original head (pool5_7x7_s1 AvgPool k7, classifier conv 1x1 -> 8 with bias), registered
last, so the authors' BackBone finds the classifier at named_modules()[-1] and the pool at [-2].
Written by tools/authors_reference.py."""
import sys
sys.path.insert(0, %(tools)r)
import torch
import torch.nn as nn
from seed_reference import Resnet50FerplusDag


class Resnet50_ferplus_dag(Resnet50FerplusDag):
    def __init__(self):
        super().__init__(%(divisor)d)
        self.meta = {'mean': [131.0912, 103.8827, 91.4953], 'std': [1, 1, 1], 'imageSize': [224, 224, 3]}
        # Re-assigning keeps the registration order (pool5, then classifier, last).
        self.pool5_7x7_s1 = nn.AvgPool2d(kernel_size=[7, 7], stride=[1, 1], padding=0)
        self.classifier = nn.Conv2d(self.output_dim, 8, kernel_size=[1, 1], stride=(1, 1), bias=True)


def resnet50_ferplus_dag(weights_path=None, **kwargs):
    model = Resnet50_ferplus_dag()
    if weights_path:
        model.load_state_dict(torch.load(weights_path))
    return model
'''


# --------------------------------------------------------------------------- the authors' code

def authors_checkout(path):
    if path:
        return os.path.abspath(path), None
    tmp = tempfile.mkdtemp(prefix='authors-repo-')
    subprocess.run(['git', 'clone', '--quiet', AUTHORS_URL, tmp], check=True)
    subprocess.run(['git', '-C', tmp, 'checkout', '--quiet', AUTHORS_COMMIT], check=True)
    return tmp, tmp


def make_cpu():
    """Their code calls .cuda() everywhere; on this CPU-only machine it is the identity."""
    torch.nn.Module.cuda = lambda self, *a, **k: self
    torch.Tensor.cuda = lambda self, *a, **k: self
    np.int = int  # removed in numpy 1.24, used by their EXPR merge


def write_backbone(model_dir):
    fer = os.path.join(model_dir, 'fer+')
    os.makedirs(fer, exist_ok=True)
    with open(os.path.join(fer, 'resnet50_ferplus_dag.py'), 'w') as f:
        f.write(MODEL_DEF % {'tools': TOOLS, 'divisor': sr.WIDTH_DIVISOR})
    spec = importlib.util.spec_from_file_location('fer_def', os.path.join(fer, 'resnet50_ferplus_dag.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.Resnet50_ferplus_dag()
    sr.init_model(net, torch.Generator().manual_seed(1))
    torch.save(net.state_dict(), os.path.join(fer, 'resnet50_ferplus_dag.pth'))
    names = [n for n, _ in net.named_modules()]
    assert names[-1] == 'classifier' and names[-2] == 'pool5_7x7_s1', names[-2:]


def load_authors(repo, argv, model_dir):
    """Their script parses argv at import (module level), so each run loads it afresh."""
    sys.argv = ['run_pretrained_model.py'] + argv
    spec = importlib.util.spec_from_file_location('run_pretrained_model', os.path.join(repo, 'run_pretrained_model.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.MODEL_DIR = model_dir
    return mod


def instrument(mod):
    """Full-precision copies of what their main() computes: each member's raw outputs (in
    model_paths order, with the file it loaded) and every array save_to_file writes."""
    rec = {'loads': [], 'tracks': [], 'files': {}}
    for cls in (mod.ResNet50, mod.ResNet50_GRU):
        orig_load = cls.load

        def load(self, path, _orig=orig_load):
            rec['loads'].append(path)
            return _orig(self, path)
        cls.load = load
    orig_track, orig_save = mod.test_one_video, mod.save_to_file

    def test_one_video(model, loader):
        track = orig_track(model, loader)
        rec['tracks'].append(track)
        return track

    def save_to_file(frames_ids, predictions, save_path, task='AU'):
        mask = np.zeros_like(frames_ids, dtype=bool)  # their de-duplication, verbatim
        mask[np.unique(frames_ids, return_index=True)[1]] = True
        rec['files'][os.path.relpath(save_path, mod.opt.save_dir)] = {
            'frames': np.asarray(frames_ids)[mask].tolist(), 'values': np.asarray(predictions)[mask]}
        return orig_save(frames_ids, predictions, save_path, task=task)
    mod.test_one_video, mod.save_to_file = test_one_video, save_to_file
    return rec


def run_authors(repo, model_dir, run_dir, image_dir, argv):
    mod = load_authors(repo, ['--image_dir', image_dir, '--save_dir', os.path.join(run_dir, 'out'),
                              '--hidden_size', str(HIDDEN)] + argv, model_dir)
    rec = instrument(mod)
    cwd = os.getcwd()
    os.chdir(run_dir)
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # tqdm's bars
            mod.main()
    finally:
        os.chdir(cwd)
    texts = {}
    for dp, _, fs in os.walk(os.path.join(run_dir, 'out')):
        for f in fs:
            p = os.path.join(dp, f)
            texts[os.path.relpath(p, os.path.join(run_dir, 'out'))] = open(p).read()
    shutil.rmtree(os.path.join(run_dir, 'out'))
    return rec, texts


# --------------------------------------------------------------------------- checkpoints from their objects

def build_checkpoints(repo, model_dir, kind, seeds, xb, gpu_ids='0'):
    """Random well-conditioned weights put into their own ResNet50 / ResNet50_GRU; state_dicts."""
    argv = ['--model_type', kind, '--hidden_size', str(HIDDEN), '--gpu_ids', gpu_ids]
    mod = load_authors(repo, argv, model_dir)
    sds = []
    for seed in seeds:
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        if kind == 'CNN':
            net = mod.ResNet50(mod.opt).resnet50
            inner = net.module if isinstance(net, nn.DataParallel) else net
            sr.init_model(inner, gen)
            sr.calibrate(inner, xb)
            centre_au(inner.classifier[1].fc_1, lambda: inner(xb)['output']['AU'], mod.Best_AU_Thresholds['CNN'])
        else:
            net = mod.ResNet50_GRU(mod.opt).resnet50_GRU
            inner = net.module if isinstance(net, nn.DataParallel) else net
            sr.init_model(inner, gen)
            sr.calibrate(inner.backbone, xb)
            inner.eval()
            centre_au(inner.classifier[1].fc_1, lambda: inner(xb.unsqueeze(0))['output']['AU'][0], mod.Best_AU_Thresholds['CNN-RNN'][SEQ_LEN])
        sds.append(net.state_dict())
    return sds, mod


def centre_au(fc, au_logits, thresholds, spread=1.5):
    """Scale each AU's output row to a logit spread of `spread` over the calibration faces and shift
    its bias so the median sits at the released threshold. Otherwise nearly every decision is 1
    (thresholds 0.03-0.43 against probabilities near 0.5) and the decisions test nothing."""
    with torch.no_grad():
        z = au_logits() - fc.bias
        k = spread / z.std(0)
        t = torch.tensor(thresholds, dtype=torch.float32)
        fc.weight.mul_(k[:, None])
        fc.bias.copy_(torch.log(t / (1 - t)) - (z * k).median(0).values)


def save_ckpt(sd, path, legacy):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if legacy:
        torch.save(sd, path, _use_new_zipfile_serialization=False)
    else:
        torch.save(sd, path)


# --------------------------------------------------------------------------- inputs

def save_jpeg(im, path):
    im.save(path, quality=95)  # PIL's default subsampling (4:2:0), as alignment tools write crops


def png_twin(jpg, png):
    """The pixels PIL decodes from the JPEG, stored losslessly: the authors' outputs are equal."""
    Image.open(jpg).convert('RGB').save(png, optimize=True)


def video_crops():
    w, h = 640, 360
    sel = '+'.join('eq(n\\,%d)' % n for n in VIDEO_FRAMES)
    raw = subprocess.run(['ffmpeg', '-v', 'error', '-i', VIDEO, '-vf', 'select=' + sel, '-vsync', '0',
                          '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], check=True, capture_output=True).stdout
    assert len(raw) == w * h * 3 * len(VIDEO_FRAMES), len(raw)
    frames = np.frombuffer(raw, np.uint8).reshape(len(VIDEO_FRAMES), h, w, 3)
    return [Image.fromarray(f).crop(VIDEO_BOX).resize((112, 112), Image.BILINEAR) for f in frames]


def make_inputs(tmp):
    d = {k: os.path.join(OUT, k) for k in ('cnn_faces', 'cnn_faces_png', 'seq20')}
    d['seq20_png'] = os.path.join(tmp, 'inputs', 'seq20_png')  # checked, not committed
    for p in d.values():
        shutil.rmtree(p, ignore_errors=True)
        os.makedirs(p)
    for name, face in CNN_IMAGES:
        im = Image.open(os.path.join(sr.OUT, 'faces', face)).convert('RGB')
        if name.endswith('.jpg'):
            save_jpeg(im, os.path.join(d['cnn_faces'], name))
            png_twin(os.path.join(d['cnn_faces'], name), os.path.join(d['cnn_faces_png'], name[:-4] + '.png'))
        else:
            shutil.copyfile(os.path.join(sr.OUT, 'faces', face), os.path.join(d['cnn_faces'], name))
    for i, im in enumerate(video_crops()):
        save_jpeg(im, os.path.join(d['seq20'], 'frame_%03d.jpg' % i))
        png_twin(os.path.join(d['seq20'], 'frame_%03d.jpg' % i), os.path.join(d['seq20_png'], 'frame_%03d.png' % i))
    return d


def assemble(tmp, name, sources):
    """A temporary input directory of copies (no committed duplicates)."""
    p = os.path.join(tmp, 'inputs', name)
    os.makedirs(p)
    for dst, src in sources:
        shutil.copyfile(src, os.path.join(p, dst))
    return p


# --------------------------------------------------------------------------- outputs

def r(v):
    if isinstance(v, (list, tuple, np.ndarray)):
        return [r(x) for x in v]
    return float('%.9g' % float(v))


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def first_of_each(frames):
    mask = np.zeros_like(frames, dtype=bool)
    mask[np.unique(frames, return_index=True)[1]] = True
    return mask


def member_json(name, file_info, track):
    """A member's raw outputs (their test_one_video) with the decoding of their --ensemble merge."""
    frames = np.asarray(track['AU']['frames_ids'])
    m = first_of_each(frames)
    au = track['AU']['outputs'].astype(np.float64)[m]
    ex = track['EXPR']['outputs'].astype(np.float64)[m]
    va = track['VA']['outputs'].astype(np.float64)[m]
    for t in TASKS:
        assert np.array_equal(np.asarray(track[t]['frames_ids']), frames)
    return dict(name=name, **file_info, frames=frames[m].tolist(),
                au_logits=r(au), expr_logits=r(ex), va_logits=r(va),
                au_prob=r(1 / (1 + np.exp(-au))), expr_prob=r(softmax(ex)),
                valence=r((softmax(va[:, :20]) * VA_CENTRES).sum(-1)), arousal=r((softmax(va[:, 20:]) * VA_CENTRES).sum(-1)),
                au_active_0_5=track['AU']['estimates'][m].tolist(), expr_argmax=np.asarray(track['EXPR']['estimates'])[m].tolist())


def merged_json(rec):
    f = rec['files']
    frames = f['merged_raw/AU.txt']['frames']
    for k in ('merged_raw/EXPR.txt', 'merged_raw/VA.txt', 'merged/AU.txt', 'merged/EXPR.txt', 'merged/VA.txt'):
        assert f[k]['frames'] == frames, k
    va = f['merged_raw/VA.txt']['values']
    return {'frames': frames, 'au_prob': r(f['merged_raw/AU.txt']['values']), 'expr_prob': r(f['merged_raw/EXPR.txt']['values']),
            'valence': r(va[:, 0]), 'arousal': r(va[:, 1]),
            'au_active': f['merged/AU.txt']['values'].tolist(), 'expr_label': np.atleast_1d(f['merged/EXPR.txt']['values']).tolist()}


def run_json(rec, texts, run_dir, images, argv, formats, kind):
    names = ['teacher'] * ('--eval_with_teacher' in argv) + ['student_%d' % i for i in range(len(rec['loads']) - ('--eval_with_teacher' in argv))]
    members = []
    for name, path, track in zip(names, rec['loads'], rec['tracks']):
        rel = os.path.relpath(os.path.join(run_dir, path), run_dir)
        members.append(member_json(name, {'file': rel, 'format': formats[rel]}, track))
    return {'kind': kind, 'argv': argv, 'images': images, 'members': members, 'merged': merged_json(rec),
            'text_files': {k: texts[k] for k in sorted(texts) if k.startswith('merged')}}


def same_outputs(a, b):
    for x, y in zip(a['tracks'], b['tracks']):
        for t in TASKS:
            if not np.array_equal(x[t]['outputs'], y[t]['outputs']):
                return False
    return len(a['tracks']) == len(b['tracks'])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--authors-repo', help='a checkout of their repository (default: clone %s at %s)' % (AUTHORS_URL, AUTHORS_COMMIT[:7]))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    make_cpu()
    repo, cloned = authors_checkout(args.authors_repo)
    tmp = tempfile.mkdtemp(prefix='authors-ref-')
    argv0 = list(sys.argv)
    try:
        # An extracted archive (git archive) has no history to ask: its commit is the stated one.
        found = subprocess.run(['git', '-C', repo, 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
        commit = {'commit': found or AUTHORS_COMMIT, 'verified_by_git': bool(found)}
        os.makedirs(OUT, exist_ok=True)
        for sub in ('Multitask-CNN', 'Multitask-CNN-RNN', 'dataparallel'):
            shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
        model_dir = os.path.join(tmp, 'models')
        write_backbone(model_dir)
        xb = sr.calibration_batch()
        dirs = make_inputs(tmp)
        shutil.rmtree(os.path.join(OUT, 'seq20_png'), ignore_errors=True)
        formats = {}

        def put(sd, rel, legacy):
            save_ckpt(sd, os.path.join(OUT, rel), legacy)
            formats[rel] = 'legacy' if legacy else 'zip'

        # Checkpoints: their objects' state_dicts, the two serialisations mixed within each ensemble.
        cnn_sds, _ = build_checkpoints(repo, model_dir, 'CNN', [300, 301, 302], xb)
        for sd, (rel, legacy) in zip(cnn_sds, [('Multitask-CNN/net_epoch_teacher_id_resnet50.pth', True),
                                               ('Multitask-CNN/net_epoch_student_0_id_resnet50.pth', False),
                                               ('Multitask-CNN/net_epoch_student_1_id_resnet50.pth', True)]):
            put(sd, rel, legacy)
        rnn_sds, _ = build_checkpoints(repo, model_dir, 'CNN-RNN', [400, 401, 402], xb)
        seq_dir = 'Multitask-CNN-RNN/Seq_len=%d/' % SEQ_LEN
        for sd, (rel, legacy) in zip(rnn_sds, [(seq_dir + 'net_epoch_teacher_id_resnet50_GRU.pth', False),
                                               (seq_dir + 'net_epoch_student_0_id_resnet50_GRU.pth', True),
                                               (seq_dir + 'net_epoch_student_1_id_resnet50_GRU.pth', False)]):
            put(sd, rel, legacy)
        # --gpu_ids 0,1 makes their code wrap the model in DataParallel: its state_dict (and so
        # what load() reads) has every key prefixed 'module.'. Same weights as the plain student_0.
        (dp_sd,), dp_mod = build_checkpoints(repo, model_dir, 'CNN', [999], xb, gpu_ids='0,1')
        dp_net = dp_mod.ResNet50(dp_mod.opt).resnet50
        assert isinstance(dp_net, nn.DataParallel)
        dp_net.module.load_state_dict(cnn_sds[1])
        dp_sd = dp_net.state_dict()
        assert all(k.startswith('module.') for k in dp_sd)
        put(dp_sd, 'dataparallel/Multitask-CNN/net_epoch_student_0_id_resnet50.pth', True)

        def rundir(name, ckpts):
            d = os.path.join(tmp, 'runs', name)
            for rel in ckpts:
                os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
                shutil.copyfile(os.path.join(OUT, rel), os.path.join(d, rel))
            return d

        cnn_run = rundir('cnn', [k for k in formats if k.startswith('Multitask-CNN/')])
        rnn_run = rundir('rnn', [k for k in formats if k.startswith('Multitask-CNN-RNN/')])
        dp_src = 'dataparallel/Multitask-CNN/net_epoch_student_0_id_resnet50.pth'
        dp_run = os.path.join(tmp, 'runs', 'dp')
        os.makedirs(os.path.join(dp_run, 'Multitask-CNN'))
        shutil.copyfile(os.path.join(OUT, dp_src), os.path.join(dp_run, 'Multitask-CNN', os.path.basename(dp_src)))
        dp_formats = {'Multitask-CNN/' + os.path.basename(dp_src): 'legacy'}

        ens = ['--eval_with_teacher', '--eval_with_students', '--ensemble']
        cnn_images = sorted(os.listdir(dirs['cnn_faces']))
        cnn_png = assemble(tmp, 'cnn_png', [(n if n.endswith('.png') else n[:-4] + '.png',
                                             os.path.join(dirs['cnn_faces'] if n.endswith('.png') else dirs['cnn_faces_png'],
                                                          n if n.endswith('.png') else n[:-4] + '.png')) for n in cnn_images])
        seq20 = sorted(os.listdir(dirs['seq20']))
        seq40 = assemble(tmp, 'seq40', [('frame_%03d.jpg' % i, os.path.join(dirs['seq20'], seq20[j])) for i, j in enumerate(SEQ40_ORDER)])

        runs = {}
        argv = ['--model_type', 'CNN'] + ens
        rec, texts = run_authors(repo, model_dir, cnn_run, dirs['cnn_faces'], argv)
        runs['cnn'] = run_json(rec, texts, cnn_run, {'dir': 'cnn_faces', 'files': cnn_images}, argv, formats, 'cnn')
        rec_png, _ = run_authors(repo, model_dir, cnn_run, cnn_png, argv)
        assert same_outputs(rec, rec_png), 'PNG twins of the JPEG crops gave other outputs'

        argv = ['--model_type', 'CNN-RNN', '--seq_len', str(SEQ_LEN)] + ens
        rec, texts = run_authors(repo, model_dir, rnn_run, dirs['seq20'], argv)
        runs['cnn_rnn_20'] = run_json(rec, texts, rnn_run, {'dir': 'seq20', 'files': seq20}, argv, formats, 'cnn-rnn')
        rec_png, _ = run_authors(repo, model_dir, rnn_run, dirs['seq20_png'], argv)
        assert same_outputs(rec, rec_png), 'PNG twins of the JPEG crops gave other outputs'

        # 40 frames: two windows [0,32) and [8,40). With their default --batch_size 20 both windows
        # share a batch and their frame ids come out (N,B)-ordered against (B,N)-ordered outputs,
        # so rows go to the wrong frames; --batch_size 1 is the run that means what it says.
        argv40 = argv + ['--batch_size', '1']
        rec, texts = run_authors(repo, model_dir, rnn_run, seq40, argv40)
        runs['cnn_rnn_40'] = run_json(rec, texts, rnn_run, {'dir': 'seq20', 'order': SEQ40_ORDER,
                                                            'files': ['frame_%03d.jpg' % i for i in range(40)]}, argv40, formats, 'cnn-rnn')
        rec_b20, _ = run_authors(repo, model_dir, rnn_run, seq40, argv)
        b20 = merged_json(rec_b20)
        good = runs['cnn_rnn_40']['merged']
        frame_id_quirk = {
            'batch_size': 20, 'frames': b20['frames'],
            'rows_equal_to_batch_size_1': int(sum(np.allclose(a, b, atol=1e-6) for a, b in zip(b20['au_prob'], good['au_prob']))),
            'rows': len(good['frames']),
        }

        # Their main() cannot run a DataParallel model (model.resnet50.backbone on the wrapper
        # raises AttributeError), and with --gpu_ids 0 their strict load() refuses 'module.' keys:
        # the prefixed file (what their train.py --gpu_ids 0,1 saves) holds student_0's weights,
        # so its reference outputs are student_0's above.
        dp_crash = None
        try:
            run_authors(repo, model_dir, dp_run, dirs['cnn_faces'], ['--model_type', 'CNN', '--gpu_ids', '0,1', '--eval_with_students', '--ensemble'])
        except AttributeError as e:
            dp_crash = str(e)
        assert dp_crash is not None, 'their main() now runs a DataParallel model: compare it directly'
        plain = load_authors(repo, ['--model_type', 'CNN', '--hidden_size', str(HIDDEN)], model_dir)
        try:
            plain.ResNet50(plain.opt).load(os.path.join(OUT, dp_src))
            raise AssertionError("their load() now reads 'module.' keys")
        except RuntimeError as e:
            assert 'Missing key(s)' in str(e) and 'Unexpected key(s)' in str(e)
        dataparallel = {'file': dp_src, 'format': dp_formats['Multitask-CNN/' + os.path.basename(dp_src)],
                        'weights_of': runs['cnn']['members'][1]['file'], 'their_main_with_gpu_ids_0_1': 'AttributeError: ' + dp_crash}

        expected = {
            'generator': 'tools/authors_reference.py', 'torch': torch.__version__, 'numpy': np.__version__,
            'authors': dict(repository=AUTHORS_URL, script='run_pretrained_model.py', **commit),
            'config': {'width_divisor': sr.WIDTH_DIVISOR, 'hidden_size': HIDDEN, 'gru_hidden': HIDDEN // 2,
                       'seq_len': SEQ_LEN, 'image_size': 112, 'va_centres': r(VA_CENTRES),
                       'best_au_thresholds': {'cnn': plain.Best_AU_Thresholds['CNN'],
                                              'cnn_rnn': plain.Best_AU_Thresholds['CNN-RNN'][SEQ_LEN]}},
            'inputs': {'video': 'test/fixtures/media/utterance_1.mp4', 'video_box': list(VIDEO_BOX), 'video_frames': VIDEO_FRAMES,
                       'cnn_images': [{'file': n, 'from': 'test/fixtures/seed/faces/' + f} for n, f in CNN_IMAGES]},
            'runs': runs,
            'dataparallel': dataparallel,
            'frame_id_quirk_40_frames': frame_id_quirk,
        }
        # Not saturated, not blind: tools/seed_reference.py's conditioning figures per member, with
        # its models (the same key names) holding these state_dicts.
        ids = [f[0] for f in sr.FACES]
        xs = {z: torch.stack([sr.load_input(i, z) for i in ids]) for z in (134, 112)}
        conditioning = {}
        cnn_files = [k for k in formats if k.startswith('Multitask-CNN/')]
        rnn_files = [k for k in formats if k.startswith('Multitask-CNN-RNN/')]
        for kind, sds_k, files in (('cnn', cnn_sds, cnn_files), ('cnn_rnn', rnn_sds, rnn_files)):
            for sd, fname in zip(sds_k, files):
                net = sr.Model(sr.WIDTH_DIVISOR, HIDDEN) if kind == 'cnn' else sr.Seq_Model(sr.WIDTH_DIVISOR, HIDDEN, HIDDEN // 2)
                net.load_state_dict(sd)
                net.eval()
                with contextlib.redirect_stdout(io.StringIO()):
                    conditioning[fname] = sr.check_conditioning(os.path.basename(fname), net, xs[134], xs[112], kind == 'cnn_rnn')
        expected['conditioning'] = conditioning
        for name, run in runs.items():
            # How far the closest decision is from flipping: a parity test of 1e-5 can only pass
            # by chance where these are ~1e-5 or less.
            m = run['merged']
            thr = np.array(plain.Best_AU_Thresholds['CNN'] if run['kind'] == 'cnn' else plain.Best_AU_Thresholds['CNN-RNN'][SEQ_LEN])
            au = np.array(m['au_prob'])
            ex = np.sort(np.array(m['expr_prob']), -1)
            run['decision_margins'] = {'au_min_abs_prob_minus_threshold': r(np.abs(au - thr).min()),
                                       'au_active_fraction': r((au > thr).mean()),
                                       'expr_min_top1_minus_top2': r((ex[:, -1] - ex[:, -2]).min())}
            print('%-12s %s' % (name, run['decision_margins']))
        with open(os.path.join(OUT, 'expected.json'), 'w') as f:
            json.dump(expected, f, separators=(',', ':'))
            f.write('\n')
        total = sum(os.path.getsize(os.path.join(dp, x)) for dp, _, fs in os.walk(OUT) for x in fs)
        print('fixtures: %.0f kB in %s' % (total / 1024, OUT))
        for k, v in conditioning.items():
            print('%s\n    %s' % (k, v))
        print('40 frames at batch_size 20: %d of %d rows as at batch_size 1' % (frame_id_quirk['rows_equal_to_batch_size_1'], frame_id_quirk['rows']))
    finally:
        sys.argv = argv0
        shutil.rmtree(tmp, ignore_errors=True)
        if cloned:
            shutil.rmtree(cloned, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
