/**
 * Adam as PyTorch computes it, in both forms: the TF.js `Adam` against the update written out in
 * float64 for two steps, and `FlatAdam` (plain arrays) against `Adam` over several steps.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../models/tf.js';
import { Adam, FlatAdam, SEED_ADAM } from './adam.js';
import { selectTrainingBackend } from './engine/train-backend.js';

describe('Adam', () => {
  it('Adam follows torch.optim.Adam (lr 1e-4, betas (0.5, 0.999), eps 1e-8) step by step', async () => {
    await selectTrainingBackend('wasm');
    const p = tf.variable(tf.tensor1d([0.5, -1, 2]), true, 'adam-test-p');
    const adam = new Adam(new Map([['p', p]]), SEED_ADAM);
    const gs = [[0.1, -0.2, 0.3], [-0.05, 0.4, 0.0]];
    const ref = [0.5, -1, 2];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (const [t, g] of gs.entries()) {
      const grad = tf.tensor1d(g);
      adam.apply({ [p.name]: grad });
      grad.dispose();
      for (let i = 0; i < 3; i++) {
        m[i] = 0.5 * m[i]! + 0.5 * g[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * g[i]! ** 2;
        const mh = m[i]! / (1 - 0.5 ** (t + 1));
        const vh = v[i]! / (1 - 0.999 ** (t + 1));
        ref[i] = ref[i]! - (1e-4 * mh) / (Math.sqrt(vh) + 1e-8);
      }
      const got = await p.data();
      for (let i = 0; i < 3; i++) expect(got[i]).toBeCloseTo(ref[i]!, 6);
    }
    adam.dispose();
    p.dispose();
  });

  it('FlatAdam equals Adam over several steps and a changing learning rate', async () => {
    await selectTrainingBackend('wasm');
    const n = 257;
    const init = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.3);
    const p = tf.variable(tf.tensor1d(init), true, 'adam-flat-p');
    const adam = new Adam(new Map([['w', p]]), SEED_ADAM);
    const flatP = new Map([['w', init.slice()]]);
    const flat = new FlatAdam(new Map([['w', new Float32Array(n)]]), new Map([['w', new Float32Array(n)]]), 0, SEED_ADAM);
    for (let step = 0; step < 6; step++) {
      const g = Float32Array.from({ length: n }, (_, i) => Math.cos(i * (step + 1)) * 10 ** ((i % 5) - 3));
      adam.lr = step < 3 ? 1e-3 : 1e-4;
      const t = tf.tensor1d(g);
      adam.apply({ [p.name]: t });
      t.dispose();
      flat.apply(flatP, new Map([['w', g]]), adam.lr);
    }
    const a = await p.data();
    const b = flatP.get('w')!;
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    expect(worst).toBeLessThan(1e-6);
    // And it moved: the comparison is not between two untouched copies.
    expect(Math.abs((b[1] ?? 0) - (init[1] ?? 0))).toBeGreaterThan(1e-5);
    const st = await adam.state();
    expect(flat.step).toBe(st.step);
    adam.dispose();
    p.dispose();
  });
});
