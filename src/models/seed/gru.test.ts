import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers/media.js';
import { selectBackend } from '../backend.js';
import { tf, type Tensor3D } from '../tf.js';
import { bidirectionalGru, type BiGruWeights, type GruDirectionWeights } from './gru.js';

interface GruCase {
  readonly name: string;
  readonly input_size: number;
  readonly hidden_size: number;
  readonly weight_scale: number;
  readonly input_scale: number;
  readonly weights: Record<string, number[] | number[][]>;
  readonly runs: { batch: number; steps: number; x: number[][][]; output: number[][][]; h_n: number[][][] }[];
}

const fixture = path.join(repoRoot, 'test/fixtures/seed/gru.json');

/** PyTorch weights in [3H, in] row order (r|z|n) as plain arrays. */
interface TorchGruDir {
  wih: number[][];
  whh: number[][];
  bih: number[];
  bhh: number[];
}

/** Straight transcription of the PyTorch GRU equations, one timestep and one unit at a time. */
function naiveDirection(x: number[][], w: TorchGruDir, hidden: number, reverse: boolean): number[][] {
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  const dot = (row: number[] | undefined, v: number[]): number => (row ?? []).reduce((s, a, i) => s + a * (v[i] ?? 0), 0);
  const out: number[][] = new Array<number[]>(x.length);
  let h = new Array<number>(hidden).fill(0);
  for (let i = 0; i < x.length; i++) {
    const t = reverse ? x.length - 1 - i : i;
    const xt = x[t] ?? [];
    const next: number[] = [];
    for (let j = 0; j < hidden; j++) {
      const g = (k: number): [number, number] => [dot(w.wih[k * hidden + j], xt) + (w.bih[k * hidden + j] ?? 0), dot(w.whh[k * hidden + j], h) + (w.bhh[k * hidden + j] ?? 0)];
      const [xr, hr] = g(0);
      const [xz, hz] = g(1);
      const [xn, hn] = g(2);
      const r = sig(xr + hr);
      const z = sig(xz + hz);
      const n = Math.tanh(xn + r * hn);
      next.push((1 - z) * n + z * (h[j] ?? 0));
    }
    h = next;
    out[t] = h;
  }
  return out;
}

function toDirection(w: TorchGruDir): GruDirectionWeights {
  return tf.tidy(() => ({
    kernelIh: tf.transpose(tf.tensor2d(w.wih)),
    kernelHh: tf.transpose(tf.tensor2d(w.whh)),
    biasIh: tf.tensor1d(w.bih),
    biasHh: tf.tensor1d(w.bhh),
  }));
}

function disposeGru(w: BiGruWeights): void {
  for (const d of [w.forward, w.backward]) tf.dispose([d.kernelIh, d.kernelHh, d.biasIh, d.biasHh]);
}

function maxAbsDiff(a: number[], b: ArrayLike<number>): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0);
}

describe('bidirectionalGru', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('matches a naive per-timestep transcription of the PyTorch equations', () => {
    const [inF, hidden, b, t] = [5, 4, 2, 7];
    let s = 7;
    const rnd = (): number => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const mat = (r: number, c: number): number[][] => Array.from({ length: r }, () => Array.from({ length: c }, rnd));
    const dirs = [0, 1].map(() => ({ wih: mat(3 * hidden, inF), whh: mat(3 * hidden, hidden), bih: mat(1, 3 * hidden)[0] ?? [], bhh: mat(1, 3 * hidden)[0] ?? [] }));
    const [fwd, bwd] = dirs as [TorchGruDir, TorchGruDir];
    const xs = Array.from({ length: b }, () => mat(t, inF));
    const before = tf.memory().numTensors;
    const w: BiGruWeights = { forward: toDirection(fwd), backward: toDirection(bwd) };
    const x = tf.tensor3d(xs);
    const y = bidirectionalGru(x, w);
    expect(y.shape).toEqual([b, t, 2 * hidden]);
    const got = y.arraySync();
    for (let bi = 0; bi < b; bi++) {
      const f = naiveDirection(xs[bi] ?? [], fwd, hidden, false);
      const r = naiveDirection(xs[bi] ?? [], bwd, hidden, true);
      for (let ti = 0; ti < t; ti++) {
        const expected = [...(f[ti] ?? []), ...(r[ti] ?? [])];
        expect(maxAbsDiff(expected, got[bi]?.[ti] ?? [])).toBeLessThan(1e-5);
      }
    }
    tf.dispose([x, y]);
    disposeGru(w);
    expect(tf.memory().numTensors).toBe(before);
  });

  const cases = (JSON.parse(readFileSync(fixture, 'utf8')) as { cases: GruCase[] }).cases;
  for (const c of cases) {
    for (const run of c.runs) {
      it(`matches torch.nn.GRU (${c.name}: in ${c.input_size}, hidden ${c.hidden_size}, batch ${run.batch}, steps ${run.steps})`, () => {
        const scaled = (k: string): TorchGruDir[keyof TorchGruDir] => {
          const v = c.weights[k];
          if (v === undefined) throw new Error(`gru.json lacks ${k}`);
          return (v as (number | number[])[]).map((r) => (Array.isArray(r) ? r.map((e) => e * c.weight_scale) : r * c.weight_scale)) as number[] | number[][];
        };
        const dir = (suffix: string): TorchGruDir => ({
          wih: scaled(`weight_ih_l0${suffix}`) as number[][],
          whh: scaled(`weight_hh_l0${suffix}`) as number[][],
          bih: scaled(`bias_ih_l0${suffix}`) as number[],
          bhh: scaled(`bias_hh_l0${suffix}`) as number[],
        });
        const before = tf.memory().numTensors;
        const w: BiGruWeights = { forward: toDirection(dir('')), backward: toDirection(dir('_reverse')) };
        const x = tf.tensor3d(run.x.map((bt) => bt.map((row) => row.map((v) => v * c.input_scale)))) as Tensor3D;
        const y = bidirectionalGru(x, w);
        const got = y.dataSync();
        expect(maxAbsDiff(run.output.flat(2), got)).toBeLessThan(1e-5);
        // h_n: forward final state = output at T−1, backward final state = output at 0.
        const h = c.hidden_size;
        const fwdFinal = tf.slice(y, [0, run.steps - 1, 0], [-1, 1, h]) as Tensor3D;
        const bwdFinal = tf.slice(y, [0, 0, h], [-1, 1, h]) as Tensor3D;
        expect(maxAbsDiff(run.h_n.flat(2), [...fwdFinal.dataSync(), ...bwdFinal.dataSync()])).toBeLessThan(1e-5);
        tf.dispose([x, y, fwdFinal, bwdFinal]);
        disposeGru(w);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }
});
