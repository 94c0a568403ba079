/**
 * Face quality on real media and on FFmpeg-made copies of it (blurred, halved, rotated, mirrored),
 * through the daemon's real per-stream run with the real BlazeFace + FaceMesh. The copies are cut
 * from the first 3 s of utterance_1.mp4 (90 frames, one face), so frame n of every copy shows the
 * same moment as frame n of the base.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filter, lastValueFrom, map, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asStreamId } from '../../src/core/ids.js';
import type { AnalyticsEvent, BlinkEvent, FacesEvent } from '../../src/core/records.js';
import { selectBackend } from '../../src/models/backend.js';
import { FaceDetector } from '../../src/models/face-detector/index.js';
import type { QualityGate } from '../../src/pipeline/quality/gate.js';
import { runStream } from '../../src/pipeline/run-stream.js';
import { predict } from '../../src/predict/predict.js';
import type { PredictionRow } from '../../src/predict/rows.js';
import { EventClient, startDaemon } from '../helpers/daemon.js';
import { media, mediaDir } from '../helpers/media.js';
import { importTestModel } from '../helpers/test-models.js';

type Face = FacesEvent['faces'][number];

let detector: FaceDetector;
let dir: string;

function ffmpeg(input: string, out: string, args: readonly string[]): string {
  const file = path.join(dir, out);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', input, ...args, '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '12', '-pix_fmt', 'yuv420p', file]);
  return file;
}

async function run(file: string, quality?: QualityGate): Promise<AnalyticsEvent[]> {
  const events$ = runStream(
    { kind: 'file', path: file },
    {
      streamId: asStreamId('quality'),
      realtime: false,
      loop: false,
      maxWidth: 640,
      queueFrames: 4,
      alignSize: 112,
      tracker: { iouThreshold: 0.2, maxGapFrames: 10 },
      detector: { detectEveryFrames: 3 },
      ...(quality ? { quality } : {}),
    },
    { detector },
  ).pipe(
    filter((r) => r.kind === 'event'),
    map((r) => r.event),
  );
  return lastValueFrom(events$.pipe(toArray()));
}

/** The single face of each frame that has exactly one, by frame number. */
async function singleFaces(file: string): Promise<Map<number, Face>> {
  const out = new Map<number, Face>();
  for (const e of await run(file)) if (e.type === 'faces' && e.faces.length === 1) out.set(e.frame, e.faces[0]!);
  return out;
}

/** Frames with one face in both runs, paired. */
function paired(a: Map<number, Face>, b: Map<number, Face>): [Face, Face][] {
  return [...a.keys()].filter((k) => b.has(k)).map((k) => [a.get(k)!, b.get(k)!]);
}

let base: string;
let baseFaces: Map<number, Face>;

beforeAll(async () => {
  await selectBackend('wasm');
  detector = await FaceDetector.load();
  dir = mkdtempSync(path.join(tmpdir(), 'va-quality-'));
  base = ffmpeg(media('utterance_1.mp4'), 'base.mp4', ['-t', '3']);
  baseFaces = await singleFaces(base);
}, 120_000);

