import { AVMEDIA_TYPE_VIDEO, AVSEEK_SIZE, AVFMT_FLAG_CUSTOM_IO, type AVSeekWhence } from 'node-av/constants';
import { Dictionary, FFmpegError, FormatContext, IOContext, Rational, type Packet, type Stream } from 'node-av/lib';
import './ffmpeg-log.js';
import { seekTo } from './file-output.js';
import { openRecordingFile, type RecordingFileOpener } from './recording-file.js';

/** Containers a recording can be written in: both stay readable up to the last packet written if the process dies. */
export type RecordingContainer = 'matroska' | 'mp4';

export interface RecordingStart {
  /** The stream's decoded-frame number of the recording's first frame. */
  readonly frame: number;
  /** Its stream time in seconds (the video's time 0). */
  readonly pts: number;
}

export interface RecordingProgress {
  /** Packets (frames) written. */
  readonly frames: number;
  /** Bytes written to the file. */
  readonly bytes: number;
  /** Seconds of video written: from the first packet's decode time to the last one's end (frames × frame duration). */
  readonly seconds: number;
}

export interface VideoRecorderOptions {
  readonly file: string;
  readonly container: RecordingContainer;
  /** The file seam (tests make writes fail here); default: an exclusive 0600 file. */
  readonly openFile?: RecordingFileOpener;
  readonly onStarted?: (start: RecordingStart) => void;
  readonly onProgress?: (progress: RecordingProgress) => void;
  /** The recorder stopped by itself (a write failed, the source changed format) and has released everything. */
  readonly onStopped?: (why: { readonly reason: 'write-failed' | 'source-changed' | 'failed'; readonly error: Error }) => void;
}

/** What readVideo tells a tap: each open of the input, each packet before it is decoded, each decoded frame. */
export interface PacketSink {
  beginPass(stream: Stream): void;
  packet(pkt: Packet): void;
  /** A decoded frame: its raw timestamp (the packet's pts, in the stream's time base), stream time and number. */
  frame(rawPts: bigint, pts: number, index: number): void;
  endPass(): void;
}

/** AV_NOPTS_VALUE is INT64_MIN; anything this low is no timestamp. */
const isNopts = (ts: bigint): boolean => ts < -(2n ** 62n);
const NOPTS = -(2n ** 63n);

interface Pass {
  readonly timeBase: { readonly num: number; readonly den: number };
  readonly codec: { readonly id: number; readonly width: number; readonly height: number };
  /** The nominal frame duration in seconds, for packets that carry none (RTSP); 0 if unknown. */
  readonly frameSeconds: number;
  /** Stream time minus raw time in seconds, once a frame of the pass has been decoded. */
  offset?: number;
  /** Packets that arrived before the offset was known (the decoder's delay): cloned, written once it is. */
  readonly pending: Packet[];
}

/**
 * Remuxes a stream's packets as received (no re-encode) into a file that stays playable up to the
 * last packet if the daemon is killed: each packet is flushed to the file as it is written
 * (Matroska ends a cluster per flush; MP4 is fragmented per frame). The recording starts at the
 * first keyframe; its timestamps are the stream's time (across loops and reconnects) minus the
 * first frame's, so video time t is stream pts `start.pts + t`. Owns the muxer, its I/O context,
 * the file and the held packets; `finish()` or a failure releases them all.
 */
export class VideoRecorder implements PacketSink {
  private fc: FormatContext | undefined;
  private io: IOContext | undefined;
  private out: Stream | undefined;
  private file: ReturnType<RecordingFileOpener> | undefined;
  private pass: Pass | undefined;
  private startRaw: { pass: Pass; pts: bigint } | undefined;
  private start: RecordingStart | undefined;
  private lastDts = NOPTS;
  /** The latest presentation time written (output time base). */
  private maxPts = NOPTS;
  /** A stop asked for, waiting for the point where the video's frames are whole. */
  private stopping: (() => void) | undefined;
  private firstDts: bigint | undefined;
  private pos = 0;
  private size = 0;
  /** The file's size after the last packet that was written whole. */
  private goodSize = 0;
  private writeError: Error | undefined;
  private frames = 0;
  private seconds = 0;
  private done = false;

  constructor(private readonly o: VideoRecorderOptions) {}

  get progress(): RecordingProgress {
    return { frames: this.frames, bytes: this.size, seconds: this.seconds };
  }

  get started(): RecordingStart | undefined {
    return this.start;
  }

  beginPass(stream: Stream): void {
    if (this.done) return;
    this.dropPending();
    const p = stream.codecpar;
    const rate = stream.avgFrameRate;
    const frameSeconds = rate.num > 0 && rate.den > 0 ? rate.den / rate.num : 0;
    const pass: Pass = { timeBase: { num: stream.timeBase.num, den: stream.timeBase.den }, codec: { id: p.codecId, width: p.width, height: p.height }, frameSeconds, pending: [] };
    if (this.out && this.pass && !sameCodec(this.pass.codec, pass.codec)) {
      return this.stopSelf('source-changed', new Error('the source changed its video format; the recording ends here'));
    }
    this.pass = pass;
    this.stream = stream;
  }

