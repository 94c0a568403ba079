/**
 * `import-seed` end to end on the reference checkpoints of tools/seed_reference.py: both
 * serialisations and both kinds → a model directory that `loadModelDir` loads and whose outputs
 * on the fixture faces equal PyTorch's (1e-4); and every refusal, with nothing written.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnalyticsError } from '../../src/core/errors.js';
import { selectBackend } from '../../src/models/backend.js';
import { readTorchCheckpoint } from '../../src/import/checkpoint/index.js';
import { AU_THRESHOLDS, TASKS, disposeCnnOutput, ensembleLogits, loadModelDir, preprocessFacePixelsBatch, readLogits, type MemberLogits } from '../../src/models/seed/index.js';
import { readPng } from '../helpers/read-png.js';
import { tf, type Tensor3D } from '../../src/models/tf.js';
import { importSeedCommand } from '../../src/import/import-command.js';
import { repoRoot } from '../helpers/media.js';

const fx = path.join(repoRoot, 'test/fixtures/seed');
type Size = '134' | '112';
interface Probs { au_prob: number[]; expr_prob: number[]; valence: number; arousal: number }
interface FaceOut extends Probs { expr_logits: number[]; au_logits: number[]; va_logits: number[] }
interface SeqProbs { au_prob: number[][]; expr_prob: number[][]; valence: number[]; arousal: number[] }
const expected = JSON.parse(readFileSync(path.join(fx, 'expected.json'), 'utf8')) as {
  faces: { png134: string; png112: string }[];
  cnn: { members: { files: { zip: string; legacy: string }; outputs: Record<Size, FaceOut[]> }[]; ensemble: Record<Size, Probs[]> };
  cnn_rnn: {
    seq_len: number;
    sequences: { size: number; faces: number[] }[];
    members: { files: { zip: string; legacy: string }; sequences: (SeqProbs & { expr_logits: number[][]; au_logits: number[][]; va_logits: number[][] })[] }[];
    ensemble: SeqProbs[];
  };
};
const TOL = 1e-4;
const maxErr = (a: readonly number[], b: ArrayLike<number>): number => (a.length !== b.length ? Infinity : a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0));
const face = (i: number, size: Size) => {
  const f = expected.faces[i];
  if (f === undefined) throw new Error(`no face ${i}`);
  return readPng(path.join(fx, size === '134' ? f.png134 : f.png112));
};
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const logitKey = { EXPR: 'expr_logits', AU: 'au_logits', VA: 'va_logits' } as const;

async function rejection(p: Promise<unknown>): Promise<AnalyticsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AnalyticsError);
  return err as AnalyticsError;
}

/**
 * A minimal `torch.save` zip writer (float32 tensors in a plain dict, pickle protocol 2), to make
 * checkpoints the fixtures do not have, e.g. a member of another width.
 */
function torchZip(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>): Uint8Array {
  const out: number[] = [];
  const bytes = (...p: (number | string)[]): void => {
    for (const x of p) {
      if (typeof x === 'number') out.push(x);
      else for (const c of Buffer.from(x, 'latin1')) out.push(c);
    }
  };
  const int = (n: number): void => bytes(0x4a, ...new Uint8Array(new Int32Array([n]).buffer));
  const str = (s: string): void => bytes(0x58, ...new Uint8Array(new Uint32Array([Buffer.byteLength(s)]).buffer), s);
  const tuple = (xs: readonly number[]): void => {
    bytes(0x28);
    xs.forEach(int);
    bytes(0x74);
  };
  const files: Record<string, Uint8Array> = { 'archive/version': Buffer.from('3\n') };
  bytes(0x80, 0x02, 0x7d, 0x28);
  [...tensors].forEach(([key, t], k) => {
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    str(key);
    bytes(0x63, 'torch._utils\n_rebuild_tensor_v2\n', 0x28, 0x28);
    str('storage');
    bytes(0x63, 'torch\nFloatStorage\n');
    str(String(k));
    str('cpu');
    int(t.data.length);
    bytes(0x74, 0x51);
    int(0);
    tuple(t.shape);
    tuple(stride);
    bytes(0x89, 0x63, 'collections\nOrderedDict\n', 0x29, 0x52, 0x74, 0x52);
    files[`archive/data/${k}`] = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  });
  bytes(0x75, 0x2e);
  files['archive/data.pkl'] = Uint8Array.from(out);
  return zipSync(files, { level: 0 });
}

