/**
 * The latest analysed frame of each stream as JPEG, for `GET /v1/streams/{id}/snapshot.jpg`.
 * Frames are copied at most `maxFps` times a second (snapshotTap asks `due()` first), and each copy
 * is encoded at most once per variant (plain, annotated): however often clients ask, FFmpeg runs at
 * most 2 × maxFps times a second per stream. The annotated variant draws the boxes, track ids and
 * the latest expression label of each track (from the affect events) in plain JS.
 *
 * Privacy (a stream's privacy.snapshots): `off` keeps no frame at all (the store is never due),
 * `blurred` serves only frames with the faces pixelated (render/blur-faces.ts), `raw` serves raw
 * frames and blurred ones on request. Only the latest frame is held, in memory, never on disk.
 */
import type { Observable, Subscription } from 'rxjs';
import type { StreamConfig } from '../config/schema.js';
import type { AnalyticsEvent } from '../core/records.js';
import { blurFaces } from '../render/blur-faces.js';
import type { SnapshotFrame, SnapshotSink } from '../pipeline/snapshot-tap.js';
import { RgbCanvas } from '../render/rgb-canvas.js';
import { trackColour } from '../render/affect-frame.js';
import { encodeJpeg } from '../streams/encode-jpeg.js';

/** What a stream's snapshots may show. */
export type SnapshotPrivacy = NonNullable<StreamConfig['privacy']>['snapshots'];

export interface Snapshot {
  readonly jpeg: Buffer;
  readonly blurred: boolean;
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
  /** By variant: annotated and/or blurred. */
  private readonly encoded = new Map<string, Encode>();
  /** Latest expression label per track, from the stream's affect events. */
  readonly labels = new Map<number, string>();

  constructor(
    private readonly minIntervalMs: number,
    readonly privacy: SnapshotPrivacy = 'raw',
  ) {}

  due(nowMs: number): boolean {
    return this.privacy !== 'off' && nowMs - this.copiedAt >= this.minIntervalMs;
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
  async jpeg(annotated: boolean, blur = false): Promise<Snapshot | undefined> {
    const f = this.frame;
    // The store's own policy holds whatever the caller asks (the route refuses what it forbids).
    if (!f || this.privacy === 'off') return undefined;
    const blurred = blur || this.privacy === 'blurred';
    const key = `${annotated}|${blurred}`;
    let e = this.encoded.get(key);
    if (e === undefined || (e.seq !== f.seq && e.settled)) {
      const image = blurred ? this.blurred(f) : f.image;
      const started: Encode = { seq: f.seq, pts: f.pts, wallTime: f.wallTime, jpeg: encodeJpeg(annotated ? this.annotate(f, image) : image), settled: false };
      this.encoded.set(key, started);
      started.jpeg.then(
        () => (started.settled = true),
        // A failed encode is not cached.
        () => this.encoded.get(key) === started && this.encoded.delete(key),
      );
      e = started;
    }
    return { jpeg: await e.jpeg, blurred, seq: e.seq, pts: e.pts, wallTime: e.wallTime };
  }

  /** The frame with its faces pixelated (boxes are in source pixels, the image may be scaled). */
  private blurred(f: SnapshotFrame): SnapshotFrame['image'] {
    const k = f.image.width / f.sourceWidth;
    return blurFaces(f.image, f.faces.map((face) => face.box.map((v) => v * k) as [number, number, number, number]));
  }

  private annotate(f: SnapshotFrame, image: SnapshotFrame['image']): SnapshotFrame['image'] {
    const data = image.data.slice();
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
  open(streamId: string, privacy: SnapshotPrivacy = 'raw'): SnapshotStore {
    const s = new SnapshotStore(1000 / this.maxFps, privacy);
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
