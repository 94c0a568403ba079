import { Subject, finalize, map, of, toArray, lastValueFrom } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, InferenceError } from '../../core/errors.js';
import type { StreamId, TrackId } from '../../core/ids.js';
import type { TrackedRecord } from '../../core/records.js';
import { InferenceDroppedError } from '../../models/runtime/inference-queue.js';
import { ModelUnavailableError } from '../../models/runtime/model-host.js';
import { AU_LABELS, type EnsembleFrame } from '../../models/seed/index.js';
import { decideFrame } from '../../models/seed/decode.js';
import type { FrameCache } from '../../models/seed/frame-cache.js';
import type { StreamRecord } from '../stream-record.js';
import type { TrackOutput } from '../track-faces.js';
import type { FrameMeta } from './affect-events.js';
import type { AffectModel, DecidedRecord, FeaturesRecord, Held, WindowsRecord } from './affect-records.js';
import { affectWindows } from './affect-windows.js';
import { cnnFeatures } from './cnn-features.js';
import { cropFaces } from './crop-faces.js';
import { inferWindows } from './infer-windows.js';
import { smoothAffect } from './smooth-affect.js';
import { toAffectEvents } from './to-affect-events.js';
import { TrackWindows } from './track-windows.js';

const T1 = 1 as TrackId;
const T2 = 2 as TrackId;
const thresholds = AU_LABELS.map(() => 0.5);

/** A cache whose first AU logit encodes a number, so decisions can be traced back to frames. */
function cache(v: number): FrameCache {
  const z = (n: number): Float32Array => new Float32Array(n);
  const AU = z(AU_LABELS.length);
  AU[0] = v;
  return [{ features: { EXPR: z(4), AU: z(4), VA: z(4) }, logits: { EXPR: z(8), AU, VA: z(2) } }];
}
const decision = (c: FrameCache | number): EnsembleFrame => {
  const v = typeof c === 'number' ? c : c[0]!.logits.AU[0]!;
  const au = new Float64Array(AU_LABELS.length);
  au[0] = v;
  const decided = decideFrame(au, new Float64Array([1, 0, 0, 0, 0, 0, 0, 0]), { valence: v, arousal: 0 }, thresholds);
  return { ...decided, uncertainty: { members: 1, expr: { entropy: 0, margin: 1 } } };
};

function frameRecord(seq: number, faces: { trackId: TrackId }[], ended: TrackId[] = []): TrackedRecord {
  const frame = { kind: 'frame', streamId: 's' as StreamId, seq, pts: seq / 10, decodedAt: 0, wallTime: 0, sourceWidth: 8, sourceHeight: 8, image: { data: new Uint8Array(8 * 8 * 3), width: 8, height: 8 } } as const;
  const alignment = { cropToSource: [0.05, 0, 1, 0, 0.05, 1], size: 112, angleDeg: 0 };
  return {
    kind: 'faces',
    frame,
    detectMs: 0,
    faces: faces.map((f) => ({ box: [0, 0, 4, 4], score: 1, landmarks: [[1, 1], [3, 1], [2, 2], [1, 3], [3, 3]], alignment, trackId: f.trackId })) as unknown as TrackedRecord['faces'],
    tracks: ended.map((trackId) => ({ trackId, state: 'ended' as const })),
  };
}

const meta = (trackId: TrackId, frame: number): FrameMeta => ({ streamId: 's', trackId, frame, pts: frame / 10, wallTime: 0, decodedAt: 0 });
const first = (r: DecidedRecord): number[] => r.decided.map((d) => d.scores.au![0]!);

function testScheduler(): TestScheduler {
  return new TestScheduler((a, b) => expect(a).toEqual(b));
}

