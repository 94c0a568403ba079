import { describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { tf } from './tf.js';

describe('selectBackend', () => {
  // TF.js drops an asynchronous backend initialisation that another setBackend overtook ("Another
  // backend was set in the meantime": setBackend resolves false). Two parts of one thread asking
  // at once (the face models and the affect model of `daemon predict` load side by side) must
  // both get a backend, one initialisation at a time.
  it('two concurrent requests for wasm both succeed', async () => {
    const [a, b] = await Promise.all([selectBackend('wasm'), selectBackend('wasm')]);
    expect([a.name, b.name]).toEqual(['wasm', 'wasm']);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('concurrent requests for different backends run in turn: each succeeds, the last asked is the one in use', async () => {
    const [a, b] = await Promise.all([selectBackend('cpu'), selectBackend('wasm')]);
    expect([a.name, b.name]).toEqual(['cpu', 'wasm']);
    expect(tf.getBackend()).toBe('wasm');
  });
});
