import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventClient, parseMetrics, startDaemon, waitUntil, type RunningDaemon } from '../helpers/daemon.js';
import { media, mediaDir, repoRoot } from '../helpers/media.js';
import { spawnDaemon, type SpawnedDaemon } from '../helpers/spawn-daemon.js';
import { importTestModel } from '../helpers/test-models.js';
import { predict } from '../../src/predict/predict.js';
import type { PredictionRow } from '../../src/predict/rows.js';

/**
 * Recordings end to end, on the built CLI where a process must die (SIGKILL, a file size limit)
 * and in process where the metrics and the event contract are read. The clip is single_face.mp4
 * (30 fps, one keyframe at the start): looped, every recording starts at a loop's first frame.
 */
const FPS = 30;

interface Recording {
  id: string;
  streamId: string;
  state: string;
  endReason?: string;
  error?: { code: string; message: string };
  frames: number;
  durationSeconds: number;
  videoBytes: number;
  events: number;
  markers: number;
  start?: { frame: number; pts: number };
  model: Record<string, unknown> | null;
  config: Record<string, unknown>;
  label?: string;
}

interface Line {
  t?: number;
  pts?: number;
  frame?: number;
  wall: string;
  event: Record<string, unknown> & { type: string };
}

function configFile(dir: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'config.json');
  // JSON is YAML: the config loader reads it as it is.
  writeFileSync(file, JSON.stringify({ server: { port: 0 }, files: { roots: [mediaDir] }, recordings: { dir: path.join(dir, 'recs') }, ...extra }));
  return file;
}

