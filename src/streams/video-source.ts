import { existsSync, statSync } from 'node:fs';
import { Decoder, Demuxer, FilterAPI } from 'node-av/api';
import { AVERROR_EAGAIN, AVERROR_EOF, AVERROR_EXIT, AVMEDIA_TYPE_VIDEO } from 'node-av/constants';
import { Dictionary, FFmpegError, FormatContext, Packet, avGetCodecName } from 'node-av/lib';
import type { Frame, Stream } from 'node-av/lib';
import { DecodeError, ErrorCodes, SourceError } from '../core/errors.js';
import { PtsSampler } from '../core/pts-sampler.js';
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
  /** Decoded-frame number from 0, counting frames skipped by `sampleFps` (monotonic across loops). */
  readonly index: number;
}

export interface VideoSourceOptions {
  readonly realtime: boolean;
  readonly loop: boolean;
  /** FFmpeg scales frames down to at most this width (never up). */
  readonly maxWidth: number;
  readonly signal?: AbortSignal;
  readonly rtspTransport?: 'tcp' | 'udp';
  /**
   * RTSP socket I/O timeout in ms (connect, each reply, each read); default 10 000. `signal`
   * interrupts opens and reads at once; this bounds them when nobody aborts.
   */
  readonly rtspTimeoutMs?: number;
  /**
   * Frames handed on per second of stream time (analysisFps). The others are dropped right after
   * decoding, before any scaling or copying: with several cameras at a low analysis rate, that
   * conversion would otherwise cost more than the analysis.
   */
  readonly sampleFps?: number;
  readonly onSkipped?: () => void;
}

/**
 * Copies a filtered RGB frame into an owned RawFrame and frees the AVFrame, on every path: the
 * consumer owns the result, node-av's object never leaves this module.
 */
export function takeRgbFrame(out: Frame, meta: { pts: number; index: number; sourceWidth: number; sourceHeight: number; startedAt: number }): RawFrame {
  try {
    return {
      index: meta.index,
      pts: meta.pts,
      sourceWidth: meta.sourceWidth,
      sourceHeight: meta.sourceHeight,
      data: new Uint8Array(out.toBuffer()),
      width: out.width,
      height: out.height,
      decodeSeconds: (performance.now() - meta.startedAt) / 1000,
    };
  } finally {
    out.free();
  }
}

/** FFmpeg does the scaling and RGB conversion; JS only copies the finished plane out. */
export function analysisFilter(maxWidth: number): string {
  // Only frames wider than maxWidth are scaled (to an even height); smaller ones keep their exact
  // size, so a still of odd height is not resampled.
  return `scale=w='min(iw,${maxWidth})':h='if(gt(iw,${maxWidth}),-2,ih)':flags=bilinear,format=rgb24`;
}

/** What readVideo needs from an input: node-av's Demuxer for files, RtspInput for RTSP. */
interface VideoInput {
  video(): Stream | undefined;
  packets(index: number): AsyncGenerator<Packet | null>;
  close(): Promise<void>;
}

/**
 * An RTSP input whose blocking calls an abort really interrupts. node-av 6.1.1's Demuxer.open(url)
 * lets avformat_open_input allocate the context, so node-av's interrupt callback is never
 * installed: FormatContext.interrupt() is a no-op, a silent camera blocks the open until the socket
 * timeout, and a stalled read blocks until data arrives (RTCP keeps the socket timeout from firing).
 * Demuxer.close() then frees the context under the still-blocked read after a 2 s grace: a
 * use-after-free that kills the process (seen here as SIGSEGV). allocContext() before openInput
 * installs the callback; this class also never frees the context while a read is in flight.
 */
class RtspInput implements VideoInput {
  private reading: Promise<number> | undefined;
  private closed = false;

  private constructor(
    private readonly fc: FormatContext,
    private readonly detach: () => void,
  ) {}

