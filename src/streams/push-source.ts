/**
 * Frames pushed by a client instead of pulled from a camera or file: the ingest WebSocket
 * (`/v1/ingest/{id}`, transport/ingest-socket.ts) puts each binary message, one JPEG, into the
 * stream's PushChannel, and `readPush` decodes them into the same RawFrames every other source
 * yields, so the pipeline cannot tell a browser's webcam from an RTSP camera.
 *
 * Every frame is hostile: it is sniffed (JPEG only), its declared size is read from the frame
 * header and bounded before a decoder exists, and a damaged one is refused rather than concealed
 * (decodeImage). A refused frame is reported and skipped; no frame ends the stream.
 *
 * The channel holds at most `capacity` undecoded frames: a client that sends faster than the
 * pipeline decodes loses its oldest frames (counted as `busy`), it never queues memory.
 */
import { DecodeError, ErrorCodes, SourceError } from '../core/errors.js';
import { PtsSampler } from '../core/pts-sampler.js';
import { decodeImageAsync, scaledSize, sniffImageCodec } from './decode-image.js';
import { DEFAULT_MAX_SOURCE_PIXELS, type RawFrame, type VideoSourceOptions } from './video-source.js';

/** Why a pushed frame was not analysed. */
export type PushRefusal = 'busy' | 'undecodable' | 'too_large';

export interface PushedFrame {
  readonly bytes: Uint8Array;
  /** The frame's number on its connection, from 0 (refused frames count too), so a client can match results to what it sent. */
  readonly index: number;
  /** performance.now() when it arrived: the stream's clock. */
  readonly arrivedAtMs: number;
}

export interface PushChannelHooks {
  /** A frame was dropped (busy) or refused (undecodable, too large); `error` says why for the latter. */
  readonly onRefused?: (reason: PushRefusal, index: number, error?: DecodeError) => void;
}

/** Frames waiting to be decoded, by default: one being decoded is not here, so a client is at most two frames ahead. */
export const DEFAULT_PUSH_CAPACITY = 2;

