import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBadMedia } from '../../test/helpers/bad-media.js';
import { media } from '../../test/helpers/media.js';
import { renderVideo, type RenderVideoOptions } from './render-video.js';

const fds = (): number => readdirSync('/proc/self/fd').length;

describe('renderVideo on hostile input', () => {
  let dir: string;
  let bad: Awaited<ReturnType<typeof makeBadMedia>>;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'va-render-bad-'));
    bad = await makeBadMedia(dir, media('utterance_1.mp4'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const opts = (input: string, output: string, paint: RenderVideoOptions['paint'] = () => undefined): RenderVideoOptions => ({
    input,
    output,
    geometry: () => ({ width: 64, height: 48, frameWidth: 32, frameHeight: 24 }),
    paint,
  });

  it('answers clear errors, leaves no partial file and no open descriptors', async () => {
    const before = fds();
    const out = path.join(dir, 'out.mp4');
    await expect(renderVideo(opts(bad.missing, out))).rejects.toMatchObject({ code: 'VA_ERR_SOURCE_NOT_FOUND' });
    await expect(renderVideo(opts(bad.notVideo, out))).rejects.toMatchObject({ code: 'VA_ERR_SOURCE_OPEN' });
    await expect(renderVideo(opts(bad.unknownCodec, out))).rejects.toMatchObject({ code: 'VA_ERR_UNSUPPORTED_CODEC' });
    await expect(renderVideo(opts(media('single_face.mp4'), media('single_face.mp4')))).rejects.toMatchObject({ code: 'VA_ERR_BAD_REQUEST' });
    // A painter that fails mid-way: the error comes through, everything is released.
    let n = 0;
    const boom = (): void => {
      if (++n === 10) throw new Error('painter failed');
    };
    await expect(renderVideo(opts(media('single_face.mp4'), out, boom))).rejects.toThrow('painter failed');
    expect(readdirSync(dir).filter((f) => f.startsWith('out.mp4'))).toEqual([]);
    expect(fds()).toBe(before);
  });

  it('renders what a truncated file holds, or fails cleanly', async () => {
    const out = path.join(dir, 'trunc.mp4');
    const r = await renderVideo(opts(bad.truncated, out)).catch((err: unknown) => err as { code: string });
    if ('code' in r) expect(r.code).toMatch(/^VA_ERR_(DECODE|SOURCE_OPEN)$/);
    else {
      expect(r.frames).toBeGreaterThan(0);
      expect(existsSync(out)).toBe(true);
    }
  });
});
