import type { AnalyticsError } from '../core/errors.js';
import { VideoRecorder, type PacketTap, type RecordingFileOpener, type RecordingProgress, type RecordingStart } from '../streams/open-source.js';
import { EventsFile } from './events-file.js';
import type { RecordedLine, RecordingMeta } from './recording-meta.js';

/** Rounded to 0.1 ms like the events' own pts. */
const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
/** Faces events this far past the video's last frame end the drain (the affect windows that hold it are done by then). */
const DRAIN_FRAMES = 32;

export interface SessionFiles {
  readonly video: string;
  readonly events: string;
  readonly open: RecordingFileOpener;
}

export type SessionEnd =
  | { readonly reason: 'stopped' | 'max-seconds' | 'stream-removed' | 'stream-ended' | 'shutdown' | 'quota' }
  | { readonly reason: 'source-changed' | 'write-failed'; readonly error: Error | AnalyticsError };

export interface SessionHooks {
  /** Something worth persisting changed (start, progress): the manager saves the metadata, throttled. */
  readonly onChange: () => void;
  /** Max seconds reached (the manager ends the session), or the session ended by itself (write failure, source change; everything released). */
  readonly onEnd: (end: SessionEnd) => void;
}

/**
 * One running recording: the stream's packets (through its tap) into the video, its events into
 * events.jsonl with the recording's time. Events of frames before the video's first frame are left
 * out (they are not in the video); markers are kept whenever they come. Owns the recorder and the
 * events file; `end()` releases both, once.
 */
export class RecordingSession {
  private readonly recorder: VideoRecorder;
  private readonly events: EventsFile;
  private readonly held: { event: RecordedLine['event']; wall: string }[] = [];
  /** While a stop waits for whole frames, events come as before. */
  private ended = false;
  /** After the video stopped: the last frame it holds; events up to it are still written (they lag the packets). */
  private drain: { readonly lastFrame: number; readonly done: (err?: Error) => void; readonly timer: NodeJS.Timeout } | undefined;

  constructor(
    readonly meta: RecordingMeta,
    private readonly tap: PacketTap,
    files: SessionFiles,
    private readonly hooks: SessionHooks,
  ) {
    this.events = new EventsFile(files.events, files.open);
    this.recorder = new VideoRecorder({
      file: files.video,
      container: 'mp4',
      openFile: files.open,
      onStarted: (start) => this.started(start),
      onProgress: (p) => this.progressed(p),
      onStopped: ({ reason, error }) => this.finishSelf(reason === 'source-changed' ? { reason, error } : { reason: 'write-failed', error }),
    });
    tap.attach(this.recorder);
  }

  get start(): RecordingStart | undefined {
    return this.recorder.started;
  }

  get progress(): RecordingProgress {
    return this.recorder.progress;
  }

  get eventsBytes(): number {
    return this.events.bytes;
  }

  get eventCount(): number {
    return this.events.lines;
  }

  markers = 0;

  /** One event of this recording's stream, with the stream's latest pts for events that carry none. */
  record(event: RecordedLine['event'], latestPts: number | undefined): void {
    if (this.ended) return;
    const wall = new Date().toISOString();
    const start = this.recorder.started;
    const drain = this.drain;
    if (drain) {
      const f = typeof event.frame === 'number' ? event.frame : undefined;
      // Analysis has gone past the video's last frame: nothing more of the video is coming.
      if (event.type === 'faces' && f !== undefined && f > drain.lastFrame + DRAIN_FRAMES) return this.closeEvents();
      if (f === undefined || f > drain.lastFrame) return;
    }
    if (!start) {
      // Before the first keyframe nothing is in the video; a marker set meanwhile is kept for it.
      if (event.type === 'marker') this.held.push({ event, wall });
      return;
    }
    const frame = typeof event.frame === 'number' ? event.frame : undefined;
    if (frame !== undefined && frame < start.frame) return;
    // Events without a pts of their own (track, stream, marker before any analysed frame) get the
    // latest analysed frame's, or else the video's own present: what has been recorded so far.
    const pts = typeof event.pts === 'number' ? event.pts : (latestPts ?? start.pts + this.recorder.progress.seconds);
    this.write({
      t: r4(Math.max(0, pts - start.pts)),
      pts,
      ...(frame !== undefined ? { frame: frame - start.frame } : {}),
      wall,
      event,
    });
  }

  /** Stops recording now: the tap lets go, the video gets its trailer, the files are closed. Idempotent. */
  end(): Error | undefined {
    if (this.ended) return undefined;
    const err = this.stopVideo();
    this.closeEvents();
    return err;
  }

  /**
   * Stops the video now and keeps writing the events of its frames that are still being analysed,
   * until analysis has passed its last frame or `drainMs` has gone by; then `done`. A write error
   * of the video is returned (and nothing is drained).
   */
  endAfterDrain(drainMs: number, done: (err?: Error) => void): void {
    if (this.ended || this.drain || this.stopRequested) return;
    this.stopRequested = true;
    // The video ends where its frames are whole (a packet or two later, with B-frames).
    this.recorder.requestStop(() => {
      this.tap.detach(this.recorder);
      const start = this.recorder.started;
      if (!start || this.recorder.progress.frames === 0) {
        this.closeEvents();
        return done();
      }
      const timer = setTimeout(() => this.closeEvents(), drainMs);
      this.drain = { lastFrame: start.frame + this.recorder.progress.frames - 1, done, timer };
    });
  }

  private stopRequested = false;

  /** A stop waiting for whole frames ends the video now (another recording of the stream wants the tap). */
  cutVideo(): void {
    if (this.stopRequested && !this.drain && !this.ended) this.recorder.finish();
  }

  /** Stopped (or stopping) and still writing the events of its last frames. */
  get draining(): boolean {
    return (this.stopRequested || this.drain !== undefined) && !this.ended;
  }

  private stopVideo(): Error | undefined {
    this.tap.detach(this.recorder);
    return this.recorder.finish();
  }

  private closeEvents(): void {
    if (this.ended) return;
    this.ended = true;
    this.events.close();
    const drain = this.drain;
    if (drain) {
      clearTimeout(drain.timer);
      drain.done();
    }
  }

  private started(start: RecordingStart): void {
    for (const h of this.held.splice(0)) this.write({ t: 0, pts: start.pts, wall: h.wall, event: h.event });
    this.hooks.onChange();
  }

  private maxReached = false;

  private progressed(p: RecordingProgress): void {
    this.hooks.onChange();
    const max = this.meta.maxSeconds;
    // After this packet's write has returned: the recorder is not ended from inside its own call.
    if (max !== undefined && p.seconds >= max && !this.maxReached) {
      this.maxReached = true;
      queueMicrotask(() => this.hooks.onEnd({ reason: 'max-seconds' }));
    }
  }

  private write(line: RecordedLine): void {
    try {
      this.events.append(line);
      if (line.event.type === 'marker') this.markers++;
    } catch (err) {
      this.finishSelf({ reason: 'write-failed', error: err as Error });
    }
  }

  private finishSelf(end: SessionEnd): void {
    if (this.ended) return;
    const err = this.end();
    this.hooks.onEnd(end.reason === 'max-seconds' && err ? { reason: 'write-failed', error: err } : end);
  }
}
