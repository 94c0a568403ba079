import { existsSync, statSync } from 'node:fs';
import { Decoder, Demuxer, FilterAPI } from 'node-av/api';
import { avGetCodecName } from 'node-av/lib';
import type { Frame, Stream } from 'node-av/lib';
import { DecodeError, ErrorCodes, SourceError } from '../core/errors.js';
import { Pacer } from './pacer.js';
import type { SourceSpec } from './source-url.js';

export interface RawFrame {
  /** Stream time in seconds (monotonic across loops). */
  readonly pts: number;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Seconds spent in demux + decode + scale for this frame. */
  readonly decodeSeconds: number;
}

export interface VideoSourceOptions {
  readonly realtime: boolean;
  readonly loop: boolean;
  /** FFmpeg scales frames down to at most this width (never up). */
  readonly maxWidth: number;
  readonly signal?: AbortSignal;
  readonly rtspTransport?: 'tcp' | 'udp';
  /**
   * RTSP socket I/O timeout (connect, each reply, each read); default 10 000. It is also the only
   * bound on a blocked *open*: node-av wires `signal` to reads, not to avformat_open_input.
   */
  readonly rtspTimeoutMs?: number;
}

/** FFmpeg does the scaling and RGB conversion; JS only copies the finished plane out. */
export function analysisFilter(maxWidth: number): string {
  return `scale=w='min(iw,${maxWidth})':h=-2:flags=bilinear,format=rgb24`;
}

async function openDemuxer(spec: SourceSpec & { kind: 'file' | 'rtsp' }, opts: VideoSourceOptions): Promise<Demuxer> {
  if (spec.kind === 'file') {
    if (!existsSync(spec.path)) throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `file not found: ${spec.path}`);
    if (!statSync(spec.path).isFile()) throw new SourceError(ErrorCodes.SOURCE_OPEN, `not a regular file: ${spec.path}`);
  }
  const target = spec.kind === 'file' ? spec.path : spec.url;
  try {
    const options: Record<string, string> =
      spec.kind === 'rtsp'
        ? { rtsp_transport: opts.rtspTransport ?? 'tcp', timeout: String(Math.round((opts.rtspTimeoutMs ?? 10_000) * 1000)) }
        : {};
    return await Demuxer.open(target, { options, ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    const what = spec.kind === 'file' ? 'not a readable media file' : 'cannot connect';
    throw new SourceError(ErrorCodes.SOURCE_OPEN, `${what}: ${(err as Error).message}`, { cause: err });
  }
}

async function openDecoder(stream: Stream): Promise<Decoder> {
  const codec = avGetCodecName(stream.codecpar.codecId) ?? `codec id ${String(stream.codecpar.codecId)}`;
  try {
    return await Decoder.create(stream);
  } catch (err) {
    throw new SourceError(ErrorCodes.UNSUPPORTED_CODEC, `no decoder for video codec ${codec}: ${(err as Error).message}`, { cause: err, context: { codec } });
  }
}

/**
 * Demuxes, decodes and scales a file or RTSP source into owned RGB frames. Every native object
 * (demuxer, decoder, filter graph, AVFrame) is released in `finally`, on every exit path.
 */
export async function* readVideo(spec: SourceSpec & { kind: 'file' | 'rtsp' }, opts: VideoSourceOptions): AsyncGenerator<RawFrame> {
  const pacer = opts.realtime ? new Pacer() : undefined;
  let loopOffset = 0;
  for (let pass = 0; ; pass++) {
    const input = await openDemuxer(spec, opts);
    let decoder: Decoder | undefined;
    let filter: FilterAPI | undefined;
    let lastPts = 0;
    let frames = 0;
    try {
      const stream = input.video();
      if (!stream) throw new SourceError(ErrorCodes.SOURCE_NO_VIDEO, 'the source has no video stream');
      decoder = await openDecoder(stream);
      filter = FilterAPI.create(analysisFilter(opts.maxWidth), {});
      const tb = stream.timeBase;
      const fps = stream.avgFrameRate.den > 0 && stream.avgFrameRate.num > 0 ? stream.avgFrameRate.num / stream.avgFrameRate.den : 25;
      let firstPts: number | undefined;
      let t0 = performance.now();
      const packets = input.packets(stream.index);
      try {
        for await (const frame of decoder.frames(packets)) {
          if (opts.signal?.aborted) return;
          if (!frame) break;
          let ptsSec: number;
          try {
            const raw = frame.pts;
            // Missing timestamps (AV_NOPTS_VALUE) fall back to the nominal frame rate.
            ptsSec = raw < -(2n ** 62n) ? frames / fps : (Number(raw) * tb.num) / tb.den;
            await filter.process(frame);
          } finally {
            frame.free();
          }
          let out: Frame | null;
          while ((out = (await filter.receive()) ?? null)) {
            let rgb: RawFrame;
            try {
              firstPts ??= ptsSec;
              const pts = loopOffset + (ptsSec - firstPts);
              rgb = {
                pts,
                sourceWidth: stream.codecpar.width,
                sourceHeight: stream.codecpar.height,
                data: new Uint8Array(out.toBuffer()),
                width: out.width,
                height: out.height,
                decodeSeconds: (performance.now() - t0) / 1000,
              };
            } finally {
              out.free();
            }
            lastPts = rgb.pts;
            frames++;
            if (pacer) await pacer.wait(rgb.pts, opts.signal);
            yield rgb;
            t0 = performance.now();
          }
        }
      } catch (err) {
        if (opts.signal?.aborted) return;
        if (err instanceof SourceError || err instanceof DecodeError) throw err;
        throw new DecodeError(ErrorCodes.DECODE, `decoding failed after ${frames} frames: ${(err as Error).message}`, { cause: err });
      }
      if (frames === 0 && !opts.signal?.aborted) {
        throw new DecodeError(ErrorCodes.DECODE, 'no video frame could be decoded (truncated or corrupt file?)');
      }
      loopOffset = lastPts + 1 / fps;
    } finally {
      filter?.close();
      decoder?.close();
      await input.close();
    }
    if (!opts.loop || spec.kind === 'rtsp' || opts.signal?.aborted) return;
  }
}
