import { AVERROR_EAGAIN, AVERROR_EOF } from 'node-av/constants';
import { Codec, CodecContext, Dictionary, FFmpegError, Frame, avGetCodecName } from 'node-av/lib';
import type { Packet, Stream } from 'node-av/lib';
import { DecodeError, ErrorCodes, SourceError } from '../core/errors.js';
import './ffmpeg-log.js';

export interface FrameDecoderOptions {
  /** Decoder threads; 0 = FFmpeg picks (one per core), 1 = single-threaded. */
  readonly threads: number;
  /**
   * FFmpeg's `max_pixels` on the decoder: a frame larger than this is refused before its buffer is
   * allocated, so a stream whose header lies about its size still cannot allocate more.
   */
  readonly maxPixels: number;
  /** Undecodable packets in a row before decoding gives up (a frame in between resets the run). */
  readonly maxConsecutiveErrors: number;
  /** Each packet skipped because it could not be decoded. */
  readonly onError?: (err: DecodeError) => void;
}

/**
 * A video decoder on FFmpeg's send/receive API that survives corrupt packets the way the ffmpeg
 * command line does: an undecodable packet is reported and skipped, and decoding fails only after
 * `maxConsecutiveErrors` of them in a row. (node-av's Decoder either throws on the first error or
 * drops errors silently.) Owns one CodecContext and one reused Frame; `close()` frees both.
 */
export class FrameDecoder {
  private readonly frame = new Frame();
  private consecutive = 0;
  private total = 0;
  private lastError: string | undefined;
  private closed = false;

  private constructor(
    private readonly ctx: CodecContext,
    readonly codecName: string,
    private readonly o: FrameDecoderOptions,
  ) {
    this.frame.alloc();
  }

  static async open(stream: Stream, o: FrameDecoderOptions): Promise<FrameDecoder> {
    const codecName = avGetCodecName(stream.codecpar.codecId) ?? `codec id ${String(stream.codecpar.codecId)}`;
    const codec = Codec.findDecoder(stream.codecpar.codecId);
    if (!codec) throw new SourceError(ErrorCodes.UNSUPPORTED_CODEC, `no decoder for video codec ${codecName}`, { context: { codec: codecName } });
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    const dict = Dictionary.fromObject({ max_pixels: String(o.maxPixels) });
    try {
      FFmpegError.throwIfError(ctx.parametersToContext(stream.codecpar), 'Failed to copy codec parameters');
      ctx.pktTimebase = stream.timeBase;
      ctx.threadCount = o.threads;
      FFmpegError.throwIfError(await ctx.open2(codec, dict), 'Failed to open decoder');
      return new FrameDecoder(ctx, codecName, o);
    } catch (err) {
      ctx.freeContext();
      throw new SourceError(ErrorCodes.UNSUPPORTED_CODEC, `cannot open a decoder for video codec ${codecName}: ${(err as Error).message}`, {
        cause: err,
        context: { codec: codecName },
      });
    } finally {
      dict.free();
    }
  }

  /** Packets skipped as undecodable so far. */
  get errors(): number {
    return this.total;
  }

  /** The size the decoder met when it is over max_pixels (the frame was refused, not decoded). */
  get oversized(): { readonly width: number; readonly height: number } | undefined {
    const { width, height } = this.ctx;
    return width * height > this.o.maxPixels ? { width, height } : undefined;
  }

  /** The last decoder error text, for a failure message. */
  get lastErrorMessage(): string | undefined {
    return this.lastError;
  }

  /**
   * Decoded frames for the packets, drained at the end. Each yielded Frame is lent: it is valid
   * until the consumer asks for the next one, and must not be freed or kept.
   */
  async *frames(packets: AsyncIterable<Packet | null>): AsyncGenerator<Frame> {
    for await (const pkt of packets) {
      if (this.closed) return;
      const sent = await this.ctx.sendPacket(pkt);
      if (sent < 0 && sent !== AVERROR_EOF && sent !== AVERROR_EAGAIN) this.skip(sent, 'packet');
      yield* this.drain();
      if (pkt === null) return;
    }
    // The packet source ended without its null: flush anyway.
    if (this.closed) return;
    await this.ctx.sendPacket(null);
    yield* this.drain();
  }

  private async *drain(): AsyncGenerator<Frame> {
    for (;;) {
      // Single-threaded, all decoding happens in sendPacket and receiving only hands the frame over:
      // a synchronous call saves a thread-pool round trip per frame. With frame threads, receiving
      // may wait for a worker, so it stays off the event loop.
      const ret = this.o.threads === 1 ? this.ctx.receiveFrameSync(this.frame) : await this.ctx.receiveFrame(this.frame);
      if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) return;
      if (ret < 0) {
        this.skip(ret, 'frame');
        continue;
      }
      this.consecutive = 0;
      // The filter graph's buffer source is configured from the first frame's time base.
      this.frame.timeBase = this.ctx.pktTimebase;
      try {
        yield this.frame;
      } finally {
        this.frame.unref();
      }
    }
  }

  private skip(averror: number, what: 'packet' | 'frame'): void {
    this.total++;
    this.consecutive++;
    this.lastError = FFmpegError.strerror(averror);
    const err = new DecodeError(ErrorCodes.DECODE, `skipped an undecodable ${what} (${this.codecName}): ${this.lastError}`, {
      context: { codec: this.codecName, averror, consecutive: this.consecutive },
    });
    this.o.onError?.(err);
    if (this.consecutive > this.o.maxConsecutiveErrors) {
      throw new DecodeError(
        ErrorCodes.DECODE,
        `${this.consecutive} consecutive packets could not be decoded (analysis.maxConsecutiveDecodeErrors is ${this.o.maxConsecutiveErrors}): ${this.lastError}`,
        { context: { codec: this.codecName, errors: this.total } },
      );
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.frame.free();
    this.ctx.freeContext();
  }
}
