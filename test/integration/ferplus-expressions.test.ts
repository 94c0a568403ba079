/**
 * `daemon models pull ferplus-expressions`: the FER+ ResNet-50 with its own classifier as a named
 * expressions model, against a local HTTP server serving checkpoints of the real key layout
 * (reduced width, random well-conditioned weights: test/fixtures/seed/ferplus_tiny.pth and
 * variants written by test/helpers/torch-checkpoint.ts). Outputs of random weights never leave
 * these tests.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTorchCheckpoint } from '../../src/import/checkpoint/index.js';
import { ferplusBackboneWeights } from '../../src/import/ferplus-backbone.js';
import { FERPLUS_CLASSES, FERPLUS_TO_SEED } from '../../src/import/ferplus-expressions.js';
import { listModels, pullModels } from '../../src/import/models-command.js';
import { ModelStore } from '../../src/import/store/model-store.js';
import { openAffectModel } from '../../src/models/affect/open-affect-model.js';
import { parsePackagedManifest } from '../../src/models/packaged/manifest.js';
import { unfoldedConvBn } from '../../src/models/seed/conv-bn.js';
import { EXPR_LABELS } from '../../src/models/seed/constants.js';
import { pilResizeBilinear } from '../../src/models/seed/pil-resize.js';
import { resnet50CaffeForward } from '../../src/models/seed/resnet50-caffe.js';
import type { ResNet50Dims } from '../../src/models/seed/resnet50-layers.js';
import { tf } from '../../src/models/tf.js';
import { repoRoot } from '../helpers/media.js';
import { readPng } from '../helpers/read-png.js';
import { torchZipCheckpoint, type PlainTensor } from '../helpers/torch-checkpoint.js';

const seedDir = path.join(repoRoot, 'test', 'fixtures', 'seed');
const tinyBytes = readFileSync(path.join(seedDir, 'ferplus_tiny.pth'));
const faceFiles = readdirSync(path.join(seedDir, 'faces')).filter((f) => f.endsWith('.png')).sort();

/** ferplus_tiny.pth's float tensors (BN counters dropped: the FER+ file has none either way). */
function tinyStateDict(): Map<string, PlainTensor> {
  const sd = new Map<string, PlainTensor>();
  for (const [k, t] of readTorchCheckpoint(tinyBytes)) {
    if (t.data instanceof Float32Array) sd.set(k, { shape: t.shape, data: Float32Array.from(t.data) });
  }
  return sd;
}

/** The tiny checkpoint with a classifier whose logits are 0 except 8 for FER+ class `k`. */
function favouring(k: number): Uint8Array {
  const sd = tinyStateDict();
  const w = sd.get('classifier.weight') as PlainTensor;
  sd.set('classifier.weight', { shape: w.shape, data: new Float32Array(w.data.length) });
  sd.set('classifier.bias', { shape: [8], data: Float32Array.from({ length: 8 }, (_, i) => (i === k ? 8 : 0)) });
  return torchZipCheckpoint(sd);
}

const files = new Map<string, Uint8Array>();
let server: http.Server;
let port: number;
let work: string;

