import { AVERROR_EAGAIN, AVERROR_EOF } from 'node-av/constants';
import { Codec, CodecContext, Dictionary, FFmpegError, Frame, avGetCodecName } from 'node-av/lib';
import type { Packet, Stream } from 'node-av/lib';
import { DecodeError, ErrorCodes, SourceError } from '../core/errors.js';
import './ffmpeg-log.js';
import { chooseHwDecoder, openFfmpegHwDevice, type DecoderReport, type HwaccelMode, type HwDevice, type HwDeviceOpener, type HwFallbackReason } from './hw-device.js';

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
  /** Decode on a hardware device (`none`, the default: software). Unusable hardware falls back to software. */
  readonly hwaccel?: HwaccelMode;
  /** Opens hardware devices; tests inject one. */
  readonly openHwDevice?: HwDeviceOpener;
  /**
   * The decoder this open uses, once: at open for software, at the first frame with a device
   * (only a frame tells whether the decoder used it).
   */
  readonly onReport?: (report: DecoderReport) => void;
}

/** A device the decoder was opened with, until its first frame says whether it was used. */
interface Hardware {
  readonly device: HwDevice;
  readonly requested: HwaccelMode;
  readonly codec: string;
  reported: boolean;
}

/**
 * A video decoder on FFmpeg's send/receive API that survives corrupt packets the way the ffmpeg
 * command line does: an undecodable packet is reported and skipped, and decoding fails only after
 * `maxConsecutiveErrors` of them in a row. (node-av's Decoder either throws on the first error or
 * drops errors silently.) Owns one CodecContext, one reused Frame (two when frames are downloaded
 * from a hardware device) and the device; `close()` frees them all.
 */
export class FrameDecoder {
  private readonly frame = new Frame();
  private readonly downloaded: Frame | undefined;
  private consecutive = 0;
  private total = 0;
  private lastError: string | undefined;
  private closed = false;

  private constructor(
    private readonly ctx: CodecContext,
    readonly codecName: string,
    private readonly o: FrameDecoderOptions,
    private readonly hw?: Hardware,
  ) {
    this.frame.alloc();
    if (hw) {
      this.downloaded = new Frame();
      this.downloaded.alloc();
    }
  }

  static async open(stream: Stream, o: FrameDecoderOptions): Promise<FrameDecoder> {
    const codecName = avGetCodecName(stream.codecpar.codecId) ?? `codec id ${String(stream.codecpar.codecId)}`;
    const codec = Codec.findDecoder(stream.codecpar.codecId);
    if (!codec) throw new SourceError(ErrorCodes.UNSUPPORTED_CODEC, `no decoder for video codec ${codecName}`, { context: { codec: codecName } });
    const requested = o.hwaccel ?? 'none';
    let fallback: { reason: HwFallbackReason; message: string } | undefined;
    if (requested !== 'none') {
      const choice = chooseHwDecoder(requested, stream.codecpar.codecId, codecName, o.openHwDevice ?? openFfmpegHwDevice);
      if (choice.device) {
        try {
          const ctx = await openContext(stream, choice.codec, o, choice.device);
          return new FrameDecoder(ctx, codecName, o, { device: choice.device, requested, codec: choice.codec.name ?? codecName, reported: false });
        } catch (err) {
          choice.device.close();
          fallback = { reason: 'decoder-open-failed', message: `the ${choice.device.type} decoder ${choice.codec.name} did not open: ${(err as Error).message}` };
        }
      } else fallback = choice.fallback;
    }
    let ctx: CodecContext;
    try {
      ctx = await openContext(stream, codec, o);
    } catch (err) {
      throw new SourceError(ErrorCodes.UNSUPPORTED_CODEC, `cannot open a decoder for video codec ${codecName}: ${(err as Error).message}`, {
        cause: err,
        context: { codec: codecName },
      });
    }
    o.onReport?.({ requested, decoder: 'software', codec: codec.name ?? codecName, ...(fallback ? { fallback } : {}) });
    return new FrameDecoder(ctx, codecName, o);
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
      // The filter graph's buffer source is configured from the first frame's time base.
      this.frame.timeBase = this.ctx.pktTimebase;
      try {
        const out = this.hw ? this.download() : this.frame;
        if (!out) continue;
        this.consecutive = 0;
        yield out;
      } finally {
        this.downloaded?.unref();
        this.frame.unref();
      }
    }
  }

  /**
   * A hardware frame copied to system memory in a format of the device's choosing (NV12 for the
   * common 8-bit 4:2:0 case): the analysis filter converts it to RGB like any decoded frame. A
   * software frame passes as it is. The first frame tells whether the device was used.
   */
  private download(): Frame | undefined {
    const hw = this.hw!;
    const onDevice = this.frame.isHwFrame();
    if (!hw.reported) {
      hw.reported = true;
      this.o.onReport?.(
        onDevice
          ? { requested: hw.requested, decoder: hw.device.type, codec: hw.codec }
          : {
              requested: hw.requested,
              decoder: 'software',
              codec: hw.codec,
              fallback: { reason: 'decoder-declined', message: `the ${hw.codec} decoder opened with the ${hw.device.type} device and produced software frames` },
            },
      );
    }
    if (!onDevice) return this.frame;
    const out = this.downloaded!;
    const ret = this.frame.hwframeTransferDataSync(out, 0);
    if (ret < 0) {
      this.skip(ret, 'frame');
      return undefined;
    }
    out.copyProps(this.frame);
    out.timeBase = this.ctx.pktTimebase;
    return out;
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
    this.downloaded?.free();
    // The decoder holds its own reference to the device: free it first, then ours.
    this.ctx.freeContext();
    this.hw?.device.close();
  }
}

/** A configured, opened decoder context; freed (with nothing else) if it does not open. */
async function openContext(stream: Stream, codec: Codec, o: FrameDecoderOptions, device?: HwDevice): Promise<CodecContext> {
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  const dict = Dictionary.fromObject({ max_pixels: String(o.maxPixels) });
  try {
    FFmpegError.throwIfError(ctx.parametersToContext(stream.codecpar), 'Failed to copy codec parameters');
    ctx.pktTimebase = stream.timeBase;
    ctx.threadCount = o.threads;
    // FFmpeg's default get_format picks the device's pixel format when the decoder offers it, and
    // software when the hwaccel fails to initialise: that case is reported as decoder-declined.
    device?.attach(ctx);
    FFmpegError.throwIfError(await ctx.open2(codec, dict), 'Failed to open decoder');
    return ctx;
  } catch (err) {
    ctx.freeContext();
    throw err;
  } finally {
    dict.free();
  }
}
