/**
 * The latest analysed frame of each stream as JPEG, for `GET /v1/streams/{id}/snapshot.jpg`.
 * Frames are copied at most `maxFps` times a second (snapshotTap asks `due()` first), and each copy
 * is encoded at most once per variant (plain, annotated): however often clients ask, FFmpeg runs at
 * most 2 × maxFps times a second per stream. The annotated variant draws the boxes, track ids and
 * the latest expression label of each track (from the affect events) in plain JS.
 */
import type { Observable, Subscription } from 'rxjs';
import type { AnalyticsEvent } from '../core/records.js';
import type { SnapshotFrame, SnapshotSink } from '../pipeline/snapshot-tap.js';
import { RgbCanvas } from '../render/rgb-canvas.js';
import { trackColour } from '../render/affect-frame.js';
import { encodeJpeg } from '../streams/encode-jpeg.js';

export interface Snapshot {
  readonly jpeg: Buffer;
  readonly seq: number;
  readonly pts: number;
  readonly wallTime: number;
}

/** A variant's latest encode: the frame it shows and the JPEG, once FFmpeg is done. */
interface Encode {
  readonly seq: number;
  readonly pts: number;
  readonly wallTime: number;
  readonly jpeg: Promise<Buffer>;
  settled: boolean;
}

export class SnapshotStore implements SnapshotSink {
  private frame: SnapshotFrame | undefined;
  private copiedAt = -Infinity;
  private readonly encoded = new Map<boolean, Encode>();
  /** Latest expression label per track, from the stream's affect events. */
  readonly labels = new Map<number, string>();

  constructor(private readonly minIntervalMs: number) {}

  due(nowMs: number): boolean {
    return nowMs - this.copiedAt >= this.minIntervalMs;
  }

  put(frame: SnapshotFrame, nowMs: number): void {
    this.frame = frame;
    this.copiedAt = nowMs;
  }

  /**
   * The latest frame as JPEG, or undefined before the first analysed frame. One encode per variant
   * runs at a time: while it does, callers get its frame (a newer one is encoded when asked for
   * after it), so encodes slower than the refresh rate (4K frames on a busy machine) cannot pile
   * up, each holding its frame's pixels.
   */
  async jpeg(annotated: boolean): Promise<Snapshot | undefined> {
    const f = this.frame;
    if (!f) return undefined;
    let e = this.encoded.get(annotated);
    if (e === undefined || (e.seq !== f.seq && e.settled)) {
      const started: Encode = { seq: f.seq, pts: f.pts, wallTime: f.wallTime, jpeg: encodeJpeg(annotated ? this.annotate(f) : f.image), settled: false };
      this.encoded.set(annotated, started);
      started.jpeg.then(
        () => (started.settled = true),
        // A failed encode is not cached.
        () => this.encoded.get(annotated) === started && this.encoded.delete(annotated),
      );
      e = started;
    }
    return { jpeg: await e.jpeg, seq: e.seq, pts: e.pts, wallTime: e.wallTime };
  }

  private annotate(f: SnapshotFrame): SnapshotFrame['image'] {
    const data = f.image.data.slice();
    const c = new RgbCanvas(data, f.image.width, f.image.height);
    const k = f.image.width / f.sourceWidth;
    const text = f.image.width >= 480 ? 2 : 1;
    for (const face of f.faces) {
      const col = trackColour(face.trackId);
      const [x, y, w, h] = face.box.map((v) => v * k) as [number, number, number, number];
      c.strokeRect(x, y, w, h, col, Math.max(1, text));
      const label = `#${face.trackId}${this.labels.has(face.trackId) ? ` ${this.labels.get(face.trackId)!}` : ''}`;
      const lh = 7 * text + 4;
      const ly = y >= lh ? y - lh : y + h;
      c.rect(x, ly, RgbCanvas.textWidth(label, text) + 4, lh, col);
      c.text(label, x + 2, ly + 2, [0, 0, 0], text);
    }
    return { data, width: f.image.width, height: f.image.height };
  }
}

/** One SnapshotStore per stream, fed the streams' affect labels from the daemon's event bus. */
export class SnapshotRegistry {
  private readonly stores = new Map<string, SnapshotStore>();
  private readonly sub: Subscription;

  constructor(
    events: Observable<AnalyticsEvent>,
    private readonly maxFps: number,
  ) {
    this.sub = events.subscribe((e) => {
      const s = this.stores.get(e.streamId);
      if (!s) return;
      if (e.type === 'affect' && e.expr) s.labels.set(e.trackId, e.expr.label);
      else if (e.type === 'track' && e.state === 'ended') s.labels.delete(e.trackId);
    });
  }

  /** A fresh store for a stream that (re)starts. */
  open(streamId: string): SnapshotStore {
    const s = new SnapshotStore(1000 / this.maxFps);
    this.stores.set(streamId, s);
    return s;
  }

  get(streamId: string): SnapshotStore | undefined {
    return this.stores.get(streamId);
  }

  forget(streamId: string): void {
    this.stores.delete(streamId);
  }

  close(): void {
    this.sub.unsubscribe();
    this.stores.clear();
  }
}
