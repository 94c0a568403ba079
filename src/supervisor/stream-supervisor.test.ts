import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { Observable, Subject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type ConfigInput, type StreamConfig } from '../config/schema.js';
import { ConfigError, ErrorCodes, SourceError } from '../core/errors.js';
import type { TrackId } from '../core/ids.js';
import type { AnalyticsEvent } from '../core/records.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { RunSettings, StreamRecord } from '../pipeline/run-stream.js';
import type { SourceSpec } from '../streams/open-source.js';
import { StreamStore } from './stream-store.js';
import { StreamSupervisor, restorePlan } from './stream-supervisor.js';

/**
 * A fake run at the supervisor's seam: each subscription is one "pipeline"; the test drives its
 * records and sees how many are alive. `released` resolves a little after unsubscribe, as a real
 * source's native cleanup does.
 */
class FakeRuns {
  readonly alive = new Map<string, number>();
  readonly started: { spec: SourceSpec; settings: RunSettings }[] = [];
  readonly drivers = new Map<string, (r: StreamRecord) => void>();
  readonly failers = new Map<string, (err: unknown) => void>();
  releaseMs = 5;

  run = (spec: SourceSpec, settings: RunSettings): Observable<StreamRecord> =>
    new Observable<StreamRecord>((sub) => {
      const id = settings.streamId;
      this.started.push({ spec, settings });
      this.alive.set(id, (this.alive.get(id) ?? 0) + 1);
      let free!: () => void;
      const released = new Promise<void>((r) => (free = r));
      sub.next({ kind: 'started', released });
      this.drivers.set(id, (r) => sub.next(r));
      this.failers.set(id, (err) => sub.error(err));
      return () => {
        this.alive.set(id, (this.alive.get(id) ?? 1) - 1);
        setTimeout(free, this.releaseMs);
      };
    });

  total(): number {
    return [...this.alive.values()].reduce((a, b) => a + b, 0);
  }
}

const trackEvent = (id: string, trackId: number, state: 'started' | 'ended'): StreamRecord => ({
  kind: 'event',
  event: { type: 'track', streamId: id as never, trackId: trackId as TrackId, state, frame: 3, ts: new Date().toISOString() },
});

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'va-sup-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function supervisor(input: ConfigInput = {}, opts: { store?: StreamStore } = {}) {
  const config = configSchema.parse({ files: { roots: [tmp] }, ...input });
  const events = new Subject<AnalyticsEvent>();
  const seen: AnalyticsEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const metrics = createMetrics(new Registry());
  const runs = new FakeRuns();
  const logs: Record<string, unknown>[] = [];
  const sup = new StreamSupervisor({
    config,
    detector: { createSession: () => ({ detect: () => Promise.reject(new Error('unused')) }) },
    metrics,
    logger: createLogger('info', new Writable({ write: (c: Buffer, _e, cb) => (logs.push(...c.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)), cb()) })),
    events,
    backend: 'test',
    run: runs.run,
    ...(opts.store ? { store: opts.store } : {}),
  });
  return { sup, runs, seen, metrics, logs };
}

function clip(id: string, name = 'clip.mp4'): StreamConfig {
  const file = path.join(tmp, name);
  writeFileSync(file, '');
  return { id, url: file, realtime: true, loop: false };
}

const states = (seen: readonly AnalyticsEvent[], id: string): string[] => seen.filter((e) => e.type === 'stream' && e.streamId === id).map((e) => (e.type === 'stream' ? e.state : ''));

