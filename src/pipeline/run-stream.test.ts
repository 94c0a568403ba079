import type { Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { SourceError, ErrorCodes } from '../core/errors.js';
import { asStreamId } from '../core/ids.js';
import type { AnalyticsEvent } from '../core/records.js';
import type { RawFrame, SourceSpec } from '../streams/open-source.js';
import { fakeDetector, fakeSource, rawFrame } from '../../test/helpers/fake-seams.js';
import { runStream, type RunSettings, type StreamRecord } from './run-stream.js';

const FILE: SourceSpec = { kind: 'file', path: '/media/clip.mp4' };

function settings(over: Partial<RunSettings> = {}): RunSettings {
  return {
    streamId: asStreamId('s1'),
    realtime: false,
    loop: false,
    maxWidth: 640,
    queueFrames: 4,
    alignSize: 112,
    tracker: { iouThreshold: 0.2, maxGapFrames: 10 },
    detector: {},
    ...over,
  };
}

/** Subscribes and collects every record until the run completes or fails. */
function collect(run$: ReturnType<typeof runStream>): { records: StreamRecord[]; done: Promise<unknown>; sub: Subscription } {
  const records: StreamRecord[] = [];
  let sub!: Subscription;
  const done = new Promise<unknown>((resolve) => {
    sub = run$.subscribe({ next: (r) => records.push(r), error: (err: unknown) => resolve(err), complete: () => resolve('complete') });
  });
  return { records, done, sub };
}

const events = (records: readonly StreamRecord[]): AnalyticsEvent[] => records.flatMap((r) => (r.kind === 'event' ? [r.event] : []));
const count = (records: readonly StreamRecord[], kind: StreamRecord['kind']): number => records.filter((r) => r.kind === kind).length;
const dropped = (records: readonly StreamRecord[]): number => records.reduce((n, r) => n + (r.kind === 'dropped' && r.stage === 'detect' ? r.count : 0), 0);
const released = (records: readonly StreamRecord[]): Promise<void> => {
  const first = records[0];
  if (first?.kind !== 'started') throw new Error('the first record must be started');
  return first.released;
};

/** Every started track has exactly one ended, and nothing ends that never started. */
function expectTracksBalanced(evs: readonly AnalyticsEvent[]): void {
  const started = evs.filter((e) => e.type === 'track' && e.state === 'started').map((e) => (e.type === 'track' ? e.trackId : -1));
  const ended = evs.filter((e) => e.type === 'track' && e.state === 'ended').map((e) => (e.type === 'track' ? e.trackId : -1));
  expect(started.length).toBeGreaterThan(0);
  expect([...ended].sort()).toEqual([...started].sort());
}

describe('runStream', () => {
  it('reports a file from start to end as records and releases source and session', async () => {
    const src = fakeSource({ frames: 6 });
    const det = fakeDetector();
    const { records, done } = collect(runStream(FILE, settings(), { detector: det.detector, openSource: src.open }));
    expect(records[0]?.kind).toBe('started');
    expect(await done).toBe('complete');
    await released(records);
    expect(count(records, 'running')).toBe(1);
    expect(count(records, 'decoded')).toBe(6);
    expect(count(records, 'analysed')).toBe(6);
    expect(records.filter((r) => r.kind === 'tracked' && r.record.kind === 'faces')).toHaveLength(6);
    const evs = events(records);
    expect(evs.filter((e) => e.type === 'faces')).toHaveLength(6);
    expectTracksBalanced(evs);
    // The StreamId brand reaches the events.
    expect(evs.every((e) => e.streamId === 's1')).toBe(true);
    expect(records.filter((r) => r.kind === 'tracks').at(-1)).toEqual({ kind: 'tracks', active: 0 });
    expect(src.state).toEqual({ opened: 1, closed: 1 });
    expect(det.state.sessions).toBe(1);
    expect(det.state.closed).toBe(1);
  });

  it('keeps the detector session until the frames queued when the source ended are analysed', async () => {
    const src = fakeSource({ frames: 12 });
    const det = fakeDetector({ delayMs: 5 });
    const { records, done } = collect(runStream(FILE, settings(), { detector: det.detector, openSource: src.open }));
    expect(await done).toBe('complete');
    expect(count(records, 'analysed')).toBe(12);
    await released(records);
    expect(det.state.closed).toBe(1);
  });

  it('on a source failure ends every open track, counts queued frames as dropped, then errors', async () => {
    // Real-time (no gate): frames pile up behind a slow detector, then the source fails.
    const src = fakeSource({ frames: 12, gapMs: 3, fail: new SourceError(ErrorCodes.SOURCE_OPEN, 'camera gone') });
    const det = fakeDetector({ delayMs: 15 });
    const { records, done } = collect(runStream(FILE, settings({ realtime: true }), { detector: det.detector, openSource: src.open }));
    const err = await done;
    expect(err).toBeInstanceOf(SourceError);
    await released(records);
    const evs = events(records);
    expectTracksBalanced(evs);
    expect(records.filter((r) => r.kind === 'tracks').at(-1)).toEqual({ kind: 'tracks', active: 0 });
    // Every decoded frame is accounted for before the error: analysed or dropped.
    expect(count(records, 'decoded')).toBe(12);
    expect(dropped(records)).toBeGreaterThan(0);
    expect(count(records, 'analysed') + dropped(records)).toBe(12);
    expect(src.state.closed).toBe(1);
    expect(det.state.closed).toBe(1);
  });

  it('on a detector failure ends the open track and accounts for every frame', async () => {
    const src = fakeSource({ frames: 10 });
    const det = fakeDetector({ failAt: 4 });
    const { records, done } = collect(runStream(FILE, settings(), { detector: det.detector, openSource: src.open }));
    expect(((await done) as Error).message).toBe('detector crashed');
    await released(records);
    expectTracksBalanced(events(records));
    expect(count(records, 'analysed')).toBe(4);
    expect(count(records, 'analysed') + dropped(records)).toBe(count(records, 'decoded'));
    expect(src.state).toEqual({ opened: 1, closed: 1 });
    expect(det.state.closed).toBe(1);
  });

  it('stops at once when unsubscribed, and released resolves once source and session are freed', async () => {
    const src = fakeSource({ frames: 3, hang: true });
    const det = fakeDetector();
    const { records, sub } = collect(runStream(FILE, settings({ realtime: true }), { detector: det.detector, openSource: src.open }));
    await new Promise((r) => setTimeout(r, 50));
    expect(count(records, 'decoded')).toBe(3);
    expect(src.state.closed).toBe(0);
    const before = records.length;
    sub.unsubscribe();
    await released(records);
    expect(src.state.closed).toBe(1);
    expect(det.state.closed).toBe(1);
    expect(records.length).toBe(before);
  });

  it('resubscribing starts a fresh run with its own source, session and released promise', async () => {
    const src = fakeSource({ frames: 2 });
    const det = fakeDetector();
    const run$ = runStream(FILE, settings(), { detector: det.detector, openSource: src.open });
    const a = collect(run$);
    const b = collect(run$);
    expect(await a.done).toBe('complete');
    expect(await b.done).toBe('complete');
    await Promise.all([released(a.records), released(b.records)]);
    expect(src.state).toEqual({ opened: 2, closed: 2 });
    expect(det.state).toMatchObject({ sessions: 2, closed: 2 });
  });

  it('reports reconnects of a camera and its recovery, with credentials scrubbed', async () => {
    let attempt = 0;
    const open = (_spec: SourceSpec, o: { signal?: AbortSignal }): AsyncGenerator<RawFrame> =>
      (async function* () {
        attempt++;
        if (attempt === 1) throw new SourceError(ErrorCodes.SOURCE_OPEN, 'rtsp://admin:secret@cam/1: Connection refused');
        for (let i = 0; i < 3 && !o.signal?.aborted; i++) yield rawFrame(i);
      })();
    const det = fakeDetector();
    const spec: SourceSpec = { kind: 'rtsp', url: 'rtsp://admin:secret@cam/1' } as SourceSpec;
    const { records, done, sub } = collect(
      runStream(
        spec,
        settings({
          realtime: true,
          rtsp: { transport: 'tcp', timeoutMs: 1000, reconnect: { initialDelayMs: 10, maxDelayMs: 20, multiplier: 2, maxAttempts: 2, stallTimeoutMs: 0 } },
        }),
        { detector: det.detector, openSource: open },
      ),
    );
    // A camera that ends has disconnected: the run reconnects until unsubscribed.
    for (let i = 0; i < 200 && !records.some((r) => r.kind === 'recovered'); i++) await new Promise((r) => setTimeout(r, 10));
    sub.unsubscribe();
    void done;
    const reconnecting = records.find((r) => r.kind === 'reconnecting');
    expect(reconnecting).toMatchObject({ kind: 'reconnecting', attempt: 1, error: { code: 'VA_ERR_SOURCE_OPEN' } });
    expect(JSON.stringify(records.filter((r) => r.kind !== 'tracked'))).not.toContain('secret');
    expect(records.some((r) => r.kind === 'recovered')).toBe(true);
    expect(count(records, 'decoded')).toBeGreaterThanOrEqual(3);
    await released(records);
  });

  it('hands the file roots and source extras to every open, and reports skipped packets as decode-error records', async () => {
    const seen: Record<string, unknown>[] = [];
    const open = (_spec: SourceSpec, o: Record<string, unknown>): AsyncGenerator<RawFrame> =>
      (async function* () {
        seen.push(o);
        (o.onDecodeError as (e: Error) => void)(new Error('corrupt packet from rtsp://u:p@cam/1'));
        yield rawFrame(0);
      })();
    const det = fakeDetector();
    const extras = { maxSourcePixels: 4096 * 2160 } as unknown as RunSettings['source'];
    const { records, done } = collect(
      runStream(FILE, settings({ fileRoots: ['/media'], ...(extras ? { source: extras } : {}) }), { detector: det.detector, openSource: open as never }),
    );
    expect(await done).toBe('complete');
    expect(seen[0]).toMatchObject({ fileRoots: ['/media'], maxSourcePixels: 4096 * 2160, realtime: false, loop: false, maxWidth: 640 });
    expect(records.find((r) => r.kind === 'decode-error')).toEqual({ kind: 'decode-error', error: { code: 'VA_ERR_DECODE', message: 'corrupt packet from rtsp://***@cam/1' } });
  });
});
