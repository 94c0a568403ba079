/**
 * The wasm backward kernels registered for training (Conv2DBackpropFilter, a faster
 * Conv2DBackpropInput) against the cpu backend's reference gradients, over the strides, paddings
 * and kernel sizes the seed backbones use; and no tensor leaks.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../models/tf.js';
import { selectTrainingBackend } from './train-backend.js';

type Case = readonly [b: number, h: number, w: number, c: number, k: number, o: number, stride: number, pad: number];
const CASES: readonly Case[] = [
  [2, 9, 9, 3, 3, 4, 1, 1], // 3×3 same
  [2, 10, 10, 3, 7, 5, 2, 3], // the stems' 7×7 stride 2
  [2, 8, 8, 4, 1, 6, 2, 0], // 1×1 stride-2 projection
  [3, 7, 7, 4, 3, 4, 2, 1], // odd input, stride 2
  [2, 9, 9, 3, 3, 4, 2, 1],
  [2, 6, 6, 5, 1, 3, 1, 0], // 1×1 stride 1
];

async function gradients(backend: 'cpu' | 'wasm', [b, h, w, c, k, o, s, p]: Case): Promise<Float32Array[]> {
  await selectTrainingBackend(backend);
  const x = tf.tensor4d(Array.from({ length: b * h * w * c }, (_, i) => Math.sin(i * 0.37)), [b, h, w, c]);
  const f = tf.tensor4d(Array.from({ length: k * k * c * o }, (_, i) => Math.cos(i * 0.11)), [k, k, c, o]);
  const before = tf.memory().numTensors;
  const [gx, gf] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, s, p === 0 ? 'valid' : p))))([x, f]);
  const out = [(await gx?.data()) as Float32Array, (await gf?.data()) as Float32Array];
  tf.dispose([gx, gf]);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([x, f]);
  return out;
}

describe('wasm backward kernels', () => {
  it.each(CASES)('conv %i×%i×%i×%i k%i→%i stride %i pad %i: dx and dW equal the cpu backend', async (...c) => {
    const ref = await gradients('cpu', c);
    const got = await gradients('wasm', c);
    for (const q of [0, 1]) {
      const a = ref[q] ?? new Float32Array();
      const g = got[q] ?? new Float32Array();
      expect(g.length).toBe(a.length);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] ?? 0) - (g[i] ?? 0)) / (1 + Math.abs(a[i] ?? 0)));
      expect(worst).toBeLessThan(1e-4);
    }
  });
});
