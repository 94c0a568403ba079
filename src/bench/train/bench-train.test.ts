/**
 * `daemon bench train` measures each engine it is given (ONNX Runtime's gradients, the TF.js tape)
 * on the same step and leaves no tensor behind; an engine that cannot start is reported, not fatal.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../models/tf.js';
import { benchTrain } from './bench-train.js';

describe('benchTrain', () => {
  it('reports images/s for onnx and wasm, the unknown backend as unavailable, and frees its tensors', async () => {
    const before = tf.memory().numTensors;
    const reports = await benchTrain({ arch: 'compact', width: 0.125, batch: 4, seconds: 1, backends: ['onnx', 'wasm', 'no-such-backend'] });
    const by = new Map(reports.map((r) => [r.engine, r] as const));
    for (const engine of ['onnx', 'tfjs-wasm']) {
      const r = by.get(engine);
      expect(r?.available, engine).toBe(true);
      expect(r?.imagesPerSecond, engine).toBeGreaterThan(0);
      expect(r?.forwardImagesPerSecond, engine).toBeGreaterThan(0);
      expect(r?.steps, engine).toBeGreaterThanOrEqual(2);
    }
    expect(by.get('tfjs-no-such-backend')?.available).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
