import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';

interface Ready {
  ready: boolean;
  checks: Record<string, boolean>;
  details: { modelHosts: { name: string; where: string; state: string; restarts: number; lastError?: string }[] };
}

async function readyz(d: RunningDaemon): Promise<{ status: number; body: Ready }> {
  const res = await fetch(`${d.base}/readyz`);
  return { status: res.status, body: (await res.json()) as Ready };
}

async function metric(d: RunningDaemon, key: string): Promise<number> {
  return parseMetrics(await (await fetch(`${d.base}/metrics`)).text()).get(key) ?? 0;
}

async function streamInfo(d: RunningDaemon): Promise<{ state: string; framesAnalysed?: number; stats?: Record<string, number> }> {
  return (await (await fetch(`${d.base}/v1/streams/cam`)).json()) as { state: string };
}

/**
 * Both model workers are made to exit between calls (on ONNX Runtime, the engine both run on by
 * default, terminating a thread inside a native run would abort the process) while a stream
 * runs: /readyz goes red and names the host, frames are dropped (not the stream), the worker
 * comes back with backoff, /readyz goes green again and analysis resumes. The real death is
 * below.
 */
describe('model worker crashes', () => {
  let d: RunningDaemon;
  beforeAll(async () => {
    const model = await importTestModel('cnn');
    d = await startDaemon({ files: { roots: [mediaDir] }, detector: { worker: true }, model: { dir: model, worker: true } });
    const res = await fetch(`${d.base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cam', url: media('utterance_1.mp4'), realtime: true, loop: true }) });
    expect(res.status).toBe(201);
    await waitUntil(async () => (await metric(d, 'va_affect_events_total{stream="cam"}')) > 0, 60_000, 'first affect events');
  }, 120_000);
  afterAll(async () => {
    await d?.close();
  });

  for (const host of ['face-detector', 'affect'] as const) {
    it(`${host}: readiness goes red, the stream survives, the worker is restarted and analysis resumes`, async () => {
      const before = await readyz(d);
      expect(before.status).toBe(200);
      expect(before.body.details.modelHosts.find((h) => h.name === host)).toMatchObject({ where: 'worker', state: 'ready' });
      const models = d.daemon.models();
      await (host === 'face-detector' ? models.detector : models.affectModel)?.killWorker();

      const red = await readyz(d);
      expect(red.status).toBe(503);
      expect(red.body.checks.models).toBe(false);
      expect(red.body.details.modelHosts.find((h) => h.name === host)).toMatchObject({ state: 'restarting' });
      expect(await metric(d, `va_model_host_up{host="${host}"}`)).toBe(0);

      await waitUntil(async () => (await readyz(d)).status === 200, 60_000, `${host} back`);
      const green = await readyz(d);
      expect(green.body.details.modelHosts.find((h) => h.name === host)).toMatchObject({ state: 'ready', restarts: 1 });
      expect(await metric(d, `va_model_host_up{host="${host}"}`)).toBe(1);
      expect(await metric(d, `va_model_host_restarts_total{host="${host}"}`)).toBe(1);

      // The stream never failed, and affect events flow again after the restart.
      expect((await streamInfo(d)).state).toBe('running');
      const after = await metric(d, 'va_affect_events_total{stream="cam"}');
      await waitUntil(async () => (await metric(d, 'va_affect_events_total{stream="cam"}')) > after + 5, 60_000, 'affect events after the restart');
      expect((await streamInfo(d)).state).toBe('running');
    });
  }
});

/**
 * A real death: the affect worker (on TF.js) is terminated while a batch is in flight, with no
 * goodbye. The call in flight fails as the host's unavailability, the frames are dropped and
 * counted, the stream runs on, and the restarted worker serves again.
 */
describe('a model worker terminated mid-call (TF.js)', () => {
  let d: RunningDaemon;
  beforeAll(async () => {
    const model = await importTestModel('cnn');
    d = await startDaemon({ files: { roots: [mediaDir] }, model: { dir: model, worker: true, engine: 'tfjs' } });
    const res = await fetch(`${d.base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cam', url: media('utterance_1.mp4'), realtime: true, loop: true }) });
    expect(res.status).toBe(201);
    await waitUntil(async () => (await metric(d, 'va_affect_events_total{stream="cam"}')) > 0, 60_000, 'first affect events');
  }, 120_000);
  afterAll(async () => {
    await d?.close();
  });

  it('fails the batch in flight, drops and counts its frames, keeps the stream, restarts the worker and resumes', async () => {
    const dropped = await metric(d, 'va_affect_frames_dropped_total{stream="cam"}');
    await d.daemon.models().affectModel?.killWorker('mid-call');
    const red = await readyz(d);
    expect(red.status).toBe(503);
    expect(red.body.details.modelHosts.find((h) => h.name === 'affect')).toMatchObject({ state: 'restarting', lastError: expect.stringMatching(/worker exited/) });
    await waitUntil(async () => (await readyz(d)).status === 200, 60_000, 'affect back');
    expect((await readyz(d)).body.details.modelHosts.find((h) => h.name === 'affect')).toMatchObject({ state: 'ready', restarts: 1 });
    expect(await metric(d, 'va_affect_frames_dropped_total{stream="cam"}')).toBeGreaterThan(dropped);
    expect((await streamInfo(d)).state).toBe('running');
    const after = await metric(d, 'va_affect_events_total{stream="cam"}');
    await waitUntil(async () => (await metric(d, 'va_affect_events_total{stream="cam"}')) > after + 5, 60_000, 'affect events after the restart');
    expect((await streamInfo(d)).state).toBe('running');
  });
});
