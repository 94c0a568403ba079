import { readFileSync } from 'node:fs';
import { strToU8, unzipSync, zipSync } from 'fflate';
import type { Zippable } from 'fflate';
import { describe, expect, it } from 'vitest';
import { CheckpointError, CheckpointErrorCode } from './errors.js';
import { readTorchCheckpoint } from './read-torch-checkpoint.js';
import { readZipDirectory } from './zip-reader.js';

const FIXTURES = new URL('../../../test/fixtures/seed/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

/** Concatenates raw pickle pieces: numbers are bytes, strings are latin1 bytes. */
function bytesOf(...parts: (number | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const unicode = (s: string): Uint8Array => bytesOf(0x58, u32(s.length), s);

const PROTO2 = bytesOf(0x80, 0x02);
const LEGACY_HEADER = bytesOf(
  PROTO2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.', // magic
  PROTO2, 0x4d, 0xe9, 0x03, '.', // protocol 1001
  PROTO2, '}', '.', // sys_info
);
/** `os.system('echo pwned')`, the classic malicious pickle. */
const EVIL = bytesOf(PROTO2, 'c', 'os\nsystem\n', unicode('echo pwned'), 0x85, 'R', '.');

function expectCheckpointError(bytes: Uint8Array, code: CheckpointErrorCode, message?: RegExp): CheckpointError {
  let caught: unknown;
  try {
    readTorchCheckpoint(bytes, { source: 'test.pth' });
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CheckpointError);
  const err = caught as CheckpointError;
  expect(err.code, err.message).toBe(code);
  expect(err.message.startsWith('test.pth: ')).toBe(true);
  if (message !== undefined) expect(err.message).toMatch(message);
  return err;
}

/** Mulberry32: a seeded PRNG so the random inputs are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randomBytes = (n: number, seed: number): Uint8Array => {
  const r = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};

function rezip(name: string, edit: (files: Zippable) => void, level: 0 | 6 = 0): Uint8Array {
  const files: Zippable = unzipSync(fixture(name));
  edit(files);
  return zipSync(files, { level });
}

describe('readTorchCheckpoint errors', () => {
  it('rejects empty input, random bytes and foreign formats as FORMAT', () => {
    expectCheckpointError(new Uint8Array(0), CheckpointErrorCode.format, /empty/);
    expectCheckpointError(randomBytes(4096, 1).map((b, i) => (i === 0 ? 0x13 : b)), CheckpointErrorCode.format, /neither a zip/);
    expectCheckpointError(bytesOf(PROTO2, randomBytes(512, 2)), CheckpointErrorCode.format);
    expectCheckpointError(bytesOf(PROTO2, 'K', 7, '.'), CheckpointErrorCode.format, /magic/);
    expectCheckpointError(zipSync({ 'readme.txt': strToU8('hello') }), CheckpointErrorCode.format, /data\.pkl/);
  });

  it('rejects a random blob behind a zip signature as CORRUPT', () => {
    expectCheckpointError(bytesOf('PK', 3, 4, randomBytes(4096, 3)), CheckpointErrorCode.corrupt);
  });

  it('refuses globals outside the whitelist without executing them', () => {
    expectCheckpointError(bytesOf(LEGACY_HEADER, EVIL), CheckpointErrorCode.unsupported, /os\.system/);
    expectCheckpointError(zipSync({ 'archive/data.pkl': EVIL }), CheckpointErrorCode.unsupported, /os\.system/);
    const builtin = bytesOf(PROTO2, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, unicode('1'), 0x85, 'R', '.');
    expectCheckpointError(zipSync({ 'archive/data.pkl': builtin }), CheckpointErrorCode.unsupported, /builtins\.eval/);
    // A whitelisted global that is not a function must not become callable.
    const callStorage = bytesOf(PROTO2, 'c', 'torch\nFloatStorage\n', ')', 'R', '.');
    expectCheckpointError(zipSync({ 'archive/data.pkl': callStorage }), CheckpointErrorCode.unsupported, /non-whitelisted/);
  });

  it('refuses pickled nn.Modules and unsupported storage types as UNSUPPORTED', () => {
    const module = bytesOf(PROTO2, '(', unicode('module'), 'N', 'N', 'N', 't', 'Q', '.');
    expectCheckpointError(bytesOf(LEGACY_HEADER, module), CheckpointErrorCode.unsupported, /nn\.Module/);
    const bf16 = bytesOf(PROTO2, 'c', 'torch\nBFloat16Storage\n', '.');
    expectCheckpointError(zipSync({ 'archive/data.pkl': bf16 }), CheckpointErrorCode.unsupported, /BFloat16/);
  });

  it('rejects a state_dict holding non-tensors as FORMAT', () => {
    const notTensors = bytesOf(PROTO2, '}', unicode('epoch'), 'K', 3, 's', '.');
    expectCheckpointError(zipSync({ 'archive/data.pkl': notTensors }), CheckpointErrorCode.format, /'epoch'.*not a tensor/);
    expectCheckpointError(zipSync({ 'archive/data.pkl': bytesOf(PROTO2, ']', '.') }), CheckpointErrorCode.format, /a list/);
  });

  it('reports truncated files as CORRUPT', () => {
    for (const name of ['odd_tensors.pth', 'cnn_member0.pth']) {
      const whole = fixture(name);
      for (const len of [4, 30, 200, Math.floor(whole.length / 2), whole.length - 1]) {
        expectCheckpointError(whole.subarray(0, len), CheckpointErrorCode.corrupt);
      }
    }
    for (const name of ['odd_tensors_legacy.pth', 'cnn_member0_legacy.pth']) {
      const whole = fixture(name);
      expectCheckpointError(whole.subarray(0, 8), CheckpointErrorCode.format);
      for (const len of [60, 400, Math.floor(whole.length / 2), whole.length - 1]) {
        expectCheckpointError(whole.subarray(0, len), CheckpointErrorCode.corrupt, /truncated/);
      }
    }
  });

  it('catches flipped bytes in zip storages via CRC-32', () => {
    const bytes = fixture('odd_tensors.pth').slice();
    const entry = readZipDirectory(bytes, 'test.pth').get('odd_tensors/data/0');
    if (entry === undefined) throw new Error('fixture layout changed');
    const view = new DataView(bytes.buffer);
    const dataAt = entry.localHeaderOffset + 30 + view.getUint16(entry.localHeaderOffset + 26, true) + view.getUint16(entry.localHeaderOffset + 28, true);
    bytes[dataAt + 1] = (bytes[dataAt + 1] ?? 0) ^ 0x10;
    expectCheckpointError(bytes, CheckpointErrorCode.corrupt, /CRC-32/);
  });

  it('reports a flipped magic number in the legacy format as FORMAT', () => {
    const bytes = fixture('odd_tensors_legacy.pth').slice();
    bytes[6] = (bytes[6] ?? 0) ^ 0xff;
    expectCheckpointError(bytes, CheckpointErrorCode.format, /magic/);
  });

  it('handles archive edits: missing storage, big-endian marker, deflated entries', () => {
    expectCheckpointError(rezip('odd_tensors.pth', (f) => delete f['odd_tensors/data/0']), CheckpointErrorCode.corrupt, /data\/0 is missing/);
    const big = rezip('odd_tensors.pth', (f) => { f['odd_tensors/byteorder'] = strToU8('big'); });
    expectCheckpointError(big, CheckpointErrorCode.unsupported, /byteorder/);
    const little = readTorchCheckpoint(rezip('odd_tensors.pth', (f) => { f['odd_tensors/byteorder'] = strToU8('little'); }, 6));
    expect(little).toEqual(readTorchCheckpoint(fixture('odd_tensors.pth')));
  });

  it('turns randomly damaged files into explicit CheckpointErrors, never a crash or hang', () => {
    const rand = prng(42);
    for (const name of ['odd_tensors.pth', 'odd_tensors_legacy.pth', 'wrapped_module_legacy.pth']) {
      const whole = fixture(name);
      for (let i = 0; i < 150; i++) {
        const bytes = whole.slice(0, 1 + Math.floor(rand() * whole.length));
        const flips = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < flips; k++) {
          const at = Math.floor(rand() * bytes.length);
          bytes[at] = Math.floor(rand() * 256);
        }
        try {
          readTorchCheckpoint(bytes, { source: name });
        } catch (err) {
          // The reader's backstop would wrap a stray RangeError too; require an explicit check instead.
          if (!(err instanceof CheckpointError) || err.message.includes('unreadable checkpoint')) {
            throw new Error(`${name} case ${i}: ${String(err)}`, { cause: err });
          }
        }
      }
    }
  });
});
