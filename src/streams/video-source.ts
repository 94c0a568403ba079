import { FilterAPI } from 'node-av/api';
import { AV_CODEC_ID_MJPEG, AVMEDIA_TYPE_VIDEO } from 'node-av/constants';
import type { Frame } from 'node-av/lib';
import { DecodeError, ErrorCodes, SourceError } from '../core/errors.js';
import { PtsSampler } from '../core/pts-sampler.js';
import type { AvInput } from './av-input.js';
import { decodeImage, readImageBytes } from './decode-image.js';
import { openFileInput, resolveFileSource } from './file-input.js';
import { FrameDecoder } from './frame-decoder.js';
import type { DecoderReport, HwaccelMode, HwDeviceOpener } from './hw-device.js';
import { Pacer } from './pacer.js';
import type { PushChannel } from './push-source.js';
import { tapPackets } from './packet-tap.js';
import { openRtspInput } from './rtsp-input.js';
import type { SourceSpec } from './source-url.js';
import type { PacketSink } from './video-recorder.js';

/**
 * Largest frame a source may declare or decode, in pixels: 4096×3072 (12.6 MP). That covers 4K UHD
 * (3840×2160) and DCI 4K (4096×2160) cameras and 12 MP 4:3 sensors; one such frame is ≈ 19 MB in
 * YUV 4:2:0 and ≈ 38 MB as RGB, so a stream's few frames in flight stay well under 200 MB. A
 * 16000×16000 PNG (256 MP, ≈ 1 GB decoded) is refused before anything is allocated.
 */
export const DEFAULT_MAX_SOURCE_PIXELS = 4096 * 3072;
/** A run of undecodable packets this long fails the source (corruption, not a glitch). */
export const DEFAULT_MAX_CONSECUTIVE_DECODE_ERRORS = 25;

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
  /**
   * File sources only: every open (the first and each loop) resolves the real path (symlinks
   * followed) and refuses it with VA_ERR_SOURCE_FORBIDDEN unless it lies under one of these roots.
   */
  readonly fileRoots?: readonly string[];
  /** Let playlist-like demuxers (HLS, DASH, concat …) run; they may read outside `fileRoots`. Default false. */
  readonly allowNestedFormats?: boolean;
  /** Frames larger than this (declared or decoded) are refused; default DEFAULT_MAX_SOURCE_PIXELS. */
  readonly maxSourcePixels?: number;
  /** Undecodable packets in a row before the source fails; default 25. */
  readonly maxConsecutiveDecodeErrors?: number;
  /** Each packet skipped as undecodable (the supervisor counts them in va_decode_errors_total). */
  readonly onDecodeError?: (err: DecodeError) => void;
  /** Decoder and filter threads: 0 = FFmpeg's choice (all cores), 1 = single-threaded. Default 1. */
  readonly decodeThreads?: number;
  /** Decode on a hardware device (analysis.hwaccel); default `none`. Unusable hardware falls back to software. */
  readonly hwaccel?: HwaccelMode;
  /** The decoder each open uses (and why not the hardware asked for), once per open. */
  readonly onDecoder?: (report: DecoderReport) => void;
  /** Opens hardware devices: a seam for tests (default: FFmpeg's av_hwdevice_ctx_create). */
  readonly openHwDevice?: HwDeviceOpener;
  /** `push:` sources only: the daemon's channels, one per connected ingest client. */
  readonly pushChannels?: { get(name: string): PushChannel | undefined };
  /** Sees every open, every video packet as received and every decoded frame's timestamps (recordings). */
  readonly packetTap?: PacketSink;
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
      data: ownedBytes(out.toBuffer()),
      width: out.width,
      height: out.height,
      decodeSeconds: (performance.now() - meta.startedAt) / 1000,
    };
  } finally {
    out.free();
  }
}

/** toBuffer() already returns a fresh copy: view it as a plain Uint8Array instead of copying twice. */
function ownedBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * FFmpeg does the scaling and RGB conversion; JS only copies the finished plane out. The graph's
 * frames come from FFmpeg's buffer pool with rows padded to a multiple of 64 bytes, which swscale's
 * block-wise YUV→RGB24 path needs to convert the last columns of a width ≢ 0 (mod 16)
 * (rgb-edge-columns.test.ts; decodeImage allocates its own frame the same way).
 */
