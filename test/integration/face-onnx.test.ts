/**
 * BlazeFace and FaceMesh converted to ONNX give TF.js's outputs on real frames, and the whole face
 * pipeline (boxes, landmarks, track ids) finds the same faces on either engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, tensorCount } from '../../src/models/backend.js';
import { FaceDetector, type Box } from '../../src/models/face-detector/index.js';
import { HostedFaceDetector } from '../../src/models/face-detector/face-detector-host.js';
import { nonMaxSuppression, squareAround } from '../../src/models/face-detector/geometry.js';
import { MESH_CROP_SCALE } from '../../src/models/face-detector/constants.js';
import type { GraphOutput } from '../../src/models/face-detector/face-graph.js';
import { tf, type Tensor3D } from '../../src/models/tf.js';
import { openSource } from '../../src/streams/open-source.js';
import { media } from '../helpers/media.js';
import { facesEvents, runFile, trackEvents } from '../helpers/pipeline.js';

let tfjs: FaceDetector;
let onnx: FaceDetector;

beforeAll(async () => {
  await selectBackend('wasm');
  tfjs = await FaceDetector.load({ engine: 'tfjs' });
  // Converted afresh: a cached graph from an earlier converter would test that converter.
  onnx = await FaceDetector.load({ engine: 'onnx', cache: false });
});
afterAll(() => {
  tfjs?.close();
  onnx?.close();
});

/** Every `every`-th decoded frame of a file (an image file is one frame), as float32 HWC tensors the caller disposes. */
async function frames(file: string, every: number): Promise<Tensor3D[]> {
  const out: Tensor3D[] = [];
  let i = 0;
  for await (const raw of openSource({ kind: 'file', path: file }, { realtime: false, loop: false, maxWidth: 640 })) {
    if (i++ % every !== 0) continue;
    out.push(tf.tidy(() => tf.cast(tf.tensor3d(raw.data, [raw.height, raw.width, 3], 'int32'), 'float32')) as Tensor3D);
  }
  return out;
}

/**
 * Largest |a−b| relative to each output's scale, max(1, max |a|), with outputs matched by shape
 * (as the models pick them). BlazeFace's regressors are offsets in pixels of its 256 px input:
 * near-zero offsets differ by up to 2e-4 px between engines, the same as TF.js's own wasm and cpu
 * backends differ by (measured 2.5e-4), so an element-wise relative bound would test fp32
 * summation order, not the conversion. A conversion error (padding, layout, weights) moves
 * outputs by a sizeable fraction of their scale.
 */