async function api(base: string, method: string, p: string, body?: unknown): Promise<Response> {
  return fetch(`${base}${p}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
}

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

function ffprobe(file: string): { duration: number; packets: number; decoded: number; errors: string } {
  const probe = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-count_packets', '-count_frames', '-show_entries', 'format=duration:stream=nb_read_packets,nb_read_frames', '-of', 'json', file], { encoding: 'utf8' }),
  ) as { format: { duration: string }; streams: { nb_read_packets: string; nb_read_frames: string }[] };
  // Decoding every frame to nowhere: a playable file decodes without an error message.
  const errors = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { duration: Number(probe.format.duration), packets: Number(probe.streams[0]!.nb_read_packets), decoded: Number(probe.streams[0]!.nb_read_frames), errors };
}

function lines(text: string): Line[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);
}

async function addLoopedStream(base: string, id: string, realtime = true): Promise<void> {
  const res = await api(base, 'POST', '/v1/streams', { id, url: media('single_face.mp4'), loop: true, realtime });
  expect(res.status).toBe(201);
}

async function waitForState(base: string, rid: string, states: string[], ms = 60_000): Promise<Recording> {
  let last: Recording | undefined;
  await waitUntil(async () => {
    last = await json<Recording>(await api(base, 'GET', `/v1/recordings/${rid}`));
    return states.includes(last.state);
  }, ms, `recording ${rid} ${states.join('/')}`);
  return last!;
}

describe('recordings survive a SIGKILL', () => {
  const daemons: SpawnedDaemon[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL'), await d.exited;
  });

  it('records a looped clip with markers; after SIGKILL and a restart it is listed interrupted with a playable video and its events and markers in order', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'va-rec-kill-'));
    const cfg = configFile(dir);
    const d1 = spawnDaemon(['run', '--config', cfg]);
    daemons.push(d1);
    const base1 = `http://127.0.0.1:${await d1.port()}`;
    const ws = await EventClient.connect(`${base1.replace('http', 'ws')}/v1/events?types=marker,faces`);
    await addLoopedStream(base1, 'cam');
    const started = await api(base1, 'POST', '/v1/streams/cam/recordings', { label: 'session 1' });
    expect(started.status).toBe(201);
    const rec = await json<Recording>(started);
    expect(started.headers.get('location')).toBe(`/v1/recordings/${rec.id}`);
    expect(rec).toMatchObject({ streamId: 'cam', state: 'waiting', label: 'session 1', model: null });
    const recording = await waitForState(base1, rec.id, ['recording'], 30_000);
    // A loop's first frame: the clip's only keyframe.
    expect(recording.start!.frame % 72).toBe(0);
    // Markers are set at the latest analysed frame: once there is one.
    await ws.waitFor((m) => m.type === 'faces' && (m.pts as number) > recording.start!.pts, 30_000);
    const markers = [];
    for (let i = 0; i < 3; i++) {
      const m = await api(base1, 'POST', '/v1/streams/cam/markers', { label: `m${i}`, data: { step: i } });
      expect(m.status).toBe(201);
      markers.push(await json<{ type: string; label: string; pts: number; recordingId: string }>(m));
      await new Promise((r) => setTimeout(r, 400));
    }
    expect(markers.every((m) => m.type === 'marker' && m.recordingId === rec.id && typeof m.pts === 'number')).toBe(true);
    await waitUntil(async () => (await json<Recording>(await api(base1, 'GET', `/v1/recordings/${rec.id}`))).frames >= 100, 30_000, '100 frames recorded');
    const before = await json<Recording>(await api(base1, 'GET', `/v1/recordings/${rec.id}`));
    const answered = performance.now();
    d1.child.kill('SIGKILL');
    const gapMs = performance.now() - answered;
    expect(await d1.exited).toBe('SIGKILL');
    ws.close();
    expect(ws.messages.filter((m) => m.type === 'marker').map((m) => m.label)).toEqual(['m0', 'm1', 'm2']);

    const d2 = spawnDaemon(['run', '--config', cfg]);
    daemons.push(d2);
    const base = `http://127.0.0.1:${await d2.port()}`;
    const list = await json<{ recordings: Recording[] }>(await api(base, 'GET', '/v1/recordings'));
    expect(list.recordings.map((r) => r.id)).toEqual([rec.id]);
    const closed = list.recordings[0]!;
    expect(closed).toMatchObject({ state: 'interrupted', endReason: 'daemon-killed', streamId: 'cam', label: 'session 1', markers: 3 });

    const video = path.join(dir, 'recs', rec.id, 'video.mp4');
    const probe = ffprobe(video);
    expect(probe.errors).toBe('');
    expect(probe.decoded).toBe(probe.packets);
    // What the daemon had received when it was asked, plus at most what can arrive until the kill (plus one frame in flight).
    const gapFrames = Math.ceil(((gapMs + 50) / 1000) * FPS) + 1;
    expect(probe.packets).toBeGreaterThanOrEqual(before.frames);
    expect(probe.packets).toBeLessThanOrEqual(before.frames + gapFrames);
    // ffprobe's duration (decode-time span): within a frame of the frames received.
    expect(Math.abs(probe.duration - probe.packets / FPS)).toBeLessThanOrEqual(1 / FPS + 1e-6);
    expect(Math.abs(probe.duration - before.durationSeconds)).toBeLessThanOrEqual((gapFrames + 1) / FPS);
    expect(closed.frames).toBe(probe.packets);
    expect(Math.abs(closed.durationSeconds - probe.duration)).toBeLessThanOrEqual(1 / FPS);

    const recorded = lines(await (await api(base, 'GET', `/v1/recordings/${rec.id}/events.jsonl`)).text());
    expect(recorded.length).toBe(closed.events);
    const faces = recorded.filter((l) => l.event.type === 'faces');
    expect(faces.length).toBeGreaterThan(20);
    expect(faces[0]!.frame).toBeGreaterThanOrEqual(0);
    for (let i = 1; i < faces.length; i++) {
      expect(faces[i]!.frame!).toBeGreaterThan(faces[i - 1]!.frame!);
      expect(faces[i]!.t!).toBeGreaterThanOrEqual(faces[i - 1]!.t!);
    }
    // A face event's recording time is its stream pts from the video's first frame.
    for (const f of faces) expect(f.t!).toBeCloseTo((f.event.pts as number) - recording.start!.pts, 3);
    // Every line's event is the stream's, as published (a track that spans the loop's seam has no new track event to record).
    expect(recorded.every((l) => l.event.streamId === 'cam')).toBe(true);
    const recMarkers = recorded.filter((l) => l.event.type === 'marker');
    expect(recMarkers.map((l) => l.event.label)).toEqual(['m0', 'm1', 'm2']);
    expect(recMarkers.map((l) => (l.event.data as { step: number }).step)).toEqual([0, 1, 2]);
    for (let i = 0; i < recMarkers.length; i++) {
      const m = recMarkers[i]!;
      expect(m.pts).toBe(markers[i]!.pts);
      expect(m.t!).toBeGreaterThanOrEqual(i === 0 ? 0 : recMarkers[i - 1]!.t!);
      expect(m.t!).toBeLessThanOrEqual(probe.duration);
    }
    // Wall clock in order too: the lines are in the order they were written.
    const walls = recorded.map((l) => Date.parse(l.wall));
    expect(walls).toEqual([...walls].sort((a, b) => a - b));

    // Files are private, as the state file is.
    expect(statSync(path.join(dir, 'recs', rec.id)).mode & 0o777).toBe(0o700);
    for (const f of ['video.mp4', 'events.jsonl', 'meta.json']) expect(statSync(path.join(dir, 'recs', rec.id, f)).mode & 0o777).toBe(0o600);

    // Range requests, as a player seeks.
    const bytes = readFileSync(video);
    const part = await fetch(`${base}/v1/recordings/${rec.id}/video`, { headers: { range: 'bytes=100-1099' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-1099/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 1100))).toBe(true);
    const tail = await fetch(`${base}/v1/recordings/${rec.id}/video`, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 10))).toBe(true);
    const whole = await fetch(`${base}/v1/recordings/${rec.id}/video`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const beyond = await fetch(`${base}/v1/recordings/${rec.id}/video`, { headers: { range: `bytes=${bytes.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${bytes.length}`);

    // Hostile ids never reach a file: only the daemon's own ids name one.
    for (const hostile of ['..%2F..%2F..%2Fetc%2Fpasswd', '%2e%2e', `${rec.id}%2F..`, 'rec-x', encodeURIComponent(`../${rec.id}`)]) {
      const r = await fetch(`${base}/v1/recordings/${hostile}/video`);
      expect(r.status, hostile).toBe(404);
    }

    const del = await api(base, 'DELETE', `/v1/recordings/${rec.id}`);
    expect(del.status).toBe(204);
    expect(existsSync(path.join(dir, 'recs', rec.id))).toBe(false);
    expect((await api(base, 'GET', `/v1/recordings/${rec.id}`)).status).toBe(404);
  }, 180_000);

  it('a full disk (a file size limit) fails the recording with VA_ERR_RECORDING; the stream goes on', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'va-rec-full-'));
    const cfg = configFile(dir);
    // RLIMIT_FSIZE: writes past 200 KB fail with EFBIG (Node ignores SIGXFSZ), as on a full disk.
    const blocks = Math.floor((200 * 1024) / 512);
    const child = spawn('sh', ['-c', `ulimit -f ${blocks} && exec "${process.execPath}" bin/daemon.js run --config "${cfg}"`], { cwd: repoRoot });
    const out: string[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(...b.toString('utf8').split('\n')));
    child.stderr.resume();
    const exited = new Promise<number | string>((r) => child.on('exit', (code, signal) => r(code ?? signal ?? -1)));
    try {
      await waitUntil(() => out.some((l) => l.includes('"msg":"listening"')), 60_000, 'listening');
      const port = (JSON.parse(out.find((l) => l.includes('"msg":"listening"'))!) as { port: number }).port;
      const base = `http://127.0.0.1:${port}`;
      await addLoopedStream(base, 'cam');
      const rec = await json<Recording>(await api(base, 'POST', '/v1/streams/cam/recordings', {}));
      const failed = await waitForState(base, rec.id, ['failed', 'finished'], 60_000);
      expect(failed.state).toBe('failed');
      expect(failed.endReason).toBe('write-failed');
      expect(failed.error?.code).toBe('VA_ERR_RECORDING');
      expect(failed.error?.message).toMatch(/EFBIG/);
      const a = await json<{ state: string; framesDecoded: number }>(await api(base, 'GET', '/v1/streams/cam'));
      await new Promise((r) => setTimeout(r, 1500));
      const b = await json<{ state: string; framesDecoded: number; error?: unknown }>(await api(base, 'GET', '/v1/streams/cam'));
      expect(b.state).toBe('running');
      expect(b.error).toBeUndefined();
      expect(b.framesDecoded).toBeGreaterThan(a.framesDecoded + 20);
      // What was written before the failure still plays.
      const probe = ffprobe(path.join(dir, 'recs', rec.id, 'video.mp4'));
      expect(probe.packets).toBeGreaterThan(10);
      expect(probe.decoded).toBe(probe.packets);
      expect(out.some((l) => l.includes('recording failed; the stream goes on'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 120_000);
});

describe('recordings directory upkeep', () => {
  let d: RunningDaemon | undefined;
  afterEach(async () => {
    await d?.close();
    d = undefined;
  });

  async function recordOnce(base: string, seconds: number): Promise<Recording> {
    const rec = await json<Recording>(await api(base, 'POST', '/v1/streams/cam/recordings', { maxSeconds: seconds }));
    expect(rec.state).toBe('waiting');
    const done = await waitForState(base, rec.id, ['finished', 'failed'], 30_000);
    expect(done).toMatchObject({ state: 'finished', endReason: 'max-seconds' });
    expect(done.durationSeconds).toBeGreaterThanOrEqual(seconds);
    // It stops once maxSeconds are recorded, where the frames are whole in display order (B-frames: up to three more).
    expect(done.durationSeconds).toBeLessThanOrEqual(seconds + 4 / FPS + 0.001);
    return done;
  }

  it('keeps within recordings.maxBytes by removing the oldest finished recording, counted', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'va-rec-quota-'));
    // A second of this clip's video is ≈ 45 KB and its events ≈ 20 KB: two recordings fit, three do not.
    d = await startDaemon({ files: { roots: [mediaDir] }, recordings: { dir: dir, maxBytes: 150_000 } });
    await addLoopedStream(d.base, 'cam');
    const first = await recordOnce(d.base, 1);
    const second = await recordOnce(d.base, 1);
    const sizeOf = (r: Recording): number => ['video.mp4', 'events.jsonl', 'meta.json'].reduce((s, f) => s + statSync(path.join(dir, r.id, f)).size, 0);
    expect(sizeOf(first) + sizeOf(second)).toBeLessThan(150_000);
    expect(sizeOf(first) + 2 * sizeOf(second)).toBeGreaterThan(150_000);
    const third = await recordOnce(d.base, 1);
    await waitUntil(async () => !existsSync(path.join(dir, first.id)), 10_000, 'oldest removed');
    const list = await json<{ recordings: Recording[] }>(await api(d.base, 'GET', '/v1/recordings'));
    expect(list.recordings.map((r) => r.id)).toEqual([second.id, third.id]);
    const m = parseMetrics(await (await fetch(`${d.base}/metrics`)).text());
    expect(m.get('va_recordings_removed_total{reason="quota"}')).toBe(1);
    expect(m.get('va_recordings_removed_total{reason="age"}')).toBe(0);
    expect(m.get('va_recordings_active')).toBe(0);
  }, 120_000);

  it('removes finished recordings older than recordings.maxAgeHours, counted', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'va-rec-age-'));
    d = await startDaemon({ files: { roots: [mediaDir] }, recordings: { dir: dir, maxAgeHours: 2 / 3600 } });
    await addLoopedStream(d.base, 'cam');
    const rec = await recordOnce(d.base, 0.5);
    expect(existsSync(path.join(dir, rec.id))).toBe(true);
    await waitUntil(async () => !existsSync(path.join(dir, rec.id)), 10_000, 'aged recording removed');
    expect((await json<{ recordings: Recording[] }>(await api(d.base, 'GET', '/v1/recordings'))).recordings).toEqual([]);
    const m = parseMetrics(await (await fetch(`${d.base}/metrics`)).text());
    expect(m.get('va_recordings_removed_total{reason="age"}')).toBe(1);
  }, 120_000);

  it('refuses what it cannot do with clear errors: off, unknown streams, a second recording, bad bodies', async () => {
    d = await startDaemon({ files: { roots: [mediaDir] } });
    await addLoopedStream(d.base, 'cam');
    expect((await api(d.base, 'POST', '/v1/streams/cam/recordings', {})).status).toBe(404);
    expect((await api(d.base, 'GET', '/v1/recordings')).status).toBe(404);
    // Markers work without recordings.
    const marker = await api(d.base, 'POST', '/v1/streams/cam/markers', { label: 'start' });
    expect(marker.status).toBe(201);
    expect(await json<{ type: string; label: string }>(marker)).toMatchObject({ type: 'marker', label: 'start' });
    await d.close();
    const dir = mkdtempSync(path.join(tmpdir(), 'va-rec-refuse-'));
    d = await startDaemon({ files: { roots: [mediaDir] }, recordings: { dir } });
    await addLoopedStream(d.base, 'cam');
    expect((await api(d.base, 'POST', '/v1/streams/nope/recordings', {})).status).toBe(404);
    expect((await api(d.base, 'POST', '/v1/streams/nope/markers', { label: 'x' })).status).toBe(404);
    const bad = [
      { maxSeconds: -1 },
      { maxSeconds: 'ten' },
      { maxSeconds: 1e9 },
      { label: '' },
      { label: 'x'.repeat(201) },
      { what: 1 },
    ];
    for (const body of bad) {
      const r = await api(d.base, 'POST', '/v1/streams/cam/recordings', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((await json<{ error: { code: string; field: string } }>(r)).error.code).toBe('VA_ERR_BAD_REQUEST');
    }
    for (const body of [{}, { label: 3 }, { label: 'x', data: 'y'.repeat(5000) }, { label: 'x', extra: 1 }]) {
      expect((await api(d.base, 'POST', '/v1/streams/cam/markers', body)).status, JSON.stringify(body)).toBe(400);
    }
    const text = await fetch(`${d.base}/v1/streams/cam/markers`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(text.status).toBe(415);
    const first = await api(d.base, 'POST', '/v1/streams/cam/recordings', {});
    expect(first.status).toBe(201);
    const again = await api(d.base, 'POST', '/v1/streams/cam/recordings', {});
    expect(again.status).toBe(409);
    // A source without packets (the built-in demo scene; pushed JPEG frames) has no video as
    // received to record: refused, not left `waiting` for packets that never come.
    expect((await api(d.base, 'POST', '/v1/streams', { id: 'scene', url: 'demo:faces' })).status).toBe(201);
    const demo = await api(d.base, 'POST', '/v1/streams/scene/recordings', {});
    expect(demo.status).toBe(409);
    expect((await json<{ error: { code: string; message: string } }>(demo)).error).toMatchObject({ code: 'VA_ERR_CONFLICT', message: expect.stringMatching(/stream scene .*demo.* cannot be recorded/) });
    const rid = (await json<Recording>(first)).id;
    const stopped = await json<Recording>(await api(d.base, 'POST', `/v1/recordings/${rid}/stop`));
    expect(stopped).toMatchObject({ state: 'finished', endReason: 'stopped' });
    expect((await api(d.base, 'POST', `/v1/recordings/rec-20260101T000000Z-aaaaaa/stop`)).status).toBe(404);
    // OpenAPI lists every recording route.
    const doc = await json<{ paths: Record<string, unknown> }>(await fetch(`${d.base}/openapi.json`));
    for (const p of ['/v1/streams/{id}/recordings', '/v1/streams/{id}/markers', '/v1/recordings', '/v1/recordings/{rid}', '/v1/recordings/{rid}/stop', '/v1/recordings/{rid}/video', '/v1/recordings/{rid}/events.jsonl', '/v1/recordings/{rid}/events.csv']) {
      expect(doc.paths[p], p).toBeDefined();
    }
  }, 120_000);
});