/** cnn_member1 with the heads' hidden width cut from 16 to 8: a consistent, narrower model. */
function narrowHeads(file: string): Map<string, { shape: readonly number[]; data: Float32Array }> {
  const sd = readTorchCheckpoint(new Uint8Array(readFileSync(file)));
  const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [key, t] of sd) {
    if (!(t.data instanceof Float32Array)) continue;
    const m = /^classifier\.\d\.(fc_0|bn1|fc_1)\./.exec(key);
    if (m === null) out.set(key, { shape: t.shape, data: t.data });
    else if (m[1] === 'fc_1' && key.endsWith('weight')) {
      const [n = 0, h = 0] = t.shape;
      out.set(key, { shape: [n, 8], data: Float32Array.from({ length: n * 8 }, (_, i) => t.data[Math.floor(i / 8) * h + (i % 8)] as number) });
    } else if (m[1] === 'fc_1') out.set(key, { shape: t.shape, data: t.data });
    else out.set(key, { shape: [8, ...t.shape.slice(1)], data: t.data.slice(0, (8 * t.data.length) / (t.shape[0] ?? 1)) });
  }
  return out;
}

let dir: string;
let baseline = 0;
beforeAll(async () => {
  await selectBackend('wasm');
});
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'import-seed-'));
  baseline = tf.memory().numTensors;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  expect(tf.memory().numTensors).toBe(baseline);
});

describe.each(['zip', 'legacy'] as const)('import-seed of %s checkpoints reproduces PyTorch', (serial) => {
  it('cnn: per-member logits and the test.py ensemble on 134 and 112 faces', async () => {
    const files = expected.cnn.members.map((m) => path.join(fx, m.files[serial]));
    const out = path.join(dir, 'cnn');
    const manifest = await importSeedCommand({ kind: 'cnn', files, out });
    expect(manifest.members.map((m) => [m.name, m.role])).toEqual([['student_0', 'student'], ['student_1', 'student']]);
    expect(manifest.provenance.importedFrom).toEqual(files.map((f) => ({ file: path.basename(f), sha256: sha256(f) })));
    expect(manifest.tasks.AU?.thresholds).toEqual([...AU_THRESHOLDS.cnn]);
    const model = await loadModelDir(out);
    try {
      for (const size of ['134', '112'] as const) {
        const input = preprocessFacePixelsBatch([0, 1, 2, 3, 4, 5].map((i) => face(i, size)));
        const perMember: MemberLogits[] = [];
        for (const [mi, m] of model.members.entries()) {
          const o = m.model.cnnFeatures(input);
          perMember.push(await readLogits(o.logits));
          disposeCnnOutput(o);
          for (const t of TASKS) {
            const want = (expected.cnn.members[mi]?.outputs[size] ?? []).flatMap((f) => f[logitKey[t]]);
            expect(maxErr(want, perMember[mi]?.[t] ?? [])).toBeLessThan(TOL);
          }
        }
        input.dispose();
        ensembleLogits(perMember, { thresholds: manifest.tasks.AU?.thresholds ?? [] }).forEach((f, i) => {
          const want = expected.cnn.ensemble[size][i];
          expect(maxErr(want?.au_prob ?? [], f.au!.probabilities)).toBeLessThan(TOL);
          expect(maxErr(want?.expr_prob ?? [], f.expr.probabilities)).toBeLessThan(TOL);
          expect(maxErr([want?.valence ?? NaN, want?.arousal ?? NaN], [f.va!.valence, f.va!.arousal])).toBeLessThan(TOL);
        });
      }
    } finally {
      model.dispose();
    }
  });

  it('cnn-rnn: GRU heads over cached CNN features, two sequences in one batch', async () => {
    const files = expected.cnn_rnn.members.map((m) => path.join(fx, m.files[serial]));
    const out = path.join(dir, 'rnn');
    const warnings: string[] = [];
    const manifest = await importSeedCommand({ kind: 'cnn-rnn', seqLen: expected.cnn_rnn.seq_len, roles: ['teacher', 'student'], files, out, warn: (l) => warnings.push(l) });
    expect(manifest.seqLen).toBe(6);
    expect(manifest.members.map((m) => [m.name, m.role])).toEqual([['teacher', 'teacher'], ['student_0', 'student']]);
    // No released table for seq_len 6: the training-time 0.5, said out loud.
    expect(manifest.tasks.AU?.thresholds).toEqual(new Array(8).fill(0.5));
    expect(warnings.join('\n')).toMatch(/no released AU thresholds for seq_len 6/);
    const seqs = expected.cnn_rnn.sequences;
    // Both members, as the reference ensemble (by default the teacher would not be averaged in).
    const model = await loadModelDir(out, { members: ['teacher', 'student_0'] });
    try {
      const input = preprocessFacePixelsBatch(seqs.flatMap((s) => s.faces.map((i) => face(i, String(s.size) as Size))));
      const perMember: MemberLogits[] = [];
      for (const [mi, m] of model.members.entries()) {
        const o = m.model.cnnFeatures(input);
        const g = tf.tidy(() => m.model.gruHeads({
          EXPR: tf.reshape(o.features.EXPR, [2, 6, -1]) as Tensor3D,
          AU: tf.reshape(o.features.AU, [2, 6, -1]) as Tensor3D,
          VA: tf.reshape(o.features.VA, [2, 6, -1]) as Tensor3D,
        }));
        disposeCnnOutput(o);
        perMember.push(await readLogits(g));
        tf.dispose([g.EXPR, g.AU, g.VA]);
        for (const t of TASKS) {
          const want = (expected.cnn_rnn.members[mi]?.sequences ?? []).flatMap((s) => s[logitKey[t]].flat());
          expect(maxErr(want, perMember[mi]?.[t] ?? [])).toBeLessThan(TOL);
        }
      }
      input.dispose();
      const frames = ensembleLogits(perMember, { thresholds: manifest.tasks.AU?.thresholds ?? [] });
      expected.cnn_rnn.ensemble.forEach((want, s) =>
        want.valence.forEach((v, t) => {
          const f = frames[s * 6 + t];
          expect(maxErr(want.au_prob[t] ?? [], f?.au!.probabilities ?? [])).toBeLessThan(TOL);
          expect(maxErr(want.expr_prob[t] ?? [], f?.expr.probabilities ?? [])).toBeLessThan(TOL);
          expect(maxErr([v, want.arousal[t] ?? NaN], [f?.va!.valence ?? NaN, f?.va!.arousal ?? NaN])).toBeLessThan(TOL);
        }),
      );
    } finally {
      model.dispose();
    }
  });
});

