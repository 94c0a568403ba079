import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileRefusedError, RegularFile, hashRegularFile, readRegularFile, readRegularFileSync } from './read-regular-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'va-regular-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const at = (name: string): string => path.join(dir, name);
writeFileSync(at('ok.txt'), 'hello');
execFileSync('mkfifo', [at('fifo')]);
mkdirSync(at('folder'));
symlinkSync(at('ok.txt'), at('link'));
const fd = openSync(at('sparse'), 'w');
ftruncateSync(fd, 1_000_000_000);
closeSync(fd);

async function reason(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FileRefusedError);
  return `${(err as FileRefusedError).reason}: ${(err as FileRefusedError).message}`;
}

describe('readRegularFile', () => {
  it('reads a regular file within its bound', async () => {
    expect((await readRegularFile(at('ok.txt'), { maxBytes: 5 })).toString()).toBe('hello');
    expect(readRegularFileSync(at('ok.txt'), { maxBytes: 5, exactBytes: 5 }).toString()).toBe('hello');
  });

  it('refuses a FIFO (without blocking), a directory, a missing file', async () => {
    expect(await reason(readRegularFile(at('fifo'), { maxBytes: 10 }))).toBe(`not-regular: ${at('fifo')} is a FIFO, not a regular file`);
    expect(await reason(readRegularFile(at('folder'), { maxBytes: 10 }))).toBe(`not-regular: ${at('folder')} is a directory, not a regular file`);
    expect(await reason(readRegularFile(at('nope'), { maxBytes: 10 }))).toBe(`missing: ${at('nope')} does not exist`);
    expect(() => readRegularFileSync(at('fifo'), { maxBytes: 10 })).toThrow(/is a FIFO, not a regular file/);
  });

  it('refuses a final symbolic link unless links are followed', async () => {
    expect(await reason(readRegularFile(at('link'), { maxBytes: 10 }))).toBe(`link: ${at('link')} is a symbolic link (not followed)`);
    expect((await readRegularFile(at('link'), { maxBytes: 10, followLinks: true })).toString()).toBe('hello');
  });

  it('refuses from fstat a file over its bound or of another size than declared, before reading it', async () => {
    expect(await reason(readRegularFile(at('sparse'), { maxBytes: 1024 }))).toBe(`too-large: ${at('sparse')} is 1000000000 bytes, more than the 1024 allowed`);
    expect(await reason(readRegularFile(at('ok.txt'), { maxBytes: 100, exactBytes: 4, declaredBy: 'the manifest' }))).toBe(`wrong-size: ${at('ok.txt')} is 5 bytes, the manifest declares 4`);
  });

  it('carries the caller’s error code', async () => {
    await expect(readRegularFile(at('fifo'), { maxBytes: 10, code: 'VA_ERR_MODEL_FILES' })).rejects.toMatchObject({ code: 'VA_ERR_MODEL_FILES', context: { file: at('fifo'), reason: 'not-regular' } });
  });

  it('hashes a file in chunks to the same digest as hashing it whole', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    writeFileSync(at('big'), big);
    const h = createHash('sha256');
    await hashRegularFile(at('big'), h, { maxBytes: big.length });
    expect(h.digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
  });

  it('reports a file that grew after fstat instead of reading past what was checked', async () => {
    writeFileSync(at('grows'), 'abc');
    const f = await RegularFile.open(at('grows'), { maxBytes: 10 });
    try {
      writeFileSync(at('grows'), 'abcdef');
      await expect(f.read()).rejects.toMatchObject({ reason: 'changed' });
    } finally {
      await f.close();
    }
  });
});