describe('affectWindows (marbles)', () => {
  const cnnModel: Pick<AffectModel, 'decideCnn'> = { decideCnn: decision };

  it('decides CNN models per frame and lets ended tracks go; unsubscribing tears the source down', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const values: Record<string, FeaturesRecord> = {
        a: { record: frameRecord(0, [{ trackId: T1 }, { trackId: T2 }]), caches: [cache(0.25), cache(0.75)] },
        b: { record: frameRecord(1, [{ trackId: T1 }], [T2]), caches: [undefined] },
        c: { record: frameRecord(2, [{ trackId: T1 }]), caches: [cache(0.5)] },
      };
      const source = hot('-a-b-c-', values);
      const out = source.pipe(affectWindows({ model: cnnModel, streamId: 's' }));
      const expected: Record<string, WindowsRecord> = {
        x: { decided: [{ meta: meta(T1, 0), scores: expect.anything() }, { meta: meta(T2, 0), scores: expect.anything() }], jobs: [], forget: [] } as unknown as WindowsRecord,
        y: { decided: [], jobs: [], forget: [T2] },
      };
      expectObservable(out, '^---!').toBe('-x-y-', expected);
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('puts CNN-RNN features into the track rings and emits window jobs (stride 2, seqLen 2)', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const windows = new TrackWindows<Held>({ seqLen: 2, stride: 2, maxTracks: 2 });
      const values: Record<string, FeaturesRecord> = {
        a: { record: frameRecord(0, [{ trackId: T1 }]), caches: [cache(0)] },
        b: { record: frameRecord(1, [{ trackId: T1 }]), caches: [cache(1)] },
        c: { record: { kind: 'tracks-closed', streamId: 's', frame: 1, wallTime: 0, tracks: [{ trackId: T1, state: 'ended' }] } as unknown as TrackOutput, caches: [] },
      };
      const source = cold('a-b-c|', values);
      const summary = (w: WindowsRecord): string => w.jobs.map((j) => `${j.trackId}:${j.frames.map((f) => f.frame).join(',')}:${j.emit.join(',')}:${j.final}`).join(' ');
      const out = source.pipe(affectWindows({ model: cnnModel, streamId: 's', windows }), map(summary));
      // The flush at track end re-reports nothing (both frames went out with the first window).
      expectObservable(out).toBe('x-y-z|', { x: '', y: '1:0,1:0,1:false', z: '' });
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
    // Outside marbles: the concrete jobs.
    const windows = new TrackWindows<Held>({ seqLen: 2, stride: 2, maxTracks: 2 });
    const recs: FeaturesRecord[] = [
      { record: frameRecord(0, [{ trackId: T1 }]), caches: [cache(0)] },
      { record: frameRecord(1, [{ trackId: T1 }]), caches: [cache(1)] },
      { record: frameRecord(2, [{ trackId: T1 }]), caches: [cache(2)] },
      { record: { kind: 'tracks-closed', streamId: 's', frame: 2, wallTime: 0, tracks: [{ trackId: T1, state: 'ended' }] } as unknown as TrackOutput, caches: [] },
    ];
    const got: WindowsRecord[] = [];
    of(...recs).pipe(affectWindows({ model: cnnModel, streamId: 's', windows })).subscribe((w) => got.push(w));
    expect(got.map((w) => w.jobs.map((j) => [j.frames.map((f) => f.frame), j.emit, j.final]))).toEqual([[], [[[0, 1], [0, 1], false]], [], [[[1, 2], [1], true]]]);
    expect(got.every((w) => w.decided.length === 0)).toBe(true);
  });

  it('lets a CNN-RNN track go when it ends right after a window, with no final job to carry it', () => {
    // The per-track state downstream (baselines, smoothers) is released by `forget` or by a final
    // job; a track whose every frame went out with its last window has no final job.
    const windows = new TrackWindows<Held>({ seqLen: 2, stride: 2, maxTracks: 2 });
    const got: WindowsRecord[] = [];
    const recs: FeaturesRecord[] = [
      { record: frameRecord(0, [{ trackId: T1 }]), caches: [cache(0)] },
      { record: frameRecord(1, [{ trackId: T1 }]), caches: [cache(1)] },
      { record: { kind: 'tracks-closed', streamId: 's', frame: 1, wallTime: 0, tracks: [{ trackId: T1, state: 'ended' }] } as unknown as TrackOutput, caches: [] },
    ];
    of(...recs)
      .pipe(affectWindows({ model: cnnModel, streamId: 's', windows }))
      .subscribe((w) => got.push(w));
    expect(got.map((w) => [w.jobs.length, w.forget])).toEqual([
      [0, []],
      [1, []],
      [0, [T1]],
    ]);
  });
});

