/**
 * `daemon train --resume` after a real kill: the CLI is SIGKILLed (no handler runs, nothing is
 * flushed) as soon as a checkpoint exists, restarted with --resume, and its model directory must
 * equal that of an uninterrupted run with the same seed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticAffWild2, type SyntheticAffWild2 } from '../../src/train/data/synthetic.js';
import { spawnDaemon, type SpawnedDaemon } from '../helpers/spawn-daemon.js';

const dir = mkdtempSync(path.join(tmpdir(), 'train-resume-'));
let data: SyntheticAffWild2;
const running: SpawnedDaemon[] = [];

beforeAll(async () => {
  data = await writeSyntheticAffWild2({ root: path.join(dir, 'data'), seed: 11, trainVideos: 3, valVideos: 1, framesPerVideo: 9 });
});
afterAll(() => {
  for (const d of running) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(name: string): { file: string; out: string } {
  const out = path.join(dir, name);
  const file = path.join(dir, `${name}.yaml`);
  const config = {
    out,
    backend: 'wasm',
    arch: 'compact',
    width: 0.0625,
    seed: 9,
    batch: 4,
    teacher: { from: 'train', epochs: 2 },
    students: { count: 1, epochs: 1 },
    checkpoint: { everySteps: 2 },
    // The seed's balancing samplers: the resumed run must redraw the same epoch.
    balance: { AU: 'ml-ros-seed', EXPR: 'inverse-frequency', VA: 'histogram' },
    data: { sources: [{ kind: 'aff-wild2', annotations: data.annotations, images: data.images }] },
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { file, out };
}

function train(args: string[]): SpawnedDaemon {
  const d = spawnDaemon(['train', ...args]);
  running.push(d);
  return d;
}

async function finished(d: SpawnedDaemon): Promise<void> {
  const code = await d.exited;
  if (code !== 0) throw new Error(`daemon train exited with ${code}: ${d.stderr.join('')}`);
}

interface Manifest {
  readonly members: readonly { readonly name: string; readonly role: string; readonly weights: string }[];
  readonly tasks: { readonly AU: { readonly thresholds: readonly number[] } };
}
const manifestOf = (out: string): Manifest => JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;

/** A member's weights by name, from its TF.js weights manifest and binary file. */
function memberWeights(out: string, file: string): Map<string, Float32Array> {
  const spec = JSON.parse(readFileSync(path.join(out, file), 'utf8')) as { weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[] };
  const w = new Map<string, Float32Array>();
  for (const group of spec.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p) => readFileSync(path.join(out, p))));
    let off = 0;
    for (const e of group.weights) {
      expect(e.dtype).toBe('float32');
      const n = e.shape.reduce((a, b) => a * b, 1);
      w.set(e.name, new Float32Array(bytes.buffer.slice(bytes.byteOffset + off, bytes.byteOffset + off + n * 4)));
      off += n * 4;
    }
    expect(off).toBe(bytes.length);
  }
  return w;
}

describe('daemon train --resume after SIGKILL (the real CLI)', () => {
  it('a run killed once it has a checkpoint resumes to the model directory of an uninterrupted run', async () => {
    const a = writeConfig('uninterrupted');
    await finished(train(['--config', a.file]));

    const b = writeConfig('killed');
    const checkpoint = path.join(`${b.out}.run`, 'checkpoint.bin');
    const logFile = path.join(`${b.out}.run`, 'log.jsonl');
    const logged = (): number => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== '').length : 0);
    const first = train(['--config', b.file]);
    // Kill it once the teacher's first epoch is logged and a checkpoint exists (the checkpoint is
    // removed when a phase ends, so this is inside the teacher phase). A resume that started over
    // instead of continuing would log that epoch twice, which the end of the test refuses.
    for (;;) {
      if (logged() >= 1 && existsSync(checkpoint)) break;
      if (first.child.exitCode !== null) throw new Error(`the run ended before a checkpoint was seen: ${first.stderr.join('')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect(existsSync(path.join(b.out, 'manifest.json'))).toBe(false);
    expect(logged()).toBeLessThan(3);

    // Without --resume the run directory is refused; with it, the run continues.
    const refused = train(['--config', b.file]);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr.join('')).toContain('--resume');
    const resumed = train(['--config', b.file, '--resume']);
    await finished(resumed);

    const ma = manifestOf(a.out);
    const mb = manifestOf(b.out);
    expect(mb.members).toEqual(ma.members);
    expect(ma.members.map((m) => m.name)).toEqual(['student_0']);
    // Bit for bit, with all three tasks and the three balancing samplers drawing: the thresholds,
    // every weight, and the weight files' bytes.
    expect(mb.tasks.AU.thresholds).toEqual(ma.tasks.AU.thresholds);
    for (const m of ma.members) {
      const wa = memberWeights(a.out, m.weights);
      const wb = memberWeights(b.out, m.weights);
      expect([...wb.keys()]).toEqual([...wa.keys()]);
      for (const [name, va] of wa) expect(Buffer.from(wb.get(name)!.buffer).equals(Buffer.from(va.buffer)), name).toBe(true);
      expect(readFileSync(path.join(b.out, m.weights.replace(/\.json$/, '.bin'))).equals(readFileSync(path.join(a.out, m.weights.replace(/\.json$/, '.bin'))))).toBe(true);
    }
    // The epoch log of the resumed run holds every epoch once, with the uninterrupted run's losses.
    const log = (out: string): { phase: string; epoch: number; loss: number }[] =>
      readFileSync(path.join(`${out}.run`, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; epoch: number; loss: number });
    const la = log(a.out);
    const lb = log(b.out);
    expect(la.map((r) => `${r.phase}:${r.epoch}`)).toEqual(['teacher:0', 'teacher:1', 'student_0:0']);
    expect(lb.map((r) => `${r.phase}:${r.epoch}`)).toEqual(la.map((r) => `${r.phase}:${r.epoch}`));
    expect(lb.map((r) => r.loss)).toEqual(la.map((r) => r.loss));
  }, 120_000);
});
