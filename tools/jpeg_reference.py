#!/usr/bin/python3
"""Writes test/fixtures/jpeg/: small JPEG crops and what PIL decodes them to.

The seed's authors read their aligned crops with PIL, `Image.open(p).convert('RGB')`; this makes
JPEGs of the kinds such crops come in (PIL's default quality 75 and 4:2:0, other qualities and
subsamplings, odd and tiny sizes, progressive, greyscale, optimised tables, and files written by
FFmpeg's mjpeg encoder, including 4:4:0) from the committed faces and from frames of the committed
test media, and records PIL's decoded RGB of each: the sha256 of its raw bytes (height × width × 3)
and a few pixel values. src/streams/decode-jpeg-pil.test.ts decodes every file and compares.
A 24-bit BMP is written too, for the check that FFmpeg's BMP decoder equals PIL's.

Run from the repository root with Debian's python3-pil (libjpeg-turbo):
    /usr/bin/python3 tools/jpeg_reference.py
Needs ffmpeg on PATH. The output is deterministic for a given Pillow/libjpeg-turbo/FFmpeg.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACES = os.path.join(ROOT, 'test', 'fixtures', 'seed', 'faces')
MEDIA = os.path.join(ROOT, 'test', 'fixtures', 'media')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'jpeg')


def face(name):
    return Image.open(os.path.join(FACES, name)).convert('RGB')


def frame(video, seconds, tmp):
    """One decoded frame of a committed video, as a lossless PNG read back by PIL."""
    png = os.path.join(tmp, f'{os.path.basename(video)}-{seconds}.png')
    subprocess.run(['ffmpeg', '-v', 'error', '-y', '-ss', str(seconds), '-i', os.path.join(MEDIA, video), '-frames:v', '1', png], check=True)
    return Image.open(png).convert('RGB')


def pil_jpeg(img, name, **opts):
    img.save(os.path.join(OUT, name), format='JPEG', **opts)


def ffmpeg_jpeg(img, name, tmp, pix_fmt):
    src = os.path.join(tmp, name + '.png')
    img.save(src)
    subprocess.run(['ffmpeg', '-v', 'error', '-y', '-i', src, '-c:v', 'mjpeg', '-q:v', '2', '-pix_fmt', pix_fmt, '-frames:v', '1', os.path.join(OUT, name)], check=True)


def reference(path):
    """PIL's decode of one file, as the seed loads crops."""
    with Image.open(path) as im:
        mode = im.mode
        info = {'progressive': bool(im.info.get('progressive', 0))}
        layers = getattr(im, 'layers', None)
        sampling = getattr(im, 'layer', None)
        rgb = im.convert('RGB')
    w, h = rgb.size
    raw = rgb.tobytes()
    points = sorted({(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (w // 2, h // 2), (w // 3, (2 * h) // 3)})
    return {
        'file': os.path.basename(path),
        'width': w,
        'height': h,
        'pilMode': mode,
        'components': layers,
        'sampling': [[c[1], c[2]] for c in sampling] if sampling else None,
        **info,
        'sha256': hashlib.sha256(raw).hexdigest(),
        'samples': [{'x': x, 'y': y, 'rgb': list(rgb.getpixel((x, y)))} for x, y in points],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(('.jpg', '.bmp')):
            os.remove(os.path.join(OUT, f))
    with tempfile.TemporaryDirectory() as tmp:
        talk = frame('utterance_1.mp4', 2, tmp)
        single = frame('single_face.mp4', 1, tmp)
        hevc = frame('face_noface.mov', 1, tmp)
        # PIL's defaults (quality 75, 4:2:0), as an aligner's crops are saved.
        pil_jpeg(face('face0_112.png'), 'face0_112_q75.jpg')
        pil_jpeg(face('face1_134.png'), 'face1_134_q75.jpg')
        pil_jpeg(face('face2_112.png'), 'face2_112_q95.jpg', quality=95)
        pil_jpeg(face('face3_112.png'), 'face3_112_q50.jpg', quality=50)
        pil_jpeg(face('face4_134.png'), 'face4_134_q75_422.jpg', subsampling=1)
        pil_jpeg(face('face5_134.png'), 'face5_134_q95_444.jpg', quality=95, subsampling=0)
        pil_jpeg(face('face0_134.png'), 'face0_134_q90_optimized.jpg', quality=90, optimize=True)
        pil_jpeg(face('face1_112.png'), 'face1_112_q75_progressive.jpg', progressive=True)
        pil_jpeg(face('face2_134.png'), 'face2_134_q95_444_progressive.jpg', quality=95, subsampling=0, progressive=True)
        pil_jpeg(face('face3_134.png').convert('L'), 'face3_134_grey.jpg')
        # Odd and tiny sizes: partial MCUs, chroma two samples wide (libjpeg's box path), one pixel.
        pil_jpeg(talk.crop((250, 40, 361, 153)), 'frame_111x113_q75.jpg')
        pil_jpeg(single.crop((260, 60, 372, 172)), 'frame_112x112_q75.jpg')
        pil_jpeg(hevc.crop((400, 100, 534, 234)), 'frame_134x134_q75.jpg')
        pil_jpeg(talk.crop((300, 100, 317, 109)), 'frame_17x9_q75.jpg')
        pil_jpeg(talk.crop((300, 100, 317, 109)), 'frame_17x9_q75_progressive.jpg', progressive=True)
        pil_jpeg(talk.crop((300, 100, 303, 103)), 'frame_3x3_q75.jpg')
        pil_jpeg(talk.crop((300, 100, 301, 101)), 'frame_1x1_q75.jpg')
        pil_jpeg(single.crop((200, 50, 401, 202)), 'frame_201x152_q50_422.jpg', quality=50, subsampling=1)
        # Written by FFmpeg's mjpeg encoder (-q:v 2): 4:2:0, and 4:4:0, whose chroma libjpeg-turbo upsamples vertically (h1v2).
        ffmpeg_jpeg(talk.crop((240, 30, 376, 166)), 'ffmpeg_136x136_420.jpg', tmp, 'yuvj420p')
        ffmpeg_jpeg(single.crop((250, 50, 365, 167)), 'ffmpeg_115x117_440.jpg', tmp, 'yuvj440p')
        face('face4_112.png').save(os.path.join(OUT, 'face4_112_rgb24.bmp'))
    files = sorted(f for f in os.listdir(OUT) if f.endswith(('.jpg', '.bmp')))
    # multi_face.jpg (a progressive photo) is committed with the media already; its reference is recorded too.
    refs = [reference(os.path.join(OUT, f)) for f in files]
    refs.append({**reference(os.path.join(MEDIA, 'multi_face.jpg')), 'file': '../media/multi_face.jpg'})
    doc = {
        'generator': 'tools/jpeg_reference.py',
        'decode': "PIL Image.open(p).convert('RGB'); sha256 of the RGB bytes, rows top to bottom",
        'pillow': PIL.__version__,
        'libjpeg': subprocess.run(['dpkg-query', '-W', '-f', '${Package} ${Version}', 'libjpeg62-turbo'], capture_output=True, text=True).stdout or 'unknown',
        'ffmpeg': subprocess.run(['ffmpeg', '-version'], capture_output=True, text=True).stdout.splitlines()[0],
        'files': refs,
    }
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f'{len(refs)} references, {total} bytes in {OUT}', file=sys.stderr)


if __name__ == '__main__':
    main()