  static async open(url: string, options: Record<string, string>, signal?: AbortSignal): Promise<RtspInput> {
    signal?.throwIfAborted();
    const fc = new FormatContext();
    fc.allocContext();
    const onAbort = (): void => fc.interrupt();
    signal?.addEventListener('abort', onAbort, { once: true });
    const detach = (): void => signal?.removeEventListener('abort', onAbort);
    const dict = Dictionary.fromObject(options);
    try {
      FFmpegError.throwIfError(await fc.openInput(url, null, dict), 'Failed to open input');
      FFmpegError.throwIfError(await fc.findStreamInfo(null), 'Failed to find stream info');
      signal?.throwIfAborted();
      return new RtspInput(fc, detach);
    } catch (err) {
      detach();
      await fc.closeInput();
      throw err;
    } finally {
      dict.free();
    }
  }

  video(): Stream | undefined {
    return this.fc.streams.find((s) => s.codecpar.codecType === AVMEDIA_TYPE_VIDEO);
  }

  /** Packets of one stream (the consumer frees each), then null at end of stream, like Demuxer.packets. */
  async *packets(index: number): AsyncGenerator<Packet | null> {
    const pkt = new Packet();
    pkt.alloc();
    const timeBase = this.fc.streams[index]?.timeBase;
    try {
      while (!this.closed) {
        this.reading = this.fc.readFrame(pkt);
        const ret = await this.reading;
        this.reading = undefined;
        if (ret === AVERROR_EAGAIN) {
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        if (ret === AVERROR_EOF || ret === AVERROR_EXIT) break;
        FFmpegError.throwIfError(ret, 'Failed to read RTSP packet');
        if (pkt.streamIndex !== index) {
          pkt.unref();
          continue;
        }
        const out = pkt.clone();
        pkt.unref();
        if (!out) continue;
        if (timeBase) out.timeBase = timeBase;
        yield out;
      }
      yield null;
    } finally {
      pkt.free();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    // Never free the context under a read: interrupt it and wait until it has returned.
    this.fc.interrupt();
    await this.reading?.catch(() => undefined);
    await this.fc.closeInput();
  }
}

async function openInput(spec: SourceSpec & { kind: 'file' | 'rtsp' }, opts: VideoSourceOptions): Promise<VideoInput> {
  if (spec.kind === 'file') {
    if (!existsSync(spec.path)) throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `file not found: ${spec.path}`);
    if (!statSync(spec.path).isFile()) throw new SourceError(ErrorCodes.SOURCE_OPEN, `not a regular file: ${spec.path}`);
  }
  try {
    if (spec.kind === 'file') return await Demuxer.open(spec.path, { ...(opts.signal ? { signal: opts.signal } : {}) });
    const options = { rtsp_transport: opts.rtspTransport ?? 'tcp', timeout: String(Math.round((opts.rtspTimeoutMs ?? 10_000) * 1000)) };
    return await RtspInput.open(spec.url, options, opts.signal);
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
  const sampler = opts.sampleFps !== undefined ? new PtsSampler(opts.sampleFps) : undefined;
  let loopOffset = 0;
  let index = 0;
  for (let pass = 0; ; pass++) {
    const input = await openInput(spec, opts);
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
          let pts: number;
          try {
            const raw = frame.pts;
            // Missing timestamps (AV_NOPTS_VALUE) fall back to the nominal frame rate.
            const ptsSec = raw < -(2n ** 62n) ? frames / fps : (Number(raw) * tb.num) / tb.den;
            firstPts ??= ptsSec;
            pts = loopOffset + (ptsSec - firstPts);
            frames++;
            lastPts = pts;
            if (sampler && !sampler.keep(pts)) {
              index++;
              opts.onSkipped?.();
              continue;
            }
            await filter.process(frame);
          } finally {
            frame.free();
          }
          let out: Frame | null;
          while ((out = (await filter.receive()) ?? null)) {
            const rgb = takeRgbFrame(out, {
              pts,
              index: index++,
              sourceWidth: stream.codecpar.width,
              sourceHeight: stream.codecpar.height,
              startedAt: t0,
            });
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
