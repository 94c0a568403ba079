import { describe, expect, it } from 'vitest';
import { media } from '../../../test/helpers/media.js';
import { runDecodeBench } from './decode.js';

// Checks what the bench measures and reports, not how fast anything is (figures live in the README).
describe('bench decode', () => {
  it('runs the daemon path and the ffmpeg command line on the same file and reports both and their ratio', async () => {
    const r = await runDecodeBench({ input: media('utterance_1.mp4'), width: 320, runs: 1 });
    expect(r.daemon.singleThread.frames).toBe(309);
    for (const s of [r.daemon.singleThread, r.daemon.multiThread, r.ffmpeg!.singleThread, r.ffmpeg!.multiThread]) {
      expect(s.msPerFrame).toBeGreaterThan(0);
      expect(s.cpuMsPerFrame).toBeGreaterThan(0);
    }
    expect(r.ffmpeg!.command).toContain('-threads 1');
    expect(r.ffmpeg!.command).toContain('scale=320:-2');
    expect(r.ratio).toBeCloseTo(r.daemon.singleThread.cpuMsPerFrame / r.ffmpeg!.singleThread.cpuMsPerFrame, 1);
  });

  it('with --hwaccel, measures that decoder beside software decoding in the same run, says which decoder ran, and gives the ratio', async () => {
    const r = await runDecodeBench({ input: media('single_face.mp4'), width: 320, runs: 1, hwaccel: 'auto' });
    const hw = r.hwaccel!;
    expect(hw.requested).toBe('auto');
    // No GPU here: auto decodes in software, and the bench says so rather than reporting a GPU figure.
    expect(hw.decoder).toBe('software');
    expect(hw.fallback).toMatch(/^no-device: /);
    expect(hw.singleThread.frames).toBe(r.daemon.singleThread.frames);
    expect(hw.singleThread.msPerFrame).toBeGreaterThan(0);
    expect(hw.wallRatio).toBeCloseTo(hw.singleThread.msPerFrame / r.daemon.singleThread.msPerFrame, 1);
    expect(hw.cpuRatio).toBeCloseTo(hw.singleThread.cpuMsPerFrame / r.daemon.singleThread.cpuMsPerFrame, 1);
  });

  it('refuses a missing input with a message', async () => {
    await expect(runDecodeBench({ input: '/nonexistent/clip.mp4', width: 320, runs: 1 })).rejects.toThrow(/input not found/);
  });
});
