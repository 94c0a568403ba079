import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/models/tf.js';
import { predict } from '../../src/predict/predict.js';
import type { PredictionRow } from '../../src/predict/rows.js';
import { EventClient, parseMetrics, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';
import { defaultModelDir } from '../../src/paths.js';

interface Affect {
  type: 'affect';
  streamId: string;
  trackId: number;
  frame: number;
  pts: number;
  ts: string;
  au: { probs: Record<string, number>; active: Record<string, boolean>; spread?: Record<string, number>; windowSpread?: Record<string, number> };
  expr: { probs: Record<string, number>; label: string; entropy: number; margin: number; agreement?: number; windowAgreement?: number };
  va: { valence: number; arousal: number; std?: VaPair; windowStd?: VaPair };
  baseline?: { state: string; samples: number; au?: { probs: Record<string, number>; delta: Record<string, number> }; expr?: { probs: Record<string, number>; delta: Record<string, number> }; va?: VaPair & { delta: VaPair } };
  model: { id: string; version: string };
  latencyMs: number;
}

interface VaPair {
  valence: number;
  arousal: number;
}

/** A labelled object of an event against the array of a row: the same keys present, the same values at 4 decimals. */
function sameValues(what: string, ev: Record<string, number> | undefined, row: readonly number[] | undefined): void {
  expect(ev === undefined, `${what} present in one only`).toBe(row === undefined);
  if (ev) Object.values(ev).forEach((v, j) => expect(v, `${what}[${j}]`).toBeCloseTo(row![j]!, 4));
}
function samePair(what: string, ev: VaPair | undefined, row: VaPair | undefined): void {
  expect(ev === undefined, `${what} present in one only`).toBe(row === undefined);
  if (ev) {
    expect(ev.valence, what).toBeCloseTo(row!.valence, 4);
    expect(ev.arousal, what).toBeCloseTo(row!.arousal, 4);
  }
}
function sameScalar(what: string, ev: number | undefined, row: number | undefined): void {
  expect(ev === undefined, `${what} present in one only`).toBe(row === undefined);
  if (ev !== undefined) expect(ev, what).toBeCloseTo(row!, 4);
}

/** Every uncertainty and baseline field of a live event equals the offline row's (issue 23). */
function expectSameTrust(a: Omit<Affect, 'au' | 'va'> & { au?: Affect['au']; va?: Affect['va'] }, r: PredictionRow): void {
  const key = `${a.frame}/${a.trackId}`;
  sameValues(`${key} au.spread`, a.au?.spread, r.au?.spread);
  sameValues(`${key} au.windowSpread`, a.au?.windowSpread, r.au?.windowSpread);
  sameScalar(`${key} expr.entropy`, a.expr.entropy, r.expr.entropy);
  sameScalar(`${key} expr.margin`, a.expr.margin, r.expr.margin);
  sameScalar(`${key} expr.agreement`, a.expr.agreement, r.expr.agreement);
  sameScalar(`${key} expr.windowAgreement`, a.expr.windowAgreement, r.expr.windowAgreement);
  samePair(`${key} va.std`, a.va?.std, r.va?.std);
  samePair(`${key} va.windowStd`, a.va?.windowStd, r.va?.windowStd);
  expect(a.baseline?.state, `${key} baseline.state`).toBe(r.baseline?.state);
  expect(a.baseline?.samples, `${key} baseline.samples`).toBe(r.baseline?.samples);
  sameValues(`${key} baseline.au.probs`, a.baseline?.au?.probs, r.baseline?.au?.probs);
  sameValues(`${key} baseline.au.delta`, a.baseline?.au?.delta, r.baseline?.au?.delta);
  sameValues(`${key} baseline.expr.probs`, a.baseline?.expr?.probs, r.baseline?.expr?.probs);
  sameValues(`${key} baseline.expr.delta`, a.baseline?.expr?.delta, r.baseline?.expr?.delta);
  samePair(`${key} baseline.va`, a.baseline?.va, r.baseline?.va);
  samePair(`${key} baseline.va.delta`, a.baseline?.va?.delta, r.baseline?.va?.delta);
}

let rnnModel: string;
let cnnModel: string;

beforeAll(async () => {
  rnnModel = await importTestModel('cnn-rnn');
  cnnModel = await importTestModel('cnn');
}, 60_000);

async function runOnce(model: string, extra: { stride?: number; smoothing?: 'off' | 'ema' | 'one-euro'; analysisFps?: number; worker?: boolean; file?: string } = {}) {
  const d = await startDaemon({
    files: { roots: [mediaDir] },
    model: { dir: model, stride: extra.stride ?? 6, smoothing: extra.smoothing ?? 'off', worker: extra.worker ?? true },
    ...(extra.analysisFps !== undefined ? { analysis: { analysisFps: extra.analysisFps } } : {}),
  });
  const client = await EventClient.connect(`${d.ws}?types=faces,affect,stream`);
  const res = await fetch(`${d.base}/v1/streams`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'talk', url: media(extra.file ?? 'utterance_1.mp4'), realtime: false }),
  });
  expect(res.status).toBe(201);
  await client.waitFor((m) => m.type === 'stream' && m.state === 'ended', 120_000);
  return { d, client };
}