function worstRelative(a: readonly GraphOutput[], b: readonly GraphOutput[]): number {
  expect(b.map((o) => o.shape.join('x')).sort()).toEqual(a.map((o) => o.shape.join('x')).sort());
  let worst = 0;
  for (const x of a) {
    const y = b.find((o) => o.shape.join('x') === x.shape.join('x'))!;
    let scale = 1;
    for (const v of x.data) scale = Math.max(scale, Math.abs(v));
    let diff = 0;
    for (let i = 0; i < x.data.length; i++) diff = Math.max(diff, Math.abs(x.data[i]! - y.data[i]!));
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

describe('face models on ONNX Runtime', () => {
  it('load on ONNX Runtime when asked', () => {
    expect(onnx.engines).toEqual({ detector: 'onnx', mesh: 'onnx' });
    expect(tfjs.engines).toEqual({ detector: 'tfjs', mesh: 'tfjs' });
  });

  it('BlazeFace and FaceMesh outputs equal TF.js within 1e-4 on real frames, without leaking tensors', async () => {
    const images = (await Promise.all([frames(media('utterance_1.mp4'), 40), frames(media('face_noface.mov'), 40), frames(media('multi_face.jpg'), 1)])).flat();
    const before = tensorCount();
    let meshCrops = 0;
    let faceScores = 0;
    try {
      for (const image of images) {
        const input = tfjs.blazeface.prepare(image);
        try {
          const [a, b] = [await tfjs.blazeface.raw(input), await onnx.blazeface.raw(input)];
          expect(worstRelative(a, b)).toBeLessThan(1e-4);
        } finally {
          input.dispose();
        }
        // FaceMesh on the crops the pipeline would cut from this frame's detections.
        const found = nonMaxSuppression(await tfjs.blazeface.detect(image, 0.5), 0.3, 10);
        const crops: Box[] = found.map((c) => squareAround(c.box, MESH_CROP_SCALE));
        for (const crop of crops) {
          const x = tfjs.mesh.prepare(image, crop);
          try {
            const [a, b] = [await tfjs.mesh.raw(x), await onnx.mesh.raw(x)];
            expect(worstRelative(a, b)).toBeLessThan(1e-4);
            // A face crop: the presence output (a sigmoid) is confident, so the test compares real landmarks.
            if ((a.find((o) => o.data.length === 1)?.data[0] ?? 0) > 0.5) faceScores++;
          } finally {
            x.dispose();
          }
          meshCrops++;
        }
      }
    } finally {
      for (const image of images) image.dispose();
    }
    expect(images.length).toBeGreaterThanOrEqual(12);
    // utterance_1 has a face in every sampled frame, face_noface in some, multi_face five.
    expect(meshCrops).toBeGreaterThanOrEqual(images.length);
    expect(faceScores).toBeGreaterThanOrEqual(meshCrops - 2);
    expect(tensorCount()).toBe(before - images.length);
  });

  for (const clip of ['utterance_1.mp4', 'face_noface.mov']) {
    it(`${clip}: the face pipeline gives the same faces and track ids on either engine (within a pixel)`, async () => {
      // Both engines at once: a file source waits for the pipeline (no frame is dropped), so each run sees every frame.
      const [a, b] = await Promise.all([runFile(tfjs, media(clip)), runFile(onnx, media(clip))]);
      const [fa, fb] = [facesEvents(a), facesEvents(b)];
      expect(fb.length).toBe(fa.length);
      let faces = 0;
      for (let i = 0; i < fa.length; i++) {
        const [x, y] = [fa[i]!, fb[i]!];
        expect(y.frame).toBe(x.frame);
        expect(y.faces.map((f) => f.trackId)).toEqual(x.faces.map((f) => f.trackId));
        for (let j = 0; j < x.faces.length; j++) {
          const [p, q] = [x.faces[j]!, y.faces[j]!];
          for (let k = 0; k < 4; k++) expect(Math.abs(q.box[k]! - p.box[k]!)).toBeLessThanOrEqual(1);
          p.landmarks.forEach((pt, k) => {
            expect(Math.abs(q.landmarks[k]![0] - pt[0])).toBeLessThanOrEqual(1);
            expect(Math.abs(q.landmarks[k]![1] - pt[1])).toBeLessThanOrEqual(1);
          });
          faces++;
        }
      }
      expect(faces).toBeGreaterThan(fa.length / 3);
      expect(trackEvents(b).map((t) => `${t.trackId}:${t.state}`)).toEqual(trackEvents(a).map((t) => `${t.trackId}:${t.state}`));
    });
  }

  it('run in the detector worker thread under detector.engine auto, finding the face of a real frame', async () => {
    const hosted = await HostedFaceDetector.open({ worker: true, backend: 'wasm', engine: 'auto', threads: 1 });
    try {
      expect(hosted.engines).toEqual({ detector: 'onnx', mesh: 'onnx' });
      let raw: { data: Uint8Array; width: number; height: number } | undefined;
      for await (const f of openSource({ kind: 'file', path: media('utterance_1.mp4') }, { realtime: false, loop: false, maxWidth: 640 })) {
        raw = { data: f.data, width: f.width, height: f.height };
        break;
      }
      const session = hosted.createSession();
      const result = await session.detect(raw!);
      expect(result.faces).toHaveLength(1);
      expect(result.faces[0]!.box[0]).toBeGreaterThan(200);
      session.close?.();
    } finally {
      await hosted.close();
    }
  });

  it('a detector worker killed while ONNX Runtime is running ends between calls: the process survives and the worker serves again', async () => {
    // Worker.terminate() inside a native ONNX Runtime run aborted the whole process ("terminate
    // called after throwing an instance of 'Napi::Error'"); this test's process would die with it.
    const hosted = await HostedFaceDetector.open({ worker: true, backend: 'wasm', engine: 'onnx', threads: 1 });
    try {
      const session = hosted.createSession({ detectEveryFrames: 1 });
      const img = { data: new Uint8Array(640 * 360 * 3).fill(90), width: 640, height: 360 };
      let stop = false;
      let served = 0;
      const load = (async () => {
        while (!stop) {
          try {
            await session.detect(img);
            served++;
          } catch {
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      })();
      for (let i = 0; i < 3; i++) {
        const before = served;
        while (served === before) await new Promise((r) => setTimeout(r, 2));
        // Kill at staggered moments of a busy worker: most land inside a run.
        await new Promise((r) => setTimeout(r, 3 + 7 * i));
        await hosted.killWorker();
        expect(hosted.health().state).not.toBe('ready');
        while (hosted.health().state !== 'ready') await new Promise((r) => setTimeout(r, 20));
      }
      const after = served;
      while (served < after + 3) await new Promise((r) => setTimeout(r, 5));
      stop = true;
      await load;
      expect(hosted.health().restarts).toBe(3);
    } finally {
      await hosted.close();
    }
  });
});
