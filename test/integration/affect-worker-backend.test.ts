// Which TF.js backend an affect worker thread initialises. With every member on ONNX Runtime,
// TF.js only holds the weights the ONNX graphs are exported from, so the worker must not load
// libtensorflow (tfjs-node fails from the second worker thread on, tensorflow/tfjs#8388) whatever
// `backend:` says; the face-models worker already follows this rule (detector-thread-backend.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { openAffectModel } from '../../src/models/affect/open-affect-model.js';
import { selectBackend } from '../../src/models/backend.js';
import { probeHost } from '../../src/models/placement/probe-host.js';
import type { HostCapabilities } from '../../src/models/placement/placement.js';
import { importTestModel } from '../helpers/test-models.js';

let dir: string;
let capabilities: HostCapabilities;
beforeAll(async () => {
  dir = await importTestModel('cnn');
  // Probed by the daemon's thread (load-models), not the workers, as in the daemon.
  capabilities = await probeHost(await selectBackend('wasm'));
}, 120_000);
afterAll(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

describe('an affect worker thread', () => {
  for (const engine of ['onnx', 'auto'] as const) {
    it(`with the members on ONNX Runtime (engine ${engine}), initialises WASM even when backend tensorflow is configured`, async () => {
      // Before: the worker asked for tfjs-node and failed to open where it is not installed (and
      // initialised libtensorflow in each worker where it is).
      const m = await openAffectModel(dir, { placement: { workers: 1 }, backend: 'tensorflow', engine, threads: 1, capabilities });
      try {
        expect(m.backend).toBe('wasm');
        expect(m.memberEngines).toEqual(['onnx', 'onnx']);
        expect(m.placement).toMatchObject({ engine: 'onnx', provider: 'cpu', device: 'cpu' });
      } finally {
        await m.close();
      }
    });
  }

  it('with the members on TF.js, initialises the configured backend (it runs them)', async () => {
    const m = await openAffectModel(dir, { placement: { workers: 1 }, backend: 'cpu', engine: 'tfjs', threads: 1, capabilities });
    try {
      expect(m.backend).toBe('cpu');
      expect(m.memberEngines).toEqual(['tfjs', 'tfjs']);
    } finally {
      await m.close();
    }
  });
});
