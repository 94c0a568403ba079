import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mediaDir } from '../../test/helpers/media.js';
import { decodeImage } from './decode-image.js';
import { PushChannel, PushChannels, decodePushed, jpegFrameSize, readPush, type PushRefusal } from './push-source.js';

const photo = readFileSync(path.join(mediaDir, 'multi_face.jpg'));
const jpeg = (w: number, h: number): Buffer => execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `color=c=gray:s=${w}x${h}:d=1`, '-frames:v', '1', '-f', 'mjpeg', 'pipe:1']);

describe('push source', () => {
  it('reads the frame size from the JPEG header, and nothing from non-JPEG or cut headers', () => {
    expect(jpegFrameSize(jpeg(320, 240))).toEqual({ width: 320, height: 240 });
    expect(jpegFrameSize(Buffer.from([0xff, 0xd8, 0xff]))).toBeUndefined();
    expect(jpegFrameSize(Buffer.from('hello world, not a jpeg'))).toBeUndefined();
  });

  it('decodes a pushed JPEG scaled to maxWidth, and refuses oversize and damaged ones with their codes', async () => {
    const rgb = await decodePushed(jpeg(1280, 720), 0, { maxPixels: 1920 * 1080, maxWidth: 640 });
    expect([rgb.width, rgb.height, rgb.sourceWidth, rgb.sourceHeight, rgb.data.length]).toEqual([640, 360, 1280, 720, 640 * 360 * 3]);
    await expect(decodePushed(jpeg(2000, 1500), 1, { maxPixels: 1920 * 1080, maxWidth: 640 })).rejects.toMatchObject({ code: 'VA_ERR_SOURCE_TOO_LARGE' });
    await expect(decodePushed(photo.subarray(0, photo.length >> 1), 2, { maxPixels: 1e7, maxWidth: 640 })).rejects.toMatchObject({ code: 'VA_ERR_DECODE' });
  });

  it('decodes off the event loop: timers run while a 1920×1080 frame decodes, and the pixels equal the synchronous decoder\'s', async () => {
    const big = execFileSync('ffmpeg', ['-v', 'error', '-i', path.join(mediaDir, 'utterance_1.mp4'), '-frames:v', '1', '-vf', 'scale=1920:1080', '-q:v', '3', '-f', 'mjpeg', 'pipe:1']);
    let turned = false;
    setImmediate(() => (turned = true));
    const decoding = decodePushed(big, 0, { maxPixels: 1920 * 1080, maxWidth: 640 });
    expect(turned).toBe(false);
    const rgb = await decoding;
    // A synchronous decode inside the promise would have resolved before the event loop's check phase.
    expect(turned).toBe(true);
    const sync = decodeImage(big, 'sync', { maxWidth: 640 });
    expect([rgb.width, rgb.height]).toEqual([sync.width, sync.height]);
    expect(Buffer.from(rgb.data).equals(Buffer.from(sync.data))).toBe(true);
  });

  it('drops the oldest waiting frame when the reader is behind (busy), and ends with the channel', async () => {
    const refused: [PushRefusal, number][] = [];
    const ch = new PushChannel('x', { onRefused: (r, i) => refused.push([r, i]) }, 2);
    for (let i = 0; i < 5; i++) ch.push({ bytes: new Uint8Array([i]), index: i, arrivedAtMs: i });
    expect(refused).toEqual([['busy', 0], ['busy', 1], ['busy', 2]]);
    expect((await ch.next())?.index).toBe(3);
    expect((await ch.next())?.index).toBe(4);
    const waiting = ch.next();
    ch.end();
    expect(await waiting).toBeUndefined();
  });

  it('skips undecodable frames (reported), yields the good ones, and fails only when nobody pushes', async () => {
    const channels = new PushChannels();
    const reasons: PushRefusal[] = [];
    const ch = channels.open('cam', { onRefused: (r) => reasons.push(r) })!;
    expect(channels.open('cam')).toBeUndefined();
    const errors: string[] = [];
    const frames = readPush(ch, 'cam', { realtime: true, loop: false, maxWidth: 640, onDecodeError: (e) => errors.push(e.code) });
    const first = frames.next();
    ch.push({ bytes: Buffer.from('garbage'), index: 0, arrivedAtMs: 1000 });
    ch.push({ bytes: jpeg(320, 240), index: 1, arrivedAtMs: 1500 });
    const f = (await first).value!;
    // Stream time runs from the first frame that arrived, refused or not.
    expect([f.index, f.width, f.height, f.pts]).toEqual([1, 320, 240, 0.5]);
    expect(errors).toEqual(['VA_ERR_DECODE']);
    expect(reasons).toEqual(['undecodable']);
    channels.close('cam');
    expect((await frames.next()).done).toBe(true);
    await expect(readPush(channels.get('cam'), 'cam', { realtime: true, loop: false, maxWidth: 640 }).next()).rejects.toMatchObject({ code: 'VA_ERR_SOURCE_NOT_FOUND' });
  });
});
