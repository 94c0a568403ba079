import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { media } from '../../test/helpers/media.js';
import type { HwDevice, HwDeviceType } from './hw-device.js';
import { openSource, type DecoderReport, type VideoSourceOptions } from './open-source.js';

/**
 * Hardware decoding on a machine without a GPU: `auto` must decode exactly what software decoding
 * does, a named device must fall back (saying why) and still deliver every frame, and whatever
 * device was opened is released on every path.
 */
const run = promisify(execFile);
const FIXTURES = ['utterance_1.mp4', 'single_face.mp4', 'no_face.mp4', 'face_noface.mov', 'multi_face.jpg'] as const;

interface Decoded {
  readonly frames: { readonly pts: number; readonly index: number; readonly width: number; readonly height: number; readonly sha: string }[];
  readonly reports: DecoderReport[];
}

async function decode(file: string, o: Partial<VideoSourceOptions> = {}, stopAfter = Infinity): Promise<Decoded> {
  const reports: DecoderReport[] = [];
  const frames: Decoded['frames'] = [];
  const gen = openSource({ kind: 'file', path: file }, { realtime: false, loop: false, maxWidth: 640, onDecoder: (r) => reports.push(r), ...o });
  for await (const f of gen) {
    frames.push({ pts: f.pts, index: f.index, width: f.width, height: f.height, sha: createHash('sha256').update(f.data).digest('hex') });
    if (frames.length >= stopAfter) break;
  }
  return { frames, reports };
}

/** A device seam that opens nothing on the GPU: attaching it leaves the decoder in software. */
function fakeDevices(o: { readonly attachThrows?: boolean } = {}) {
  const log = { opened: 0, closed: 0, attached: 0 };
  const open = (type: HwDeviceType): HwDevice => {
    log.opened++;
    let closed = false;
    return {
      type,
      attach: () => {
        log.attached++;
        if (o.attachThrows) throw new Error('device lost while attaching');
      },
      close: () => {
        // Idempotent, and each device counted once: a double close would hide a missing one.
        if (closed) return;
        closed = true;
        log.closed++;
      },
    };
  };
  return { log, open };
}

let tmp: string;
let png: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'va-hwaccel-'));
  png = path.join(tmp, 'still.png');
  await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', media('multi_face.jpg'), '-frames:v', '1', png]);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('hwaccel on a machine without a GPU', () => {
  it.each(FIXTURES)('auto decodes %s identically to software decoding (frame count, pts, every pixel)', async (name) => {
    const soft = await decode(media(name), { hwaccel: 'none' });
    const auto = await decode(media(name), { hwaccel: 'auto' });
    expect(soft.frames.length).toBeGreaterThan(0);
    expect(auto.frames).toEqual(soft.frames);
    expect(soft.reports).toEqual([expect.objectContaining({ requested: 'none', decoder: 'software' })]);
    expect(soft.reports[0]!.fallback).toBeUndefined();
    expect(auto.reports).toHaveLength(1);
    expect(auto.reports[0]).toMatchObject({ requested: 'auto', decoder: 'software', fallback: { reason: 'no-device' } });
    // The reason names what was tried.
    expect(auto.reports[0]!.fallback!.message).toMatch(/cuda: .+; vaapi: .+; qsv: .+/);
  });

  it.each(['cuda', 'vaapi', 'qsv'] as const)('%s falls back to software with its reason, once per open, and still delivers every frame', async (type) => {
    const soft = await decode(media('single_face.mp4'), { hwaccel: 'none' });
    const hw = await decode(media('single_face.mp4'), { hwaccel: type });
    expect(hw.frames).toEqual(soft.frames);
    expect(hw.reports).toEqual([
      {
        requested: type,
        decoder: 'software',
        codec: 'h264',
        fallback: { reason: 'device-unavailable', message: expect.stringContaining(`${type} device could not be opened`) },
      },
    ]);
  });

  it('reports once per open: a looped file reports at each pass', async () => {
    const one = await decode(media('single_face.mp4'), { hwaccel: 'none' });
    const looped = await decode(media('single_face.mp4'), { hwaccel: 'cuda', loop: true }, one.frames.length + 5);
    expect(looped.reports.map((r) => r.fallback?.reason)).toEqual(['device-unavailable', 'device-unavailable']);
  });
});