describe('StreamSupervisor', () => {
  it('never runs two pipelines of one id, whatever restart/remove/add storm hits it', async () => {
    const { sup, runs } = supervisor();
    await sup.add(clip('x'), 'api');
    for (let round = 0; round < 50; round++) {
      const ops = [
        () => sup.restart('x'),
        () => sup.restart('x'),
        () => sup.remove('x'),
        () => sup.add(clip('x'), 'api').catch(() => undefined),
        () => sup.restart('x'),
      ];
      ops.sort(() => Math.random() - 0.5);
      await Promise.all(ops.map((op) => op()));
      expect(runs.alive.get('x') ?? 0).toBe(sup.has('x') ? 1 : 0);
    }
    await sup.remove('x');
    expect(runs.total()).toBe(0);
  });

  it('waits for the source to be released before a restart starts the next run', async () => {
    const { sup, runs } = supervisor();
    runs.releaseMs = 50;
    await sup.add(clip('x'), 'api');
    const t0 = performance.now();
    await sup.restart('x');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(runs.started).toHaveLength(2);
    expect(runs.alive.get('x')).toBe(1);
  });

  it('turns records into StreamInfo, metrics and state events, and ignores a stopped run', async () => {
    const { sup, runs, seen, metrics } = supervisor();
    await sup.add(clip('x'), 'api');
    const drive = runs.drivers.get('x')!;
    drive({ kind: 'running', sourceKind: 'file', sourceWidth: 640, sourceHeight: 360 });
    for (let i = 0; i < 3; i++) drive({ kind: 'decoded', frameSeq: i, decodeSeconds: 0.01 });
    drive({ kind: 'analysed', frameSeq: 0, faces: 1, detectMs: 5 });
    drive({ kind: 'dropped', stage: 'detect', count: 2 });
    drive({ kind: 'tracks', active: 1 });
    expect(sup.get('x')).toMatchObject({ state: 'running', framesDecoded: 3, framesAnalysed: 1, framesDropped: 2, activeTracks: 1, width: 640 });
    const m = await metrics.registry.getSingleMetricAsString('va_frames_decoded_total');
    expect(m).toContain('va_frames_decoded_total{stream="x"} 3');
    expect(states(seen, 'x')).toEqual(['starting', 'running']);
    await sup.restart('x');
    drive({ kind: 'decoded', frameSeq: 9, decodeSeconds: 0.01 }); // the old run's driver
    expect(sup.get('x')?.framesDecoded).toBe(0);
  });

  it('ends the tracks clients saw before a restart starts again, and on removal publishes removed', async () => {
    const { sup, runs, seen, metrics } = supervisor();
    await sup.add(clip('x'), 'api');
    runs.drivers.get('x')!(trackEvent('x', 1, 'started'));
    runs.drivers.get('x')!({ kind: 'tracks', active: 1 });
    await sup.restart('x');
    const tracks = seen.filter((e) => e.type === 'track').map((e) => (e.type === 'track' ? `${e.state}:${e.trackId}` : ''));
    expect(tracks).toEqual(['started:1', 'ended:1']);
    // The end comes before the new run's `starting`.
    const endAt = seen.findIndex((e) => e.type === 'track' && e.state === 'ended');
    expect(seen.findIndex((e, i) => i > endAt && e.type === 'stream' && e.state === 'starting')).toBeGreaterThan(endAt);
    expect(sup.get('x')?.activeTracks).toBe(0);
    expect(await metrics.registry.getSingleMetricAsString('va_active_tracks')).toContain('va_active_tracks{stream="x"} 0');

    runs.drivers.get('x')!(trackEvent('x', 1, 'started'));
    expect(await sup.remove('x')).toBe(true);
    expect(seen.filter((e) => e.type === 'track').map((e) => (e.type === 'track' ? e.state : ''))).toEqual(['started', 'ended', 'started', 'ended']);
    expect(states(seen, 'x').at(-1)).toBe('removed');
    expect(await metrics.registry.getSingleMetricAsString('va_frames_decoded_total')).not.toContain('stream="x"');
  });

  it('marks a failed run failed with its code, credentials scrubbed', async () => {
    const { sup, runs, seen, logs } = supervisor();
    await sup.add(clip('x'), 'api');
    runs.failers.get('x')!(new SourceError(ErrorCodes.SOURCE_OPEN, 'rtsp://admin:pw@cam/1 refused', { cause: new Error('connect to rtsp://admin:pw@cam/1 failed') }));
    expect(sup.get('x')).toMatchObject({ state: 'failed', error: { code: 'VA_ERR_SOURCE_OPEN', message: 'rtsp://***@cam/1 refused' } });
    expect(seen.at(-1)).toMatchObject({ type: 'stream', state: 'failed', error: { code: 'VA_ERR_SOURCE_OPEN' } });
    // The log line carries the error under err (class, code, stack, cause), scrubbed like the API's copy.
    const line = logs.find((l) => l.msg === 'stream failed');
    expect(line?.err).toMatchObject({ type: 'SourceError', code: 'VA_ERR_SOURCE_OPEN', message: 'rtsp://***@cam/1 refused', cause: { message: 'connect to rtsp://***@cam/1 failed' } });
    expect((line?.err as { stack?: string } | undefined)?.stack).toContain('stream-supervisor.test.ts');
    expect(JSON.stringify(logs)).not.toContain('admin:pw');
  });

  it('checks an API stream against the file roots at every start, not only at POST', async () => {
    const { sup, runs } = supervisor();
    const outside = mkdtempSync(path.join(tmpdir(), 'va-outside-'));
    try {
      const inside = clip('x', 'inside.mp4');
      const link = path.join(tmp, 'link.mp4');
      symlinkSync(inside.url, link);
      await sup.add({ ...inside, url: link }, 'api');
      expect(sup.get('x')?.state).toBe('starting');
      expect(runs.started[0]?.settings.fileRoots).toEqual([tmp]);
      // The link now leads out of the root: the next start refuses it.
      rmSync(link);
      writeFileSync(path.join(outside, 'secret.mp4'), '');
      symlinkSync(path.join(outside, 'secret.mp4'), link);
      await sup.restart('x');
      expect(sup.get('x')).toMatchObject({ state: 'failed', error: { code: 'VA_ERR_SOURCE_FORBIDDEN' } });
      expect(runs.started).toHaveLength(1);
      // A dangling link out of the root is refused up front, before its target exists.
      const dangling = path.join(tmp, 'later.mp4');
      symlinkSync(path.join(outside, 'not-yet.mp4'), dangling);
      expect(() => sup.vetApiUrl(dangling)).toThrow(/file roots/);
      // Config streams are the operator's own: not bound by the roots.
      await sup.add({ id: 'cfg', url: path.join(outside, 'secret.mp4'), realtime: true, loop: false }, 'config');
      expect(sup.get('cfg')?.state).toBe('starting');
      expect(runs.started.at(-1)?.settings.fileRoots).toBeUndefined();
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('rolls an add or a remove back when the state file cannot be written', async () => {
    const dir = path.join(tmp, 'state');
    mkdirSync(dir);
    const store = new StreamStore(path.join(dir, 'streams.json'));
    const { sup, runs } = supervisor({}, { store });
    await sup.add(clip('kept'), 'api');
    rmSync(dir, { recursive: true });
    await expect(sup.add(clip('lost'), 'api')).rejects.toMatchObject({ code: 'VA_ERR_PERSISTENCE' });
    expect(sup.has('lost')).toBe(false);
    expect(runs.alive.get('lost') ?? 0).toBe(0);
    await expect(sup.remove('kept')).rejects.toMatchObject({ code: 'VA_ERR_PERSISTENCE' });
    expect(sup.get('kept')?.state).toBe('starting');
    expect(runs.alive.get('kept')).toBe(1);
    // Config streams are not persisted: no state file involved.
    await sup.add({ ...clip('c'), id: 'c' }, 'config');
    expect(await sup.remove('c')).toBe(true);
  });

  it('restores without writing the state file, and keeps shadowed streams on disk', async () => {
    const file = path.join(tmp, 'streams.json');
    const store = new StreamStore(file);
    const persisted = [clip('p1'), clip('p2'), clip('shadow')];
    store.save(persisted);
    const before = readFileSync(file, 'utf8');
    let saves = 0;
    const counting = Object.assign(Object.create(store) as StreamStore, {
      save: (s: readonly StreamConfig[]) => {
        saves++;
        store.save(s);
      },
    });
    const { sup } = supervisor({}, { store: counting });
    await sup.restore([{ ...clip('shadow'), url: clip('cfg').url }], store.load());
    expect(saves).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(sup.list().map((s) => `${s.id}:${s.origin}`).sort()).toEqual(['p1:api', 'p2:api', 'shadow:config']);
    await sup.add(clip('p3'), 'api');
    const saved = (JSON.parse(readFileSync(file, 'utf8')) as { streams: StreamConfig[] }).streams.map((s) => s.id).sort();
    expect(saved).toEqual(['p1', 'p2', 'p3', 'shadow']);
  });

  it('refuses a restore beyond server.maxStreams as a configuration problem, before starting anything', () => {
    const config = configSchema.parse({ server: { maxStreams: 2 } });
    expect(() => restorePlan(config, [clip('a')], [clip('b'), clip('c')], '/state.json')).toThrow(ConfigError);
    expect(() => restorePlan(config, [clip('a')], [clip('b'), clip('a')])).not.toThrow();
  });
});