beforeAll(async () => {
  files.set('ferplus.pth', tinyBytes);
  const noClassifier = tinyStateDict();
  noClassifier.delete('classifier.weight');
  noClassifier.delete('classifier.bias');
  files.set('no-classifier.pth', torchZipCheckpoint(noClassifier));
  FERPLUS_CLASSES.forEach((_, k) => files.set(`favour-${k}.pth`, favouring(k)));
  server = http.createServer((req, res) => {
    const m = /^\/files\/([\w.-]+)$/.exec((req.url ?? '').split('?')[0] ?? '');
    const body = m !== null ? files.get(m[1] as string) : undefined;
    if (body === undefined) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  work = mkdtempSync(path.join(tmpdir(), 'ferplus-expr-'));
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(work, { recursive: true, force: true });
});

let n = 0;
/** A catalogue of `ferplus-expressions` entries, one per served file, and a fresh store. */
function setup(entries: Record<string, string>): { catalog: string; store: ModelStore } {
  const dir = mkdtempSync(path.join(work, `case-${n++}-`));
  const models = Object.fromEntries(
    Object.entries(entries).map(([name, file]) => [
      name,
      {
        description: `test ${name}`,
        kind: 'ferplus-expressions',
        licence: 'MIT (test)',
        trainedOn: ['nothing: test fixture'],
        reported: 'nothing',
        reportedMetrics: { 'ferplus-test.accuracy': 0.5 },
        files: [{ name: 'resnet50_ferplus_dag.pth', url: `http://127.0.0.1:${port}/files/${file}`, sha256: null, maxBytes: 10_000_000 }],
      },
    ]),
  );
  const catalog = path.join(dir, 'catalog.json');
  writeFileSync(catalog, JSON.stringify({ version: 1, models }));
  return { catalog, store: new ModelStore(path.join(dir, 'store')) };
}

const pull = (name: string, c: { catalog: string; store: ModelStore }): Promise<string[]> => pullModels(name, { store: c.store, catalog: c.catalog, download: { retries: 0 } }, { note: () => {} });
const faces = () => faceFiles.map((f) => readPng(path.join(seedDir, 'faces', f)));

describe('daemon models pull of the FER+ classifier as an expressions model', () => {
  it('the test helper writes checkpoints the reader reads back exactly', () => {
    const sd = tinyStateDict();
    const back = readTorchCheckpoint(torchZipCheckpoint(sd));
    expect([...back.keys()]).toEqual([...sd.keys()]);
    for (const [k, t] of sd) {
      expect(back.get(k)?.shape).toEqual(t.shape);
      expect(Array.from(back.get(k)?.data as Float32Array)).toEqual(Array.from(t.data));
    }
  });

  it('maps FER+ class k onto the seed label it names; contempt is left out (the other seven equal)', async () => {
    // FER+'s order (fer2013new.csv) → the seed's labels, written out here rather than read from the code.
    const expected = ['Neutral', 'Happiness', 'Surprise', 'Sadness', 'Anger', 'Disgust', 'Fear', null] as const;
    expect(FERPLUS_CLASSES).toEqual(['neutral', 'happiness', 'surprise', 'sadness', 'anger', 'disgust', 'fear', 'contempt']);
    const c = setup(Object.fromEntries(FERPLUS_CLASSES.map((_, k) => [`favour-${k}`, `favour-${k}.pth`])));
    for (const [k, cls] of FERPLUS_CLASSES.entries()) {
      await pull(`favour-${k}`, c);
      const model = await openAffectModel(c.store.modelDir(`favour-${k}`), { placement: 'thread', backend: 'auto', engine: 'tfjs' });
      try {
        const [frame] = model.decideCnn(await model.runCnn(faces().slice(0, 1)));
        const probs = Array.from(frame?.expr.probabilities ?? []);
        expect(probs).toHaveLength(EXPR_LABELS.length);
        const want = expected[k] ?? null;
        expect(FERPLUS_TO_SEED[cls]).toBe(want);
        if (want === null) {
          // All seven logits equal: the renormalised distribution is uniform.
          for (const p of probs) expect(p).toBeCloseTo(1 / 7, 6);
        } else {
          expect(frame?.expr.label, `FER+ ${cls}`).toBe(want);
          // softmax of 8 against six zeros: e^8 / (e^8 + 6).
          expect(probs[EXPR_LABELS.indexOf(want)]).toBeCloseTo(Math.exp(8) / (Math.exp(8) + 6), 5);
        }
      } finally {
        await model.close();
      }
    }
    expect(Object.values(FERPLUS_TO_SEED).filter((x) => x !== null).sort()).toEqual([...EXPR_LABELS].sort());
  }, 300_000);

  it('gives FER+\'s 8-way softmax without contempt, renormalised, in the seed order (computed here from the checkpoint, BN unfolded)', async () => {
    const c = setup({ fer: 'ferplus.pth' });
    await pull('fer', c);
    const imgs = faces();
    const model = await openAffectModel(c.store.modelDir('fer'), { placement: 'thread', backend: 'auto', engine: 'tfjs' });
    let got: number[][];
    try {
      got = model.decideCnn(await model.runCnn(imgs)).map((f) => Array.from(f.expr.probabilities));
    } finally {
      await model.close();
    }
    // The reference: the import's unfolded weights, the original 8-row classifier, and the input as
    // Albanie's transform makes it (PIL bilinear to 224, grey in three channels, minus the mean).
    const sd = readTorchCheckpoint(tinyBytes);
    const w = ferplusBackboneWeights(sd, 'ferplus.pth');
    const cw = sd.get('classifier.weight')?.data as Float32Array;
    const cb = sd.get('classifier.bias')?.data as Float32Array;
    const mean = [131.0912, 103.8827, 91.4953];
    try {
      const x = new Float32Array(imgs.length * 224 * 224 * 3);
      imgs.forEach((im, i) => {
        const r = pilResizeBilinear(im.data, im.height, im.width, 3, 224, 224);
        for (let p = 0; p < 224 * 224; p++) {
          const grey = 0.2989 * r[3 * p]! + 0.587 * r[3 * p + 1]! + 0.114 * r[3 * p + 2]!;
          for (let ch = 0; ch < 3; ch++) x[(i * 224 * 224 + p) * 3 + ch] = grey - mean[ch]!;
        }
      });
      const features = tf.tidy(() => resnet50CaffeForward(tf.tensor4d(x, [imgs.length, 224, 224, 3]), (w.dims.backbone.dims as ResNet50Dims), unfoldedConvBn(w.weights)));
      const f = features.dataSync();
      const feat = features.shape[1] ?? 0;
      features.dispose();
      const seedOrder = ['Neutral', 'Happiness', 'Surprise', 'Sadness', 'Anger', 'Disgust', 'Fear'];
      imgs.forEach((_, i) => {
        const logits = Array.from({ length: 8 }, (_, k) => cb[k]! + Array.from({ length: feat }, (_, ch) => cw[k * feat + ch]! * f[i * feat + ch]!).reduce((a, b) => a + b, 0));
        const e = logits.map((l) => Math.exp(l - Math.max(...logits)));
        const p8 = e.map((v) => v / e.reduce((a, b) => a + b, 0));
        const kept = p8.slice(0, 7).reduce((a, b) => a + b, 0);
        const want = EXPR_LABELS.map((label) => p8[seedOrder.indexOf(label)]! / kept);
        for (let j = 0; j < 7; j++) expect(got[i]![j]!).toBeCloseTo(want[j]!, 5);
      });
    } finally {
      for (const t of w.weights.values()) t.dispose();
    }
  }, 300_000);

  it('refuses a FER+ file without its classifier, saying so, and installs nothing', async () => {
    const c = setup({ fer: 'no-classifier.pth' });
    const err = await pull('fer', c).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('VA_ERR_MODEL_WEIGHTS');
    expect(err?.message).toMatch(/without classifier\.weight and classifier\.bias: a backbone alone cannot classify expressions/);
    expect(existsSync(c.store.modelDir('fer'))).toBe(false);
    expect(readdirSync(c.store.dir).filter((e) => !e.startsWith('.') || e.startsWith('.staging'))).toEqual([]);
  });

  it('writes a manifest that says what it was trained on, what the source reported, and that it was not measured here', async () => {
    const c = setup({ fer: 'ferplus.pth' });
    await pull('fer', c);
    const m = parsePackagedManifest(JSON.parse(readFileSync(path.join(c.store.modelDir('fer'), 'manifest.json'), 'utf8')), 'fer');
    const member = m.members[0];
    if (member?.format !== 'ferplus-resnet50') throw new Error('expected a ferplus-resnet50 member');
    expect(member.labels).toEqual(['neutral', 'happiness', 'surprise', 'sadness', 'anger', 'disgust', 'fear']);
    expect(member.labelMap).toEqual(['Neutral', 'Happiness', 'Surprise', 'Sadness', 'Anger', 'Disgust', 'Fear']);
    expect(member.input).toMatchObject({ size: 224, mean: [131.0912, 103.8827, 91.4953], divisor: 1, resize: 'pil-bilinear' });
    expect(m.provenance.trainingData).toEqual(['nothing: test fixture']);
    expect(m.provenance.metrics).toEqual({ 'reported.ferplus-test.accuracy': 0.5 });
    expect(m.provenance.notes?.join('\n')).toMatch(/not measured by this project/);
    expect((await listModels(c.store)).join('\n')).toContain('fer  ferplus-expressions  1 file(s)');
    // Loaded, run and closed on this thread: every tensor it made is released.
    const before = tf.memory().numTensors;
    const model = await openAffectModel(c.store.modelDir('fer'), { placement: 'thread', backend: 'auto', engine: 'tfjs' });
    model.decideCnn(await model.runCnn(faces()));
    await model.close();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a changed weights file in the model directory fails the load with its hash', async () => {
    const c = setup({ fer: 'ferplus.pth' });
    await pull('fer', c);
    const bin = path.join(c.store.modelDir('fer'), 'ferplus_expressions.bin');
    const bytes = readFileSync(bin);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    writeFileSync(bin, bytes);
    const before = tf.memory().numTensors;
    await expect(openAffectModel(c.store.modelDir('fer'), { placement: 'thread', backend: 'auto', engine: 'tfjs' })).rejects.toMatchObject({
      code: 'VA_ERR_MODEL_FILES',
      message: expect.stringMatching(/ferplus_expressions\.bin: sha256 [0-9a-f]{64}, the manifest expects [0-9a-f]{64}/),
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the FER+ expressions model from the command line', () => {
  const daemonBin = path.join(repoRoot, 'bin', 'daemon.js');
  const run = (args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [daemonBin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });

  it('models pull → list → predict --model NAME gives 7 expression probabilities summing to 1, in the seed order', async () => {
    const c = setup({ 'ferplus-expressions': 'ferplus.pth' });
    const env = { XDG_DATA_HOME: path.join(path.dirname(c.store.dir), 'xdg') };
    const pulled = await run(['models', 'pull', 'ferplus-expressions', '--catalog', c.catalog], env);
    expect(pulled.code, pulled.stderr).toBe(0);
    const listed = await run(['models', 'list'], env);
    expect(listed.stdout).toContain('ferplus-expressions  ferplus-expressions  1 file(s)');
    const out = path.join(path.dirname(c.store.dir), 'pred.jsonl');
    const predicted = await run(['predict', '--model', 'ferplus-expressions', '--input', path.join(seedDir, 'faces'), '--out', out], env);
    expect(predicted.code, predicted.stderr).toBe(0);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { expr: { probs: number[]; label: string }; au?: unknown; va?: unknown });
    expect(rows).toHaveLength(faceFiles.length);
    for (const r of rows) {
      expect(r.expr.probs).toHaveLength(EXPR_LABELS.length);
      expect(r.expr.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      // The label is the argmax in the seed's order, and no AU/VA is claimed.
      expect(r.expr.label).toBe(EXPR_LABELS[r.expr.probs.indexOf(Math.max(...r.expr.probs))]);
      expect(r.au).toBeUndefined();
      expect(r.va).toBeUndefined();
    }
  }, 600_000);
});
