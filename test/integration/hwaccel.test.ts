import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { openSource } from '../../src/streams/open-source.js';
import { parseMetrics, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';

/**
 * analysis.hwaccel through the daemon, on a machine without a GPU: a named device falls back to
 * software with one warning per stream open and a counter, the stream still decodes every frame,
 * the stream's status says which decoder ran, and values outside the list are refused.
 */
const CLIP = 'single_face.mp4';

let tmp: string;
let frameCount: number;

function configProblems(yaml: string): readonly string[] {
  const file = path.join(tmp, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  try {
    loadConfig({ file, env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`accepted:\n${yaml}`);
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'va-hwaccel-'));
  frameCount = 0;
  for await (const _ of openSource({ kind: 'file', path: media(CLIP) }, { realtime: false, loop: false, maxWidth: 640 })) frameCount++;
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('analysis.hwaccel in the config', () => {
  it('defaults to none, for the daemon and for each stream', () => {
    const file = path.join(tmp, 'plain.yaml');
    writeFileSync(file, 'streams:\n  - id: a\n    url: "demo:"\n');
    const cfg = loadConfig({ file, env: {} });
    expect(cfg.analysis.hwaccel).toBe('none');
    expect(cfg.streams[0]!.hwaccel).toBeUndefined();
  });

  it.each(['vdpau', 'CUDA', 'cuda; rm -rf /', '../../dev/dri/card0', '', 'auto '])('refuses analysis.hwaccel %j naming the key and the values allowed', (value) => {
    const problems = configProblems(`analysis:\n  hwaccel: ${JSON.stringify(value)}\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^analysis\.hwaccel: /);
    expect(problems[0]).toMatch(/none.*auto.*cuda.*vaapi.*qsv/);
  });

  it('refuses a non-string and a per-stream value outside the list', () => {
    expect(configProblems('analysis:\n  hwaccel: 1\n')[0]).toMatch(/^analysis\.hwaccel: .*none.*qsv/);
    expect(configProblems('streams:\n  - id: a\n    url: "demo:"\n    hwaccel: metal\n')[0]).toMatch(/^streams\.0\.hwaccel: .*none.*qsv/);
  });
});

describe('a daemon asked for hardware decoding on a machine without a GPU', () => {
  let d: RunningDaemon;

  beforeAll(async () => {
    d = await startDaemon({
      files: { roots: [mediaDir] },
      analysis: { hwaccel: 'cuda' },
      streams: [
        { id: 'hw', url: media(CLIP), realtime: false },
        { id: 'va', url: media(CLIP), realtime: false, hwaccel: 'vaapi' },
        { id: 'sw', url: media(CLIP), realtime: false, hwaccel: 'none' },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await d?.close();
  });

  const get = async (id: string): Promise<Record<string, unknown>> => (await (await fetch(`${d.base}/v1/streams/${id}`)).json()) as Record<string, unknown>;
  const ended = async (id: string): Promise<void> => waitUntil(async () => (await get(id)).state === 'ended', 60_000, `${id} ended`);
  const warnings = (id: string) =>
    d.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.streamId === id && l.level === 40 && l.msg === 'hardware decoding unavailable, decoding in software');

  it('falls back to software: every frame decoded, one warning with the reason, the counter at 1, the status says software', async () => {
    await ended('hw');
    const info = await get('hw');
    expect(info.framesDecoded).toBe(frameCount);
    expect(info.decoder).toEqual({
      requested: 'cuda',
      decoder: 'software',
      codec: 'h264',
      fallback: { reason: 'device-unavailable', message: expect.stringContaining('the cuda device could not be opened') },
    });
    const lines = warnings('hw');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ requested: 'cuda', decoder: 'software', codec: 'h264', reason: 'device-unavailable' });
    const m = parseMetrics(await (await fetch(`${d.base}/metrics`)).text());
    expect(m.get('va_decode_hwaccel_fallback_total{stream="hw",reason="device-unavailable"}')).toBe(1);
  });

  it("a stream's own hwaccel overrides the daemon's: vaapi falls back too, none decodes in software without a warning or a count", async () => {
    await ended('va');
    await ended('sw');
    expect((await get('va')).decoder).toMatchObject({ requested: 'vaapi', decoder: 'software', fallback: { reason: 'device-unavailable' } });
    expect(warnings('va')).toHaveLength(1);
    expect((await get('sw')).decoder).toEqual({ requested: 'none', decoder: 'software', codec: 'h264' });
    expect((await get('sw')).framesDecoded).toBe(frameCount);
    expect(warnings('sw')).toHaveLength(0);
    const text = await (await fetch(`${d.base}/metrics`)).text();
    expect(text).not.toMatch(/va_decode_hwaccel_fallback_total\{stream="sw"/);
    // The decoder actually used is logged for every open, with or without a fallback.
    const used = d.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.streamId === 'sw' && l.msg === 'decoder opened');
    expect(used).toEqual([expect.objectContaining({ requested: 'none', decoder: 'software', codec: 'h264' })]);
  });

  it('an API client gets 400 for an hwaccel outside the list, and a stream with one that falls back', async () => {
    const post = (body: unknown) => fetch(`${d.base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await post({ id: 'bad', url: media(CLIP), hwaccel: 'opencl' });
    expect(bad.status).toBe(400);
    const err = (await bad.json()) as { error: { code: string; message: string; field?: string } };
    expect(err.error).toMatchObject({ code: 'VA_ERR_BAD_REQUEST', field: 'hwaccel' });
    expect(err.error.message).toMatch(/none.*auto.*cuda.*vaapi.*qsv/);
    expect((await get('bad')).error).toMatchObject({ code: 'VA_ERR_NOT_FOUND' });
    const ok = await post({ id: 'api-qsv', url: media(CLIP), realtime: false, hwaccel: 'qsv' });
    expect(ok.status).toBe(201);
    await ended('api-qsv');
    expect((await get('api-qsv')).decoder).toMatchObject({ requested: 'qsv', decoder: 'software', fallback: { reason: 'device-unavailable' } });
  });
});