afterAll(() => {
  detector.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('face quality on FFmpeg-made copies of the same clip', () => {
  it('the base clip has a face in nearly every frame, with every quality field', () => {
    expect(baseFaces.size).toBeGreaterThanOrEqual(85);
    for (const f of baseFaces.values()) {
      expect(f.quality.score).toBe(f.score);
      expect(f.quality.interocularPx).toBeGreaterThan(15);
      expect(f.quality.sharpness).toBeGreaterThan(0);
      expect(f.quality.pose).toBeDefined();
      expect(f.quality.eyes).toBeDefined();
      expect(f.quality.gated).toEqual([]);
    }
  });

  it('sharpness drops on a blurred copy, for every face', async () => {
    const blurred = await singleFaces(ffmpeg(base, 'blur.mp4', ['-vf', 'gblur=sigma=2']));
    const pairs = paired(baseFaces, blurred);
    expect(pairs.length).toBeGreaterThanOrEqual(80);
    for (const [a, b] of pairs) expect(b.quality.sharpness).toBeLessThan(a.quality.sharpness);
    const ratios = pairs.map(([a, b]) => b.quality.sharpness / a.quality.sharpness).sort((x, y) => x - y);
    // A clear drop, not noise: the median face keeps less than half of its Laplacian variance.
    expect(ratios[Math.floor(ratios.length / 2)]).toBeLessThan(0.5);
  });

  it('face size halves on a copy scaled to half', async () => {
    const half = await singleFaces(ffmpeg(base, 'half.mp4', ['-vf', 'scale=320:180']));
    const pairs = paired(baseFaces, half);
    expect(pairs.length).toBeGreaterThanOrEqual(80);
    for (const [a, b] of pairs) {
      const ratio = b.quality.interocularPx / a.quality.interocularPx;
      expect(ratio).toBeGreaterThan(0.42);
      expect(ratio).toBeLessThan(0.58);
    }
    const ratios = pairs.map(([a, b]) => b.quality.interocularPx / a.quality.interocularPx).sort((x, y) => x - y);
    expect(Math.abs(ratios[Math.floor(ratios.length / 2)]! - 0.5)).toBeLessThan(0.03);
  });

  for (const deg of [10, -10, 20, -20]) {
    it(`roll is recovered within 3° on a copy rotated by ${deg}°`, async () => {
      // FFmpeg's rotate turns the picture clockwise by a positive angle, which is how roll is signed.
      const rotated = await singleFaces(ffmpeg(base, `rot${deg}.mp4`, ['-vf', `rotate=${deg}*PI/180`]));
      const pairs = paired(baseFaces, rotated);
      expect(pairs.length).toBeGreaterThanOrEqual(75);
      for (const [a, b] of pairs) expect(Math.abs(b.quality.pose!.roll - a.quality.pose!.roll - deg)).toBeLessThan(3);
    });
  }

  it('yaw changes sign on a horizontally mirrored copy', async () => {
    const mirrored = await singleFaces(ffmpeg(base, 'hflip.mp4', ['-vf', 'hflip']));
    const pairs = paired(baseFaces, mirrored);
    expect(pairs.length).toBeGreaterThanOrEqual(80);
    // Frames where the face is clearly turned (within ±3° yaw the sign is the mesh's noise).
    const turned = pairs.filter(([a]) => Math.abs(a.quality.pose!.yaw) > 3);
    expect(turned.length).toBeGreaterThanOrEqual(10);
    for (const [a, b] of turned) expect(Math.sign(b.quality.pose!.yaw)).toBe(-Math.sign(a.quality.pose!.yaw));
    // And roll changes sign too (the eye line is mirrored).
    for (const [a, b] of pairs.filter(([x]) => Math.abs(x.quality.pose!.roll) > 3)) expect(Math.sign(b.quality.pose!.roll)).toBe(-Math.sign(a.quality.pose!.roll));
  });

  it('gating by size marks exactly the faces below the threshold', async () => {
    const sizes = [...baseFaces.values()].map((f) => f.quality.interocularPx).sort((x, y) => x - y);
    const threshold = sizes[Math.floor(sizes.length / 2)]!;
    const events = await run(base, { minFacePx: threshold });
    const faces = events.filter((e): e is FacesEvent => e.type === 'faces').flatMap((e) => e.faces);
    expect(faces.length).toBeGreaterThanOrEqual(85);
    const below = faces.filter((f) => f.quality.interocularPx < threshold);
    expect(below.length).toBeGreaterThan(10);
    expect(faces.length - below.length).toBeGreaterThan(10);
    // Events round to 0.1 px; the rule compares unrounded sizes, so faces within 0.05 px of it are left out.
    for (const f of faces) {
      if (Math.abs(f.quality.interocularPx - threshold) < 0.06) continue;
      expect(f.quality.gated).toEqual(f.quality.interocularPx < threshold ? ['size'] : []);
    }
  });
});

describe('eye aspect ratio on frames looked at', () => {
  // single_face.mp4, frames extracted with FFmpeg and looked at: eyes open at 20, 24, 31 and 40,
  // half closed at 25, closed at 26, 27 and 28, half open at 29, nearly open at 30 (one blink).
  const OPEN = [20, 24, 31, 40];
  const CLOSED = [26, 27];
  let frames: Map<number, Face>;
  let blinks: BlinkEvent[];

  beforeAll(async () => {
    const events = await run(media('single_face.mp4'));
    frames = new Map();
    for (const e of events) if (e.type === 'faces' && e.faces.length === 1) frames.set(e.frame, e.faces[0]!);
    blinks = events.filter((e): e is BlinkEvent => e.type === 'blink');
  }, 120_000);

  it('is low where the eyes are closed and high where they are open', () => {
    for (const n of [...OPEN, ...CLOSED]) expect(frames.get(n)?.quality.eyes, `frame ${n}`).toBeDefined();
    const ear = (n: number): number => {
      const e = frames.get(n)!.quality.eyes!;
      return (e.left + e.right) / 2;
    };
    for (const n of CLOSED) expect(ear(n), `closed frame ${n}`).toBeLessThan(0.17);
    for (const n of OPEN) expect(ear(n), `open frame ${n}`).toBeGreaterThan(0.22);
    for (const n of CLOSED) expect(frames.get(n)!.quality.eyes!.closure, `closed frame ${n}`).toBeGreaterThan(0.8);
    // Closure is relative to this track's usual openness, which open eyes scatter around: below the blink threshold.
    for (const n of OPEN) expect(frames.get(n)!.quality.eyes!.closure, `open frame ${n}`).toBeLessThan(0.5);
  });

  it('that blink is one blink event, from the half-closed frame 25 to an open frame by 31', () => {
    const near = blinks.filter((b) => b.frame >= 20 && b.frame <= 30);
    expect(near).toHaveLength(1);
    const blink = near[0]!;
    // Half closed (as seen) is at least half way to the mesh's closed eye: the blink's first frame.
    expect(blink.frame).toBe(25);
    expect(blink.pts).toBeCloseTo(25 / 30, 3);
    // Closed through frame 28, open again at frame 29, 30 or 31: 4 to 6 frame periods at 30 fps.
    expect(blink.durationMs).toBeGreaterThanOrEqual(133);
    expect(blink.durationMs).toBeLessThanOrEqual(200);
    expect(blink.minEyeAspect).toBeLessThan(0.17);
  });
});

describe('daemon predict and the live daemon agree on quality', () => {
  it('every predict row carries the quality of its face in the live faces event, field for field', async () => {
    const model = await importTestModel('cnn');
    const out = path.join(dir, 'rows.jsonl');
    const d = await startDaemon({ files: { roots: [mediaDir] }, model: { dir: model, smoothing: 'off', worker: false } });
    try {
      const client = await EventClient.connect(`${d.ws}?types=faces,stream`);
      const res = await fetch(`${d.base}/v1/streams`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'q', url: media('single_face.mp4'), realtime: false }),
      });
      expect(res.status).toBe(201);
      await predict({ model, input: media('single_face.mp4'), out, backend: 'wasm' });
      await client.waitFor((m) => m.type === 'stream' && m.state === 'ended', 120_000);
      const live = new Map<string, unknown>();
      for (const m of client.messages) if (m.type === 'faces') for (const f of m.faces as Face[]) live.set(`${m.frame as number}/${f.trackId}`, f.quality);
      client.close();
      const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionRow);
      expect(rows.length).toBeGreaterThan(60);
      for (const r of rows) {
        expect(r.quality, `row ${r.frame}/${r.trackId}`).toBeDefined();
        expect(r.quality).toEqual(live.get(`${r.frame}/${r.trackId}`));
      }
      // The blink of frames 25–29 is in both: closure and PERCLOS follow the same track state.
      expect(rows.find((r) => r.frame === 26)!.quality!.eyes!.closure).toBeGreaterThan(0.8);
    } finally {
      await d.close();
    }
  }, 240_000);
});