describe('smoothAffect and toAffectEvents (marbles)', () => {
  it('smooths per track, forgets a track when it ends, and tears down with the subscriber', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const d = (t: TrackId, f: number, v: number) => ({ meta: meta(t, f), scores: { au: [v, ...new Array(AU_LABELS.length - 1).fill(0)], expr: [1, 0, 0, 0, 0, 0, 0, 0], va: [v, 0] as [number, number] } });
      const values: Record<string, DecidedRecord> = {
        a: { decided: [d(T1, 0, 0)], forget: [] },
        b: { decided: [d(T1, 1, 1)], forget: [T1] },
        c: { decided: [d(T1, 2, 1)], forget: [] },
        e: { decided: [d(T2, 3, 1)], forget: [] },
      };
      const source = hot('-a-b-c-e-', values);
      const out = source.pipe(smoothAffect('ema'));
      expectObservable(out, '^------!').toBe('-a-b-c-', {
        a: { decided: [expect.objectContaining({ meta: meta(T1, 0) })], forget: [] },
        b: { decided: [expect.objectContaining({ meta: meta(T1, 1) })], forget: [T1] },
        c: { decided: [expect.objectContaining({ meta: meta(T1, 2) })], forget: [] },
      } as unknown as Record<string, DecidedRecord>);
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
    // The values: frame 1 is pulled toward frame 0 (smoothed); after T1 was forgotten, frame 2 starts fresh.
    const s = new Subject<DecidedRecord>();
    const got: number[][] = [];
    const sub = s.pipe(smoothAffect('ema')).subscribe((r) => got.push(first(r)));
    const d = (t: TrackId, f: number, v: number) => ({ meta: meta(t, f), scores: { au: [v, ...new Array(AU_LABELS.length - 1).fill(0)], expr: [1, 0, 0, 0, 0, 0, 0, 0], va: [v, 0] as [number, number] } });
    s.next({ decided: [d(T1, 0, 0)], forget: [] });
    s.next({ decided: [d(T1, 1, 1)], forget: [T1] });
    s.next({ decided: [d(T1, 2, 1)], forget: [] });
    sub.unsubscribe();
    expect(got[0]).toEqual([0]);
    expect(got[1]![0]).toBeGreaterThan(0);
    expect(got[1]![0]).toBeLessThan(1);
    expect(got[2]).toEqual([1]);
    expect(s.observed).toBe(false);
  });

  it('toAffectEvents makes one event per decision with thresholds and the model id', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const scores = { au: [0.9, ...new Array(AU_LABELS.length - 1).fill(0.1)], expr: [0, 0, 0, 1, 0, 0, 0, 0], va: [0.5, -0.25] as [number, number] };
      const source = cold('-a-|', { a: { decided: [{ meta: meta(T1, 3), scores }], forget: [] } });
      const out = source.pipe(toAffectEvents({ thresholds, model: { id: 'm', version: '1' } }));
      expectObservable(out).toBe('-a-|', {
        a: [expect.objectContaining({ type: 'affect', trackId: T1, frame: 3, model: { id: 'm', version: '1' }, va: { valence: 0.5, arousal: -0.25 }, au: expect.objectContaining({ active: expect.objectContaining({ [AU_LABELS[0]!]: true, [AU_LABELS[1]!]: false }) }) })],
      });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});

describe('cropFaces (marbles)', () => {
  it('cuts one 112×112 crop per face, none for tracks-closed, and unsubscribes upstream', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-', {
        a: frameRecord(0, [{ trackId: T1 }]) as TrackOutput,
        b: { kind: 'tracks-closed', streamId: 's', frame: 1, wallTime: 0, tracks: [] } as unknown as TrackOutput,
      });
      const out = source.pipe(cropFaces());
      expectObservable(out, '^--!').toBe('-x-', { x: expect.objectContaining({ crops: [expect.objectContaining({ width: 112, height: 112 })] }) });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});