  /** The current pass's input stream, valid between beginPass and endPass: the output stream copies its parameters. */
  private stream: Stream | undefined;

  packet(pkt: Packet): void {
    const pass = this.pass;
    if (this.done || !pass) return;
    this.guard(() => {
      if (!this.startRaw) {
        if (!pkt.isKeyframe || isNopts(pkt.pts)) return;
        this.startRaw = { pass, pts: pkt.pts };
        this.open();
      }
      if (pass.offset === undefined) {
        const held = pkt.clone();
        if (held) pass.pending.push(held);
        return;
      }
      this.write(pkt, pass);
    });
  }

  frame(rawPts: bigint, pts: number, index: number): void {
    const pass = this.pass;
    if (this.done || !pass || isNopts(rawPts)) return;
    this.guard(() => {
      if (pass.offset === undefined) {
        pass.offset = pts - seconds(rawPts, pass.timeBase);
        const held = pass.pending.splice(0);
        try {
          for (const p of held) if (!this.done) this.write(p, pass);
        } finally {
          for (const p of held) p.free();
        }
      }
      if (!this.start && this.startRaw?.pass === pass && this.startRaw.pts === rawPts) {
        this.start = { frame: index, pts };
        this.o.onStarted?.(this.start);
      }
    });
  }

  endPass(): void {
    this.dropPending();
    this.pass = undefined;
    this.stream = undefined;
  }

  /**
   * Ends the recording at the next packet that shows a frame later than every frame written (a
   * keyframe or forward-predicted one), so the video holds whole frames in display order: cut
   * anywhere else, B-frames shown before the last written frame would be missing, and the video's
   * frame n would no longer be the stream's. Then `done` (at once if nothing was written yet).
   */
  requestStop(done: () => void): void {
    if (this.done || !this.out) {
      this.finish();
      return done();
    }
    this.stopping = done;
  }

  /**
   * Ends the recording now: the trailer (duration, cues) is written and everything released.
   * Idempotent; a failure to finish still releases everything and is returned, not thrown.
   */
  finish(): Error | undefined {
    if (this.done) return undefined;
    this.done = true;
    let error: Error | undefined;
    try {
      if (this.fc && this.out) {
        FFmpegError.throwIfError(this.fc.writeTrailerSync(), 'Failed to write the recording trailer');
        this.io?.flushSync();
        if (this.writeError) throw this.writeError;
      }
    } catch (err) {
      error = this.writeError ?? (err as Error);
    } finally {
      this.release();
    }
    // A stop that was waiting for whole frames is over too.
    const stop = this.stopping;
    this.stopping = undefined;
    stop?.();
    return error;
  }

  private open(): void {
    const stream = this.stream;
    if (!stream) throw new Error('no input stream');
    this.file = (this.o.openFile ?? openRecordingFile)(this.o.file);
    const fc = (this.fc = new FormatContext());
    FFmpegError.throwIfError(fc.allocOutputContext2(null, this.o.container, null), 'Failed to allocate the recording muxer');
    const io = (this.io = new IOContext());
    io.allocContextWithCallbacks(
      65536,
      1,
      null,
      (buf: Buffer) => this.writeBytes(buf),
      (offset: bigint, whence: AVSeekWhence) => this.seekBytes(offset, whence),
    );
    fc.pb = io;
    fc.setFlags(AVFMT_FLAG_CUSTOM_IO);
    const out = (this.out = fc.newStream(null));
    FFmpegError.throwIfError(stream.codecpar.copy(out.codecpar), 'Failed to copy the stream parameters');
    // As for any stream copy: the input container's codec tag may not be valid in this one.
    out.codecpar.codecTag = 0;
    out.timeBase = new Rational(stream.timeBase.num, stream.timeBase.den);
    if (out.codecpar.codecType !== AVMEDIA_TYPE_VIDEO) throw new Error('not a video stream');
    const options = Dictionary.fromObject(
      this.o.container === 'mp4'
        ? { movflags: 'frag_every_frame+empty_moov+default_base_moof', flush_packets: '1' }
        : { flush_packets: '1' },
    );
    try {
      FFmpegError.throwIfError(fc.writeHeaderSync(options), 'Failed to write the recording header');
    } finally {
      options.free();
    }
    io.flushSync();
    this.checkWrite();
  }