export function analysisFilter(maxWidth: number): string {
  // Only frames wider than maxWidth are scaled (to an even height); smaller ones keep their exact
  // size, so a still of odd height is not resampled.
  return `scale=w='min(iw,${maxWidth})':h='if(gt(iw,${maxWidth}),-2,ih)':flags=bilinear,format=rgb24`;
}

async function openInput(spec: SourceSpec & { kind: 'file' | 'rtsp' }, opts: VideoSourceOptions, maxPixels: number): Promise<AvInput> {
  if (spec.kind === 'file') {
    return openFileInput(spec.path, {
      maxPixels,
      checkImageSize: ({ width, height }) => {
        if (width * height > maxPixels) throw tooLarge(width, height, maxPixels);
      },
      checkDeclared: (streams) => {
        for (const st of streams) {
          const { width, height } = st.codecpar;
          if (st.codecpar.codecType === AVMEDIA_TYPE_VIDEO && width * height > maxPixels) throw tooLarge(width, height, maxPixels);
        }
      },
      ...(opts.fileRoots ? { fileRoots: opts.fileRoots } : {}),
      ...(opts.allowNestedFormats ? { allowNestedFormats: true } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }
  return openRtspInput(spec.url, {
    transport: opts.rtspTransport ?? 'tcp',
    timeoutMs: opts.rtspTimeoutMs ?? 10_000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

function tooLarge(width: number, height: number, maxPixels: number): SourceError {
  return new SourceError(
    ErrorCodes.SOURCE_TOO_LARGE,
    `the source's frames are ${width}×${height} (${(width * height / 1e6).toFixed(1)} MP), over the limit of ${(maxPixels / 1e6).toFixed(1)} MP (analysis.maxSourcePixels)`,
    { context: { width, height, maxPixels } },
  );
}

/** Demuxers of a file holding one image. */
const STILL_FORMATS = new Set(['image2', 'jpeg_pipe']);

/**
 * A JPEG still's frame with PIL's pixels (the seed decodes stills with PIL; decode-jpeg-pil.ts)
 * when it kept its size; one scaled down to analysis.maxWidth keeps FFmpeg's scaler's.
 */
async function asPilDecoded(frame: RawFrame, file: string, fileRoots: readonly string[] | undefined): Promise<RawFrame> {
  if (frame.width !== frame.sourceWidth || frame.height !== frame.sourceHeight) return frame;
  const bytes = await readImageBytes(resolveFileSource(file, fileRoots));
  const pil = decodeImage(bytes, file, { jpeg: 'pil' });
  return pil.width === frame.width && pil.height === frame.height ? { ...frame, data: pil.data } : frame;
}

/**
 * Demuxes, decodes and scales a file or RTSP source into owned RGB frames. Every native object
 * (input, decoder, filter graph, AVFrame) is released in `finally`, on every exit path.
 */
export async function* readVideo(spec: SourceSpec & { kind: 'file' | 'rtsp' }, opts: VideoSourceOptions): AsyncGenerator<RawFrame> {
  const pacer = opts.realtime ? new Pacer() : undefined;
  const sampler = opts.sampleFps !== undefined ? new PtsSampler(opts.sampleFps) : undefined;
  const maxPixels = opts.maxSourcePixels ?? DEFAULT_MAX_SOURCE_PIXELS;
  const threads = opts.decodeThreads ?? 1;
  let loopOffset = 0;
  let index = 0;
  for (let pass = 0; ; pass++) {
    const input = await openInput(spec, opts, maxPixels);
    let decoder: FrameDecoder | undefined;
    let filter: FilterAPI | undefined;
    let lastPts = 0;
    let frames = 0;
    try {
      const stream = input.video();
      if (!stream) throw new SourceError(ErrorCodes.SOURCE_NO_VIDEO, 'the source has no video stream');
      const sourceWidth = stream.codecpar.width;
      const sourceHeight = stream.codecpar.height;
      const stillJpeg = spec.kind === 'file' && stream.codecpar.codecId === AV_CODEC_ID_MJPEG && STILL_FORMATS.has(input.formatName);
      // The declared size, before a decoder exists; the decoder's max_pixels catches a header that lies.
      if (sourceWidth * sourceHeight > maxPixels) throw tooLarge(sourceWidth, sourceHeight, maxPixels);
      decoder = await FrameDecoder.open(stream, {
        threads,
        maxPixels,
        maxConsecutiveErrors: opts.maxConsecutiveDecodeErrors ?? DEFAULT_MAX_CONSECUTIVE_DECODE_ERRORS,
        ...(opts.onDecodeError ? { onError: opts.onDecodeError } : {}),
        ...(opts.hwaccel ? { hwaccel: opts.hwaccel } : {}),
        ...(opts.openHwDevice ? { openHwDevice: opts.openHwDevice } : {}),
        ...(opts.onDecoder ? { onReport: opts.onDecoder } : {}),
      });
      filter = FilterAPI.create(analysisFilter(opts.maxWidth), { threads });
      const tb = stream.timeBase;
      const fps = stream.avgFrameRate.den > 0 && stream.avgFrameRate.num > 0 ? stream.avgFrameRate.num / stream.avgFrameRate.den : 25;
      let firstPts: number | undefined;
      let t0 = performance.now();
      const tap = opts.packetTap;
      tap?.beginPass(stream);
      const packets = tap ? tapPackets(input.packets(stream.index), tap) : input.packets(stream.index);
      try {
        for await (const frame of decoder.frames(packets)) {
          if (opts.signal?.aborted) return;
          const raw = frame.bestEffortTimestamp;
          // Missing timestamps (AV_NOPTS_VALUE) fall back to the nominal frame rate.
          const ptsSec = raw < -(2n ** 62n) ? frames / fps : (Number(raw) * tb.num) / tb.den;
          firstPts ??= ptsSec;
          const pts = loopOffset + (ptsSec - firstPts);
          frames++;
          lastPts = pts;
          tap?.frame(raw, pts, index);
          if (sampler && !sampler.keep(pts)) {
            index++;
            opts.onSkipped?.();
            continue;
          }
          await filter.process(frame);
          let out: Frame | null;
          // process() pushed the frame through the graph (scaling ran off the event loop); taking
          // the result from the sink is a cheap synchronous call.
          while ((out = filter.receiveSync() ?? null)) {
            const rgb = takeRgbFrame(out, {
              pts,
              index: index++,
              sourceWidth: sourceWidth || frame.width,
              sourceHeight: sourceHeight || frame.height,
              startedAt: t0,
            });
            if (pacer) await pacer.wait(rgb.pts, opts.signal);
            yield stillJpeg && frames === 1 && spec.kind === 'file' ? await asPilDecoded(rgb, spec.path, opts.fileRoots) : rgb;
            t0 = performance.now();
          }
        }
      } catch (err) {
        if (opts.signal?.aborted) return;
        if (err instanceof SourceError || err instanceof DecodeError) throw err;
        throw new DecodeError(ErrorCodes.DECODE, `decoding failed after ${frames} frames: ${(err as Error).message}`, { cause: err });
      }
      if (frames === 0 && !opts.signal?.aborted) {
        // A frame over max_pixels fails in the decoder; say so when the size is what was refused.
        if (decoder.errors > 0 && decoder.oversized) throw tooLarge(decoder.oversized.width, decoder.oversized.height, maxPixels);
        const why = decoder.lastErrorMessage ? `: ${decoder.lastErrorMessage}` : '';
        // A size known only by decoding and refused by max_pixels also ends here.
        const unknownSize = sourceWidth * sourceHeight === 0 ? ', or frames over analysis.maxSourcePixels' : '';
        throw new DecodeError(ErrorCodes.DECODE, `no video frame could be decoded (truncated or corrupt file${unknownSize}?)${why}`);
      }
      loopOffset = lastPts + 1 / fps;
    } finally {
      opts.packetTap?.endPass();
      filter?.close();
      decoder?.close();
      await input.close();
    }
    if (!opts.loop || spec.kind === 'rtsp' || opts.signal?.aborted) return;
  }
}