describe('the hardware device is released on every path', () => {
  it('at the end of the stream, and a decoder that stayed in software says so', async () => {
    const soft = await decode(media('single_face.mp4'), { hwaccel: 'none' });
    const dev = fakeDevices();
    const hw = await decode(media('single_face.mp4'), { hwaccel: 'cuda', openHwDevice: dev.open });
    expect(hw.frames).toEqual(soft.frames);
    expect(dev.log).toEqual({ opened: 1, attached: 1, closed: 1 });
    expect(hw.reports).toEqual([
      { requested: 'cuda', decoder: 'software', codec: 'h264', fallback: { reason: 'decoder-declined', message: expect.stringContaining('software frames') } },
    ]);
  });

  it('when the consumer stops early (a stop or a restart)', async () => {
    const dev = fakeDevices();
    const hw = await decode(media('utterance_1.mp4'), { hwaccel: 'cuda', openHwDevice: dev.open }, 3);
    expect(hw.frames).toHaveLength(3);
    expect(dev.log).toEqual({ opened: 1, attached: 1, closed: 1 });
  });

  it('when the stream is aborted mid-decode', async () => {
    const dev = fakeDevices();
    const ac = new AbortController();
    let n = 0;
    for await (const f of openSource({ kind: 'file', path: media('utterance_1.mp4') }, { realtime: false, loop: false, maxWidth: 640, hwaccel: 'auto', openHwDevice: dev.open, signal: ac.signal })) {
      expect(f.width).toBe(640);
      if (++n === 5) ac.abort();
    }
    expect(n).toBe(5);
    expect(dev.log).toEqual({ opened: 1, attached: 1, closed: 1 });
  });

  it('at every pass of a looped file', async () => {
    const dev = fakeDevices();
    const one = await decode(media('single_face.mp4'), { hwaccel: 'none' });
    await decode(media('single_face.mp4'), { hwaccel: 'vaapi', loop: true, openHwDevice: dev.open }, 2 * one.frames.length + 3);
    expect(dev.log).toEqual({ opened: 3, attached: 3, closed: 3 });
  });

  it('when the codec has no hardware decoder on the device (PNG): closed before decoding, decoded in software', async () => {
    const dev = fakeDevices();
    const soft = await decode(png, { hwaccel: 'none' });
    const hw = await decode(png, { hwaccel: 'cuda', openHwDevice: dev.open });
    expect(hw.frames).toEqual(soft.frames);
    expect(dev.log).toEqual({ opened: 1, attached: 0, closed: 1 });
    expect(hw.reports).toEqual([
      { requested: 'cuda', decoder: 'software', codec: 'png', fallback: { reason: 'codec-unsupported', message: expect.stringContaining('png') } },
    ]);
  });

  it('when opening the decoder on the device fails: closed, and the stream decodes in software', async () => {
    const dev = fakeDevices({ attachThrows: true });
    const soft = await decode(media('single_face.mp4'), { hwaccel: 'none' });
    const hw = await decode(media('single_face.mp4'), { hwaccel: 'cuda', openHwDevice: dev.open });
    expect(hw.frames).toEqual(soft.frames);
    expect(dev.log).toEqual({ opened: 1, attached: 1, closed: 1 });
    expect(hw.reports).toEqual([
      { requested: 'cuda', decoder: 'software', codec: 'h264', fallback: { reason: 'decoder-open-failed', message: expect.stringContaining('device lost while attaching') } },
    ]);
  });

  it('when the source cannot be opened, no device is opened at all', async () => {
    const dev = fakeDevices();
    await expect(decode(path.join(tmp, 'missing.mp4'), { hwaccel: 'cuda', openHwDevice: dev.open })).rejects.toMatchObject({ code: 'VA_ERR_SOURCE_NOT_FOUND' });
    expect(dev.log).toEqual({ opened: 0, attached: 0, closed: 0 });
  });
});
