import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, ftruncateSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelLoadError } from '../../core/errors.js';
import { selectBackend, tensorCount } from '../../models/backend.js';
import { CHECKPOINT_MAX_BYTES } from '../../models/io/read-model-file.js';
import { FERPLUS_FILE } from '../../import/ferplus-backbone.js';
import { repoRoot } from '../../../test/helpers/media.js';
import { ferplusInit } from './ferplus-init.js';

// Heads are made by initSeedWeights; the last test makes it fail (as an allocation would) once.
const initFails = vi.hoisted(() => ({ next: false }));
vi.mock('../../models/seed/init.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../models/seed/init.js')>();
  return {
    ...real,
    initSeedWeights: (...a: Parameters<typeof real.initSeedWeights>) => {
      if (initFails.next) {
        initFails.next = false;
        throw new RangeError('simulated: cannot allocate the fresh heads');
      }
      return real.initSeedWeights(...a);
    },
  };
});

const fixture = path.join(repoRoot, 'test/fixtures/seed/ferplus_tiny.pth');
const dir = mkdtempSync(path.join(tmpdir(), 'ferplus-hostile-'));

beforeAll(async () => {
  await selectBackend('wasm');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(ref: string): Promise<ModelLoadError> {
  const before = tensorCount();
  const err = await ferplusInit(ref, 1).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(tensorCount()).toBe(before);
  expect(err).toBeInstanceOf(ModelLoadError);
  return err as ModelLoadError;
}

describe('init: { from: ferplus } against hostile files', () => {
  it('a FIFO named as the file is refused without blocking', async () => {
    const fifo = path.join(dir, 'fifo.pth');
    execFileSync('mkfifo', [fifo]);
    const err = await refusal(fifo);
    expect(err.code).toBe('VA_ERR_MODEL_FILES');
    expect(err.message).toMatch(/FIFO/);
  });

  it(`a directory without ${FERPLUS_FILE} names the file it looked for`, async () => {
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const err = await refusal(empty);
    expect(err.code).toBe('VA_ERR_MODEL_FILES');
    expect(err.message).toContain(path.join(empty, FERPLUS_FILE));
  });

  it('a file larger than any checkpoint is refused from its size, before it is read', async () => {
    const huge = path.join(dir, 'huge.pth');
    const fd = openSync(huge, 'w');
    ftruncateSync(fd, CHECKPOINT_MAX_BYTES + 1); // sparse: no disk used
    closeSync(fd);
    const err = await refusal(huge);
    expect(err.code).toBe('VA_ERR_MODEL_FILES');
  });

  it('a symlink to a FIFO is refused like the FIFO; a symlink to the real file is followed', async () => {
    const fifo = path.join(dir, 'fifo2');
    execFileSync('mkfifo', [fifo]);
    symlinkSync(fifo, path.join(dir, 'to-fifo.pth'));
    expect((await refusal(path.join(dir, 'to-fifo.pth'))).message).toMatch(/FIFO/);
    symlinkSync(fixture, path.join(dir, 'to-real.pth'));
    const w = await ferplusInit(path.join(dir, 'to-real.pth'), 1);
    expect([...w.weights.keys()].some((k) => k.startsWith('heads/'))).toBe(true);
    for (const t of w.weights.values()) t.dispose();
  });

  it('releases the backbone tensors when the fresh heads cannot be made', async () => {
    const before = tensorCount();
    initFails.next = true;
    await expect(ferplusInit(fixture, 1)).rejects.toThrow(/simulated/);
    expect(tensorCount()).toBe(before);
  });
});