export class PushChannel {
  private readonly pending: PushedFrame[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private reading = false;

  constructor(
    readonly name: string,
    private readonly hooks: PushChannelHooks = {},
    private readonly capacity = DEFAULT_PUSH_CAPACITY,
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  /** Queues a frame; the oldest waiting one is dropped (busy) when the channel is full. */
  push(frame: PushedFrame): void {
    if (this.ended) return;
    this.pending.push(frame);
    while (this.pending.length > this.capacity) this.refused('busy', this.pending.shift()!.index);
    this.wake?.();
  }

  /** No more frames: the reader finishes once it has taken what is queued (it is dropped, the client is gone). */
  end(): void {
    this.ended = true;
    this.pending.length = 0;
    this.wake?.();
  }

  refused(reason: PushRefusal, index: number, error?: DecodeError): void {
    this.hooks.onRefused?.(reason, index, error);
  }

  /** The next frame, or undefined once the channel ended or `signal` aborted. */
  async next(signal?: AbortSignal): Promise<PushedFrame | undefined> {
    for (;;) {
      if (this.ended || signal?.aborted) return undefined;
      const f = this.pending.shift();
      if (f) return f;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal?.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** One reader at a time (a restart's new run takes over once the old one let go). */
  attach(): void {
    if (this.reading) throw new SourceError(ErrorCodes.CONFLICT, `push:${this.name} already has a reader`);
    this.reading = true;
  }

  detach(): void {
    this.reading = false;
  }
}

/** The channels of the streams clients are pushing to, by stream id. */
export class PushChannels {
  private readonly channels = new Map<string, PushChannel>();

  /** A new channel, or undefined when `name` already has one. */
  open(name: string, hooks: PushChannelHooks = {}, capacity = DEFAULT_PUSH_CAPACITY): PushChannel | undefined {
    if (this.channels.has(name)) return undefined;
    const c = new PushChannel(name, hooks, capacity);
    this.channels.set(name, c);
    return c;
  }

  get(name: string): PushChannel | undefined {
    return this.channels.get(name);
  }

  /** Ends and forgets `name`'s channel (if it is still `channel`, when given). */
  close(name: string, channel?: PushChannel): void {
    const c = this.channels.get(name);
    if (!c || (channel && c !== channel)) return;
    c.end();
    this.channels.delete(name);
  }
}

/**
 * A JPEG frame header's size (SOF0–SOF15 except DHT, JPG and DAC), found by walking the segments
 * before the first scan; undefined when there is none.
 */
export function jpegFrameSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 3 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 8 >= bytes.length) return undefined;
      return { height: (bytes[i + 5]! << 8) | bytes[i + 6]!, width: (bytes[i + 7]! << 8) | bytes[i + 8]! };
    }
    i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
  return undefined;
}

/**
 * One pushed JPEG to RGB at most `maxWidth` wide, decoded on libuv's thread pool (a hostile client's
 * frames must not hold the event loop the other streams share); DecodeError (VA_ERR_DECODE or
 * VA_ERR_SOURCE_TOO_LARGE) if refused.
 */
export async function decodePushed(bytes: Uint8Array, index: number, opts: { readonly maxPixels: number; readonly maxWidth: number }) {
  const name = `pushed frame ${index}`;
  if (sniffImageCodec(bytes) !== 'jpeg') throw new DecodeError(ErrorCodes.DECODE, `${name}: not a JPEG (send each frame as one complete JPEG)`);
  const size = jpegFrameSize(bytes);
  if (!size || size.width === 0 || size.height === 0) throw new DecodeError(ErrorCodes.DECODE, `${name}: no JPEG frame header with a size`);
  if (size.width * size.height > opts.maxPixels) {
    throw new DecodeError(
      ErrorCodes.SOURCE_TOO_LARGE,
      `${name}: ${size.width}×${size.height} is over the limit of ${opts.maxPixels} pixels (ingest.maxPixels)`,
      { context: { ...size, maxPixels: opts.maxPixels } },
    );
  }
  const rgb = await decodeImageAsync(bytes, name, { maxWidth: opts.maxWidth });
  // The decoded size is the header's (a second SOF could not change it: decodeImage decodes one frame).
  const [w, h] = scaledSize(size.width, size.height, opts.maxWidth);
  if (rgb.width !== w || rgb.height !== h) throw new DecodeError(ErrorCodes.DECODE, `${name}: decoded ${rgb.width}×${rgb.height}, but its header says ${size.width}×${size.height}`);
  return { ...rgb, sourceWidth: size.width, sourceHeight: size.height };
}

/**
 * A push stream's frames: decoded as they arrive (already live: no pacing), timed by arrival.
 * Ends when the channel ends (the client went) or the signal aborts.
 */
export async function* readPush(channel: PushChannel | undefined, name: string, opts: VideoSourceOptions): AsyncGenerator<RawFrame> {
  if (!channel || channel.isEnded) {
    throw new SourceError(ErrorCodes.SOURCE_NOT_FOUND, `no client is pushing frames to push:${name} (push streams exist while a client is connected to /v1/ingest/${name})`);
  }
  const maxPixels = opts.maxSourcePixels ?? DEFAULT_MAX_SOURCE_PIXELS;
  const sampler = opts.sampleFps !== undefined ? new PtsSampler(opts.sampleFps) : undefined;
  let firstAt: number | undefined;
  channel.attach();
  try {
    for (;;) {
      const f = await channel.next(opts.signal);
      if (!f) return;
      firstAt ??= f.arrivedAtMs;
      const pts = (f.arrivedAtMs - firstAt) / 1000;
      if (sampler && !sampler.keep(pts)) {
        opts.onSkipped?.();
        continue;
      }
      const t0 = performance.now();
      let img: Awaited<ReturnType<typeof decodePushed>>;
      try {
        img = await decodePushed(f.bytes, f.index, { maxPixels, maxWidth: opts.maxWidth });
      } catch (err) {
        const e = err instanceof DecodeError ? err : new DecodeError(ErrorCodes.DECODE, `pushed frame ${f.index}: ${(err as Error).message}`, { cause: err });
        channel.refused(e.code === ErrorCodes.SOURCE_TOO_LARGE ? 'too_large' : 'undecodable', f.index, e);
        opts.onDecodeError?.(e);
        continue;
      }
      yield {
        pts,
        index: f.index,
        sourceWidth: img.sourceWidth,
        sourceHeight: img.sourceHeight,
        data: img.data,
        width: img.width,
        height: img.height,
        decodeSeconds: (performance.now() - t0) / 1000,
      };
    }
  } finally {
    channel.detach();
  }
}