  private write(pkt: Packet, pass: Pass): void {
    const fc = this.fc;
    const out = this.out;
    const start = this.startRaw;
    if (!fc || !out || !start || pass.offset === undefined) return;
    const startSec = seconds(start.pts, start.pass.timeBase) + (start.pass.offset ?? pass.offset);
    const tb = out.timeBase;
    const toOut = (raw: bigint): bigint => BigInt(Math.round(((seconds(raw, pass.timeBase) + pass.offset! - startSec) * tb.den) / tb.num));
    const rawPts = !isNopts(pkt.pts) ? pkt.pts : pkt.dts;
    if (isNopts(rawPts)) return;
    let dts = toOut(!isNopts(pkt.dts) ? pkt.dts : rawPts);
    const pts = toOut(rawPts);
    const stop = this.stopping;
    if (stop && pts > this.maxPts) {
      this.stopping = undefined;
      this.finish();
      return stop();
    }
    // Muxers refuse a decode time that does not grow (a loop's seam, a camera's clock step).
    if (this.lastDts !== NOPTS && dts <= this.lastDts) dts = this.lastDts + 1n;
    const clone = pkt.clone();
    if (!clone) throw new Error('out of memory cloning a packet');
    try {
      clone.streamIndex = out.index;
      clone.pts = pts < dts ? dts : pts;
      clone.dts = dts;
      const durationSec = pkt.duration > 0n ? seconds(pkt.duration, pass.timeBase) : pass.frameSeconds;
      clone.duration = BigInt(Math.round((durationSec * tb.den) / tb.num));
      clone.pos = -1n;
      clone.timeBase = tb;
      // Decode-time span, as ffprobe reports a fragmented MP4's duration: frames × frame duration,
      // whatever the B-frames' display order.
      this.firstDts ??= dts;
      const end = Number(dts - this.firstDts + clone.duration) * (tb.num / tb.den);
      FFmpegError.throwIfError(fc.writeFrameSync(clone), 'Failed to write a recording packet');
      // Flushing the muxer ends its cluster or fragment, then the I/O buffer goes to the file.
      fc.writeFrameSync(null);
      this.io?.flushSync();
      this.checkWrite();
      this.goodSize = this.size;
      this.lastDts = dts;
      if (clone.pts > this.maxPts) this.maxPts = clone.pts;
      this.frames++;
      this.seconds = Math.max(this.seconds, end);
      this.o.onProgress?.(this.progress);
    } finally {
      clone.free();
    }
  }

  private writeBytes(buf: Buffer): number {
    if (this.writeError || !this.file) return -1;
    try {
      this.file.write(buf, this.pos);
    } catch (err) {
      this.writeError = err as Error;
      return -1;
    }
    this.pos += buf.length;
    this.size = Math.max(this.size, this.pos);
    return buf.length;
  }

  private seekBytes(offset: bigint, whence: AVSeekWhence): number {
    if (whence === AVSEEK_SIZE) return this.size;
    const next = seekTo(this.pos, this.size, offset, whence);
    if (next >= 0) this.pos = next;
    return next;
  }

  /** FFmpeg only sees -1 from the write callback: the system's own error is what is reported. */
  private checkWrite(): void {
    if (this.writeError) throw this.writeError;
  }

  /** Whatever goes wrong in here ends the recording, never the stream that feeds it. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const error = this.writeError ?? (err instanceof Error ? err : new Error(String(err)));
      this.stopSelf(this.writeError ? 'write-failed' : 'failed', error);
    }
  }

  private stopSelf(reason: 'write-failed' | 'source-changed' | 'failed', error: Error): void {
    if (this.done) return;
    if (reason === 'source-changed') {
      this.finish();
    } else {
      this.done = true;
      // A write that failed half-way left part of a fragment: cut it off, so the file ends with
      // its last whole frame (shrinking a file needs no space).
      try {
        if (this.writeError && this.goodSize > 0) this.file?.truncate(this.goodSize);
      } catch {
        // the file keeps its tail; players stop at the cut fragment
      }
      this.release();
    }
    this.o.onStopped?.({ reason, error });
  }

  private dropPending(): void {
    for (const p of this.pass?.pending.splice(0) ?? []) p.free();
  }

  private release(): void {
    this.dropPending();
    // As node-av's Muxer does: the format context lets go of the custom I/O before it is freed,
    // then the I/O context is freed on its own (freeing it through the format context as well is a double free).
    if (this.fc) this.fc.pb = null;
    this.fc?.freeContext();
    this.fc = undefined;
    this.out = undefined;
    this.io?.freeContext();
    this.io = undefined;
    this.file?.close();
    this.file = undefined;
  }
}

function seconds(raw: bigint, tb: { readonly num: number; readonly den: number }): number {
  return (Number(raw) * tb.num) / tb.den;
}

function sameCodec(a: Pass['codec'], b: Pass['codec']): boolean {
  return a.id === b.id && a.width === b.width && a.height === b.height;
}
