/**
 * The default model (two packaged expression classifiers) on real faces, cut the way the daemon
 * cuts them live: faces that smile must come out Happiness, and faces that plainly do not smile
 * must not. Faces are picked by position in photos looked at by eye (left to right).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { selectBackend } from '../../src/models/backend.js';
import { cropAlignedFacesUint8 } from '../../src/models/face-aligner/index.js';
import { FaceDetector } from '../../src/models/face-detector/index.js';
import { packageDir } from '../../src/models/io/package-dir.js';
import { faceCropAlignment } from '../../src/models/packaged/face-crop.js';
import { PackagedRunner } from '../../src/models/packaged/packaged-runner.js';
import { EXPR_LABELS } from '../../src/models/seed/constants.js';
import { defaultConfigPath, packagedTeachersDir } from '../../src/paths.js';
import { readVideoFaces } from '../../src/predict/video-faces.js';
import { media } from '../helpers/media.js';

let detector: FaceDetector;
let runner: PackagedRunner;
let teachers: PackagedRunner;
const cfg = loadConfig({ file: defaultConfigPath, env: {} });

beforeAll(async () => {
  await selectBackend('wasm');
  detector = await FaceDetector.load();
  runner = await PackagedRunner.fromDir(cfg.model.dir!, { includeMembers: true });
  teachers = await PackagedRunner.fromDir(packagedTeachersDir, { includeMembers: true });
}, 120_000);
afterAll(() => {
  detector?.close();
  runner?.dispose();
  teachers?.dispose();
});

interface Labelled {
  readonly x: number;
  readonly label: string;
  readonly members: string[];
}

/** Every face of a still, left to right, with the model's and each member's label. */
async function labels(file: string, model = runner): Promise<Labelled[]> {
  const out: Labelled[] = [];
  await readVideoFaces(file, detector, cfg, {
    frame: (frame, faces) => {
      const crops = cropAlignedFacesUint8(frame.image, faces.map((f) => faceCropAlignment(f.face, model.crop, model.cropSize)), frame.image.width / frame.sourceWidth);
      model.decideCnn(model.runCnn(crops)).forEach((d, i) => {
        const members = d.members!.map((m) => EXPR_LABELS[m.exprProbabilities.indexOf(Math.max(...m.exprProbabilities))]!);
        out.push({ x: faces[i]!.face.box[0], label: d.expr.label, members });
      });
    },
    tracksEnded: () => undefined,
  });
  return out.sort((a, b) => a.x - b.x);
}

const sample = (i: number): string => path.join(packageDir('@vladmandic/face-api'), 'demo', `sample${i}.jpg`);

describe('the default model on real faces', () => {
  it('labels the five smiling people of multi_face.jpg Happiness, and so does each packaged classifier and their ensemble', async () => {
    const faces = await labels(media('multi_face.jpg'));
    expect(faces).toHaveLength(5);
    for (const f of faces) expect(f.label, JSON.stringify(f)).toBe('Happiness');
    const both = await labels(media('multi_face.jpg'), teachers);
    for (const f of both) expect(f.label, JSON.stringify(f)).toBe('Happiness');
    // Both teachers see the clear smiles (the boy at the back smiles least).
    for (const i of [0, 1, 3, 4]) expect(both[i]!.members, JSON.stringify(both[i])).toEqual(['Happiness', 'Happiness']);
  }, 120_000);

  it('tells smiles from non-smiles in the demo photos', async () => {
    const s3 = await labels(sample(3));
    expect(s3.map((f) => f.label)).toEqual(['Neutral', 'Happiness', 'Happiness']);
    const s6 = await labels(sample(6));
    expect(s6).toHaveLength(4);
    expect(s6[1]!.label).toBe('Happiness');
    expect(s6[2]!.label).not.toBe('Happiness');
  }, 120_000);
});
