import { describe, expect, it } from 'vitest';
import { tf } from '../../models/tf.js';
import { benchModel } from './seed-bench.js';

describe('benchModel', () => {
  it('runs the compact model briefly, reports positive figures and leaks nothing', async () => {
    const first = await benchModel({ arch: 'compact', batch: 1, seconds: 0.05, backend: 'wasm', seqLen: 4 });
    const before = tf.memory().numTensors;
    const r = await benchModel({ arch: 'compact', batch: 1, seconds: 0.05, backend: 'wasm', seqLen: 4 });
    expect(first.backend).toBe('wasm');
    expect(r.framesPerSecond).toBeGreaterThan(0);
    expect(r.stageMs.backbone).toBeGreaterThan(0);
    expect(r.stageMs.gruWindow).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
