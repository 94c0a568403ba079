import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../core/errors.js';
import { readModelJsonText, readWeightShards } from './read-model-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'va-model-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(path.join(dir, 'a.bin'), Buffer.from([1, 2, 3]));
writeFileSync(path.join(dir, 'b.bin'), Buffer.from([4, 5]));
execFileSync('mkfifo', [path.join(dir, 'fifo.bin')]);

describe('readWeightShards', () => {
  it('concatenates shards that together hold exactly the declared bytes', async () => {
    expect([...(await readWeightShards(dir, ['a.bin', 'b.bin'], 5))]).toEqual([1, 2, 3, 4, 5]);
    expect([...(await readWeightShards(dir, ['a.bin'], 3))]).toEqual([1, 2, 3]);
  });

  it('refuses shards of another total size than declared, naming them', async () => {
    await expect(readWeightShards(dir, ['a.bin', 'b.bin'], 6)).rejects.toMatchObject({ code: 'VA_ERR_MODEL_FILES', message: expect.stringMatching(/a\.bin \+ .*b\.bin: the weight files hold 5 bytes, the manifest declares 6/) });
    await expect(readWeightShards(dir, ['a.bin'], 4)).rejects.toThrow(/a\.bin is 3 bytes, the manifest declares 4/);
  });

  it('refuses a FIFO shard as a ModelLoadError', async () => {
    const err = await readWeightShards(dir, ['a.bin', 'fifo.bin'], 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as ModelLoadError).message).toMatch(/fifo\.bin is a FIFO, not a regular file/);
  });
});

describe('readModelJsonText', () => {
  it('follows a link inside a model directory, as model directories always allowed', async () => {
    writeFileSync(path.join(dir, 'real.json'), '{"a":1}');
    symlinkSync(path.join(dir, 'real.json'), path.join(dir, 'linked.json'));
    expect(await readModelJsonText(path.join(dir, 'linked.json'))).toBe('{"a":1}');
  });
});