/** Both at once (the daemon's run and an offline predict are independent); neither is left running when the other fails. */
async function both<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === 'rejected') throw x.reason;
  if (y.status === 'rejected') throw y.reason;
  return [x.value, y.value];
}

describe('live affect in the daemon', () => {
  let run: Awaited<ReturnType<typeof runOnce>> | undefined;
  afterEach(async () => {
    run?.client.close();
    await run?.d.close();
    run = undefined;
  });

  it('publishes one valid affect event per analysed frame and track (CNN-RNN, stride 2, EMA)', async () => {
    run = await runOnce(rnnModel, { stride: 2, smoothing: 'ema' });
    const { d, client } = run;
    const ready = (await (await fetch(`${d.base}/readyz`)).json()) as { details: { affectModel: { kind: string; seqLen: number } } };
    expect(ready.details.affectModel).toMatchObject({ kind: 'cnn-rnn', seqLen: 6 });
    const faceKeys = new Set(
      client.messages
        .filter((m) => m.type === 'faces')
        .flatMap((m) => (m.faces as { trackId: number }[]).map((f) => `${m.frame as number}/${f.trackId}`)),
    );
    const affect = client.messages.filter((m) => m.type === 'affect') as unknown as Affect[];
    const keys = affect.map((a) => `${a.frame}/${a.trackId}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(keys)).toEqual(faceKeys);
    expect(faceKeys.size).toBeGreaterThan(290);
    for (const a of affect) {
      expect(a.streamId).toBe('talk');
      expect(Object.keys(a.au.probs)).toEqual(['AU1', 'AU2', 'AU4', 'AU6', 'AU12', 'AU15', 'AU20', 'AU25']);
      for (const p of Object.values(a.au.probs)) expect(p).toBeGreaterThanOrEqual(0), expect(p).toBeLessThanOrEqual(1);
      const exprSum = Object.values(a.expr.probs).reduce((s, p) => s + p, 0);
      expect(exprSum).toBeCloseTo(1, 3);
      expect(Object.keys(a.expr.probs)).toContain(a.expr.label);
      expect(a.expr.probs[a.expr.label]).toBe(Math.max(...Object.values(a.expr.probs)));
      expect(Math.abs(a.va.valence)).toBeLessThanOrEqual(1);
      expect(Math.abs(a.va.arousal)).toBeLessThanOrEqual(1);
      expect(a.model.id).toBe('seed-cnn-rnn');
      expect(a.latencyMs).toBeGreaterThanOrEqual(0);
    }
    // Per track, frames come in increasing order.
    const byTrack = new Map<number, number[]>();
    for (const a of affect) byTrack.set(a.trackId, [...(byTrack.get(a.trackId) ?? []), a.frame]);
    for (const frames of byTrack.values()) expect(frames).toEqual([...frames].sort((x, y) => x - y));
    const m = parseMetrics(await (await fetch(`${d.base}/metrics`)).text());
    expect(m.get('va_affect_events_total{stream="talk"}')).toBe(affect.length);
    expect(m.get('va_end_to_end_latency_seconds_count{stream="talk"}')).toBe(affect.length);
    expect(m.get('va_inference_batch_size_count{model="seed-cnn-rnn",backend="wasm",stage="cnn"}')).toBeGreaterThan(0);
    expect(m.get('va_inference_duration_seconds_count{model="seed-cnn-rnn",backend="wasm",stage="gru"}')).toBeGreaterThan(0);
    expect(m.get('va_windows_dropped_total{stream="talk"}') ?? 0).toBe(0);
  }, 180_000);

  it('equals daemon predict on the same file with smoothing off and stride = seqLen', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'va-predict-')), 'rows.jsonl');
    const [liveRun] = await both(
      runOnce(rnnModel, { stride: 6, smoothing: 'off' }).then((x) => (run = x)),
      predict({ model: rnnModel, input: media('utterance_1.mp4'), out, backend: 'wasm' }),
    );
    const live = liveRun.client.messages.filter((m) => m.type === 'affect') as unknown as Affect[];
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRow);
    const offline = new Map(rows.map((r) => [`${r.frame}/${r.trackId}`, r]));
    expect(live.length).toBe(rows.length);
    for (const a of live) {
      const r = offline.get(`${a.frame}/${a.trackId}`);
      expect(r, `${a.frame}/${a.trackId}`).toBeDefined();
      Object.values(a.au.probs).forEach((p, j) => expect(p).toBeCloseTo(r!.au!.probs[j]!, 4));
      Object.values(a.expr.probs).forEach((p, j) => expect(p).toBeCloseTo(r!.expr.probs[j]!, 4));
      expect(a.expr.label).toBe(r!.expr.label);
      expect(a.va.valence).toBeCloseTo(r!.va!.valence, 4);
      expect(a.va.arousal).toBeCloseTo(r!.va!.arousal, 4);
      expectSameTrust(a, r!);
    }
    // The comparison covered every field, with values: members that disagree, windows, and baselines in every state they reach here.
    expect(live.some((a) => Object.values(a.au.spread!).some((x) => x > 1e-3))).toBe(true);
    expect(new Set(live.map((a) => a.baseline!.state))).toEqual(new Set(['none', 'running']));
  }, 240_000);

  it.each([
    ['a packaged expression model (the default)', 'default-expressions'],
    ['an expressions-only seed model (the distilled student, on ONNX Runtime)', 'student-expressions'],
  ])('equals daemon predict for %s, which publishes no AU or VA', async (_what, id) => {
    const modelDir = path.join(path.dirname(defaultModelDir), id);
    // The short clip keeps the test cheap: the comparison is frame by frame either way.
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'va-predict-')), 'rows.jsonl');
    const [liveRun] = await both(
      runOnce(modelDir, { smoothing: 'off', file: 'single_face.mp4' }).then((x) => (run = x)),
      predict({ model: modelDir, input: media('single_face.mp4'), out, backend: 'wasm' }),
    );
    const live = liveRun.client.messages.filter((m) => m.type === 'affect') as unknown as (Omit<Affect, 'au' | 'va'> & { au?: unknown; va?: unknown })[];
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRow);
    const offline = new Map(rows.map((r) => [`${r.frame}/${r.trackId}`, r]));
    expect(live.length).toBeGreaterThan(60);
    expect(live.length).toBe(rows.length);
    for (const a of live) {
      const r = offline.get(`${a.frame}/${a.trackId}`);
      expect(r, `${a.frame}/${a.trackId}`).toBeDefined();
      expect(a.model.id).toBe(id);
      expect(a.au).toBeUndefined();
      expect(a.va).toBeUndefined();
      expect(r!.au).toBeUndefined();
      expect(r!.va).toBeUndefined();
      Object.values(a.expr.probs).forEach((p, j) => expect(p).toBeCloseTo(r!.expr.probs[j]!, 4));
      expect(a.expr.label).toBe(r!.expr.label);
      expectSameTrust(a as Parameters<typeof expectSameTrust>[0], r!);
    }
  }, 240_000);

  it('runs CNN models per frame on the daemon thread, honours analysisFps, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    run = await runOnce(cnnModel, { analysisFps: 10, worker: false });
    const faces = run.client.messages.filter((m) => m.type === 'faces');
    // 10.3 s at 10 analysed frames per second of stream time.
    expect(faces.length).toBeGreaterThanOrEqual(100);
    expect(faces.length).toBeLessThanOrEqual(106);
    const affect = run.client.messages.filter((m) => m.type === 'affect') as unknown as Affect[];
    expect(affect.length).toBeGreaterThan(95);
    expect(affect[0]!.model.id).toBe('seed-cnn');
    const m = parseMetrics(await (await fetch(`${run.d.base}/metrics`)).text());
    expect(m.get('va_frames_skipped_total{stream="talk"}')).toBeGreaterThan(190);
    run.client.close();
    await run.d.close();
    run = undefined;
    await waitUntil(() => tf.memory().numTensors === before, 5000, 'tensors to be released');
  }, 180_000);
});