describe('import-seed manifest choices', () => {
  const rnn = [path.join(fx, 'cnn_rnn_member0.pth')];

  it('uses the released AU table for the seq-len (32 by default), or explicit thresholds', async () => {
    const m32 = await importSeedCommand({ kind: 'cnn-rnn', files: rnn, out: path.join(dir, 'a'), id: 'my-rnn' });
    expect([m32.id, m32.seqLen, m32.tasks.AU?.thresholds]).toEqual(['my-rnn', 32, [...AU_THRESHOLDS.cnnRnnSeq32]]);
    const m16 = await importSeedCommand({ kind: 'cnn-rnn', seqLen: 16, files: rnn, out: path.join(dir, 'b') });
    expect(m16.tasks.AU?.thresholds).toEqual([...AU_THRESHOLDS.cnnRnnSeq16]);
    const mine = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
    const mx = await importSeedCommand({ kind: 'cnn-rnn', seqLen: 7, auThresholds: mine, files: rnn, out: path.join(dir, 'c') });
    expect(mx.tasks.AU?.thresholds).toEqual(mine);
  });

  it('replaces a model directory only with force', async () => {
    const out = path.join(dir, 'm');
    await importSeedCommand({ kind: 'cnn-rnn', files: rnn, out });
    const err = await rejection(importSeedCommand({ kind: 'cnn-rnn', files: [...rnn, ...rnn], out }));
    expect(err.message).toMatch(/not empty.*--force/);
    const m = await importSeedCommand({ kind: 'cnn-rnn', files: [...rnn, ...rnn], out, force: true });
    expect(m.members).toHaveLength(2);
    const loaded = await loadModelDir(out);
    expect(loaded.members).toHaveLength(2);
    loaded.dispose();
    // No staging directories are left beside it.
    expect((await readdir(dir)).sort()).toEqual(['m']);
  });
});

