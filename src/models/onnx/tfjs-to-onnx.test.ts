import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend.js';
import { convertedFaceGraph, loadFaceGraph } from '../face-detector/face-graph.js';
import { humanModelPath } from '../face-detector/constants.js';
import { tf, type Tensor4D } from '../tf.js';
import { tfjsGraphToOnnx } from './tfjs-to-onnx.js';
import { readTfjsGraph } from './tfjs-weights.js';

let tmp: string;
beforeAll(async () => {
  await selectBackend('wasm');
  tmp = mkdtempSync(path.join(tmpdir(), 'va-tfjs-onnx-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A one-op TF.js graph model (x [1,2,2,1] → op) that TF.js itself runs. */
function tinyModel(dir: string, op: string, extra: Record<string, unknown> = {}): string {
  const json = {
    format: 'graph-model',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '1' }, { size: '2' }, { size: '2' }, { size: '1' }] } } } },
        { name: 'y', op, input: ['x'], attr: { T: { type: 'DT_FLOAT' } } },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [{ paths: ['tiny.bin'], weights: [] }],
    ...extra,
  };
  writeFileSync(path.join(dir, 'tiny.bin'), new Uint8Array(0));
  const file = path.join(dir, 'tiny.json');
  writeFileSync(file, JSON.stringify(json));
  return file;
}

describe('TF.js graph → ONNX converter', () => {
  it('refuses an op outside its set by name, and engine onnx reports it while auto falls back to TF.js', async () => {
    const dir = mkdtempSync(path.join(tmp, 'tanh-'));
    const file = tinyModel(dir, 'Tanh');
    expect(() => tfjsGraphToOnnx(readTfjsGraphSync(file), 'tiny')).toThrow(/op Tanh \(node y\) is not supported; supported: Placeholder/);
    await expect(loadFaceGraph(file, { engine: 'onnx', threads: 1, cacheDir: dir })).rejects.toMatchObject({ code: 'VA_ERR_MODEL_LOAD', message: expect.stringMatching(/Tanh/) });
    const g = await loadFaceGraph(file, { engine: 'auto', threads: 1, cacheDir: dir });
    try {
      expect(g.engine).toBe('tfjs');
      const x = tf.tensor4d([0, 0.5, -1, 2], [1, 2, 2, 1]) as Tensor4D;
      const [y] = await g.run(x);
      x.dispose();
      expect(Array.from(y!.data)).toEqual([0, 0.5, -1, 2].map((v) => Math.fround(Math.tanh(v))).map((v) => expect.closeTo(v, 6)));
    } finally {
      g.dispose();
    }
  });

  it('converts a one-op graph it supports and runs it on ONNX Runtime', async () => {
    const dir = mkdtempSync(path.join(tmp, 'relu-'));
    const g = await loadFaceGraph(tinyModel(dir, 'Relu'), { engine: 'onnx', threads: 1, cacheDir: dir });
    try {
      expect(g.engine).toBe('onnx');
      const x = tf.tensor4d([-3, 0.5, -1, 2], [1, 2, 2, 1]) as Tensor4D;
      const [y] = await g.run(x);
      x.dispose();
      expect(y!.shape).toEqual([1, 2, 2, 1]);
      expect(Array.from(y!.data)).toEqual([0, 0.5, 0, 2]);
    } finally {
      g.dispose();
    }
  });

  it('rejects hostile model files with a clear error: bad JSON, shards outside the directory, truncated shards', async () => {
    const dir = mkdtempSync(path.join(tmp, 'bad-'));
    const notJson = path.join(dir, 'a.json');
    writeFileSync(notJson, '{"modelTopology": ');
    await expect(readTfjsGraph(notJson)).rejects.toMatchObject({ code: 'VA_ERR_MODEL_LOAD', message: expect.stringMatching(/not JSON/) });
    const escaping = tinyModel(dir, 'Relu', { weightsManifest: [{ paths: ['../../etc/passwd'], weights: [] }] });
    await expect(readTfjsGraph(escaping)).rejects.toThrow(/outside the model directory/);
    const truncated = tinyModel(dir, 'Relu', { weightsManifest: [{ paths: ['tiny.bin'], weights: [{ name: 'w', shape: [4, 4], dtype: 'float32' }] }] });
    await expect(readTfjsGraph(truncated)).rejects.toMatchObject({ code: 'VA_ERR_MODEL_FILES', message: expect.stringMatching(/tiny\.bin is \d+ bytes, the manifest declares 64/) });
    const oversized = tinyModel(dir, 'Relu', { weightsManifest: [{ paths: ['tiny.bin'], weights: [{ name: 'w', shape: [1e9, 1e9], dtype: 'float32' }] }] });
    await expect(readTfjsGraph(oversized)).rejects.toThrow(/tiny\.bin is \d+ bytes, the manifest declares 4000000000000000000/);
    const noGraph = path.join(dir, 'b.json');
    writeFileSync(noGraph, JSON.stringify({ weightsManifest: [] }));
    await expect(readTfjsGraph(noGraph)).rejects.toThrow(/not a TF.js graph model/);
  });

  it('caches the converted graph under a name carrying the weights’ sha256, and rebuilds when the weights change', async () => {
    const dir = mkdtempSync(path.join(tmp, 'cache-'));
    const cache = path.join(dir, 'cache');
    for (const f of ['blazeface.json', 'blazeface.bin']) {
      copyFileSync(humanModelPath(f), path.join(dir, f));
    }
    const json = path.join(dir, 'blazeface.json');
    const first = await convertedFaceGraph(json, cache);
    expect(first.built).toBe(true);
    const again = await convertedFaceGraph(json, cache);
    expect(again.built).toBe(false);
    expect(again.path).toBe(first.path);
    expect(Buffer.compare(again.bytes, first.bytes)).toBe(0);
    // One changed weight byte: a new cache entry, never the stale graph.
    const bin = readFileSync(path.join(dir, 'blazeface.bin'));
    bin[100] = bin[100]! ^ 0x01;
    writeFileSync(path.join(dir, 'blazeface.bin'), bin);
    const changed = await convertedFaceGraph(json, cache);
    expect(changed.built).toBe(true);
    expect(changed.path).not.toBe(first.path);
    expect(path.basename(changed.path)).toMatch(/^blazeface-tfjs-onnx-1-[0-9a-f]{24}\.onnx$/);
    const cached = readdirSync(path.dirname(first.path)).filter((f) => f.endsWith('.onnx'));
    expect(cached).toHaveLength(2);
  });
});

function readTfjsGraphSync(file: string): Parameters<typeof tfjsGraphToOnnx>[0] {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof tfjsGraphToOnnx>[0]['json'];
  return { json, weights: new Map(), sha256: '0' };
}
