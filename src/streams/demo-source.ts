import path from 'node:path';
import { Decoder, Demuxer, FilterAPI } from 'node-av/api';
import type { Frame } from 'node-av/lib';
import { packageDir } from '../models/io/package-dir.js';
import { ErrorCodes, SourceError } from '../core/errors.js';
import { PtsSampler } from '../core/pts-sampler.js';
import { Pacer } from './pacer.js';
import { analysisFilter, takeRgbFrame, type RawFrame, type VideoSourceOptions } from './video-source.js';

export const DEMO_FPS = 25;
/** Frames each photo is shown for: one full pan/zoom cycle, so every photo loops seamlessly. */
export const DEMO_FRAMES_PER_PHOTO = 200;

/** Group photos shipped inside the installed @vladmandic/face-api package (MIT). */
export function demoPhotos(): string[] {
  const dir = path.join(packageDir('@vladmandic/face-api'), 'demo');
  return [1, 2, 3, 4, 5, 6].map((i) => path.join(dir, `sample${i}.jpg`));
}

/**
 * The camera-free default stream: each photo is cropped to 16:9 and animated by FFmpeg's
 * zoompan (slow zoom and a sideways pan) into a 1280×720 25 fps clip, so faces move and change
 * size like in a live scene.
 */
export function demoFilter(): string {
  const d = DEMO_FRAMES_PER_PHOTO;
  const phase = `(2*PI*on/${d})`;
  return [
    'scale=1280:720:force_original_aspect_ratio=increase',
    // Keep the upper part of portrait-ish photos, where the faces are.
    'crop=1280:720:(iw-1280)/2:(ih-720)/4',
    `zoompan=z='1.25+0.2*sin(${phase})':x='(iw-iw/zoom)*(0.5+0.45*sin(${phase}))':y='(ih-ih/zoom)*(0.5+0.3*cos(${phase}))':d=${d}:s=1280x720:fps=${DEMO_FPS}`,
  ].join(',');
}

async function decodeStill(file: string): Promise<Frame> {
  const input = await Demuxer.open(file);
  try {
    const stream = input.video();
    if (!stream) throw new SourceError(ErrorCodes.SOURCE_NO_VIDEO, `demo photo has no image: ${file}`);
    const decoder = await Decoder.create(stream);
    try {
      for await (const frame of decoder.frames(input.packets(stream.index))) {
        if (frame) return frame;
      }
    } finally {
      decoder.close();
    }
    throw new SourceError(ErrorCodes.DECODE, `demo photo could not be decoded: ${file}`);
  } finally {
    await input.close();
  }
}

export async function* readDemo(opts: VideoSourceOptions): AsyncGenerator<RawFrame> {
  const pacer = opts.realtime ? new Pacer() : undefined;
  const sampler = opts.sampleFps !== undefined ? new PtsSampler(opts.sampleFps) : undefined;
  const photos = demoPhotos();
  let n = 0;
  do {
    for (const file of photos) {
      const still = await decodeStill(file);
      const animate = FilterAPI.create(demoFilter(), {});
      const toRgb = FilterAPI.create(analysisFilter(opts.maxWidth), {});
      try {
        await animate.process(still);
        let t0 = performance.now();
        let anim: Frame | null;
        while ((anim = (await animate.receive()) ?? null)) {
          if (sampler && !sampler.keep(n / DEMO_FPS)) {
            anim.free();
            n++;
            opts.onSkipped?.();
            continue;
          }
          let out: Frame | null = null;
          try {
            await toRgb.process(anim);
            out = (await toRgb.receive()) ?? null;
          } finally {
            anim.free();
          }
          if (!out) continue;
          const rgb = takeRgbFrame(out, { pts: n / DEMO_FPS, index: n, sourceWidth: 1280, sourceHeight: 720, startedAt: t0 });
          n++;
          if (pacer) await pacer.wait(rgb.pts, opts.signal);
          if (opts.signal?.aborted) return;
          yield rgb;
          t0 = performance.now();
        }
      } finally {
        still.free();
        animate.close();
        toRgb.close();
      }
    }
  } while (opts.loop && !opts.signal?.aborted);
}