describe('a recording equals daemon predict on its video', () => {
  let d: RunningDaemon | undefined;
  afterEach(async () => {
    await d?.close();
    d = undefined;
  });

  it('with smoothing off and stride = seqLen, predict on video.mp4 gives the affect rows recorded live (same frames and pts, 1e-4)', async () => {
    const model = await importTestModel('cnn-rnn');
    const dir = mkdtempSync(path.join(tmpdir(), 'va-rec-predict-'));
    d = await startDaemon({ files: { roots: [mediaDir] }, recordings: { dir }, model: { dir: model, stride: 6, smoothing: 'off', worker: true } });
    // As fast as it decodes (credit-gated: no frame is dropped), once through.
    expect((await api(d.base, 'POST', '/v1/streams', { id: 'cam', url: media('single_face.mp4'), loop: false, realtime: false })).status).toBe(201);
    // The first run ends before the recording is asked for: asked for while that run had not yet
    // sent its first packet (a loaded machine), the recording would start with it and be cut by
    // the restart below.
    await waitUntil(async () => (await json<{ state: string }>(await api(d!.base, 'GET', '/v1/streams/cam'))).state === 'ended', 120_000, 'the first run to end');
    const rec = await json<Recording>(await api(d.base, 'POST', '/v1/streams/cam/recordings', {}));
    // The clip's one keyframe is its first frame: the recording starts with the restarted run,
    // whose face follower, tracker and windows start afresh at that frame, as predict's do.
    expect((await api(d.base, 'POST', '/v1/streams/cam/restart')).status).toBe(200);
    const done = await waitForState(d.base, rec.id, ['finished', 'failed'], 180_000);
    expect(done).toMatchObject({ state: 'finished', endReason: 'stream-ended', frames: 72, start: { frame: 0 } });
    expect(done.model).toMatchObject({ id: 'seed-cnn-rnn', kind: 'cnn-rnn', seqLen: 6 });
    expect(done.config).toMatchObject({ model: { stride: 6, smoothing: 'off' } });
    const recorded = lines(await (await api(d.base, 'GET', `/v1/recordings/${rec.id}/events.jsonl`)).text()).filter((l) => l.event.type === 'affect');
    const csv = (await (await api(d.base, 'GET', `/v1/recordings/${rec.id}/events.csv`)).text()).trim().split('\n');
    expect(csv.length - 1).toBe(recorded.length);

    const out = path.join(dir, 'rows.jsonl');
    await predict({ model, input: path.join(dir, rec.id, 'video.mp4'), out, backend: 'wasm' });
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRow);
    const offline = new Map(rows.map((r) => [r.frame, r]));
    expect(new Set(rows.map((r) => r.trackId)).size).toBe(1);
    expect(recorded.length).toBe(rows.length);
    expect(recorded.length).toBeGreaterThan(60);
    for (const l of recorded) {
      const r = offline.get(l.frame!);
      expect(r, `frame ${l.frame}`).toBeDefined();
      const e = l.event as unknown as { expr: { probs: Record<string, number>; label: string }; au: { probs: Record<string, number> }; va: { valence: number; arousal: number } };
      Object.values(e.expr.probs).forEach((p, j) => expect(p).toBeCloseTo(r!.expr.probs[j]!, 4));
      Object.values(e.au.probs).forEach((p, j) => expect(p).toBeCloseTo(r!.au!.probs[j]!, 4));
      expect(e.expr.label).toBe(r!.expr.label);
      expect(e.va.valence).toBeCloseTo(r!.va!.valence, 4);
      expect(e.va.arousal).toBeCloseTo(r!.va!.arousal, 4);
      expect(l.t).toBeCloseTo(r!.pts!, 3);
    }
    // events.csv: predict's columns, with the same frame, pts and values.
    const header = csv[0]!.split(',');
    expect(header.slice(0, 5)).toEqual(['frame', 'source', 'trackId', 'pts', 'au.probs.AU1']);
    for (const line of csv.slice(1)) {
      const v = line.split(',');
      const r = offline.get(Number(v[0]))!;
      expect(Number(v[header.indexOf('pts')])).toBeCloseTo(r.pts!, 3);
      expect(Number(v[header.indexOf('expr.probs.Happiness')])).toBeCloseTo(r.expr.probs[4]!, 4);
      expect(v[header.indexOf('expr.label')]).toBe(r.expr.label);
    }
  }, 300_000);
});
