import { AVERROR_EAGAIN, AVERROR_EOF, AVERROR_EXIT, AVMEDIA_TYPE_VIDEO } from 'node-av/constants';
import { Dictionary, FFmpegError, FormatContext, Packet } from 'node-av/lib';
import type { InputFormat, Stream } from 'node-av/lib';

interface NativeFindStreamInfo {
  findStreamInfo(options: unknown): Promise<number>;
}

/** avformat_find_stream_info with one stream's options (node-av's typed wrapper wants an array it then rejects). */
function findStreamInfoSingle(fc: FormatContext, options: Dictionary): Promise<number> {
  return (fc.getNative() as unknown as NativeFindStreamInfo).findStreamInfo(options.getNative());
}

/** An FFmpeg error code kept next to its message, so callers can map it truthfully. */
export class AvOpenError extends Error {
  constructor(
    readonly averror: number,
    message: string,
  ) {
    super(`${message}: ${FFmpegError.strerror(averror)}`);
  }
}

export interface AvInputOptions {
  /** Force this demuxer (no probing), e.g. the one a file's check accepted. */
  readonly format?: InputFormat | null;
  /** AVFormatContext options (protocol_whitelist, rtsp_transport, timeout …). */
  readonly options?: Record<string, string>;
  /**
   * Options for the decoder find_stream_info may open to learn a stream's size (max_pixels bounds
   * the frame it decodes). Applied to single-stream inputs only: node-av 6.1.1 passes one
   * dictionary where FFmpeg reads one per stream, so with two streams FFmpeg would read past it;
   * multi-stream inputs are probed without decoders instead.
   */
  readonly probeDecoderOptions?: Record<string, string>;
  /** Called after the header is read and before find_stream_info decodes anything; may throw. */
  readonly beforeProbe?: (streams: readonly Stream[]) => void;
  readonly signal?: AbortSignal;
  /**
   * Read packets synchronously: for local files, where demuxing a packet costs less than the
   * thread-pool round trip of an asynchronous read. Never for network inputs, whose reads block.
   */
  readonly syncReads?: boolean;
}

/**
 * A demuxer whose blocking calls an abort really interrupts. node-av 6.1.1's Demuxer.open(url)
 * lets avformat_open_input allocate the context, so node-av's interrupt callback is never
 * installed: FormatContext.interrupt() is a no-op, a silent camera blocks the open until the socket
 * timeout, and a stalled read blocks until data arrives (RTCP keeps the socket timeout from firing).
 * Demuxer.close() then frees the context under the still-blocked read after a 2 s grace: a
 * use-after-free that kills the process (seen here as SIGSEGV). allocContext() before openInput
 * installs the callback; this class also never frees the context while a read is in flight.
 * Opening the context ourselves is also what lets files be opened with a forced, vetted demuxer.
 */
export class AvInput {
  private reading: Promise<number> | undefined;
  private closed = false;

  private constructor(
    private readonly fc: FormatContext,
    private readonly detach: () => void,
    private readonly syncReads: boolean,
  ) {}

  static async open(url: string, o: AvInputOptions = {}): Promise<AvInput> {
    const signal = o.signal;
    signal?.throwIfAborted();
    const fc = new FormatContext();
    fc.allocContext();
    const onAbort = (): void => fc.interrupt();
    signal?.addEventListener('abort', onAbort, { once: true });
    const detach = (): void => signal?.removeEventListener('abort', onAbort);
    const dict = Dictionary.fromObject(o.options ?? {});
    let probeDict: Dictionary | undefined;
    try {
      const ret = await fc.openInput(url, o.format ?? null, dict);
      if (ret < 0) throw new AvOpenError(ret, 'Failed to open input');
      o.beforeProbe?.(fc.streams);
      if (o.probeDecoderOptions && fc.nbStreams === 1) probeDict = Dictionary.fromObject(o.probeDecoderOptions);
      // With more streams the probe's decoders cannot be bounded: let it open none (an empty codec
      // whitelist). Their sizes come from the headers or parsers; the daemon's own decoder, not
      // subject to this list, learns the rest under max_pixels.
      else if (o.probeDecoderOptions && fc.nbStreams > 1) FFmpegError.throwIfError(fc.setOption('codec_whitelist', '-'), 'Failed to restrict probe decoders');
      const info = probeDict ? await findStreamInfoSingle(fc, probeDict) : await fc.findStreamInfo(null);
      if (info < 0) throw new AvOpenError(info, 'Failed to find stream info');
      signal?.throwIfAborted();
      return new AvInput(fc, detach, o.syncReads === true);
    } catch (err) {
      detach();
      await fc.closeInput();
      throw err;
    } finally {
      dict.free();
      probeDict?.free();
    }
  }

  /** The demuxer FFmpeg used (e.g. "mov,mp4,m4a,3gp,3g2,mj2"). */
  get formatName(): string {
    return this.fc.iformat?.name ?? 'unknown';
  }

  video(): Stream | undefined {
    return this.fc.streams.find((s) => s.codecpar.codecType === AVMEDIA_TYPE_VIDEO);
  }

  /**
   * Packets of one stream, then null at end of stream. The packet is reused: the consumer must be
   * done with it before asking for the next one (no clone per packet).
   */
  async *packets(index: number): AsyncGenerator<Packet | null> {
    const pkt = new Packet();
    pkt.alloc();
    const timeBase = this.fc.streams[index]?.timeBase;
    try {
      while (!this.closed) {
        let ret: number;
        if (this.syncReads) {
          ret = this.fc.readFrameSync(pkt);
        } else {
          this.reading = this.fc.readFrame(pkt);
          ret = await this.reading;
          this.reading = undefined;
        }
        if (ret === AVERROR_EAGAIN) {
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        if (ret === AVERROR_EOF || ret === AVERROR_EXIT) break;
        FFmpegError.throwIfError(ret, 'Failed to read packet');
        if (pkt.streamIndex !== index) {
          pkt.unref();
          continue;
        }
        if (timeBase) pkt.timeBase = timeBase;
        try {
          yield pkt;
        } finally {
          pkt.unref();
        }
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