/** Promise-driven stages: real time, explicit control of when each model call settles. */
function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('cnnFeatures', () => {
  it('submits at arrival, emits in frame order, sheds dropped or unavailable requests, and returns one credit per record', async () => {
    const calls: ReturnType<typeof deferred<FrameCache>>[] = [];
    const model = { cnn: () => (calls.push(deferred<FrameCache>()), calls.at(-1)!.promise) };
    let released = 0;
    const dropped: StreamRecord[] = [];
    const src = new Subject<ReturnType<typeof cropFaces> extends (...a: never[]) => infer _ ? import('./affect-records.js').CroppedRecord : never>();
    const out: FeaturesRecord[] = [];
    src.pipe(cnnFeatures({ model, streamId: 's', gate: { release: () => void released++ } as never, report: (r) => dropped.push(r) }, { queueFrames: 4 })).subscribe((r) => out.push(r));
    const crop = { data: new Uint8Array(3), width: 1, height: 1 };
    src.next({ record: frameRecord(0, [{ trackId: T1 }]), crops: [crop] });
    src.next({ record: frameRecord(1, [{ trackId: T1 }, { trackId: T2 }]), crops: [crop, crop] });
    expect(calls).toHaveLength(3); // all submitted before any result
    calls[2]!.reject(new ModelUnavailableError('affect', 'restarting'));
    calls[1]!.resolve(cache(1));
    await tick();
    expect(out).toHaveLength(0); // frame 0 not back yet: order holds
    calls[0]!.reject(new InferenceDroppedError('overflow'));
    await tick();
    expect(out.map((r) => r.caches.map((c) => c?.[0]!.logits.AU[0]))).toEqual([[undefined], [1, undefined]]);
    expect(dropped).toEqual([1, 1].map((count) => ({ kind: 'dropped', stage: 'affect-frame', count })));
    expect(released).toBe(2);
  });

  it('drops the oldest waiting record beyond queueFrames (credit back, reported, onRecordDropped) and fails on a real inference error', async () => {
    const pending: ReturnType<typeof deferred<FrameCache>>[] = [];
    const model = { cnn: () => (pending.push(deferred<FrameCache>()), pending.at(-1)!.promise) };
    let released = 0;
    const droppedRecords: number[] = [];
    const reported: StreamRecord[] = [];
    const src = new Subject<import('./affect-records.js').CroppedRecord>();
    let error: unknown;
    let finalized = false;
    src
      .pipe(
        finalize(() => (finalized = true)),
        cnnFeatures(
          { model, streamId: 's', gate: { release: () => void released++ } as never, report: (r) => reported.push(r), onRecordDropped: (r) => droppedRecords.push(r.kind === 'faces' ? r.frame.seq : -1) },
          { queueFrames: 1 },
        ),
      )
      .subscribe({ error: (e: unknown) => (error = e) });
    const crop = { data: new Uint8Array(3), width: 1, height: 1 };
    for (let i = 0; i < 4; i++) src.next({ record: frameRecord(i, [{ trackId: T1 }], i === 1 ? [T2] : []), crops: [crop] });
    // 0 in progress, 1 and 2 dropped in turn, 3 waits.
    expect(droppedRecords).toEqual([1, 2]);
    // Each dropped record's faces (one apiece) are reported as affect frames given up.
    expect(reported).toEqual([1, 2].map(() => ({ kind: 'dropped', stage: 'affect-frame', count: 1 })));
    expect(released).toBe(2);
    pending[0]!.reject(new InferenceError(ErrorCodes.INFERENCE, 'kernel failed'));
    await tick();
    expect((error as InferenceError).code).toBe('VA_ERR_INFERENCE');
    expect(finalized).toBe(true);
    expect(src.observed).toBe(false);
    expect(released).toBe(4); // the failed one and the waiting one gave their credit back
  });
});

describe('inferWindows', () => {
  const job = (trackId: TrackId, frames: number[], emit: number[], final: boolean) => ({
    trackId,
    frames: frames.map((f) => ({ frame: f, pts: f / 10, features: { cache: cache(f), meta: meta(trackId, f) } })),
    emit,
    final,
  });

  it('keeps order across records, decides emitted positions, forgets final tracks even when a window was shed', async () => {
    const calls: { frames: number[]; d: ReturnType<typeof deferred<EnsembleFrame[]>> }[] = [];
    const model = {
      window: (frames: readonly FrameCache[]) => {
        const d = deferred<EnsembleFrame[]>();
        calls.push({ frames: frames.map((f) => f[0]!.logits.AU[0]!), d });
        return d.promise;
      },
    };
    const src = new Subject<WindowsRecord>();
    const out: DecidedRecord[] = [];
    const droppedWindows: StreamRecord[] = [];
    const done = lastValueFrom(src.pipe(inferWindows({ model, streamId: 's', report: (r) => droppedWindows.push(r) }), toArray()));
    src.next({ decided: [], jobs: [job(T1, [0, 1], [0, 1], false)], forget: [] });
    src.next({ decided: [], jobs: [job(T2, [5, 5], [0], true)], forget: [] });
    src.complete();
    expect(calls.map((c) => c.frames)).toEqual([[0, 1], [5, 5]]);
    calls[1]!.d.reject(new InferenceDroppedError('overflow'));
    calls[0]!.d.resolve([decision(0), decision(1)]);
    out.push(...(await done));
    expect(out.map(first)).toEqual([[0, 1], []]);
    expect(out.map((r) => r.forget)).toEqual([[], [T2]]);
    expect(droppedWindows).toEqual([{ kind: 'dropped', stage: 'affect-window', count: 1 }]);
  });

  it('unsubscribing while windows are in flight leaves no unhandled rejection', async () => {
    const d = deferred<EnsembleFrame[]>();
    const src = new Subject<WindowsRecord>();
    const sub = src.pipe(inferWindows({ model: { window: () => d.promise }, streamId: 's' })).subscribe();
    src.next({ decided: [], jobs: [job(T1, [0, 1], [0, 1], false)], forget: [] });
    sub.unsubscribe();
    expect(src.observed).toBe(false);
    d.reject(new InferenceError(ErrorCodes.INFERENCE, 'late failure'));
    await tick();
  });
});
