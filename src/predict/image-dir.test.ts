import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalyticsError } from '../core/errors.js';
import { listImages, readImage } from './image-dir.js';

/** test/fixtures/jpeg: crops and PIL's decode of each (tools/jpeg_reference.py). */
const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/jpeg');
const refs = (JSON.parse(readFileSync(path.join(fixtures, 'reference.json'), 'utf8')) as { files: { file: string; sha256: string; width: number; height: number }[] }).files;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe("daemon predict's image directories", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'image-dir-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const local = refs.filter((r) => !r.file.includes('/'));
  for (const r of local) copyFileSync(path.join(fixtures, r.file), path.join(dir, r.file));

  it('list .bmp faces with .png/.jpg/.jpeg (the authors read .bmp, OpenFace writes it), in name order', async () => {
    writeFileSync(path.join(dir, 'notes.txt'), 'x');
    const names = await listImages(dir);
    expect(names).toEqual(local.map((r) => r.file).sort());
    expect(names).toContain('face4_112_rgb24.bmp');
  });

  it.each(local.map((r) => [r.file, r] as const))('%s decodes to exactly PIL’s RGB', async (_, ref) => {
    const img = await readImage(path.join(dir, ref.file));
    expect([img.width, img.height]).toEqual([ref.width, ref.height]);
    expect(sha256(img.data)).toBe(ref.sha256);
  });

  it('a truncated JPEG is VA_ERR_DECODE naming the file', async () => {
    const f = path.join(dir, 'cut.jpg');
    const bytes = readFileSync(path.join(fixtures, 'face0_112_q75.jpg'));
    writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const err = await readImage(f).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AnalyticsError);
    expect((err as AnalyticsError).code).toBe('VA_ERR_DECODE');
    expect((err as Error).message.startsWith(`${f}: `)).toBe(true);
    rmSync(f);
  });
});
