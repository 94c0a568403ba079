import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readTorchCheckpoint, readTorchCheckpointWithInfo } from './read-torch-checkpoint.js';
import type { StateDict, TorchTensor } from './types.js';

const FIXTURES = new URL('../../../test/fixtures/seed/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));
const json = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;

interface Summary {
  readonly dtype: string;
  readonly shape: number[];
  readonly sum: number;
  readonly first: (number | string)[];
  readonly values?: (number | string)[];
}
interface ChecksumFile {
  readonly files: Record<string, Record<string, Summary>>;
}
interface KeyShape {
  readonly key: string;
  readonly shape: number[];
  readonly dtype: string;
}

const checksums = json<ChecksumFile>('checkpoints.json');

function read(name: string): StateDict {
  return readTorchCheckpoint(fixture(name), { source: name });
}

/** JSON floats are float64 decimals of float32 values; integers are exact. */
const stored = (t: TorchTensor, v: number | string): number => (t.data instanceof Float32Array ? Math.fround(Number(v)) : Number(v));

function asNumbers(t: TorchTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

function expectSameTensors(a: StateDict, b: StateDict): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [key, ta] of a) {
    const tb = b.get(key);
    expect(tb, key).toBeDefined();
    expect(tb?.dtype, key).toBe(ta.dtype);
    expect(tb?.shape, key).toEqual(ta.shape);
    expect(tb?.data, key).toEqual(ta.data);
  }
}

function expectMatchesSummary(sd: StateDict, summaries: Record<string, Summary>): void {
  expect([...sd.keys()]).toEqual(Object.keys(summaries));
  for (const [key, s] of Object.entries(summaries)) {
    const t = sd.get(key);
    if (t === undefined) throw new Error(`missing ${key}`);
    expect(t.dtype, key).toBe(s.dtype);
    expect(t.shape, key).toEqual(s.shape);
    const values = asNumbers(t);
    const sum = values.reduce((acc, v) => acc + v, 0);
    expect(Math.abs(sum - s.sum), key).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(s.sum)));
    if (t.dtype === 'int64') {
      expect(Array.from(t.data as BigInt64Array).slice(0, s.first.length), key).toEqual(s.first.map((v) => BigInt(v)));
    } else {
      expect(values.slice(0, s.first.length), key).toEqual(s.first.map((v) => stored(t, v)));
    }
  }
}

describe('readTorchCheckpoint on the seed fixtures', () => {
  const members = ['cnn_member0', 'cnn_member1', 'cnn_rnn_member0', 'cnn_rnn_member1', 'odd_tensors'];

  it.each(members)('%s: zip and legacy serialisations give identical tensors', (stem) => {
    const zip = readTorchCheckpointWithInfo(fixture(`${stem}.pth`), { source: `${stem}.pth` });
    const legacy = readTorchCheckpointWithInfo(fixture(`${stem}_legacy.pth`), { source: `${stem}_legacy.pth` });
    expect(zip.info).toEqual({ format: 'zip', archiveName: stem, ignoredKeys: [] });
    expect(legacy.info).toEqual({ format: 'legacy', ignoredKeys: [] });
    expectSameTensors(zip.stateDict, legacy.stateDict);
  });

  it.each(['cnn_member0.pth', 'cnn_rnn_member0.pth', 'odd_tensors.pth'])('%s matches the values PyTorch reported', (name) => {
    const summaries = checksums.files[name];
    if (summaries === undefined) throw new Error(`no checksums for ${name}`);
    expectMatchesSummary(read(name), summaries);
  });

  it('has the released architecture key names in registration order', () => {
    const full = json<KeyShape[]>('keys_full_cnn.json');
    const fullRnn = json<KeyShape[]>('keys_full_cnn_rnn.json');
    expect([...read('cnn_member0.pth').keys()]).toEqual(full.map((k) => k.key));
    expect([...read('cnn_rnn_member1_legacy.pth').keys()]).toEqual(fullRnn.map((k) => k.key));
    expect(full.find((k) => k.key === 'backbone.model.conv5_3_1x1_increase.weight')?.shape).toEqual([2048, 512, 1, 1]);
    expect(fullRnn.find((k) => k.key === 'classifier.2.GRU_layer.weight_hh_l0_reverse')?.shape).toEqual([192, 64]);
  });

  it('materialises views with offsets, strides and shared storages contiguously', () => {
    for (const name of ['odd_tensors.pth', 'odd_tensors_legacy.pth']) {
      const sd = read(name);
      const expected = checksums.files['odd_tensors.pth'] ?? {};
      for (const [key, s] of Object.entries(expected)) {
        const t = sd.get(key);
        if (t === undefined || s.values === undefined) throw new Error(`missing ${key}`);
        if (t.dtype === 'int64') {
          expect(Array.from(t.data as BigInt64Array), `${name} ${key}`).toEqual(s.values.map((v) => BigInt(v)));
        } else {
          expect(asNumbers(t), `${name} ${key}`).toEqual(s.values.map((v) => stored(t, v)));
        }
      }
      const base = asNumbers(sd.get('base') ?? fail());
      const transposed = asNumbers(sd.get('transposed') ?? fail());
      for (let i = 0; i < 4; i++) for (let j = 0; j < 6; j++) expect(transposed[j * 4 + i]).toBe(base[i * 6 + j]);
    }
  });

  it('maps dtypes onto the documented typed arrays', () => {
    const sd = read('odd_tensors_legacy.pth');
    const kinds = Object.fromEntries([...sd].map(([k, t]) => [k, t.data.constructor.name]));
    expect(kinds).toMatchObject({
      base: 'Float32Array', f64: 'Float32Array', f16: 'Float32Array', i64: 'BigInt64Array',
      i32: 'Int32Array', i16: 'Int32Array', i8: 'Int32Array', u8: 'Uint8Array', bool: 'Uint8Array',
    });
    expect(sd.get('scalar')).toEqual({ dtype: 'float32', shape: [], data: new Float32Array([3.5]) });
    expect(sd.get('empty')).toEqual({ dtype: 'float32', shape: [0, 3], data: new Float32Array(0) });
    expect(sd.get('i64')?.data).toEqual(new BigInt64Array([0n, 1n, -1n, 2n ** 40n, -(2n ** 53n) - 1n]));
  });

  it.each(['wrapped_module.pth', 'wrapped_module_legacy.pth'])('%s: unwraps state_dict and strips module.', (name) => {
    const { stateDict, info } = readTorchCheckpointWithInfo(fixture(name), { source: name });
    expect(info).toMatchObject({ nestedUnder: 'state_dict', strippedPrefix: 'module.', ignoredKeys: ['epoch', 'note'] });
    expect([...stateDict.keys()]).toEqual(['base', 'transposed', 'block', 'strided']);
    const plain = read('odd_tensors.pth');
    for (const [k, t] of stateDict) expect(t).toEqual(plain.get(k));
  });
});

function fail(): never {
  throw new Error('missing tensor');
}
