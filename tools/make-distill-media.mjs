#!/usr/bin/env node
/**
 * The unlabelled face video the expression student is distilled on (issue 10), made offline from
 * what this machine has: the shared test media (../shared/media) and the group photos shipped in
 * @vladmandic/face-api, animated the way the demo stream animates them (FFmpeg zoompan: slow
 * zoom and pan, 200 frames at 25 fps), plus FFmpeg variants (mirror, crop, half scale, darker,
 * brighter). Identities are split: everything made from a held-out source stays held out.
 *
 *   node tools/make-distill-media.mjs [OUT]   (default ../distill-media beside the repository;
 *                                              run `npx tsc -p tsconfig.build.json` first)
 *
 * OUT/train:   utterance_1 (+5 variants), sample1..4 clips (+ mirror, dark, bright)
 * OUT/heldout: single_face, face_noface, multi_face.jpg (+5 variants each), sample5..6 clips (+ mirror)
 * Inputs are linked, never copied; made files are H.264 (CRF 18) or PNG.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { demoFilter, demoPhotos, DEMO_FRAMES_PER_PHOTO, DEMO_FPS } = await import(path.join(repo, 'dist/streams/demo-source.js'));
const { VARIANTS } = await import(path.join(repo, 'dist/bench/expressions/expressions.js'));
const out = path.resolve(process.argv[2] ?? path.join(repo, '..', 'distill-media'));
const media = path.join(repo, '..', 'shared', 'media');

const ffmpeg = (args) => execFileSync('ffmpeg', ['-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
const h264 = ['-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p'];

function link(file, dir) {
  const target = path.join(dir, path.basename(file));
  if (!existsSync(target)) symlinkSync(file, target);
  return target;
}

function variants(file, dir, names) {
  const still = /\.(jpe?g|png)$/i.test(file);
  for (const name of names) {
    const target = path.join(dir, `${path.basename(file).replace(/\.[^.]+$/, '')}.${name}.${still ? 'png' : 'mp4'}`);
    if (existsSync(target)) continue;
    ffmpeg(['-i', file, '-vf', VARIANTS[name], ...(still ? [] : h264), target]);
    console.error(`made ${path.relative(out, target)}`);
  }
}

function animate(photo, dir) {
  const target = path.join(dir, `${path.basename(photo, path.extname(photo))}.mp4`);
  if (!existsSync(target)) {
    ffmpeg(['-loop', '1', '-i', photo, '-vf', `${demoFilter()},format=yuv420p`, '-frames:v', String(DEMO_FRAMES_PER_PHOTO), '-r', String(DEMO_FPS), ...h264, target]);
    console.error(`made ${path.relative(out, target)}`);
  }
  return target;
}

const all = Object.keys(VARIANTS);
const train = path.join(out, 'train');
const heldout = path.join(out, 'heldout');
mkdirSync(train, { recursive: true });
mkdirSync(heldout, { recursive: true });

variants(link(path.join(media, 'utterance_1.mp4'), train), train, all);
for (const name of ['single_face.mp4', 'face_noface.mov', 'multi_face.jpg']) variants(link(path.join(media, name), heldout), heldout, all);
const photos = demoPhotos();
for (const photo of photos.slice(0, 4)) variants(animate(photo, train), train, ['mirror', 'dark', 'bright']);
for (const photo of photos.slice(4)) variants(animate(photo, heldout), heldout, ['mirror']);
console.error(`done: ${out}`);
