import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelDir } from '../../paths.js';
import { selectBackend } from '../backend.js';
import { writeRandomModelDir } from '../../bench/harness/random-model-dir.js';
import { tf } from '../tf.js';
import { affectService } from './affect-service.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'va-affect-service-'));

beforeAll(async () => {
  await selectBackend('wasm');
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const face = (side: number) => ({ data: new Uint8Array(side * side * 3).fill(128), width: side, height: side });

describe('affectService: either kind of model directory behind the one runtime seam', () => {
  it('runs packaged expression members on TF.js even when ONNX Runtime is asked for, with their own crop', async () => {
    const before = tf.memory().numTensors;
    const open = await affectService.open({ dir: defaultModelDir, backend: 'wasm', engine: 'onnx', threads: 1 });
    try {
      expect(open.info.manifest.architecture).toBe('packaged-expression');
      expect(open.info.engine).toBe('tfjs');
      expect(open.info.members).toEqual(['tfjs']);
      expect(open.info.crop.kind).not.toBe('aligned');
      const side = open.info.cropSize;
      if (side === null) throw new Error('a packaged model declares its crop size');
      const [cache] = await open.api.cnn([face(side)]);
      expect(cache).toHaveLength(1);
      expect(cache![0]!.logits.EXPR).toHaveLength(7);
      expect(cache![0]!.logits.AU).toHaveLength(0);
      expect(cache![0]!.logits.VA).toHaveLength(0);
      await expect(open.api.gru([[cache!]])).rejects.toThrow(/no sequence heads/);
    } finally {
      await open.close();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs seed members on ONNX Runtime under `onnx`, cut by the daemon alignment', async () => {
    const dir = path.join(tmp, 'seed');
    await writeRandomModelDir(dir, { arch: 'compact', members: 1, seqLen: 2, compactWidth: 0.25 });
    const open = await affectService.open({ dir, backend: 'wasm', engine: 'onnx', threads: 1 });
    try {
      expect(open.info.members).toEqual(['onnx']);
      expect(open.info.crop).toEqual({ kind: 'aligned' });
      expect(open.info.cropSize).toBeNull();
      const [cache] = await open.api.cnn([face(112)]);
      expect(cache![0]!.logits.AU.length).toBeGreaterThan(0);
      const [decisions] = await open.api.gru([[cache!, cache!]]);
      expect(decisions).toHaveLength(2);
      expect(decisions![0]!.au).toBeDefined();
      expect(decisions![0]!.va).toBeDefined();
    } finally {
      await open.close();
    }
  });
});