describe('import-seed refusals', () => {
  const cnn0 = path.join(fx, 'cnn_member0.pth');
  const out = (): string => path.join(dir, 'out');
  const nothingWritten = async (): Promise<void> => expect((await readdir(dir)).filter((n) => n !== 'in')).toEqual([]);

  it('a truncated checkpoint, naming the file', async () => {
    await mkdir(path.join(dir, 'in'));
    const bad = path.join(dir, 'in', 'cut.pth');
    await writeFile(bad, readFileSync(cnn0).subarray(0, 60_000));
    const err = await rejection(importSeedCommand({ kind: 'cnn', files: [cnn0, bad], out: out() }));
    expect(err.code).toMatch(/^VA_ERR_CHECKPOINT_(CORRUPT|FORMAT)$/);
    expect(err.message).toContain(bad);
    await nothingWritten();
  });

  it('a file that is not a PyTorch checkpoint, and a checkpoint that is not a seed state_dict', async () => {
    const readme = path.join(fx, 'README.md');
    const e1 = await rejection(importSeedCommand({ kind: 'cnn', files: [readme], out: out() }));
    expect([e1.code, e1.message.startsWith(readme)]).toEqual(['VA_ERR_CHECKPOINT_FORMAT', true]);
    const odd = path.join(fx, 'odd_tensors.pth');
    const e2 = await rejection(importSeedCommand({ kind: 'cnn', files: [odd], out: out() }));
    expect(e2.code).toBe('VA_ERR_MODEL_WEIGHTS');
    expect(e2.message).toContain(odd);
    expect(e2.message).toMatch(/missing student_0: backbone\.model\.conv1_7x7_s2\.weight/);
    const problems = (e2 as unknown as { problems: { kind: string }[] }).problems;
    expect(problems.some((p) => p.kind === 'unexpected')).toBe(true);
    await nothingWritten();
  });

  it('a checkpoint of the other kind, reported as such (not as 600 key problems)', async () => {
    const e = await rejection(importSeedCommand({ kind: 'cnn', files: [cnn0, path.join(fx, 'cnn_rnn_member0.pth')], out: out() }));
    expect(e.message).toMatch(/1 weight problem\(s\)/);
    expect(e.message).toMatch(/model kind: expected cnn, the weights are cnn-rnn \(student_1: .*cnn_rnn_member0\.pth\)/);
    await nothingWritten();
  });

  it('members of different widths', async () => {
    await mkdir(path.join(dir, 'in'));
    const narrow = path.join(dir, 'in', 'narrow.pth');
    await writeFile(narrow, torchZip(narrowHeads(path.join(fx, 'cnn_member1.pth'))));
    const e = await rejection(importSeedCommand({ kind: 'cnn', files: [cnn0, narrow], out: out() }));
    expect(e.message).toMatch(/narrow\.pth: member student_1 has different layer widths from member student_0 \(.*cnn_member0\.pth\)/);
    expect(e.message).toMatch(/head hidden 8, .* vs .*head hidden 16/);
    await nothingWritten();
    // The narrow checkpoint itself is sound: alone it imports and loads.
    await importSeedCommand({ kind: 'cnn', files: [narrow], out: out() });
    const m = await loadModelDir(out());
    expect(m.members[0]?.model.dims.hidden).toBe(8);
    m.dispose();
  });

  it('a non-empty --out, even with force when it is not a model directory', async () => {
    await mkdir(out());
    await writeFile(path.join(out(), 'notes.txt'), 'keep me');
    const e1 = await rejection(importSeedCommand({ kind: 'cnn', files: [cnn0], out: out() }));
    expect(e1.message).toMatch(/not empty/);
    const e2 = await rejection(importSeedCommand({ kind: 'cnn', files: [cnn0], out: out(), force: true }));
    expect(e2.message).toMatch(/not a model directory/);
    expect(readFileSync(path.join(out(), 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('bad arguments: missing file, roles per file, seq-len on a cnn', async () => {
    expect((await rejection(importSeedCommand({ kind: 'cnn', files: [path.join(dir, 'nope.pth')], out: out() }))).code).toBe('VA_ERR_SOURCE_NOT_FOUND');
    expect((await rejection(importSeedCommand({ kind: 'cnn', files: [cnn0], roles: ['teacher', 'student'], out: out() }))).message).toMatch(/one per file/);
    expect((await rejection(importSeedCommand({ kind: 'cnn', files: [cnn0], roles: ['boss'], out: out() }))).message).toMatch(/unknown role/);
    expect((await rejection(importSeedCommand({ kind: 'cnn', seqLen: 32, files: [cnn0], out: out() }))).message).toMatch(/--seq-len only applies/);
    expect(existsSync(out())).toBe(false);
  });
});
