import { Decoder, Demuxer, Encoder, FilterAPI, Muxer } from 'node-av/api';
import { Rational, type Frame, type Packet } from 'node-av/lib';
import { demoPhotos } from './demo-source.js';
import './ffmpeg-log.js';

export interface ClipOptions {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly seconds: number;
  /** FFmpeg encoder name: libx264 (mp4/mkv), libvpx-vp9 (webm/mkv), mpeg4 … */
  readonly codec?: string;
}

/**
 * Writes a synthetic clip of a demo photo panned and zoomed by FFmpeg (for benchmarks and
 * format tests) with node-av's encoder and muxer; the container follows the file extension.
 */
export async function writeDemoClip(file: string, o: ClipOptions): Promise<void> {
  const frames = Math.round(o.seconds * o.fps);
  const input = await Demuxer.open(demoPhotos()[0]!);
  const decoder = await Decoder.create(input.video()!);
  let still: Frame | undefined;
  for await (const f of decoder.frames(input.packets(input.video()!.index))) {
    if (f) {
      still = f;
      break;
    }
  }
  decoder.close();
  await input.close();
  if (!still) throw new Error('demo photo could not be decoded');
  const phase = `(2*PI*on/${frames})`;
  const filter = FilterAPI.create(
    [
      `scale=${o.width}:${o.height}:force_original_aspect_ratio=increase`,
      `crop=${o.width}:${o.height}:(iw-${o.width})/2:(ih-${o.height})/4`,
      `zoompan=z='1.2+0.15*sin(${phase})':x='(iw-iw/zoom)*(0.5+0.45*sin(${phase}))':y='(ih-ih/zoom)*0.4':d=${frames}:s=${o.width}x${o.height}:fps=${o.fps}`,
      'format=yuv420p',
    ].join(','),
    {},
  );
  const encoder = await Encoder.create((o.codec ?? 'libx264') as Parameters<typeof Encoder.create>[0], {
    context: { bitRate: '2M', timeBase: new Rational(1, o.fps), framerate: new Rational(o.fps, 1) },
  });
  const output = await Muxer.open(file);
  const index = output.addStream(encoder);
  const drain = async (): Promise<void> => {
    let p: Packet | null;
    while ((p = ((await encoder.receive()) as Packet | null) ?? null) && typeof p === 'object' && 'streamIndex' in p) {
      await output.writePacket(p, index);
      p.free();
    }
  };
  try {
    await filter.process(still);
    let n = 0;
    let f: Frame | null;
    while ((f = (await filter.receive()) ?? null)) {
      try {
        f.pts = BigInt(n++);
        await encoder.encode(f);
      } finally {
        f.free();
      }
      await drain();
    }
    await encoder.flush();
    await drain();
  } finally {
    still.free();
    filter.close();
    await output.close();
    encoder.close();
  }
}
