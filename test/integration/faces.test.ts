import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/models/backend.js';
import { FaceDetector } from '../../src/models/face-detector/index.js';
import { computeAlignment, sourcePointToCrop } from '../../src/models/face-aligner/index.js';
import { tf } from '../../src/models/tf.js';
import { media } from '../helpers/media.js';
import { facesEvents, runFile, trackEvents } from '../helpers/pipeline.js';

let detector: FaceDetector;

beforeAll(async () => {
  await selectBackend('wasm');
  detector = await FaceDetector.load();
});
afterAll(() => detector.close());

describe('faces from real media through the real pipeline', () => {
  it('utterance_1.mp4: one face in ≥95% of frames, at most 2 track ids', async () => {
    const events = await runFile(detector, media('utterance_1.mp4'));
    const frames = facesEvents(events);
    expect(frames.length).toBe(309);
    expect(frames.map((f) => f.frame)).toEqual([...Array(309).keys()]);
    const single = frames.filter((f) => f.faces.length === 1).length;
    expect(single / frames.length).toBeGreaterThanOrEqual(0.95);
    const ids = new Set(frames.flatMap((f) => f.faces.map((x) => x.trackId)));
    expect(ids.size).toBeGreaterThanOrEqual(1);
    expect(ids.size).toBeLessThanOrEqual(2);
    // The man sits in the middle of a 640×360 frame; boxes and landmarks are in source pixels.
    const f0 = frames.find((f) => f.faces.length === 1)!;
    expect(f0.width).toBe(640);
    expect(f0.height).toBe(360);
    const [x, y, w, h] = f0.faces[0]!.box;
    expect(x).toBeGreaterThan(200);
    expect(x + w).toBeLessThan(450);
    expect(y).toBeGreaterThan(0);
    expect(h).toBeGreaterThan(40);
    const [le, re, nose, ml, mr] = f0.faces[0]!.landmarks;
    expect(le![0]).toBeLessThan(re![0]);
    expect(ml![0]).toBeLessThan(mr![0]);
    expect(nose![1]).toBeGreaterThan(le![1]);
    expect(ml![1]).toBeGreaterThan(nose![1]);
    // Every started track ends by the end of the stream.
    const tracks = trackEvents(events);
    expect(tracks.filter((t) => t.state === 'started').length).toBe(ids.size);
    expect(tracks.filter((t) => t.state === 'ended').length).toBe(ids.size);
  });

  it('multi_face.jpg: five people, each aligned with level eyes', async () => {
    const frames = facesEvents(await runFile(detector, media('multi_face.jpg')));
    expect(frames).toHaveLength(1);
    const faces = frames[0]!.faces;
    expect(faces).toHaveLength(5);
    expect(frames[0]!.width).toBe(1000);
    // Distinct faces, spread across the photo.
    const centres = faces.map((f) => f.box[0] + f.box[2] / 2).sort((a, b) => a - b);
    for (let i = 1; i < centres.length; i++) expect(centres[i]! - centres[i - 1]!).toBeGreaterThan(40);
    for (const f of faces) {
      const a = computeAlignment(f.landmarks as never, 112);
      const [le, re, nose, ml, mr] = f.landmarks.map(([x, y]) => sourcePointToCrop(a, x, y));
      // Events round landmarks to 0.1 px, hence the tolerance.
      expect(Math.abs(le![1] - re![1])).toBeLessThan(0.2);
      // α ≥ eye distance, so the eyes span at most half the crop; C = (E+M)/2 keeps them inside.
      expect(re![0] - le![0]).toBeLessThanOrEqual(56.2);
      expect(le![0]).toBeGreaterThan(10);
      expect(le![0]).toBeLessThan(56);
      expect(re![0]).toBeGreaterThan(56);
      expect(re![0]).toBeLessThan(102);
      expect(le![1]).toBeLessThan(nose![1]);
      expect(nose![1]).toBeLessThan((ml![1] + mr![1]) / 2);
      expect((ml![1] + mr![1]) / 2).toBeLessThan(112);
    }
  });

  it('no_face.mp4: no faces and no tracks', async () => {
    const events = await runFile(detector, media('no_face.mp4'));
    const frames = facesEvents(events);
    expect(frames.length).toBeGreaterThan(90);
    expect(frames.every((f) => f.faces.length === 0)).toBe(true);
    expect(trackEvents(events)).toEqual([]);
  });

  it('face_noface.mov (HEVC): the face is found, leaves, and its track ends within the clip', async () => {
    const events = await runFile(detector, media('face_noface.mov'));
    const frames = facesEvents(events);
    expect(frames.length).toBeGreaterThan(150);
    expect(frames[0]!.width).toBe(960);
    const withFace = frames.filter((f) => f.faces.length > 0).length;
    expect(withFace).toBeGreaterThan(30);
    const tracks = trackEvents(events);
    const lastFaces = frames[frames.length - 1]!;
    const ended = tracks.filter((t) => t.state === 'ended');
    expect(ended.length).toBeGreaterThanOrEqual(1);
    // Ended while frames were still coming, not only by the end-of-stream flush.
    expect(ended[0]!.frame).toBeLessThan(lastFaces.frame);
    expect(lastFaces.faces).toEqual([]);
  });

  it('single_face.mp4: one face in most frames', async () => {
    const frames = facesEvents(await runFile(detector, media('single_face.mp4')));
    expect(frames.length).toBeGreaterThan(60);
    expect(frames.filter((f) => f.faces.length === 1).length / frames.length).toBeGreaterThan(0.9);
  });

  it('keeps the TF.js tensor count flat over a long looped run', async () => {
    await runFile(detector, media('utterance_1.mp4'), { loop: true, maxEvents: 50 });
    const before = tf.memory().numTensors;
    const events = await runFile(detector, media('utterance_1.mp4'), { loop: true, maxEvents: 700 });
    // 700 events span the clip's end, so the loop (reopen) path ran too.
    expect(facesEvents(events).at(-1)!.frame).toBeGreaterThan(309);
    expect(tf.memory().numTensors).toBe(before);
  });
});
